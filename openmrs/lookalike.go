package openmrs

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/idcards/idcards"
)

// lookalikeScorer is a Store that scores OpenMRS patients as the desk's
// duplicate check scores its own records (*registry.Store).
type lookalikeScorer interface {
	OpenMRSLookalikes(ctx context.Context, patientID int64, people []idcards.Patient) ([]idcards.Candidate, error)
}

// maxLookalikeQueries bounds the name searches made for one registration.
const maxLookalikeQueries = 4

// checkLookalikes runs before a patient is created in OpenMRS. The desk's
// duplicate check sees only the registry, but OpenMRS may hold the person
// already: registered there before idcards came, or by another
// department. Creating the patient would then give one person two
// OpenMRS records, the failure idcards exists to prevent. So OpenMRS is
// searched by name and the people found are scored with the registry's
// own matcher; one who may be the same person (possible or above, or
// probable only, per SyncerConfig.Lookalikes) holds the registration
// back as a look-alike conflict for a supervisor, who links the two
// (registry.Store.JudgeLookalike) or lets the patient be created.
// held is false when the push may go ahead.
func (s *Syncer) checkLookalikes(ctx context.Context, it idcards.OutboxItem, p idcards.Patient, mrns []string) (out outcome, held bool, err error) {
	if s.cfg.Lookalikes == "off" {
		return 0, false, nil
	}
	ls, ok := s.st.(lookalikeScorer)
	if !ok {
		return 0, false, nil
	}
	found := map[string]Patient{}
	var people []idcards.Patient
	var cands []idcards.Candidate
	for _, q := range lookalikeQueries(p) {
		ps, _, err := s.c.SearchPatients(ctx, q)
		if err != nil {
			out, err := s.failed(ctx, it, err)
			return out, true, err
		}
		n := len(people)
		for _, r := range ps {
			if _, dup := found[r.UUID]; dup || r.UUID == p.UUID || holdsAny(r, s.cfg.IdentifierType, mrns) {
				continue
			}
			found[r.UUID] = r
			people = append(people, AsPatient(r))
		}
		if len(people) == n {
			continue
		}
		if cands, err = ls.OpenMRSLookalikes(ctx, p.ID, people); err != nil {
			return deferred, true, err
		}
		if len(cands) > 0 && cands[0].Level == idcards.MatchProbable {
			break // found: the other searches would only add rivals
		}
	}
	var hold []idcards.Candidate
	for _, c := range cands {
		if c.Level == idcards.MatchProbable || c.Level == idcards.MatchPossible && s.cfg.Lookalikes != "probable" {
			hold = append(hold, c)
		}
	}
	if len(hold) == 0 {
		return 0, false, nil
	}
	top := hold[0]
	detail := fmt.Sprintf("OpenMRS may already hold %s (patient %d, %s) as another record: %s, %s (%s, %.1f %%: %s). Not creating a second record. Same person: idcards sync resolve ID --same --note \"how you know\" (%s is added to that record); someone else: idcards sync resolve ID --different --note \"…\" (the patient is created)",
		p.DisplayName(), p.ID, mrns[0], describeRemote(found[top.Patient.UUID]), top.Patient.UUID, top.Level, 100*top.Score, strings.Join(top.Reasons, "; "), strings.Join(mrns, ", "))
	if len(hold) > 1 {
		detail += fmt.Sprintf("; %d other OpenMRS patient(s) may be the same too, each raised in turn", len(hold)-1)
	}
	// The desk's words (its patient screen shows them while the patient
	// may still be there to ask): who OpenMRS holds and why, no commands.
	summary := fmt.Sprintf("%s (%s, %.1f %%: %s)",
		describeRemote(found[top.Patient.UUID]), top.Level, 100*top.Score, strings.Join(top.Reasons, "; "))
	if len(hold) > 1 {
		summary += fmt.Sprintf("; %d other OpenMRS patient(s) may be too", len(hold)-1)
	}
	c := idcards.SyncConflict{Identifier: mrns[0], LocalPatientID: p.ID, RemotePatientUUID: top.Patient.UUID, Kind: idcards.ConflictLookalike, Detail: detail, Summary: summary}
	return conflicted, true, s.st.OutboxConflict(ctx, it.ID, c)
}

// lookalikeQueries are the name searches for p, at most
// maxLookalikeQueries. OpenMRS's search wants every word to begin one of
// a patient's names, so a slip in one name hides the record from a
// search by both: each name is also searched alone (its first word), and
// the first words of both for names of several words (OpenMRS stores
// "Mary Grace" as given and middle name, or as one given name that
// "Grace" does not begin). Words shorter than two letters find nothing.
func lookalikeQueries(p idcards.Patient) []string {
	word := func(s string) []string {
		var out []string
		for _, w := range strings.Fields(s) {
			if utf8.RuneCountInString(w) >= 2 {
				out = append(out, w)
			}
		}
		return out
	}
	g, f := word(p.GivenName), word(p.FamilyName)
	var qs []string
	add := func(ws ...string) {
		q := strings.Join(ws, " ")
		if q == "" || len(qs) == maxLookalikeQueries {
			return
		}
		for _, x := range qs {
			if strings.EqualFold(x, q) {
				return
			}
		}
		qs = append(qs, q)
	}
	add(append(append([]string{}, g...), f...)...)
	if len(g) > 0 && len(f) > 0 {
		add(g[0], f[0])
	}
	if len(f) > 0 {
		add(f[0])
	}
	if len(g) > 0 {
		add(g[0])
	}
	return qs
}

// holdsAny reports whether r holds one of mrns under our identifier type.
func holdsAny(r Patient, typeUUID string, mrns []string) bool {
	for _, m := range mrns {
		if has(r, typeUUID, m) {
			return true
		}
	}
	return false
}

// AsPatient is an OpenMRS patient as the registry holds a patient: a
// middle name is part of the given name, as the desk writes it.
func AsPatient(r Patient) idcards.Patient {
	sex, err := idcards.ParseSex(r.Gender)
	if err != nil {
		sex = idcards.SexUnknown
	}
	return idcards.Patient{UUID: r.UUID, GivenName: strings.TrimSpace(r.GivenName + " " + r.MiddleName), FamilyName: r.FamilyName,
		Sex: sex, BirthDate: r.Birthdate, BirthDateEstimated: r.BirthdateEstimated, Village: r.Village}
}

// describeRemote names an OpenMRS patient for a supervisor: name, sex,
// birth date, village and identifiers.
func describeRemote(r Patient) string {
	parts := []string{strings.Join(strings.Fields(r.GivenName+" "+r.MiddleName+" "+r.FamilyName), " ")}
	if r.Gender != "" {
		parts = append(parts, r.Gender)
	}
	switch {
	case r.Birthdate != "" && r.BirthdateEstimated:
		parts = append(parts, "born about "+r.Birthdate)
	case r.Birthdate != "":
		parts = append(parts, "born "+r.Birthdate)
	default:
		parts = append(parts, "no birth date")
	}
	if r.Village != "" {
		parts = append(parts, r.Village)
	}
	for _, id := range r.Identifiers {
		if id.Voided || id.Identifier == "" {
			continue
		}
		if id.TypeName != "" {
			parts = append(parts, id.TypeName+" "+id.Identifier)
		} else {
			parts = append(parts, id.Identifier)
		}
	}
	return strings.Join(parts, ", ")
}
