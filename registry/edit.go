package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
)

// PatientEdit is a correction of a registered patient's details. A nil
// field is left as it is. A new BirthDate without BirthDateEstimated is an
// exact date (the estimated flag is cleared); set BirthDateEstimated to
// keep or change the flag explicitly.
//
// Seen, when set, is the record as the person editing saw it (the desk's
// form was opened with it): the edit is applied only if every field it
// sets still holds the value seen, or already holds the new one. A caller
// that shows a record and saves later sets only the fields the clerk
// changed and sets Seen, so a correction saved meanwhile elsewhere is
// neither put back nor overwritten unseen. Nil: no check (the CLI reads
// and writes in one go).
type PatientEdit struct {
	ID                    int64
	GivenName, FamilyName *string // nil = unchanged
	Sex                   *idcards.Sex
	BirthDate             *string // YYYY-MM-DD
	BirthDateEstimated    *bool
	Phone, Village        *string
	Reason                string // required when a name or the birth date changes
	Seen                  *idcards.Patient
}

// EditConflict is EditPatient's refusal of an edit whose Seen record is
// out of date for a field the edit sets: someone saved another value
// since. Nothing was written. Changes holds those fields (Old as seen, New
// as stored now; the birth date and its estimated flag count as one
// value: the desk shows and sends them as one), Current the record as it
// is now, for the caller to show and re-apply the edit on. Its kind is
// Conflict (EditPatient returns it inside an *idcards.Error); get it with
// errors.As.
type EditConflict struct {
	Changes []FieldChange
	Current idcards.Patient
}

// Error says what changed in a clerk's words: "family name was changed to
// Atimo at another desk since you opened the form".
func (c *EditConflict) Error() string {
	var parts []string
	birth := false
	for _, ch := range c.Changes {
		f := strings.ReplaceAll(ch.Field, "_", " ")
		switch {
		case ch.Field == "birth_date" || ch.Field == "birth_date_estimated":
			// One value: the date, and whether it is an estimate.
			if birth {
				continue
			}
			birth = true
			v := c.Current.BirthDate
			if v == "" {
				parts = append(parts, "birth date was cleared")
				continue
			}
			if c.Current.BirthDateEstimated {
				v += " (estimated)"
			}
			parts = append(parts, "birth date was changed to "+v)
		case ch.New == "":
			parts = append(parts, f+" was cleared")
		default:
			parts = append(parts, f+" was changed to "+ch.New)
		}
	}
	return strings.Join(parts, " and ") + " at another desk since you opened the form"
}

// ErrNoChange is EditPatient's answer to an edit that would change
// nothing (every given value equals the record's, after the same
// normalisation as registration). Nothing is written or audited. Its kind
// is Invalid; test with errors.Is.
var ErrNoChange = idcards.Errorf(idcards.Invalid, "nothing changed: the record already holds these values")

// FieldChange is one field an edit changed, with its old and new value as
// stored ("" for empty; "yes"/"no" for the estimated flag).
type FieldChange struct {
	Field string `json:"field"` // given_name, family_name, sex, birth_date, birth_date_estimated, phone, village
	Old   string `json:"old"`
	New   string `json:"new"`
}

// PatientChanges lists the fields that differ between two versions of a
// patient, in a fixed order: what the CLI and the desk screen show after
// an edit, and what the audit row records.
func PatientChanges(old, new idcards.Patient) []FieldChange {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var out []FieldChange
	for _, f := range []FieldChange{
		{"given_name", old.GivenName, new.GivenName},
		{"family_name", old.FamilyName, new.FamilyName},
		{"sex", string(old.Sex), string(new.Sex)},
		{"birth_date", old.BirthDate, new.BirthDate},
		{"birth_date_estimated", yn(old.BirthDateEstimated), yn(new.BirthDateEstimated)},
		{"phone", old.Phone, new.Phone},
		{"village", old.Village, new.Village},
	} {
		if f.Old != f.New {
			out = append(out, f)
		}
	}
	return out
}

// needsReason reports whether a change is one of identity (a name, the
// birth date or whether it is estimated): those are how a person is found
// and told apart, so changing them is justified in the audit trail.
func (c FieldChange) needsReason() bool {
	switch c.Field {
	case "given_name", "family_name", "birth_date", "birth_date_estimated":
		return true
	}
	return false
}

// pushed reports whether OpenMRS holds the field (phone is not sent).
func (c FieldChange) pushed() bool { return c.Field != "phone" }

// EditPatient corrects a patient's details (names, sex, birth date,
// phone, village) in one transaction: the values are validated and
// normalised as at registration, the record and its search and duplicate
// keys are updated, one audit row (action patient.edit) records the old
// and new value of every changed field with the reason, and, when a field
// OpenMRS holds changed, an update_patient outbox row sends the change
// (once; if the patient has not reached OpenMRS yet, the registration
// carries the new values). A change of a name or the birth date needs
// Reason (Invalid otherwise). An edit that changes nothing returns
// ErrNoChange and writes nothing. A record merged into another is not
// edited (Conflict): the surviving record is.
//
// After commit it returns the updated patient and the other patients the
// edited record now looks like (the desk's duplicate check on the new
// values; the edit is not refused for them, the caller shows them).
func (s *Store) EditPatient(ctx context.Context, e PatientEdit) (idcards.Patient, []idcards.Candidate, error) {
	a, err := idcards.Require(ctx, idcards.PermRegister)
	if err != nil {
		return idcards.Patient{}, nil, err
	}
	var p idcards.Patient
	var np NewPatient
	err = s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanPatient(tx.QueryRowContext(ctx, `SELECT `+patientCols+` FROM patients WHERE id = ?`, e.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return idcards.Errorf(idcards.NotFound, "no patient with id %d", e.ID)
		}
		if err != nil {
			return fmt.Errorf("registry: edit: %w", err)
		}
		if old.MergedInto != 0 {
			return idcards.Errorf(idcards.Conflict, "patient %d (%s) was marked the same person as patient %d: edit that record instead", old.ID, old.DisplayName(), old.MergedInto)
		}
		np = applyEdit(old, e)
		if e.Seen != nil {
			if e.Seen.ID != e.ID {
				return idcards.Errorf(idcards.Invalid, "registry: edit: the record seen is patient %d, not %d", e.Seen.ID, e.ID)
			}
			if c := staleFields(*e.Seen, old, e, np); c != nil {
				return &idcards.Error{Kind: idcards.Conflict, Err: c}
			}
		}
		check := np.ValidateRecord
		if old.BirthDate != "" || e.BirthDate != nil {
			// A birth date may be corrected, never removed; a legacy
			// record without one can still have its phone fixed.
			check = np.Validate
		}
		if err := check(s.Now()); err != nil {
			return err
		}
		p = old
		p.GivenName, p.FamilyName, p.Sex = np.GivenName, np.FamilyName, np.Sex
		p.BirthDate, p.BirthDateEstimated, p.Phone, p.Village = np.BirthDate, np.BirthDateEstimated, np.Phone, np.Village
		changes := PatientChanges(old, p)
		if len(changes) == 0 {
			return ErrNoChange
		}
		reason := strings.TrimSpace(e.Reason)
		push := false
		var fields []string
		for _, c := range changes {
			if c.needsReason() && reason == "" {
				return idcards.Errorf(idcards.Invalid, "changing the %s needs a reason, which is recorded (e.g. \"typing mistake at registration\", \"birth certificate seen\")", strings.ReplaceAll(c.Field, "_", " "))
			}
			push = push || c.pushed()
			fields = append(fields, fmt.Sprintf("%s %q -> %q", c.Field, c.Old, c.New))
		}
		if err := s.updatePatient(ctx, tx, p); err != nil {
			return err
		}
		detail := fmt.Sprintf("patient=%d %s", p.ID, strings.Join(fields, "; "))
		if reason != "" {
			detail += "; reason: " + reason
		}
		if err := s.insertAudit(ctx, tx, a.Name, "patient.edit", p.UUID, detail); err != nil {
			return err
		}
		if push {
			return enqueue(ctx, tx, string(idcards.OutboxUpdatePatient), p.ID, "", s.now())
		}
		return nil
	})
	if errors.Is(err, ErrNoChange) {
		return p, nil, ErrNoChange
	}
	if err != nil {
		return idcards.Patient{}, nil, err
	}
	cands, err := s.CandidatesFor(ctx, p.ID, np, 5)
	if err != nil {
		// The edit is committed; the look-alike check is advice.
		return p, nil, fmt.Errorf("registry: edit saved, but the duplicate check failed: %w", err)
	}
	return p, cands, nil
}

// staleFields returns the conflict of an edit made on the record as seen
// with the record as it is now (old; np is old with the edit applied), or
// nil: a field the edit sets is stale when it changed since seen and does
// not already hold the edit's value (two desks making the same correction
// agree). The birth date and its estimated flag go together: a new date
// was typed looking at the flag, a new flag looking at the date.
func staleFields(seen, old idcards.Patient, e PatientEdit, np NewPatient) *EditConflict {
	now := old
	now.GivenName, now.FamilyName, now.Sex = np.GivenName, np.FamilyName, np.Sex
	now.BirthDate, now.BirthDateEstimated, now.Phone, now.Village = np.BirthDate, np.BirthDateEstimated, np.Phone, np.Village
	sets := map[string]bool{
		"given_name": e.GivenName != nil, "family_name": e.FamilyName != nil, "sex": e.Sex != nil,
		"birth_date": e.BirthDate != nil || e.BirthDateEstimated != nil, "phone": e.Phone != nil, "village": e.Village != nil,
	}
	sets["birth_date_estimated"] = sets["birth_date"]
	agreed := map[string]bool{} // the fields whose stored value is the edit's already
	for _, f := range []string{"given_name", "family_name", "sex", "birth_date", "birth_date_estimated", "phone", "village"} {
		agreed[f] = true
	}
	for _, c := range PatientChanges(old, now) {
		agreed[c.Field] = false
	}
	birthAgreed := agreed["birth_date"] && agreed["birth_date_estimated"]
	var out []FieldChange
	for _, c := range PatientChanges(seen, old) {
		ok := agreed[c.Field]
		if c.Field == "birth_date" || c.Field == "birth_date_estimated" {
			ok = birthAgreed
		}
		if sets[c.Field] && !ok {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &EditConflict{Changes: out, Current: old}
}

// applyEdit returns the record's values with the edit's given fields
// replacing them.
func applyEdit(old idcards.Patient, e PatientEdit) NewPatient {
	np := newPatientOf(old)
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&np.GivenName, e.GivenName)
	set(&np.FamilyName, e.FamilyName)
	set(&np.Phone, e.Phone)
	set(&np.Village, e.Village)
	if e.Sex != nil {
		np.Sex = *e.Sex
	}
	if e.BirthDate != nil {
		np.BirthDate = *e.BirthDate
		np.BirthDateEstimated = false
	}
	if e.BirthDateEstimated != nil {
		np.BirthDateEstimated = *e.BirthDateEstimated
	}
	return np
}

// updatePatient writes a patient's details with the columns derived from
// them (birth year, phone suffix, phonetic keys, folded name), as
// insertPatient computes them.
func (s *Store) updatePatient(ctx context.Context, tx *sql.Tx, p idcards.Patient) error {
	var year any
	if len(p.BirthDate) >= 4 {
		var y int
		fmt.Sscan(p.BirthDate[:4], &y)
		year = y
	}
	gk, fk := s.keys(p.GivenName, p.FamilyName)
	_, err := tx.ExecContext(ctx, `UPDATE patients SET given_name = ?, family_name = ?, sex = ?, birth_date = ?, birth_date_estimated = ?, birth_year = ?,
		phone = ?, phone_suffix = ?, village = ?, given_key = ?, family_key = ?, name_norm = ?, updated_at = ? WHERE id = ?`,
		p.GivenName, p.FamilyName, string(p.Sex), nullStr(p.BirthDate), p.BirthDateEstimated, year,
		nullStr(p.Phone), nullStr(phoneSuffix(p.Phone)), nullStr(p.Village), nullStr(gk), nullStr(fk),
		FoldName(p.GivenName+" "+p.FamilyName), s.now(), p.ID)
	if err != nil {
		return fmt.Errorf("registry: edit: %w", err)
	}
	return nil
}
