package registry

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// loadRecords reads every active patient as a prepared match.Record
// (ID set), in id order.
func (s *Store) loadRecords(ctx context.Context, v *match.Variants) ([]match.Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+matchCols+` FROM patients WHERE merged_into IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []match.Record
	prep := match.NewPreparer(match.PrepareOptions{Variants: v})
	for rows.Next() {
		m, err := scanMatchRow(rows)
		if err != nil {
			return nil, err
		}
		r := prep.Prepare(m.person)
		r.ID = m.id
		out = append(out, r)
	}
	return out, rows.Err()
}

// memTF is term frequencies counted over loaded records. Full names are
// nearly all distinct, so they are counted by hash (a million strings
// would cost the scan a tenth of its memory budget).
type memTF struct {
	n     float64
	vals  [match.NumTFFields]map[string]int32
	full  map[uint64]int32
	hseed maphash.Seed
}

func newMemTF(recs []match.Record) *memTF {
	t := &memTF{n: float64(len(recs)), full: map[uint64]int32{}, hseed: maphash.MakeSeed()}
	for i := range t.vals {
		t.vals[i] = map[string]int32{}
	}
	for i := range recs {
		tfEach(tfValues(&recs[i]), func(f match.Field, v string) {
			if f == match.FFullName {
				t.full[maphash.String(t.hseed, v)]++
				return
			}
			t.vals[f][v]++
		})
	}
	return t
}

func (t *memTF) Freq(f match.Field, v string) float64 {
	if t.n == 0 {
		return 0
	}
	if f == match.FFullName {
		return float64(t.full[maphash.String(t.hseed, v)]) / t.n
	}
	return float64(t.vals[f][v]) / t.n
}

// scanMemoryLimit is the scan's soft heap limit (debug.SetMemoryLimit).
const scanMemoryLimit = 700 << 20

// ScanOptions tune the whole-registry scan.
type ScanOptions struct {
	Workers  int                   // 0: all cores
	Progress func(done, total int) // called as blocks finish
	Min      idcards.MatchLevel    // lowest level kept (default possible)
	// Involving, when not nil, keeps only the pairs with one of these
	// patients (ascending IDs): an import's check.
	Involving []int64
}

// ScanSummary counts what a scan did.
type ScanSummary struct {
	Patients, Blocks, Pairs, New, Open, Judged int
	NewProbable                                int // of New, the probable ones
	// Rescored: open pairs from earlier scans (or an import's check) that
	// this whole-registry scan did not reach, scored again with today's
	// model; Retired: of those, the ones no longer alike (or with a record
	// merged away), taken off the list.
	Rescored, Retired int
	Elapsed           time.Duration
}

// ScanDuplicates compares every active patient with the others sharing a
// blocking key (the same keys the desk check uses, each record against the
// Window nearest in birth year within a block), on all cores, and records
// each pair at or above opts.Min in the review list (match_pairs). Pairs a
// supervisor already judged "not the same person" stay judged: they are
// never raised again. Near-linear: the work is records × keys × Window.
// It is a supervisor's work (merge): it fills the review list.
func (s *Store) ScanDuplicates(ctx context.Context, opts ScanOptions) (ScanSummary, error) {
	if _, err := idcards.Require(ctx, idcards.PermMerge); err != nil {
		return ScanSummary{}, err
	}
	sum, err := s.scanDuplicates(ctx, opts)
	if err == nil && len(opts.Involving) == 0 {
		// Every patient was checked: an interrupted import's check too.
		err = s.tx(ctx, func(tx *sql.Tx) error { return setPendingCheck(ctx, tx, nil) })
	}
	return sum, err
}

func (s *Store) scanDuplicates(ctx context.Context, opts ScanOptions) (ScanSummary, error) {
	t0 := time.Now()
	var sum ScanSummary
	cfg, err := s.matchConfig(ctx)
	if err != nil {
		return sum, err
	}
	if _, err := s.syncMatchIndex(ctx, cfg.variants, nil); err != nil {
		return sum, err
	}
	// A million records, their blocks and term frequencies fit in well
	// under a gigabyte; without a limit the collector lets the heap grow to
	// twice what is live. An explicit GOMEMLIMIT wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(scanMemoryLimit))
	}
	recs, err := s.loadRecords(ctx, cfg.variants)
	if err != nil {
		return sum, fmt.Errorf("registry: duplicates: %w", err)
	}
	sum.Patients = len(recs)
	tf := newMemTF(recs)
	sc := match.NewScorer(cfg.model, tf, len(recs), s.Now().Year(), cfg.th)
	sc.Variants = cfg.variants
	blocks := match.Blocks(recs)
	sum.Blocks = len(blocks)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	min := opts.Min
	if min == "" {
		min = idcards.MatchPossible
	}
	type pair struct{ a, b int32 }
	found := make([]map[pair]match.Result, workers)
	for i := range found {
		found[i] = map[pair]match.Result{}
	}
	var pairs atomic.Int64
	var doneBlocks atomic.Int64
	var mu sync.Mutex
	involved := func(int32) bool { return true }
	if opts.Involving != nil {
		involved = func(i int32) bool {
			_, ok := slices.BinarySearch(opts.Involving, recs[i].ID)
			return ok
		}
	}
	match.EachBlockedPair(blocks, workers, func(w int, a, b int32) {
		if !involved(a) && !involved(b) {
			return
		}
		pairs.Add(1)
		if a > b {
			a, b = b, a
		}
		r := sc.Score(&recs[a], &recs[b])
		if r.Level == "" || (min == idcards.MatchProbable && r.Level != idcards.MatchProbable) {
			return
		}
		found[w][pair{a, b}] = r
	}, func() {
		n := doneBlocks.Add(1)
		if opts.Progress != nil && (n%2000 == 0 || int(n) == len(blocks)) {
			mu.Lock()
			opts.Progress(int(n), len(blocks))
			mu.Unlock()
		}
	})
	sum.Pairs = int(pairs.Load())
	all := map[pair]match.Result{}
	for _, m := range found {
		for k, v := range m {
			all[k] = v
		}
	}
	keys := make([]pair, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].a != keys[j].a {
			return keys[i].a < keys[j].a
		}
		return keys[i].b < keys[j].b
	})
	// One pair's reasons at a time: a million records' pairs would
	// otherwise hold all their explanations at once.
	recorded := func(yield func(foundPair) bool) {
		for _, k := range keys {
			r := all[k]
			qa, qb := &recs[k.a], &recs[k.b]
			if !yield(foundPair{a: qa.ID, b: qb.ID, prob: roundProb(r.Probability), level: r.Level, reasons: match.Reasons(sc.Explain(qa, qb, r))}) {
				return
			}
		}
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if sum.New, sum.NewProbable, err = upsertPairs(ctx, tx, recorded, s.now()); err != nil {
			return err
		}
		if opts.Involving != nil {
			return nil // an import's check sees only its own patients' pairs
		}
		seen := make(map[[2]int64]bool, len(keys))
		for _, k := range keys {
			seen[[2]int64{recs[k.a].ID, recs[k.b].ID}] = true
		}
		sum.Rescored, sum.Retired, err = rescoreStale(ctx, tx, recs, sc, seen)
		return err
	})
	if err != nil {
		return sum, fmt.Errorf("registry: duplicates: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status <> 'open') FROM match_pairs`).Scan(&sum.Open, &sum.Judged); err != nil {
		return sum, err
	}
	sum.Elapsed = time.Since(t0)
	return sum, nil
}

// rescoreStale brings the open pairs a whole-registry scan did not record
// (seen) up to date: the review list must say what today's model says,
// not what the model of the scan that first raised them said. Each is
// scored again as the scan scores (the two records alone); a pair that is
// no longer alike, or whose record was merged away, leaves the list. It is
// not simply dropped for being unseen: an import's check or an earlier
// scan may have reached it through a lookup this scan's blocks do not
// make. Judged pairs are never touched.
func rescoreStale(ctx context.Context, tx *sql.Tx, recs []match.Record, sc *match.Scorer, seen map[[2]int64]bool) (rescored, retired int, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, a, b FROM match_pairs WHERE status = 'open'`)
	if err != nil {
		return 0, 0, err
	}
	type stale struct{ id, a, b int64 }
	var todo []stale
	for rows.Next() {
		var p stale
		if err := rows.Scan(&p.id, &p.a, &p.b); err != nil {
			rows.Close()
			return 0, 0, err
		}
		if !seen[[2]int64{p.a, p.b}] {
			todo = append(todo, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(todo) == 0 {
		return 0, 0, err
	}
	at := func(id int64) (int, bool) { // recs are in id order (loadRecords)
		return slices.BinarySearchFunc(recs, id, func(r match.Record, id int64) int { return cmp.Compare(r.ID, id) })
	}
	del, err := tx.PrepareContext(ctx, `DELETE FROM match_pairs WHERE id = ? AND status = 'open'`)
	if err != nil {
		return 0, 0, err
	}
	defer del.Close()
	upd, err := tx.PrepareContext(ctx, `UPDATE match_pairs SET probability = ?, level = ?, reasons = ? WHERE id = ? AND status = 'open'`)
	if err != nil {
		return 0, 0, err
	}
	defer upd.Close()
	for _, p := range todo {
		rescored++
		ia, oka := at(p.a)
		ib, okb := at(p.b)
		var r match.Result
		if oka && okb {
			r = sc.Score(&recs[ia], &recs[ib])
		}
		if r.Level == "" {
			if _, err := del.ExecContext(ctx, p.id); err != nil {
				return rescored, retired, fmt.Errorf("registry: review list: %w", err)
			}
			retired++
			continue
		}
		reasons, _ := json.Marshal(match.Reasons(sc.Explain(&recs[ia], &recs[ib], r)))
		if _, err := upd.ExecContext(ctx, roundProb(r.Probability), string(r.Level), string(reasons), p.id); err != nil {
			return rescored, retired, fmt.Errorf("registry: review list: %w", err)
		}
	}
	return rescored, retired, nil
}

// ReviewPair is one entry of the supervisor's review list.
type ReviewPair struct {
	ID          int64           `json:"id"`
	A           idcards.Patient `json:"a"`
	AMRNs       []string        `json:"a_mrns"`
	B           idcards.Patient `json:"b"`
	BMRNs       []string        `json:"b_mrns"`
	Probability float64         `json:"probability"`
	Level       string          `json:"level"`
	Reasons     []string        `json:"reasons"`
	Status      string          `json:"status"`
	FoundAt     string          `json:"found_at"`
	DecidedBy   string          `json:"decided_by,omitempty"`
	Note        string          `json:"note,omitempty"`
}

// ReviewList returns review-list pairs, likeliest first: open ones only
// unless all. Open pairs where either record was merged meanwhile are left
// out. It is the supervisor's list (names and birth dates of possible
// duplicates, to be judged or merged): it needs PermMerge, as judging does.
func (s *Store) ReviewList(ctx context.Context, all bool, limit int) ([]ReviewPair, error) {
	if _, err := idcards.Require(ctx, idcards.PermMerge); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT id, a, b, probability, level, reasons, status, found_at, coalesce(decided_by,''), coalesce(note,'') FROM match_pairs mp
		WHERE status = 'open' AND NOT EXISTS (SELECT 1 FROM patients p WHERE p.id IN (mp.a, mp.b) AND p.merged_into IS NOT NULL)
		ORDER BY probability DESC, id LIMIT ?`
	if all {
		q = `SELECT id, a, b, probability, level, reasons, status, found_at, coalesce(decided_by,''), coalesce(note,'') FROM match_pairs ORDER BY status <> 'open', probability DESC, id LIMIT ?`
	}
	rows, err := s.db.QueryContext(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: review list: %w", err)
	}
	type raw struct {
		rp   ReviewPair
		a, b int64
		rs   string
	}
	var rs []raw
	for rows.Next() {
		var r raw
		if err := rows.Scan(&r.rp.ID, &r.a, &r.b, &r.rp.Probability, &r.rp.Level, &r.rs, &r.rp.Status, &r.rp.FoundAt, &r.rp.DecidedBy, &r.rp.Note); err != nil {
			rows.Close()
			return nil, err
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	pat, err := s.prepared(ctx, `SELECT `+patientCols+` FROM patients WHERE id = ?`)
	if err != nil {
		return nil, err
	}
	mrns, err := s.prepared(ctx, `SELECT mrn FROM identifiers WHERE patient_id = ? AND state <> 'voided' ORDER BY mrn`)
	if err != nil {
		return nil, err
	}
	load := func(id int64, p *idcards.Patient, ms *[]string) error {
		x, err := scanPatient(pat.QueryRowContext(ctx, id))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		*p = x
		rows, err := mrns.QueryContext(ctx, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				return err
			}
			*ms = append(*ms, m)
		}
		return rows.Err()
	}
	out := make([]ReviewPair, 0, len(rs))
	for _, r := range rs {
		json.Unmarshal([]byte(r.rs), &r.rp.Reasons)
		if err := load(r.a, &r.rp.A, &r.rp.AMRNs); err != nil {
			return nil, err
		}
		if err := load(r.b, &r.rp.B, &r.rp.BMRNs); err != nil {
			return nil, err
		}
		out = append(out, r.rp)
	}
	return out, nil
}

// JudgeDifferent records a supervisor's "not the same person" for review
// pair id: it is never raised again, neither by the scan nor by
// CandidatesFor either patient. Audited.
func (s *Store) JudgeDifferent(ctx context.Context, id int64, note string) error {
	a, err := idcards.Require(ctx, idcards.PermMerge)
	if err != nil {
		return err
	}
	if strings.TrimSpace(note) == "" {
		return idcards.Errorf(idcards.Invalid, "a judgment needs a reason (it is audited)")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var pa, pb int64
		var status string
		err := tx.QueryRowContext(ctx, `SELECT a, b, status FROM match_pairs WHERE id = ?`, id).Scan(&pa, &pb, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return idcards.Errorf(idcards.NotFound, "no review pair %d", id)
		}
		if err != nil {
			return err
		}
		if status == "same" {
			return idcards.Errorf(idcards.Conflict, "review pair %d was already merged", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE match_pairs SET status = 'different', decided_at = ?, decided_by = ?, note = ? WHERE id = ?`, s.now(), a.Name, note, id); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, a.Name, "patients.not_duplicate", fmt.Sprintf("%d", id), fmt.Sprintf("a=%d b=%d reason=%s", pa, pb, note))
	})
}

// JudgeSame merges review pair id: the record keep (one of the pair) is
// kept and the other merged into it (see Merge), and the pair is marked
// same.
func (s *Store) JudgeSame(ctx context.Context, id, keep int64, note string) error {
	actor, err := idcards.Require(ctx, idcards.PermMerge)
	if err != nil {
		return err
	}
	var pa, pb int64
	err = s.db.QueryRowContext(ctx, `SELECT a, b FROM match_pairs WHERE id = ?`, id).Scan(&pa, &pb)
	if errors.Is(err, sql.ErrNoRows) {
		return idcards.Errorf(idcards.NotFound, "no review pair %d", id)
	}
	if err != nil {
		return err
	}
	from := pa
	switch keep {
	case pa:
		from = pb
	case pb:
	default:
		return idcards.Errorf(idcards.Invalid, "patient %d is not in review pair %d (%d, %d)", keep, id, pa, pb)
	}
	if err := s.Merge(ctx, from, keep, note); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `UPDATE match_pairs SET status = 'same', decided_at = ?, decided_by = ?, note = ? WHERE id = ?`, s.now(), actor.Name, note, id)
	return err
}

// TrainOptions tune TrainMatchModel.
type TrainOptions struct {
	Sample int  // records used (0: up to 300,000)
	DryRun bool // estimate and return, do not store
	// EM also re-estimates m by expectation-maximisation (experimental:
	// see TrainMatchModel); without it only u is measured and m kept.
	EM         bool
	RandomSeed uint64
}

// TrainMatchModel estimates the model from the registry: u from a million
// random pairs (always), and with o.EM m by EM over blocked pairs in two
// sessions (Splink's recipe):
// pairs sharing an exact birth date estimate the name, phone and village
// levels; pairs sharing both names' phonetic keys estimate birth date,
// sex, phone and village. The defaults are the prior. Stored (unless
// DryRun) with the registry and used by every later check. EM is
// experimental: on the seeded generator twins dominate pairs sharing a
// birth date and namesakes pairs sharing names, and the estimate lost
// recall against the defaults.
func (s *Store) TrainMatchModel(ctx context.Context, o TrainOptions) (*match.Model, error) {
	a, err := idcards.Require(ctx, idcards.PermSettings)
	if err != nil {
		return nil, err
	}
	return s.trainMatchModel(ctx, a.Name, o)
}

// trainAfterImport estimates a first model after an import that left the
// registry with enough patients (5,000) and no trained model, or that at
// least doubled it since the last training.
// Not called yet (see Import).
func (s *Store) trainAfterImport(ctx context.Context, actor string) error {
	m, err := s.MatchModel(ctx)
	if err != nil {
		return err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM patients WHERE merged_into IS NULL`).Scan(&n); err != nil {
		return err
	}
	if n < 5000 || (m.Source == "em" && n < 2*m.Records) {
		return nil
	}
	_, err = s.trainMatchModel(ctx, actor, TrainOptions{})
	return err
}

func (s *Store) trainMatchModel(ctx context.Context, actor string, o TrainOptions) (*match.Model, error) {
	cfg, err := s.matchConfig(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := s.loadRecords(ctx, cfg.variants)
	if err != nil {
		return nil, fmt.Errorf("registry: match-train: %w", err)
	}
	seed := o.RandomSeed
	if seed == 0 {
		seed = 1
	}
	rng := rand.New(rand.NewPCG(seed, seed+1))
	n := len(recs)
	if o.Sample <= 0 {
		o.Sample = 300_000
	}
	if len(recs) > o.Sample {
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		recs = recs[:o.Sample]
	}
	year := s.Now().Year()
	def := match.DefaultModel()
	var prior, u [match.NumFields][]float64
	for f := range match.NumFields {
		prior[f] = def.Fields[f].M
	}
	u = match.EstimateU(recs, 1_000_000, year, rng)
	if !o.EM {
		m, err := s.MatchModel(ctx)
		if err != nil {
			return nil, err
		}
		for f := range match.NumFields {
			m.Fields[f].U = u[f]
		}
		if m.Source == "default" {
			m.Source = "u"
		}
		m.TrainedAt, m.Records = s.now(), n
		if o.DryRun {
			return m, nil
		}
		if err := s.storeModel(ctx, m, cfg.variants, actor, fmt.Sprintf("u measured on %d records", len(recs))); err != nil {
			return nil, fmt.Errorf("registry: match-train: %w", err)
		}
		return m, nil
	}
	session := func(keep func(k string) bool, fixed [match.NumFields]bool) ([match.NumFields][]float64, float64, int) {
		counts := map[match.Pattern]float64{}
		pairs := 0
		var mu sync.Mutex
		blocks := blocksWhere(recs, keep)
		match.EachBlockedPair(blocks, runtime.NumCPU(), func(_ int, x, y int32) {
			p := match.PatternOf(match.Compare(&recs[x], &recs[y], year))
			mu.Lock()
			counts[p]++
			pairs++
			mu.Unlock()
		}, nil)
		// Expect at most one duplicate pair per 20 records among them.
		lambda := math.Min(0.5, math.Max(1e-6, 0.05*float64(len(recs))/float64(max(pairs, 1))))
		m, share := match.EM(counts, prior, u, fixed, 500, lambda, 40)
		return m, share, pairs
	}
	// One session, on pairs sharing an exact birth date (and sex): it
	// estimates the names', phone's and village's m.
	mA, lA, pA := session(func(k string) bool { return strings.HasPrefix(k, "d:") }, [match.NumFields]bool{match.FBirth: true})
	// The birth date's and sex's m stay at the priors: every blocking
	// that leaves the birth date out (both names' keys, the phone) is
	// dominated by people the other fields cannot tell from a duplicate —
	// namesakes, and a junior of the same name, phone and village — and EM
	// then learns that duplicates are often born years apart (measured on
	// the generator: m("other") 0.35–0.50, against about 0.01).
	m := match.DefaultModel()
	m.Source, m.TrainedAt, m.Records, m.Pairs = "em", s.now(), n, pA
	m.Matches = int(lA * float64(pA))
	for f := range match.NumFields {
		switch match.Field(f) {
		case match.FGiven, match.FFamily, match.FPhone, match.FVillage:
			m.Fields[f].M = mA[f]
		}
		m.Fields[f].U = u[f]
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	if err := plausibleEM(m); err != nil {
		return nil, err
	}
	if o.DryRun {
		return m, nil
	}
	if err := s.storeModel(ctx, m, cfg.variants, actor, fmt.Sprintf("records=%d pairs=%d matches=%d", n, m.Pairs, m.Matches)); err != nil {
		return nil, fmt.Errorf("registry: match-train: %w", err)
	}
	return m, nil
}

// plausibleEM refuses an EM estimate that says a registry's duplicates
// often carry an entirely different name: it took relatives or namesakes
// for duplicates, and would make every namesake a candidate.
func plausibleEM(m *match.Model) error {
	for _, f := range []match.Field{match.FGiven, match.FFamily} {
		if other := m.Fields[f].M[match.NameOther]; other > emMostOther {
			return idcards.Errorf(idcards.Invalid, "match-train --em: EM judged that %.0f%% of duplicates have an entirely different %s name — relatives or namesakes (common names sharing a birth date) misled it; nothing was stored and the model in use is unchanged (u alone: match-train without --em)", 100*other, f)
		}
	}
	return nil
}

// emMostOther is the most plausible share of a registry's duplicates
// whose given (or family) name differs entirely; the defaults say 1 %.
const emMostOther = 0.1

// blocksWhere is match.Blocks restricted to keys keep accepts.
func blocksWhere(recs []match.Record, keep func(string) bool) [][]int32 {
	groups := map[string][]int32{}
	for i := range recs {
		for _, k := range match.BlockKeys(&recs[i]) {
			if keep(k) {
				groups[k] = append(groups[k], int32(i))
			}
		}
	}
	out := make([][]int32, 0, len(groups))
	for _, g := range groups {
		if len(g) > 1 {
			sort.Slice(g, func(i, j int) bool { return recs[g[i]].Y < recs[g[j]].Y })
			out = append(out, g)
		}
	}
	return out
}
