package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"slices"

	"github.com/idcards/idcards"
)

// ImportCheck is what the duplicate check after an import found: pairs
// recorded (new, or still open and re-scored) in the supervisor's review
// list. Scanned is true when the imported patients were checked by the
// whole-registry scan's blocking (an import large against the registry)
// rather than one by one with the desk's check.
type ImportCheck struct {
	Checked, Pairs, Probable int
	Scanned                  bool
	// DryRun: a dry run's check of each row against the registry as it
	// is (the file's rows are not compared with each other, and nothing
	// is recorded). Pairs then counts rows with a look-alike, Probable
	// those whose best look-alike is probable, and LookAlikes lists them.
	DryRun     bool
	LookAlikes []LookAlike
	// Unchecked rows: a dry run checks at most dryCheckMax rows.
	Unchecked int
	// Resumed: of Checked, the patients of an earlier import whose check
	// did not finish (the process was stopped after its commit).
	Resumed int
}

// LookAlike is a dry run's row that looks like registered patients.
type LookAlike struct {
	Line       int
	Patient    NewPatient
	Candidates []idcards.Candidate // best first, at most 3
}

// dryCheckMax is how many rows a dry run checks (about 1.6 ms each at
// 100,000 patients): a first import of a big register is checked when it
// is imported, by the scan's blocks.
const dryCheckMax = 20_000

// importScanRatio: an import of at least 1/importScanRatio of the registry
// is checked by the whole-registry scan (about 0.15 ms a patient at 1M),
// a smaller one patient by patient with the desk's check (about 2.5 ms
// each at 1M).
const importScanRatio = 16

// checkDryRun checks a dry run's rows against the registry as it is.
func (s *Store) checkDryRun(ctx context.Context, rows []LookAlike, unchecked int, progress func(done, total int)) (ImportCheck, error) {
	ch := ImportCheck{DryRun: true, Unchecked: unchecked}
	for i, r := range rows {
		if err := ctx.Err(); err != nil {
			return ch, err
		}
		cands, err := s.candidates(ctx, r.Patient, 0, 3)
		if err != nil {
			return ch, err
		}
		ch.Checked++
		if progress != nil && (ch.Checked%500 == 0 || ch.Checked == len(rows)) {
			progress(ch.Checked, len(rows))
		}
		if len(cands) == 0 {
			continue
		}
		ch.Pairs++
		if cands[0].Level == idcards.MatchProbable {
			ch.Probable++
		}
		rows[i].Candidates = cands
		ch.LookAlikes = append(ch.LookAlikes, rows[i])
	}
	return ch, nil
}

// foundPair is one pair for the review list; a < b.
type foundPair struct {
	a, b    int64
	prob    float64
	level   idcards.MatchLevel
	reasons []string
}

// checkImported runs the duplicate check on the patients an import added,
// so a legacy register does not bring a second record of someone already
// registered (or two rows of one person) in silently: each pair at
// possible or above goes to the review list, as `patients duplicates`
// would put it there. Pairs judged "different" stay judged.
func (s *Store) checkImported(ctx context.Context, ids []int64, progress func(done, total int)) (ImportCheck, error) {
	var ch ImportCheck
	if len(ids) == 0 {
		return ch, nil
	}
	var active int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM patients WHERE merged_into IS NULL`).Scan(&active); err != nil {
		return ch, err
	}
	if len(ids)*importScanRatio >= active {
		sorted := slices.Sorted(slices.Values(ids))
		sum, err := s.scanDuplicates(ctx, ScanOptions{Progress: progress, Involving: sorted})
		if err != nil {
			return ch, err
		}
		ch.Checked, ch.Pairs, ch.Probable, ch.Scanned = len(ids), sum.New, sum.NewProbable, true
		return ch, nil
	}
	seen := map[[2]int64]bool{}
	var pairs []foundPair
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return ch, err
		}
		p, err := s.Patient(ctx, id)
		if err != nil {
			return ch, err
		}
		cands, err := s.candidates(ctx, newPatientOf(p), id, 5)
		if err != nil {
			return ch, err
		}
		ch.Checked++
		if progress != nil && (ch.Checked%500 == 0 || ch.Checked == len(ids)) {
			progress(ch.Checked, len(ids))
		}
		for _, c := range cands {
			a, b := min(id, c.Patient.ID), max(id, c.Patient.ID)
			if seen[[2]int64{a, b}] {
				continue
			}
			seen[[2]int64{a, b}] = true
			pairs = append(pairs, foundPair{a: a, b: b, prob: c.Score, level: c.Level, reasons: c.Reasons})
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		ch.Pairs, ch.Probable, err = upsertPairs(ctx, tx, slices.Values(pairs), s.now())
		return err
	})
	return ch, err
}

// upsertPairs records pairs in the review list: a new pair is added, an
// open one re-scored, a judged one left as judged. It returns how many
// were added or re-scored, and how many of those are probable.
func upsertPairs(ctx context.Context, tx *sql.Tx, pairs iter.Seq[foundPair], now string) (n, probable int, err error) {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO match_pairs(a, b, probability, level, reasons, found_at) VALUES (?,?,?,?,?,?)
		ON CONFLICT(a, b) DO UPDATE SET probability = excluded.probability, level = excluded.level, reasons = excluded.reasons WHERE match_pairs.status = 'open'`)
	if err != nil {
		return 0, 0, err
	}
	defer ins.Close()
	for p := range pairs {
		reasons, _ := json.Marshal(p.reasons)
		res, err := ins.ExecContext(ctx, p.a, p.b, p.prob, string(p.level), string(reasons), now)
		if err != nil {
			return n, probable, fmt.Errorf("registry: review list: %w", err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
			if p.level == idcards.MatchProbable {
				probable++
			}
		}
	}
	return n, probable, nil
}
