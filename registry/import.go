package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// RowError is a problem with one row of an imported file. Line is the
// file's line (spreadsheet row) where the record starts, header = 1.
type RowError struct {
	Line   int
	Column string // "" when the problem is not one column's
	Err    error
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("row %s: %v", Thousands(e.Line), e.Err)
	}
	return fmt.Sprintf("row %s, column %s: %v", Thousands(e.Line), e.Column, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// Thousands formats n with comma separators: 1204 -> "1,204".
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// ImportRow is one patient read from a legacy register or an export.
type ImportRow struct {
	Line    int
	UUID    string // kept when given (round trip of an export); new otherwise
	Patient NewPatient
	// MRNs are the row's identifiers as written; the first is the primary.
	MRNs []string
}

// ImportOptions say how identifiers outside this registry's series are
// treated and what happens to bad rows.
type ImportOptions struct {
	// LegacyScheme validates IDs that are not of this registry's series
	// with another check scheme (e.g. the old system's "luhn").
	LegacyScheme string
	// LegacyUnchecked accepts such IDs without any check.
	LegacyUnchecked bool
	// IssueMissing issues a new MRN to rows without one.
	IssueMissing bool
	// SkipBad imports the good rows and reports the bad ones; without it
	// the first bad row aborts the whole import (nothing is written).
	SkipBad bool
	// DryRun does all the work and checks, then rolls back.
	DryRun bool
	// NoDuplicateCheck skips the duplicate check of the imported patients
	// (run `patients duplicates` later).
	NoDuplicateCheck bool
	// CheckProgress, if not nil, is called as the duplicate check goes
	// (patients checked, or blocks scanned, of total).
	CheckProgress func(done, total int)
	// Source names the file, for the audit trail.
	Source string
}

// Row outcomes.
const (
	RowImported = "imported"
	RowExists   = "exists"   // identical patient already present: re-run
	RowRejected = "rejected" // only with SkipBad
)

// RowOutcome is what happened to one row.
type RowOutcome struct {
	Line      int
	Action    string
	PatientID int64
	MRNs      []string // as recorded (canonical form), issued ones included
	Err       error    // *RowError for rejected rows
	Row       ImportRow
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	Rows, Imported, Existing, Rejected, LegacyIDs, Issued int
	DryRun                                                bool
	// Committed: the rows are saved. An error returned with Committed set
	// came after the commit (indexing or the duplicate check, which the
	// next import or patients duplicates resumes): the import itself
	// stands and must not be reported as lost.
	Committed bool
	// Check is what the duplicate check of the imported patients put in
	// the review list, or for a dry run what it found (nil with
	// NoDuplicateCheck).
	Check *ImportCheck
}

// errDryRun rolls a dry run back.
var errDryRun = errors.New("dry run")

// Import reads rows from next until io.EOF and records them in one
// transaction. next returns a *RowError for a row it could not parse; with
// SkipBad it is reported as rejected and the import goes on, otherwise the
// import stops and nothing is written. Any other error from next aborts.
//
// Identifiers of this registry's series are recorded in their series, so
// the sequence skips them; others (legacy IDs) need LegacyScheme or
// LegacyUnchecked. An ID used twice in the file, or already in the registry
// for a different patient, is a row error. A row identical to a patient
// already present (same UUID, or same name, birth date, sex, phone and
// village) is counted as existing and skipped: re-running an import after a
// partial run or with a fixed file is safe.
//
// After the import, the imported patients get the duplicate check (unless
// NoDuplicateCheck): every pair with a patient already registered, or
// between two imported rows, at possible or above goes to the supervisor's
// review list, and ImportSummary.Check counts them. A dry run checks each
// row against the registry as it is instead, records nothing, and lists
// the rows that look like registered patients (ImportCheck.LookAlikes).
//
// report, if not nil, is called once per row, in order.
func (s *Store) Import(ctx context.Context, next func() (ImportRow, error), opts ImportOptions, report func(RowOutcome)) (ImportSummary, error) {
	a, err := idcards.Require(ctx, idcards.PermImport)
	if err != nil {
		return ImportSummary{}, err
	}
	if opts.IssueMissing {
		if _, err := idcards.Require(ctx, idcards.PermIssue); err != nil {
			return ImportSummary{}, err
		}
	}
	var legacy barcode.Scheme
	if opts.LegacyScheme != "" {
		if legacy, err = barcode.Lookup(opts.LegacyScheme); err != nil {
			return ImportSummary{}, idcards.Errorf(idcards.Invalid, "legacy scheme: %v", err)
		}
	}
	if report == nil {
		report = func(RowOutcome) {}
	}
	sum := ImportSummary{DryRun: opts.DryRun}
	var imported []int64
	var resumed []int64     // imported by an earlier import whose check did not finish
	var dryRows []LookAlike // a dry run's rows to check after the roll-back
	dryUnchecked := 0
	err = s.tx(ctx, func(tx *sql.Tx) error {
		im, err := s.newImporter(ctx, tx, a.Name, opts, legacy)
		if err != nil {
			return err
		}
		defer im.close()
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			row, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *RowError
			if err != nil && !errors.As(err, &re) {
				return err
			}
			sum.Rows++
			out := RowOutcome{Line: row.Line, Row: row}
			if re == nil {
				out, err = im.row(ctx, row)
				if err != nil && !errors.As(err, &re) {
					return err
				}
			}
			if re != nil {
				if !opts.SkipBad {
					return re
				}
				out.Action, out.Err = RowRejected, re
				if out.Line == 0 {
					out.Line = re.Line
				}
				sum.Rejected++
				report(out)
				continue
			}
			switch out.Action {
			case RowImported:
				sum.Imported++
				imported = append(imported, out.PatientID)
				if opts.DryRun && !opts.NoDuplicateCheck {
					if len(dryRows) < dryCheckMax {
						dryRows = append(dryRows, LookAlike{Line: out.Line, Patient: row.Patient})
					} else {
						dryUnchecked++
					}
				}
			case RowExists:
				sum.Existing++
			}
			report(out)
		}
		sum.LegacyIDs, sum.Issued = im.legacyIDs, im.issued
		if im.iss != nil {
			if err := im.iss.finish(ctx); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("source=%s rows=%d imported=%d existing=%d rejected=%d legacy_ids=%d issued=%d",
			opts.Source, sum.Rows, sum.Imported, sum.Existing, sum.Rejected, sum.LegacyIDs, sum.Issued)
		if err := im.audit.add(ctx, "patients.import", opts.Source, detail); err != nil {
			return err
		}
		if err := im.audit.flush(ctx); err != nil {
			return err
		}
		if opts.DryRun {
			return errDryRun
		}
		if !opts.NoDuplicateCheck && len(imported) > 0 {
			// Committed with the patients: the check still owed them, so
			// a process killed between the commit and the check's end
			// leaves it on record, and the next import runs it.
			owed, err := pendingCheck(ctx, tx)
			if err != nil {
				return err
			}
			resumed = owed
			if err := setPendingCheck(ctx, tx, append(slices.Clone(owed), imported...)); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
		if len(dryRows) > 0 {
			// After the roll-back, so the check reads the registry as it
			// is and never waits on the import's own transaction.
			ch, cerr := s.checkDryRun(ctx, dryRows, dryUnchecked, opts.CheckProgress)
			if cerr != nil {
				return sum, fmt.Errorf("registry: import: dry run: the duplicate check failed: %w", cerr)
			}
			sum.Check = &ch
		}
	}
	if err != nil {
		return sum, fmt.Errorf("registry: import: %w", err)
	}
	sum.Committed = !opts.DryRun
	// The duplicate check must see the new patients: index them now, not
	// at the first desk query. (A model is not estimated here: EM on the
	// seeded generator lost half the probable recall against the defaults;
	// match-train is explicit, to be checked with match-eval.)
	if !opts.DryRun && sum.Imported > 0 {
		if _, err := s.SyncMatchIndex(ctx, nil); err != nil {
			return sum, fmt.Errorf("registry: import: imported, but the matching index failed: %w", err)
		}
		if !opts.NoDuplicateCheck {
			ch, err := s.checkImported(ctx, append(resumed, imported...), opts.CheckProgress)
			if err != nil {
				return sum, fmt.Errorf("registry: import: imported, but the duplicate check failed (run idcards patients duplicates): %w", err)
			}
			ch.Resumed = len(resumed)
			sum.Check = &ch
			if err := s.tx(ctx, func(tx *sql.Tx) error { return setPendingCheck(ctx, tx, nil) }); err != nil {
				return sum, fmt.Errorf("registry: import: checked, but: %w", err)
			}
		}
	}
	return sum, nil
}

// importer holds one import's prepared statements and state.
type importer struct {
	s         *Store
	tx        *sql.Tx
	actor     string
	at        string
	opts      ImportOptions
	legacy    barcode.Scheme
	codecs    []codecRow
	seen      map[string]int // MRN -> line, within this file
	stmts     map[string]*sql.Stmt
	audit     *auditWriter
	iss       *issuer
	legacyIDs int
	issued    int
}

type codecRow struct {
	id    int64
	codec barcode.Codec
}

const (
	qFindMRN     = `SELECT state, coalesce(patient_id,0) FROM identifiers WHERE mrn = ?`
	qExternal    = `SELECT count(*) FROM external_identifiers WHERE identifier = ?`
	qByUUID      = `SELECT ` + patientCols + ` FROM patients WHERE uuid = ?`
	qSameAs      = `SELECT id FROM patients WHERE name_norm = ? AND coalesce(birth_date,'') = ? AND sex = ? AND coalesce(phone,'') = ? AND coalesce(village,'') = ? AND given_name = ? AND family_name = ?`
	qIdentical   = qSameAs + ` LIMIT 1`
	qIdenticalID = qSameAs + ` AND id = ?`
	qInsPatient  = `INSERT INTO patients(uuid, given_name, family_name, sex, birth_date, birth_date_estimated, birth_year, phone, phone_suffix, village, given_key, family_key, name_norm, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`
	qInsID       = `INSERT INTO identifiers(mrn, series_id, seq, state, patient_id, legacy, issued_at, issued_by, assigned_at) VALUES (?,?,?,'active',?,1,?,?,?)`
	qEnqueue     = `INSERT INTO outbox(kind, patient_id, mrn, created_at) VALUES (?,?,?,?)`
	qPatientMRNs = `SELECT mrn FROM identifiers WHERE patient_id = ? AND state <> 'voided'`
)

func (s *Store) newImporter(ctx context.Context, tx *sql.Tx, actor string, opts ImportOptions, legacy barcode.Scheme) (*importer, error) {
	im := &importer{s: s, tx: tx, actor: actor, at: s.now(), opts: opts, legacy: legacy, seen: map[string]int{}, stmts: map[string]*sql.Stmt{}}
	// A large import in one transaction spills SQLite's default 2 MB page
	// cache to the WAL again and again; 64 MB keeps a 100k-row import in
	// memory until commit. It applies to this pooled connection only.
	if err := s.tune(ctx, tx, `PRAGMA cache_size = -65536`); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, prefix, width, scheme FROM series`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r codecRow
		var f idcards.Format
		if err := rows.Scan(&r.id, &f.Prefix, &f.Width, &f.Scheme); err != nil {
			rows.Close()
			return nil, err
		}
		if r.codec, err = barcode.NewCodec(f); err != nil {
			rows.Close()
			return nil, err
		}
		im.codecs = append(im.codecs, r)
	}
	rows.Close()
	for _, q := range []string{qFindMRN, qExternal, qByUUID, qIdentical, qIdenticalID, qInsPatient, qInsID, qEnqueue, qPatientMRNs} {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			im.close()
			return nil, err
		}
		im.stmts[q] = st
	}
	if im.audit, err = s.newAuditWriter(ctx, tx, actor); err != nil {
		im.close()
		return nil, err
	}
	if opts.IssueMissing {
		if im.iss, err = s.newIssuer(ctx, tx, actor); err != nil {
			im.close()
			return nil, err
		}
	}
	return im, nil
}

func (im *importer) close() {
	for _, st := range im.stmts {
		st.Close()
	}
	if im.audit != nil {
		im.audit.close()
	}
	if im.iss != nil {
		im.iss.close()
	}
	// Give the pooled connection its normal cache back, so a long-running
	// process (the TUI, serve) does not keep 64 MB per connection after an
	// import. Memory during an import is bounded by this cache, not by the
	// file: ~150 MB peak RSS for 100,000 and for 300,000 rows alike.
	im.s.tune(context.Background(), im.tx, `PRAGMA cache_size = -2000`)
}

// resolvedID is a row's identifier after validation.
type resolvedID struct {
	mrn      string
	seriesID any
	seq      any
	existing int64 // patient already holding it, 0 if new
}

// resolveMRN validates one identifier from column col.
func (im *importer) resolveMRN(ctx context.Context, line int, col, raw string) (resolvedID, error) {
	bad := func(format string, args ...any) error {
		return &RowError{Line: line, Column: col, Err: idcards.Errorf(idcards.Invalid, format, args...)}
	}
	n := barcode.Normalize(raw)
	if n == "" {
		return resolvedID{}, bad("empty identifier")
	}
	if len(n) > barcode.MaxInput {
		return resolvedID{}, bad("identifier is %d characters long", len(n))
	}
	r := resolvedID{mrn: n}
	matched := false
	for _, c := range im.codecs {
		if !c.codec.HasPrefix(n) {
			continue
		}
		mrn, seq, err := c.codec.Parse(n)
		if err == nil {
			r.mrn, r.seriesID, r.seq, matched = mrn, c.id, seq, true
			break
		}
		// An ID of this series' shape whose check character is wrong is
		// one of our own numbers mistyped, whatever the legacy flags say:
		// kept, it would file a patient under a typo of another's card
		// (and the series would later issue the right number to someone
		// else).
		var pe *barcode.ParseError
		if errors.As(err, &pe) && pe.Status == idcards.StatusInvalidCheck {
			return r, bad("%s has this registry's prefix %s but a wrong check character (probably a typo): check the number on the card (the legacy flags do not apply to this registry's own IDs)", raw, c.codec.Prefix)
		}
		if !im.opts.LegacyUnchecked && im.legacy == nil {
			return r, bad("%s has this registry's prefix %s but %v", raw, c.codec.Prefix, err)
		}
	}
	if !matched {
		switch {
		case im.legacy != nil:
			if err := im.legacy.Validate(n); err != nil {
				return r, bad("%s is not a valid %s identifier: %v", raw, im.legacy.Name(), err)
			}
		case im.opts.LegacyUnchecked:
		default:
			return r, bad("%s is not an ID of this registry (%s); to keep an old system's numbers use --legacy-scheme NAME or --legacy-unchecked", raw, codecNames(im.codecs))
		}
	}
	if prev, ok := im.seen[r.mrn]; ok && prev != line {
		return r, bad("%s is also on row %s: one ID cannot belong to two rows", r.mrn, Thousands(prev))
	}
	var state string
	err := im.stmts[qFindMRN].QueryRowContext(ctx, r.mrn).Scan(&state, &r.existing)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return r, err
	case state != string(idcards.IDActive):
		return r, bad("%s is already in the registry (%s)", r.mrn, state)
	}
	if r.existing == 0 {
		var ext int
		if err := im.stmts[qExternal].QueryRowContext(ctx, r.mrn).Scan(&ext); err != nil {
			return r, err
		}
		if ext > 0 {
			return r, bad("%s is already in use in OpenMRS (seen by sync)", r.mrn)
		}
	}
	return r, nil
}

func codecNames(cs []codecRow) string {
	var p []string
	for _, c := range cs {
		p = append(p, fmt.Sprintf("prefix %q, %s", c.codec.Prefix, c.codec.Scheme.Name()))
	}
	return strings.Join(p, "; ")
}

// row imports one row or says why not.
func (im *importer) row(ctx context.Context, row ImportRow) (RowOutcome, error) {
	out := RowOutcome{Line: row.Line, Row: row}
	np := row.Patient
	if err := np.ValidateRecord(im.s.Now()); err != nil { // legacy rows may lack a birth date (docs/patients.md)
		return out, &RowError{Line: row.Line, Err: err}
	}
	ids := make([]resolvedID, 0, len(row.MRNs))
	for i, raw := range row.MRNs {
		col := "mrn"
		if i > 0 {
			col = "other_mrns"
		}
		r, err := im.resolveMRN(ctx, row.Line, col, raw)
		if err != nil {
			return out, err
		}
		ids = append(ids, r)
	}
	// Is this patient already here (a re-run)? The record holding one of
	// the row's IDs first: identical records may be several people.
	var owner int64
	for _, r := range ids {
		if r.existing != 0 {
			owner = r.existing
			break
		}
	}
	existing, err := im.findSame(ctx, row, np, owner)
	if err != nil {
		return out, err
	}
	if existing != 0 && len(ids) > 0 {
		// Identical details but none of the row's IDs, while the record
		// holds IDs of its own: two register entries, each with its own
		// card (two John Okellos born in 1990), not a re-run. Imported as
		// a patient of its own; the duplicate check puts the pair on the
		// review list, where a supervisor merges them if they are one.
		shared := false
		for _, r := range ids {
			shared = shared || r.existing == existing
		}
		if !shared {
			var held int
			if err := im.tx.QueryRowContext(ctx, `SELECT count(*) FROM identifiers WHERE patient_id = ? AND state = 'active'`, existing).Scan(&held); err != nil {
				return out, err
			}
			if held > 0 {
				existing = 0
			}
		}
	}
	for _, r := range ids {
		if r.existing != 0 && r.existing != existing {
			return out, &RowError{Line: row.Line, Column: "mrn", Err: idcards.Errorf(idcards.Conflict, "%s already belongs to another patient in the registry (patient %d)", r.mrn, r.existing)}
		}
	}
	for _, r := range ids {
		im.seen[r.mrn] = row.Line
	}
	if existing != 0 {
		out.Action, out.PatientID = RowExists, existing
		// IDs new to an existing patient are added (a fixed file re-run).
		for _, r := range ids {
			if r.existing == 0 {
				if err := im.insertID(ctx, existing, r); err != nil {
					return out, err
				}
			}
			out.MRNs = append(out.MRNs, r.mrn)
		}
		return out, nil
	}
	pid, uuid, err := im.insertPatient(ctx, row.UUID, np)
	if err != nil {
		return out, err
	}
	out.Action, out.PatientID = RowImported, pid
	for _, r := range ids {
		if err := im.insertID(ctx, pid, r); err != nil {
			return out, err
		}
		out.MRNs = append(out.MRNs, r.mrn)
	}
	if len(ids) == 0 && im.iss != nil {
		mrn, err := im.iss.next(ctx, pid)
		if err != nil {
			return out, err
		}
		if _, err := im.stmts[qEnqueue].ExecContext(ctx, "add_identifier", pid, mrn, im.at); err != nil {
			return out, err
		}
		im.issued++
		out.MRNs = append(out.MRNs, mrn)
	}
	detail := fmt.Sprintf("row=%d", row.Line)
	if len(out.MRNs) > 0 {
		detail += " mrn=" + strings.Join(out.MRNs, ",")
	}
	if err := im.audit.add(ctx, "patient.import", uuid, detail); err != nil {
		return out, err
	}
	return out, nil
}

// findSame returns the id of a patient identical to the row (by UUID when
// the row has one, else by every demographic field), or 0; owner, when not
// 0, is the record holding one of the row's IDs, preferred when identical.
func (im *importer) findSame(ctx context.Context, row ImportRow, np NewPatient, owner int64) (int64, error) {
	if row.UUID != "" {
		p, err := scanPatient(im.stmts[qByUUID].QueryRowContext(ctx, row.UUID))
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if p.GivenName != np.GivenName || p.FamilyName != np.FamilyName || p.BirthDate != np.BirthDate {
			return 0, &RowError{Line: row.Line, Column: "uuid", Err: idcards.Errorf(idcards.Conflict, "uuid %s already belongs to %s (born %s)", row.UUID, p.DisplayName(), p.BirthDate)}
		}
		return p.ID, nil
	}
	sex := np.Sex
	if sex == "" {
		sex = idcards.SexUnknown
	}
	var id int64
	args := []any{FoldName(np.GivenName + " " + np.FamilyName), np.BirthDate, string(sex), np.Phone, np.Village, np.GivenName, np.FamilyName}
	if owner != 0 {
		err := im.stmts[qIdenticalID].QueryRowContext(ctx, append(args, owner)...).Scan(&id)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return id, err
		}
	}
	err := im.stmts[qIdentical].QueryRowContext(ctx, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

func (im *importer) insertPatient(ctx context.Context, uuid string, np NewPatient) (int64, string, error) {
	if uuid == "" {
		uuid = newUUID()
	}
	sex := np.Sex
	if sex == "" {
		sex = idcards.SexUnknown
	}
	var year any
	if len(np.BirthDate) >= 4 {
		if y, err := strconv.Atoi(np.BirthDate[:4]); err == nil {
			year = y
		}
	}
	gk, fk := im.s.keys(np.GivenName, np.FamilyName)
	var id int64
	err := im.stmts[qInsPatient].QueryRowContext(ctx, uuid, np.GivenName, np.FamilyName, string(sex), nullStr(np.BirthDate), np.BirthDateEstimated, year,
		nullStr(np.Phone), nullStr(phoneSuffix(np.Phone)), nullStr(np.Village), nullStr(gk), nullStr(fk),
		FoldName(np.GivenName+" "+np.FamilyName), im.at, im.actor).Scan(&id)
	if err != nil {
		return 0, "", err
	}
	if _, err := im.stmts[qEnqueue].ExecContext(ctx, "register_patient", id, nil, im.at); err != nil {
		return 0, "", err
	}
	return id, uuid, nil
}

func (im *importer) insertID(ctx context.Context, pid int64, r resolvedID) error {
	if _, err := im.stmts[qInsID].ExecContext(ctx, r.mrn, r.seriesID, r.seq, pid, im.at, im.actor, im.at); err != nil {
		return err
	}
	im.legacyIDs++
	_, err := im.stmts[qEnqueue].ExecContext(ctx, "add_identifier", pid, r.mrn, im.at)
	return err
}

// auditWriter appends many audit rows in one transaction, keeping the
// chain's head in memory instead of reading it back for every row. Rows
// are written auditBatch at a time: one fold of the rows they changed
// (its state goes into the last of them, as appendAudit does) and one
// INSERT, instead of a fold and an INSERT per imported row — on
// PostgreSQL each is a round trip or more. flush writes what is left; the
// import calls it before it commits.
type auditWriter struct {
	s       *Store
	actor   string
	seq     int64
	prev    string
	tx      *sql.Tx
	pending []idcards.AuditEvent
	at      []string
}

// auditBatch is how many audit rows auditWriter writes at once.
const auditBatch = 100

func (s *Store) newAuditWriter(ctx context.Context, tx *sql.Tx, actor string) (*auditWriter, error) {
	w := &auditWriter{s: s, actor: actor, prev: genesisHash, tx: tx}
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&w.seq, &w.prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return w, nil
}

func (w *auditWriter) add(ctx context.Context, action, subject, detail string) error {
	if w.s.key == nil {
		return errNoChainKey
	}
	w.pending = append(w.pending, idcards.AuditEvent{Actor: w.actor, Action: action, Subject: subject, Detail: detail})
	w.at = append(w.at, w.s.now())
	if len(w.pending) >= auditBatch {
		return w.flush(ctx)
	}
	return nil
}

// flush writes the rows added since the last flush.
func (w *auditWriter) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	state, err := w.s.foldState(ctx, w.tx) // auditstate.go: the rows these import rows changed
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	args := make([]any, 0, 9*len(w.pending))
	for i, e := range w.pending {
		st := ""
		if i == len(w.pending)-1 {
			st = state
		}
		e.Seq, e.PrevHash = w.seq+1, w.prev
		e.Hash = chainHMAC(w.s.key.Secret, e, w.at[i], st)
		args = append(args, e.Seq, w.at[i], e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash, st)
		w.seq, w.prev = e.Seq, e.Hash
	}
	if err := execValues(ctx, w.tx, `INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash, state) VALUES `, 9, "", args); err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	w.pending, w.at = w.pending[:0], w.at[:0]
	return nil
}

func (w *auditWriter) close() {}

// Export calls fn for every patient, in registration order, with their
// active (not voided) MRNs sorted. It streams: memory does not grow with
// the registry.
//
// Only a supervisor (export_patients) exports: every patient's details at
// once is not a desk task. Each export is audited (patients.export, with
// the rows written), also one that stopped half-way.
func (s *Store) Export(ctx context.Context, fn func(p idcards.Patient, mrns []string) error) (n int, err error) {
	if _, err := idcards.Require(ctx, idcards.PermExport); err != nil {
		return 0, err
	}
	defer func() {
		detail := fmt.Sprintf("rows=%d", n)
		if err != nil {
			detail += " incomplete=true"
		}
		if aerr := s.Audit(context.WithoutCancel(ctx), "patients.export", "", detail); aerr != nil && err == nil {
			err = aerr
		}
	}()
	rows, err := s.db.QueryContext(ctx, `SELECT `+patientCols+`,
		coalesce((SELECT group_concat(mrn, ' ' ORDER BY mrn) FROM identifiers i WHERE i.patient_id = patients.id AND i.state = 'active'), '')
		FROM patients ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("registry: export: %w", err)
	}
	defer rows.Close()
	n = 0
	for rows.Next() {
		var p idcards.Patient
		var sex, created, mrns string
		if err := rows.Scan(&p.ID, &p.UUID, &p.GivenName, &p.FamilyName, &sex, &p.BirthDate, &p.BirthDateEstimated, &p.Phone, &p.Village, &p.MergedInto, &created, &p.CreatedBy, &mrns); err != nil {
			return n, err
		}
		p.Sex, p.CreatedAt = idcards.Sex(sex), parseTime(created)
		if err := fn(p, strings.Fields(mrns)); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("registry: export: %w", err)
	}
	return n, nil
}

// pendingCheckKey is the setting that holds the ids of imported patients
// whose duplicate check has not finished ("12-340,352"): written with the
// import's commit, cleared when its check (or a whole-registry scan) ends.
const pendingCheckKey = "import_check_pending"

func pendingCheck(ctx context.Context, q queryer) ([]int64, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, pendingCheckKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []int64
	for part := range strings.SplitSeq(v, ",") {
		lo, hi, ranged := strings.Cut(part, "-")
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b := a
		var err2 error
		if ranged {
			b, err2 = strconv.ParseInt(hi, 10, 64)
		}
		if err1 != nil || err2 != nil || b < a || b-a > 100_000_000 {
			continue // not ours: a check of the whole registry covers it (patients duplicates)
		}
		for id := a; id <= b; id++ {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// setPendingCheck records ids (as ranges), or clears the setting.
func setPendingCheck(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		_, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, pendingCheckKey)
		return err
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(ids[i], 10))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.FormatInt(ids[j], 10))
		}
		i = j + 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, pendingCheckKey, b.String())
	return err
}

// PendingImportCheck is how many imported patients still wait for the
// duplicate check of their import (killed before it finished): the next
// import, or idcards patients duplicates, checks them.
func (s *Store) PendingImportCheck(ctx context.Context) (int, error) {
	ids, err := pendingCheck(ctx, s.db)
	return len(ids), err
}
