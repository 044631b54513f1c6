package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
	"golang.org/x/text/unicode/norm"
)

// NewPatient is what the desk collects to register a person.
type NewPatient struct {
	GivenName          string
	FamilyName         string
	Sex                idcards.Sex
	BirthDate          string // YYYY-MM-DD
	BirthDateEstimated bool
	Phone              string
	Village            string
}

// Patient is np as an unsaved patient record (no ID, UUID or creation).
func (np NewPatient) Patient() idcards.Patient {
	return idcards.Patient{GivenName: np.GivenName, FamilyName: np.FamilyName, Sex: np.Sex, BirthDate: np.BirthDate,
		BirthDateEstimated: np.BirthDateEstimated, Phone: np.Phone, Village: np.Village}
}

// newPatientOf is the reverse of NewPatient.Patient: a record's details.
func newPatientOf(p idcards.Patient) NewPatient {
	return NewPatient{GivenName: p.GivenName, FamilyName: p.FamilyName, Sex: p.Sex, BirthDate: p.BirthDate,
		BirthDateEstimated: p.BirthDateEstimated, Phone: p.Phone, Village: p.Village}
}

// Validate checks the fields a registration needs and normalises them
// (names in Unicode NFC with single spaces, sex in its one-letter form).
// It is the one rule set of the CLI, the desk screen and edits: a name
// (given or family), each part at most idcards.MaxNameRunes characters
// with at least one letter and no digits, emoji, symbols or control
// characters; a birth date or an age (an estimated birth date: see
// ParseAge), not in the future and at most 130 years ago; a phone of 6 to
// 15 digits. Import applies the same rules except that a legacy row may
// lack a birth date (see ValidateRecord).
func (p *NewPatient) Validate(now time.Time) error {
	if err := p.ValidateRecord(now); err != nil {
		return err
	}
	if p.BirthDate == "" {
		return idcards.Errorf(idcards.Invalid, "a date of birth or an age is needed: type the date (YYYY-MM-DD) or an estimated age (34, or for a baby 3m, 6w, 10d)")
	}
	return nil
}

// ValidateRecord is Validate without the birth-date requirement: the rules
// for a record that already exists elsewhere. Import uses it, because an
// old paper register often has no birth date and refusing the row would
// keep that patient out of the registry (and invite a second registration
// at the desk); such a record has an unknown birth date until it is edited.
func (p *NewPatient) ValidateRecord(now time.Time) error {
	p.GivenName = normName(p.GivenName)
	p.FamilyName = normName(p.FamilyName)
	p.Phone = strings.TrimSpace(p.Phone)
	p.Village = strings.Join(strings.Fields(norm.NFC.String(p.Village)), " ")
	p.BirthDate = strings.TrimSpace(p.BirthDate)
	if p.GivenName == "" && p.FamilyName == "" {
		return idcards.Errorf(idcards.Invalid, "a name is needed: given or family name")
	}
	for _, f := range []struct{ name, v string }{{"given name", p.GivenName}, {"family name", p.FamilyName}} {
		if f.v == "" {
			continue
		}
		if err := checkName(f.name, f.v); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{{"phone", p.Phone}, {"village", p.Village}} {
		if len(f.v) > 200 {
			return idcards.Errorf(idcards.Invalid, "%s is %d bytes long; at most 200", f.name, len(f.v))
		}
		for _, r := range f.v {
			if unicode.IsControl(r) || r == unicode.ReplacementChar || unicode.Is(unicode.Cf, r) && r != 0x200C && r != 0x200D {
				return idcards.Errorf(idcards.Invalid, "%s contains a control or invalid character", f.name)
			}
			if isEmoji(r) {
				return idcards.Errorf(idcards.Invalid, "%s contains an emoji or picture symbol (%c): type plain text", f.name, r)
			}
		}
	}
	sx, err := idcards.ParseSex(string(p.Sex))
	if err != nil {
		return err
	}
	p.Sex = sx
	if p.BirthDate != "" {
		t, err := time.Parse("2006-01-02", p.BirthDate)
		if err != nil {
			return idcards.Errorf(idcards.Invalid, "date of birth %q is not a date (use YYYY-MM-DD)", clipText(p.BirthDate, 20))
		}
		if t.After(now) {
			return idcards.Errorf(idcards.Invalid, "date of birth %s is in the future", p.BirthDate)
		}
		if now.Year()-t.Year() > 130 {
			return idcards.Errorf(idcards.Invalid, "date of birth %s is more than 130 years ago", p.BirthDate)
		}
	}
	if p.Phone != "" {
		digits := 0
		for _, r := range p.Phone {
			switch {
			case r >= '0' && r <= '9':
				digits++
			case strings.ContainsRune("+ -()./", r):
			default:
				return idcards.Errorf(idcards.Invalid, "phone %q: only digits, spaces and + - ( ) . /", clipText(p.Phone, 30))
			}
		}
		if digits < 6 || digits > 15 {
			return idcards.Errorf(idcards.Invalid, "phone %q: %d digits, expected 6 to 15", clipText(p.Phone, 30), digits)
		}
	}
	return nil
}

// BirthDateFromAge turns an estimated age in years into an estimated birth
// date (1 July of the year, never after today), as registration desks and
// OpenMRS's "estimated" flag do. ParseAge also takes months, weeks, days.
func BirthDateFromAge(age int, now time.Time) (string, error) {
	if age < 0 || age > 130 {
		return "", idcards.Errorf(idcards.Invalid, "age %d: must be 0 to 130", age)
	}
	d, _, err := ParseAge(strconv.Itoa(age), now)
	return d, err
}

// KeyFunc computes blocking keys (phonetic codes) for duplicate detection.
// The registry stores what it returns; the match package supplies it.
type KeyFunc func(given, family string) (givenKey, familyKey string)

// FoldName is how names are stored for search (patients.name_norm):
// match.Fold, the folding duplicate detection uses too — case, accents
// and letters like Ł, Ø, ß folded, punctuation dropped — so "Zoë" and
// "zoe", "N'Diaye" and "ndiaye" search alike. Stored names are folded
// again when match.Fold changes (search.go, refoldNames).
func FoldName(s string) string { return match.Fold(s) }

func phoneSuffix(phone string) string {
	var d []byte
	for i := 0; i < len(phone); i++ {
		if phone[i] >= '0' && phone[i] <= '9' {
			d = append(d, phone[i])
		}
	}
	if len(d) > 4 {
		d = d[len(d)-4:]
	}
	return string(d)
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Registration says how a new patient gets an MRN.
type Registration struct {
	Patient NewPatient
	// BindMRN binds an existing unassigned (pre-printed) ID instead of issuing
	// a new one. Empty means issue the next number.
	BindMRN string
	// NoID registers without any MRN (rare: e.g. an import row without ID).
	NoID bool
	// Decision records what the clerk decided about likely duplicates, e.g.
	// "no candidates" or "override: 2 probable matches; reason: ...".
	Decision string
	// CheckMark is Store.CheckMark as it was just before the duplicate
	// check the Decision answers: the patients registered from then on
	// (by another desk, in the seconds the clerk looked) are checked again
	// under the write lock, and a probable one refuses the registration.
	// 0: not known (then only Register's own check, made when Decision is
	// empty, is checked again).
	CheckMark int64
	// Overrides are the probable duplicates the clerk decided were another
	// person: each pair goes to the supervisor's review list at once (a
	// clerk's word alone kept a probable duplicate out of sight until
	// someone ran patients duplicates).
	Overrides []idcards.Candidate
}

// CheckOverrideReason refuses a reason for registering past a probable
// duplicate that says nothing ("x"): it is what a supervisor reads.
func CheckOverrideReason(reason string) error {
	letters := 0
	for _, r := range reason {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters < 4 {
		return idcards.Errorf(idcards.Invalid, "the reason %q says too little: write what tells them apart (e.g. \"different mother, born in Gulu\"); a supervisor reviews it", strings.TrimSpace(reason))
	}
	return nil
}

// CheckMark is the id the next patient will have at the earliest (the
// highest id plus one): taken before a duplicate check, it tells Register
// which patients the check could not have seen (Registration.CheckMark).
func (s *Store) CheckMark(ctx context.Context) (int64, error) {
	var id int64
	// Not a statement prepared once: the first query after a database
	// server came back must get database/sql's retry on a fresh
	// connection, as the check that follows does.
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM patients`).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("registry: check mark: %w", Unreachable(err))
	}
	return id, nil
}

// Register creates a patient and gives them an MRN, in one transaction:
// either all of it is recorded (patient, identifier, outbox, audit) or
// nothing. The MRN is returned only after commit.
func (s *Store) Register(ctx context.Context, r Registration) (idcards.Patient, string, error) {
	a, err := idcards.Require(ctx, idcards.PermRegister)
	if err != nil {
		return idcards.Patient{}, "", err
	}
	if !r.NoID {
		if _, err := idcards.Require(ctx, idcards.PermIssue); err != nil {
			return idcards.Patient{}, "", err
		}
	}
	if err := r.Patient.Validate(s.Now()); err != nil {
		return idcards.Patient{}, "", err
	}
	// The desk's duplicate check: a probable match must have been shown
	// and decided on (Decision, audited) before a second ID exists.
	seen := r.CheckMark
	if strings.TrimSpace(r.Decision) == "" {
		if seen, err = s.CheckMark(ctx); err != nil {
			return idcards.Patient{}, "", err
		}
		cands, err := s.Candidates(ctx, r.Patient, 5)
		if err != nil {
			return idcards.Patient{}, "", err
		}
		if n := countProbable(cands); n > 0 {
			return idcards.Patient{}, "", &DuplicateError{Candidates: cands, Probable: n}
		}
	}
	// Two desks registering one person at once: each check ran before the
	// other's record existed. The records registered since are scored again
	// inside the write transaction, where no other desk can add one.
	var rc *raceCheck
	if seen > 0 {
		if rc, err = s.newRaceCheck(ctx, r.Patient, seen); err != nil {
			return idcards.Patient{}, "", err
		}
	}
	var p idcards.Patient
	var mrn string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if rc != nil {
			if cands, err := rc.probable(ctx, tx); err != nil {
				return err
			} else if len(cands) > 0 {
				return &DuplicateError{Candidates: cands, Probable: len(cands), Meanwhile: true}
			}
		}
		if err := s.checkFlood(ctx, tx, a, 1); err != nil {
			return err
		}
		var err error
		if p, err = s.insertPatient(ctx, tx, a.Name, r.Patient); err != nil {
			return err
		}
		if err := s.insertAudit(ctx, tx, a.Name, "patient.register", p.UUID, r.Decision); err != nil {
			return err
		}
		if len(r.Overrides) > 0 {
			var pairs []foundPair
			for _, c := range r.Overrides {
				pairs = append(pairs, foundPair{a: min(p.ID, c.Patient.ID), b: max(p.ID, c.Patient.ID), prob: c.Score, level: c.Level,
					reasons: append(slices.Clone(c.Reasons), "registered as another person by "+a.Name)})
			}
			if _, _, err := upsertPairs(ctx, tx, slices.Values(pairs), s.now()); err != nil {
				return err
			}
		}
		if err := enqueue(ctx, tx, "register_patient", p.ID, "", s.now()); err != nil {
			return err
		}
		switch {
		case r.NoID:
			return nil
		case r.BindMRN != "":
			mrn = r.BindMRN
			return s.bindTx(ctx, tx, a.Name, mrn, p.ID)
		default:
			mrn, err = s.issueTx(ctx, tx, a.Name, p.ID)
			return err
		}
	})
	if err != nil {
		return idcards.Patient{}, "", err
	}
	return p, mrn, nil
}

// DuplicateError refuses a registration that probably duplicates existing
// patients; the clerk decides and registers again with a Decision.
type DuplicateError struct {
	Candidates []idcards.Candidate
	Probable   int
	// Meanwhile: registered by another desk after this desk's check.
	Meanwhile bool
}

func (e *DuplicateError) Error() string {
	if e.Meanwhile {
		return fmt.Sprintf("%d probable duplicate(s) of this patient registered at another desk a moment ago (%s): use that MRN, or check again and record why this is a different person", e.Probable, candMRNs(e.Candidates))
	}
	return fmt.Sprintf("%d probable duplicate(s) of this patient already registered: use the existing MRN, or record why this is a different person", e.Probable)
}

// Unwrap gives the error its Kind (Conflict).
func (e *DuplicateError) Unwrap() error {
	return idcards.Errorf(idcards.Conflict, "probable duplicate")
}

func countProbable(cs []idcards.Candidate) int {
	n := 0
	for _, c := range cs {
		if c.Level == idcards.MatchProbable {
			n++
		}
	}
	return n
}

func (s *Store) insertPatient(ctx context.Context, tx *sql.Tx, actor string, np NewPatient) (idcards.Patient, error) {
	p := idcards.Patient{UUID: newUUID(), GivenName: np.GivenName, FamilyName: np.FamilyName, Sex: np.Sex,
		BirthDate: np.BirthDate, BirthDateEstimated: np.BirthDateEstimated, Phone: np.Phone, Village: np.Village, CreatedBy: actor}
	if p.Sex == "" {
		p.Sex = idcards.SexUnknown
	}
	var year any
	if len(np.BirthDate) >= 4 {
		var y int
		fmt.Sscan(np.BirthDate[:4], &y)
		year = y
	}
	gk, fk := s.keys(np.GivenName, np.FamilyName)
	now := s.now()
	p.CreatedAt = parseTime(now)
	err := tx.QueryRowContext(ctx, `INSERT INTO patients(uuid, given_name, family_name, sex, birth_date, birth_date_estimated, birth_year,
		phone, phone_suffix, village, given_key, family_key, name_norm, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		p.UUID, p.GivenName, p.FamilyName, string(p.Sex), nullStr(p.BirthDate), p.BirthDateEstimated, year,
		nullStr(p.Phone), nullStr(phoneSuffix(p.Phone)), nullStr(p.Village), nullStr(gk), nullStr(fk),
		FoldName(p.GivenName+" "+p.FamilyName), now, actor).Scan(&p.ID)
	if err != nil {
		return p, fmt.Errorf("registry: register: %w", err)
	}
	return p, nil
}

// keys returns the blocking keys for a name, using the configured KeyFunc.
func (s *Store) keys(given, family string) (string, string) {
	if s.Keys == nil {
		return match.Skeleton{}.Key(given), match.Skeleton{}.Key(family)
	}
	return s.Keys(given, family)
}

// Bind gives an unassigned (pre-printed) ID to an existing patient.
func (s *Store) Bind(ctx context.Context, mrn string, patientID int64) error {
	a, err := idcards.Require(ctx, idcards.PermIssue)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.patientOpen(ctx, tx, patientID); err != nil {
			return err
		}
		return s.bindTx(ctx, tx, a.Name, mrn, patientID)
	})
}

func (s *Store) bindTx(ctx context.Context, tx *sql.Tx, actor, mrn string, patientID int64) error {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM identifiers WHERE mrn = ?`, mrn).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return s.bindLostTx(ctx, tx, actor, mrn, patientID)
	}
	if err != nil {
		return err
	}
	if state != string(idcards.IDUnassigned) {
		return idcards.Errorf(idcards.Conflict, "%s is %s, not an unassigned pre-printed ID", mrn, state)
	}
	if err := refuseHeldElsewhere(ctx, tx, mrn); err != nil { // sync.go
		return err
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `UPDATE identifiers SET state = 'active', patient_id = ?, assigned_at = ? WHERE mrn = ? AND state = 'unassigned'`, patientID, now, mrn); err != nil {
		return err
	}
	if err := enqueue(ctx, tx, "add_identifier", patientID, mrn, now); err != nil {
		return err
	}
	return s.insertAudit(ctx, tx, actor, "id.bind", mrn, fmt.Sprintf("patient=%d", patientID))
}

// bindLostTx gives back an ID that a restore passed over (id_gaps) to the
// patient whose card carries it: the restore lost the record, the card is
// genuine, and the series never issues the number again. Any other
// unrecorded number is refused.
func (s *Store) bindLostTx(ctx context.Context, tx *sql.Tx, actor, mrn string, patientID int64) error {
	notIssued := idcards.Errorf(idcards.NotFound, "%s was never issued by this registry: only reserved (pre-printed) IDs, or IDs a restore lost, can be given to a patient", mrn)
	sc, err := s.seriesCodecs(ctx)
	if err != nil {
		return err
	}
	prefix, seq, ok := seqOf(sc, mrn)
	if !ok {
		return s.bindLostPoolTx(ctx, tx, actor, mrn, patientID, notIssued)
	}
	var seriesID int64
	var kind, at string
	err = tx.QueryRowContext(ctx, qRestoreGap, prefix, seq, seq).Scan(&kind, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return notIssued
	}
	if err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT id FROM series WHERE prefix = ?`, prefix).Scan(&seriesID); err != nil {
		return err
	}
	return s.rebindTx(ctx, tx, actor, mrn, seriesID, seq, patientID, fmt.Sprintf("patient=%d restored_at=%s gap=%s", patientID, at, kind))
}

// rebindTx records mrn (of series seriesID at seq, or nil, nil for a pool
// number) as patientID's active ID, queued for OpenMRS and audited
// id.rebind, unless OpenMRS holds it for someone else or another patient
// has just taken it.
func (s *Store) rebindTx(ctx context.Context, tx *sql.Tx, actor, mrn string, seriesID, seq any, patientID int64, detail string) error {
	if err := refuseHeldElsewhere(ctx, tx, mrn); err != nil { // sync.go
		return err
	}
	now := s.now()
	res, err := tx.ExecContext(ctx, qIssueInsert, mrn, seriesID, seq, string(idcards.IDActive), patientID, now, actor, now)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return idcards.Errorf(idcards.Conflict, "%s was just given to another patient", mrn)
	}
	if err := enqueue(ctx, tx, "add_identifier", patientID, mrn, now); err != nil {
		return err
	}
	return s.insertAudit(ctx, tx, actor, "id.rebind", mrn, detail)
}

// bindLostPoolTx is bindLostTx for a number of the idgen pool that a
// restore lost (poolLost): recorded as the pool issues it (no series),
// and marked issued in the pool.
func (s *Store) bindLostPoolTx(ctx context.Context, tx *sql.Tx, actor, mrn string, patientID int64, notIssued error) error {
	n := strings.ReplaceAll(strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(mrn)), " ", ""), "-", "")
	ident, kind, at, err := poolLost(ctx, tx, n)
	if err != nil {
		return err
	}
	if kind == "" {
		return notIssued
	}
	if _, err := tx.ExecContext(ctx, `UPDATE id_pool SET state = 'issued', changed_at = ? WHERE identifier = ?`, s.now(), ident); err != nil {
		return err
	}
	return s.rebindTx(ctx, tx, actor, ident, nil, nil, patientID, fmt.Sprintf("patient=%d restored_at=%s gap=%s source=idgen-pool", patientID, at, kind))
}

// patientOpen refuses an ID for a patient that does not exist, or whose
// record was merged into another since the desk opened it: a new ID on
// the merged-away record would make the person two active records again,
// and one the duplicate check no longer offers.
func (s *Store) patientOpen(ctx context.Context, tx *sql.Tx, id int64) error {
	var given, family string
	var into int64
	err := tx.QueryRowContext(ctx, `SELECT given_name, family_name, coalesce(merged_into, 0) FROM patients WHERE id = ?`, id).Scan(&given, &family, &into)
	if errors.Is(err, sql.ErrNoRows) {
		return idcards.Errorf(idcards.NotFound, "no patient with id %d", id)
	}
	if err != nil {
		return err
	}
	if into != 0 {
		return idcards.Errorf(idcards.Conflict, "%s's record was merged into the record of %s (the same person): open that record; it holds this record's IDs and cards",
			idcards.Patient{GivenName: given, FamilyName: family}.DisplayName(), s.firstMRN(ctx, tx, into))
	}
	return nil
}

const patientCols = `id, uuid, given_name, family_name, sex, coalesce(birth_date,''), birth_date_estimated, coalesce(phone,''), coalesce(village,''), coalesce(merged_into,0), created_at, created_by`

type scanner interface{ Scan(...any) error }

func scanPatient(r scanner) (idcards.Patient, error) {
	var p idcards.Patient
	var sex, created string
	err := r.Scan(&p.ID, &p.UUID, &p.GivenName, &p.FamilyName, &sex, &p.BirthDate, &p.BirthDateEstimated, &p.Phone, &p.Village, &p.MergedInto, &created, &p.CreatedBy)
	p.Sex, p.CreatedAt = idcards.Sex(sex), parseTime(created)
	return p, err
}

// Patient returns one patient by id.
func (s *Store) Patient(ctx context.Context, id int64) (idcards.Patient, error) {
	p, err := scanPatient(s.queryRow(ctx, `SELECT `+patientCols+` FROM patients WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, idcards.Errorf(idcards.NotFound, "no patient with id %d", id)
	}
	return p, err
}

// Identifier returns one identifier by canonical MRN.
func (s *Store) Identifier(ctx context.Context, mrn string) (idcards.Identifier, error) {
	var id idcards.Identifier
	var state, issued string
	err := s.queryRow(ctx, `SELECT mrn, state, coalesce(patient_id,0), legacy, issued_at, issued_by, coalesce(void_reason,'') FROM identifiers WHERE mrn = ?`, mrn).
		Scan(&id.MRN, &state, &id.PatientID, &id.Legacy, &issued, &id.IssuedBy, &id.VoidReason)
	if errors.Is(err, sql.ErrNoRows) {
		return id, idcards.Errorf(idcards.NotFound, "%s is not in this registry", mrn)
	}
	id.State, id.IssuedAt = idcards.IdentifierState(state), parseTime(issued)
	return id, err
}

// PatientIdentifiers lists a patient's MRNs, newest first.
func (s *Store) PatientIdentifiers(ctx context.Context, patientID int64) ([]idcards.Identifier, error) {
	st, err := s.prepared(ctx, `SELECT mrn, state, legacy, issued_at, issued_by, coalesce(void_reason,'') FROM identifiers WHERE patient_id = ? ORDER BY issued_at DESC, mrn DESC`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, patientID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []idcards.Identifier
	for rows.Next() {
		id := idcards.Identifier{PatientID: patientID}
		var state, issued string
		if err := rows.Scan(&id.MRN, &state, &id.Legacy, &issued, &id.IssuedBy, &id.VoidReason); err != nil {
			return nil, err
		}
		id.State, id.IssuedAt = idcards.IdentifierState(state), parseTime(issued)
		out = append(out, id)
	}
	return out, rows.Err()
}

// Void marks an identifier voided (supervisor). Its cards stop verifying,
// and a void_identifier row takes it off the patient in OpenMRS. Refused
// for an MRN already voided, and for one still bound to a record merged
// into another (the kept record holds the person's IDs: void it there).
func (s *Store) Void(ctx context.Context, mrn, reason string) error {
	a, err := idcards.Require(ctx, idcards.PermVoid)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return idcards.Errorf(idcards.Invalid, "voiding %s needs a reason", mrn)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var state string
		var pid sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT state, patient_id FROM identifiers WHERE mrn = ?`, mrn).Scan(&state, &pid)
		if errors.Is(err, sql.ErrNoRows) {
			return idcards.Errorf(idcards.NotFound, "%s is not in this registry", mrn)
		}
		if err != nil {
			return err
		}
		if state == string(idcards.IDVoided) {
			return idcards.Errorf(idcards.Conflict, "%s is already voided", mrn)
		}
		if pid.Valid {
			var into int64
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(merged_into, 0) FROM patients WHERE id = ?`, pid.Int64).Scan(&into); err != nil {
				return err
			}
			if into != 0 {
				return idcards.Errorf(idcards.Conflict, "%s belongs to a record merged into patient %d (%s), which holds the person's IDs: void it there", mrn, into, s.firstMRN(ctx, tx, into))
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identifiers SET state = 'voided', void_reason = ? WHERE mrn = ?`, reason, mrn); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cards SET state = 'voided', reason = ? WHERE mrn = ? AND state = 'active'`, "identifier voided: "+reason, mrn); err != nil {
			return err
		}
		if pid.Valid {
			if err := enqueue(ctx, tx, "void_identifier", pid.Int64, mrn, s.now()); err != nil {
				return err
			}
		}
		return s.insertAudit(ctx, tx, a.Name, "id.void", mrn, reason)
	})
}

// Counts is a summary of what the registry holds.
type Counts struct {
	Patients, Identifiers, Unassigned, Active, Voided, Cards, PendingOutbox, OpenConflicts, AuditRows int64
}

// Counts returns row counts (status bar, backups, metrics).
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM patients),
		(SELECT count(*) FROM identifiers),
		(SELECT count(*) FROM identifiers WHERE state='unassigned'),
		(SELECT count(*) FROM identifiers WHERE state='active'),
		(SELECT count(*) FROM identifiers WHERE state='voided'),
		(SELECT count(*) FROM cards),
		(SELECT count(*) FROM outbox WHERE state='pending'),
		(SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL),
		(SELECT count(*) FROM audit)`).Scan(&c.Patients, &c.Identifiers, &c.Unassigned, &c.Active, &c.Voided, &c.Cards, &c.PendingOutbox, &c.OpenConflicts, &c.AuditRows)
	return c, err
}

func candMRNs(cs []idcards.Candidate) string {
	var m []string
	for _, c := range cs {
		m = append(m, c.MRNs...)
	}
	if len(m) == 0 {
		return "no MRN yet"
	}
	return strings.Join(m, ", ")
}

// raceCheck scores the patients registered after a duplicate check (ids
// from its check mark on) against the patient being registered, inside the write
// transaction. Everything that reads or writes outside it (the model,
// term frequencies, the match index) is prepared before the transaction.
type raceCheck struct {
	sc   *match.Scorer
	q    match.Record
	prep *match.Preparer
	seen int64
}

// raceWindow bounds how many records registered meanwhile are scored (the
// newest): seconds of other desks' work, or an import running alongside.
const raceWindow = 5000

func (s *Store) newRaceCheck(ctx context.Context, np NewPatient, seen int64) (*raceCheck, error) {
	cfg, err := s.matchConfig(ctx)
	if err != nil {
		return nil, err
	}
	rc := &raceCheck{q: match.Prepare(npPerson(np), match.PrepareOptions{Region: cfg.region, Variants: cfg.variants}), seen: seen,
		prep: match.NewPreparer(match.PrepareOptions{Variants: cfg.variants})}
	tf, n, err := s.loadTF(ctx, &rc.q)
	if err != nil {
		return nil, fmt.Errorf("registry: register: %w", err)
	}
	rc.sc = match.NewScorer(cfg.model, tf, n, s.Now().Year(), cfg.th)
	rc.sc.Variants = cfg.variants
	return rc, nil
}

// probable returns the records registered after the check that are
// probably this patient, read through tx.
func (rc *raceCheck) probable(ctx context.Context, tx *sql.Tx) ([]idcards.Candidate, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+matchCols+` FROM patients WHERE id >= ? AND merged_into IS NULL ORDER BY id DESC LIMIT ?`, rc.seen, raceWindow)
	if err != nil {
		return nil, fmt.Errorf("registry: register: %w", err)
	}
	type hit struct {
		id int64
		r  match.Result
		ev []idcards.Evidence
	}
	var hits []hit
	for rows.Next() {
		m, err := scanMatchRow(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		rec := rc.prep.Prepare(m.person)
		rec.ID = m.id
		if r := rc.sc.Score(&rc.q, &rec); r.Level == idcards.MatchProbable {
			hits = append(hits, hit{m.id, r, rc.sc.Explain(&rc.q, &rec, r)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []idcards.Candidate
	for _, h := range hits {
		p, err := scanPatient(tx.QueryRowContext(ctx, `SELECT `+patientCols+` FROM patients WHERE id = ?`, h.id))
		if err != nil {
			return nil, err
		}
		c := idcards.Candidate{Patient: p, Score: roundProb(h.r.Probability), Level: h.r.Level, Reasons: match.Reasons(h.ev), Evidence: h.ev}
		mr, err := tx.QueryContext(ctx, `SELECT mrn FROM identifiers WHERE patient_id = ? AND state <> 'voided' ORDER BY mrn`, h.id)
		if err != nil {
			return nil, err
		}
		for mr.Next() {
			var m string
			mr.Scan(&m)
			c.MRNs = append(c.MRNs, m)
		}
		mr.Close()
		out = append(out, c)
	}
	return out, nil
}
