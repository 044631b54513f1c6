package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

func register(t *testing.T, s *registry.Store, ctx context.Context, np registry.NewPatient) idcards.Patient {
	t.Helper()
	p, _, err := s.Register(ctx, registry.Registration{Patient: np, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// importN imports n patients, row i (from 1) made by row, skipping the
// import's duplicate check.
func importN(t *testing.T, s *registry.Store, ctx context.Context, n int, row func(i int) registry.NewPatient) {
	t.Helper()
	i := 0
	next := func() (registry.ImportRow, error) {
		if i >= n {
			return registry.ImportRow{}, io.EOF
		}
		i++
		return registry.ImportRow{Line: i, Patient: row(i)}, nil
	}
	if _, err := s.Import(ctx, next, registry.ImportOptions{NoDuplicateCheck: true}, nil); err != nil {
		t.Fatal(err)
	}
}

func ids(cs []idcards.Candidate) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.Patient.ID)
	}
	return out
}

// The index follows every change: an edited name is found under its new
// keys (and not its old ones), a merged record drops out, and term
// frequencies count active patients only.
func TestMatching_IndexFollowsChanges(t *testing.T) {
	s, ctx := newStore(t)
	amina := register(t, s, ctx, registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-04-12", Phone: "0772123456"})
	q := registry.NewPatient{GivenName: "Zawadi", FamilyName: "Wekesa", Sex: "F", BirthDate: "1990-04-12", Phone: "0772123456"}
	if cs, _ := s.Candidates(ctx, q, 5); len(cs) != 0 && cs[0].Level == idcards.MatchProbable {
		t.Fatalf("a stranger sharing date and phone is probable: %+v", cs)
	}
	// Another process edits the record (triggers queue it).
	if _, err := s.DB().ExecContext(ctx, `UPDATE patients SET given_name = 'Zawadi', family_name = 'Wekesa' WHERE id = ?`, amina.ID); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Candidates(ctx, q, 5)
	if err != nil || len(cs) != 1 || cs[0].Level != idcards.MatchProbable {
		t.Fatalf("edited record not found under its new name: %+v %v", cs, err)
	}
	old := registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1971-01-05"}
	if cs, _ := s.Candidates(ctx, old, 5); len(cs) != 0 {
		t.Fatalf("found under its old name: %+v", cs)
	}
	other := register(t, s, ctx, q)
	if err := s.Merge(ctx, other.ID, amina.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	cs, _ = s.Candidates(ctx, q, 5)
	if got := ids(cs); len(got) != 1 || got[0] != amina.ID {
		t.Fatalf("after merge: %v, want only %d", got, amina.ID)
	}
	var n int
	s.DB().QueryRowContext(ctx, `SELECT n FROM match_tf WHERE field = 0 AND value = 'zawadi'`).Scan(&n)
	if n != 1 {
		t.Fatalf("term frequency of zawadi = %d, want 1 (the merged record no longer counts)", n)
	}
}

// CandidatesFor leaves out the patient itself and every patient judged
// "not the same person" with it; the scan never raises a judged pair again.
func TestMatching_CandidatesForAndReview(t *testing.T) {
	s, ctx := newStore(t)
	np := registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-04-12", Phone: "0772123456", Village: "Kireka"}
	a := register(t, s, ctx, np)
	np2 := np
	np2.FamilyName = "Nakatto"
	b := register(t, s, ctx, np2)
	c := register(t, s, ctx, registry.NewPatient{GivenName: "Okello", FamilyName: "John", Sex: "M", BirthDate: "1960-01-01"})
	_ = c
	cs, err := s.CandidatesFor(ctx, a.ID, np, 5)
	if err != nil || len(cs) != 1 || cs[0].Patient.ID != b.ID {
		t.Fatalf("CandidatesFor(a) = %v %v, want only b", ids(cs), err)
	}
	sum, err := s.ScanDuplicates(ctx, registry.ScanOptions{Workers: 2})
	if err != nil || sum.Open != 1 || sum.Patients != 3 {
		t.Fatalf("scan: %+v %v", sum, err)
	}
	list, err := s.ReviewList(ctx, false, 10)
	if err != nil || len(list) != 1 || list[0].A.ID != a.ID || list[0].B.ID != b.ID || len(list[0].Reasons) == 0 {
		t.Fatalf("review list: %+v %v", list, err)
	}
	clerk := idcards.WithActor(ctx, idcards.Actor{Name: "c", Role: idcards.RoleClerk})
	if err := s.JudgeDifferent(clerk, list[0].ID, "twins"); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Fatalf("clerk judged: %v", err)
	}
	if err := s.JudgeDifferent(ctx, list[0].ID, ""); idcards.ErrorKind(err) != idcards.Invalid {
		t.Fatalf("judgment without reason: %v", err)
	}
	if err := s.JudgeDifferent(ctx, list[0].ID, "twins, seen together"); err != nil {
		t.Fatal(err)
	}
	if cs, _ := s.CandidatesFor(ctx, a.ID, np, 5); len(cs) != 0 {
		t.Fatalf("judged pair offered again: %v", ids(cs))
	}
	if cs, _ := s.Candidates(ctx, np, 5); len(cs) != 2 {
		t.Fatalf("Candidates (a new person) must still see both: %v", ids(cs))
	}
	sum, err = s.ScanDuplicates(ctx, registry.ScanOptions{})
	if err != nil || sum.Open != 0 || sum.Judged != 1 {
		t.Fatalf("rescan raised the judged pair: %+v %v", sum, err)
	}
	if list, _ := s.ReviewList(ctx, false, 10); len(list) != 0 {
		t.Fatalf("open list after judgment: %+v", list)
	}
}

func TestMatching_JudgeSameMerges(t *testing.T) {
	s, ctx := newStore(t)
	np := registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-04-12", Phone: "0772123456"}
	a := register(t, s, ctx, np)
	np.GivenName = "Aminah"
	b := register(t, s, ctx, np)
	if _, err := s.ScanDuplicates(ctx, registry.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ReviewList(ctx, false, 10)
	if len(list) != 1 {
		t.Fatalf("list: %+v", list)
	}
	if err := s.JudgeSame(ctx, list[0].ID, 999, "x"); idcards.ErrorKind(err) != idcards.Invalid {
		t.Fatalf("keep outside the pair: %v", err)
	}
	if err := s.JudgeSame(ctx, list[0].ID, a.ID, "same mother, same phone"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Patient(ctx, b.ID)
	if err != nil || p.MergedInto != a.ID {
		t.Fatalf("b after JudgeSame: %+v %v", p, err)
	}
	if list, _ := s.ReviewList(ctx, true, 10); len(list) != 1 || list[0].Status != "same" {
		t.Fatalf("list after merge: %+v", list)
	}
}

// The settings are checked where they are used.
func TestMatching_Settings(t *testing.T) {
	s, ctx := newStore(t)
	for _, kv := range [][2]string{{"match_probable", "2"}, {"match_possible", "abc"}, {"match_variants", "Nakato"}, {"phone_country", "XX"}} {
		if err := s.SetKnownSetting(ctx, kv[0], kv[1]); idcards.ErrorKind(err) != idcards.Invalid {
			t.Errorf("%s=%s accepted: %v", kv[0], kv[1], err)
		}
	}
	register(t, s, ctx, registry.NewPatient{GivenName: "Nakato", FamilyName: "Amina", Sex: "F", BirthDate: "1990-04-12"})
	if _, err := s.Candidates(ctx, registry.NewPatient{GivenName: "Kato"}, 5); err != nil { // indexes
		t.Fatal(err)
	}
	// A new variants table re-indexes everyone.
	if err := s.SetKnownSetting(ctx, "match_variants", "Nakato=Nakkato"); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Candidates(ctx, registry.NewPatient{GivenName: "Nakkato", FamilyName: "Amina", Sex: "F", BirthDate: "1990-04-12"}, 5)
	if err != nil || len(cs) != 1 || cs[0].Evidence[0].Level != "variant" {
		t.Fatalf("site variant not used: %+v %v", cs, err)
	}
	if err := s.SetKnownSetting(ctx, "phone_country", "UG"); err != nil {
		t.Fatal(err)
	}
}

// TestMatching_NewVariantsReindexTheirNamesOnly: a change to the variants
// table queues only the patients holding a name whose canonical spelling
// (the spelling their keys are made with) it changes (adding a group, removing it), not the whole registry; a
// registry whose stored table does not match its keys (made before tables
// were stored) is re-indexed in full.
func TestMatching_NewVariantsReindexTheirNamesOnly(t *testing.T) {
	s, ctx := newStore(t)
	importN(t, s, ctx, 300, func(i int) registry.NewPatient {
		return registry.NewPatient{GivenName: []string{"Grace", "Peter", "Sarah"}[i%3], FamilyName: famName(i), Sex: "F", BirthDate: fmt.Sprintf("19%02d-03-04", 40+i%60)}
	})
	register(t, s, ctx, registry.NewPatient{GivenName: "Mary", FamilyName: "Waswa", Sex: "F", BirthDate: "2000-07-01", BirthDateEstimated: true, Village: "Kireka"})
	register(t, s, ctx, registry.NewPatient{GivenName: "Wasswa", FamilyName: "Ali", Sex: "M", BirthDate: "1970-05-06"})
	register(t, s, ctx, registry.NewPatient{GivenName: "Rose", FamilyName: "Wasswa Okello", Sex: "F", BirthDate: "1981-02-03"})
	if _, err := s.SyncMatchIndex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	reindexed := func(variants string) int {
		t.Helper()
		if err := s.SetKnownSetting(ctx, "match_variants", variants); err != nil {
			t.Fatal(err)
		}
		n, err := s.SyncMatchIndex(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Waswa's keys are now made with Wasswa (the group's first name);
	// the Wasswaes' keys stay as they were.
	if n := reindexed("Wasswa=Waswa"); n != 1 {
		t.Errorf("adding Wasswa=Waswa re-indexed %d patients, want the 1 Waswa", n)
	}
	cs, err := s.Candidates(ctx, registry.NewPatient{GivenName: "Mary", FamilyName: "Wasswa", Sex: "F", BirthDate: "2000-07-01", BirthDateEstimated: true, Village: "Kireka"}, 5)
	if err != nil || len(cs) == 0 || cs[0].Patient.FamilyName != "Waswa" || cs[0].Evidence[1].Level != "variant" {
		t.Fatalf("Mary Waswa not found as a variant of Mary Wasswa: %+v %v", cs, err)
	}
	if n := reindexed("Wasswa=Waswa; Neema=Grace"); n != 100 {
		t.Errorf("adding Grace=Neema re-indexed %d patients, want the 100 Graces", n)
	}
	if n := reindexed(""); n != 101 {
		t.Errorf("removing both groups re-indexed %d patients, want 101", n)
	}
	if n := reindexed(""); n != 0 {
		t.Errorf("the same table again re-indexed %d patients", n)
	}
	// Keys made before the table was stored: everyone again.
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM match_tf WHERE field = -3`); err != nil {
		t.Fatal(err)
	}
	if n := reindexed("Wasswa=Waswa"); n != 303 {
		t.Errorf("with no stored table %d patients were re-indexed, want all 303", n)
	}
	if n := reindexed(""); n != 1 {
		t.Errorf("the table is stored again after a full re-index: %d re-indexed, want 1", n)
	}
}

// TestMatching_SlipOfACommonName: at the desk, a slip of the registry's
// commonest given name weighs no more than that name spelt right (the
// candidate's own name count is read for it), while a slip of a rare name
// keeps its weight.
func TestMatching_SlipOfACommonName(t *testing.T) {
	s, ctx := newStore(t)
	importN(t, s, ctx, 400, func(i int) registry.NewPatient {
		given := "Amina"
		if i%3 == 0 {
			given = fmt.Sprintf("Zu%cumba", 'a'+rune(i%26))
		}
		return registry.NewPatient{GivenName: given, FamilyName: famName(i), Sex: "F",
			BirthDate: fmt.Sprintf("%d-0%d-1%d", 1950+i%50, 1+i%9, i%9)}
	})
	given := func(q registry.NewPatient) (idcards.Evidence, idcards.Candidate) {
		t.Helper()
		cs, err := s.Candidates(ctx, q, 5)
		if err != nil || len(cs) == 0 {
			t.Fatalf("%+v: no candidates (%v)", q, err)
		}
		for _, e := range cs[0].Evidence {
			if e.Field == "given" {
				return e, cs[0]
			}
		}
		t.Fatalf("no given-name evidence: %+v", cs[0])
		return idcards.Evidence{}, idcards.Candidate{}
	}
	// Record 1: Amina Kebbclo, born 1951-02-11.
	exact, _ := given(registry.NewPatient{GivenName: "Amina", FamilyName: famName(1), Sex: "F", BirthDate: "1951-02-11"})
	slip, c := given(registry.NewPatient{GivenName: "Amnia", FamilyName: famName(1), Sex: "F", BirthDate: "1951-02-11"})
	if c.Patient.ID != 1 || slip.Level != "close" || slip.Weight > exact.Weight {
		t.Errorf("slip of the common name: %+v on record %d, exact %+v: want close, no heavier", slip, c.Patient.ID, exact)
	}
	// Record 3: Zudumba Kebbelo (rare): its slip weighs as the level does.
	rare, _ := given(registry.NewPatient{GivenName: "Zudumbba", FamilyName: famName(3), Sex: "F", BirthDate: "1953-04-13"})
	if rare.Level != "close" || rare.Weight <= exact.Weight {
		t.Errorf("slip of a rare name: %+v, want close and heavier than a common exact name (%+v)", rare, exact)
	}
}

// famName is a distinct family name for each i below 8,000 (letters only).
func famName(i int) string {
	return fmt.Sprintf("Ke%c%c%clo", 'b'+rune(i/400), 'b'+rune(i/20%20), 'b'+rune(i%20))
}

// TestMatching_SlipsInBothNames: "Ajali Nrir", an estimated age, no phone,
// for the registered Anjali Nair: both names' phonetic keys differ, and
// the women with the same initials born in those years fill the i:
// lookup's cap, so only the e: pass (the given name's first letters
// within one edit) offers her record — and then it is the top candidate.
func TestMatching_SlipsInBothNames(t *testing.T) {
	s, ctx := newStore(t)
	names := []string{"Amina Nakato", "Auma Namusoke", "Achieng Nabirye", "Atieno Nsubuga", "Akello Nalubega"}
	importN(t, s, ctx, 200, func(i int) registry.NewPatient {
		g, f, _ := strings.Cut(names[i%len(names)], " ")
		return registry.NewPatient{GivenName: g, FamilyName: f, Sex: "F",
			BirthDate: fmt.Sprintf("%d-07-01", 1990+i%5), BirthDateEstimated: true, Phone: fmt.Sprintf("0772%06d", i)}
	})
	anjali := register(t, s, ctx, registry.NewPatient{GivenName: "Anjali", FamilyName: "Nair", Sex: "F", BirthDate: "1992-07-01", BirthDateEstimated: true, Village: "Mukono"})
	cs, err := s.Candidates(ctx, registry.NewPatient{GivenName: "Ajali", FamilyName: "Nrir", Sex: "F", BirthDate: "1991-07-01", BirthDateEstimated: true}, 5)
	if err != nil || len(cs) == 0 || cs[0].Patient.ID != anjali.ID {
		t.Fatalf("Ajali Nrir: %v %+v, want Anjali Nair (%d) first", err, cs, anjali.ID)
	}
}

// TestMatching_NoBirthDateVillage: a query without a birth date reads a
// name's block in index order, the oldest first, so among 150 namesakes
// born before her the youngest Mwanaisha Hamisi is past every cap; the
// query's village has her compared. (Whether she is then listed is the
// scorer's call: here every patient has her name, which is no evidence.)
func TestMatching_NoBirthDateVillage(t *testing.T) {
	s, ctx := newStore(t)
	importN(t, s, ctx, 150, func(i int) registry.NewPatient {
		return registry.NewPatient{GivenName: "Mwanaisha", FamilyName: "Hamisi", Sex: "F",
			BirthDate: fmt.Sprintf("%d-0%d-1%d", 1930+i%60, 1+i%9, i%9), Village: fmt.Sprintf("Kijiji %d", i%40)}
	})
	her := register(t, s, ctx, registry.NewPatient{GivenName: "Mwanaisha", FamilyName: "Hamisi", Sex: "F", BirthDate: "2013-07-29", Village: "Mumpile"})
	q := registry.NewPatient{GivenName: "Mwanaisha", FamilyName: "Hamisi", Sex: "F", Village: "Mumpile"}
	blocked, err := s.Blocked(ctx, q)
	if err != nil || !slices.Contains(blocked, her.ID) {
		t.Fatalf("no birth date, same village: %v, %d records compared without Mwanaisha of Mumpile (%d)", err, len(blocked), her.ID)
	}
	q.Village = ""
	if blocked, err = s.Blocked(ctx, q); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(blocked, her.ID) {
		t.Fatalf("without the village the youngest of %d namesakes was read: the test no longer tests the cap", len(blocked))
	}
}

// A sex recorded wrong on one side still finds the record, by the names'
// and the exact date's blocks of the other sex, and the rest of the
// evidence decides: Hamida Hasan registered F, asked for as M.
func TestMatching_SexRecordedWrong(t *testing.T) {
	s, ctx := newStore(t)
	crowd(t, s, ctx, 300)
	hamida := register(t, s, ctx, registry.NewPatient{GivenName: "Hamida", FamilyName: "Hasan", Sex: "F", BirthDate: "2003-10-12", Village: "Luyitu"})
	for _, q := range []registry.NewPatient{
		{GivenName: "Hamida", FamilyName: "Hasan", Sex: "M", BirthDate: "2003-10-12", Village: "Luyitu", Phone: "+256703502215"},
		{GivenName: "Hamida", FamilyName: "Hasan", Sex: "M", BirthDate: "2003-07-01", BirthDateEstimated: true},
	} {
		cs, err := s.Candidates(ctx, q, 5)
		if err != nil || len(cs) == 0 || cs[0].Patient.ID != hamida.ID {
			t.Fatalf("%+v: %v %+v, want Hamida (%d) listed first", q, err, cs, hamida.ID)
		}
		if !slices.Contains(cs[0].Reasons, "different sex") {
			t.Errorf("reasons %v do not say the sex differs", cs[0].Reasons)
		}
	}
}

// A slip towards a rare spelling of a common name weighs no more than one
// towards its common spelling, through the registry's frequencies too (the
// candidates' canonical words are read with their names).
func TestMatching_SlipTowardsARareSpelling(t *testing.T) {
	s, ctx := newStore(t)
	var ps []registry.NewPatient
	for i := range 40 {
		ps = append(ps, registry.NewPatient{GivenName: "Aisha", FamilyName: famName(i), Sex: "F", BirthDate: fmt.Sprintf("%d-03-12", 1950+i)})
	}
	ps = append(ps, registry.NewPatient{GivenName: "Aisha", FamilyName: "Muhammad", Sex: "F", BirthDate: "1977-03-12", Village: "Nabye"},
		registry.NewPatient{GivenName: "Aishah", FamilyName: "Muhammad", Sex: "F", BirthDate: "1982-02-25", Village: "Nabye"})
	if _, err := s.Import(ctx, rows(ps...), registry.ImportOptions{NoDuplicateCheck: true}, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Candidates(ctx, registry.NewPatient{GivenName: "Aisa", FamilyName: "Muhammad", Sex: "F", Village: "Nabye"}, 5)
	if err != nil || len(cs) < 2 {
		t.Fatalf("%v %+v", err, cs)
	}
	given := map[string]float64{}
	for _, c := range cs[:2] {
		for _, e := range c.Evidence {
			if e.Field == "given" {
				given[c.Patient.GivenName] = e.Weight
			}
		}
	}
	if given["Aishah"] > given["Aisha"] {
		t.Fatalf("given-name weights %v: the rare spelling weighs more", given)
	}
}

// A whole-registry scan brings the review list up to today's records and
// model: an open pair whose records no longer look alike (one was
// corrected) leaves it; one it did not reach itself is scored again, not
// dropped; a judged pair is never touched; an import's check (Involving)
// rescores nothing.
func TestScanDuplicates_RescoresStalePairs(t *testing.T) {
	s, ctx := newStore(t)
	np := registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-04-12", Phone: "0772123456", Village: "Kireka"}
	a := register(t, s, ctx, np)
	np.FamilyName = "Nakatto"
	b := register(t, s, ctx, np)
	c := register(t, s, ctx, registry.NewPatient{GivenName: "Okello", FamilyName: "John", Sex: "M", BirthDate: "1960-01-01"})
	d := register(t, s, ctx, registry.NewPatient{GivenName: "Wasswa", FamilyName: "Kato", Sex: "M", BirthDate: "1970-05-05"})
	if sum, err := s.ScanDuplicates(ctx, registry.ScanOptions{}); err != nil || sum.Open != 1 || sum.Rescored != 0 {
		t.Fatalf("first scan: %+v %v", sum, err)
	}
	// Stale entries as an older model or an import's check left them: a
	// pair of strangers at "probable", and a judged one.
	for _, p := range []struct {
		x, y   int64
		status string
	}{{c.ID, d.ID, "open"}, {a.ID, c.ID, "different"}} {
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO match_pairs(a, b, probability, level, reasons, status, found_at) VALUES (?, ?, 0.97, 'probable', '[]', ?, '2026-01-01T00:00:00Z')`, p.x, p.y, p.status); err != nil {
			t.Fatal(err)
		}
	}
	// b was a mistyped registration of someone else.
	other, sexM, dob := "Musa", idcards.Sex("M"), "1955-02-02"
	if _, _, err := s.EditPatient(ctx, registry.PatientEdit{ID: b.ID, GivenName: &other, FamilyName: &other, Sex: &sexM, BirthDate: &dob, Reason: "wrong person's details"}); err != nil {
		t.Fatal(err)
	}
	// An import's check leaves what it did not look at alone.
	if sum, err := s.ScanDuplicates(ctx, registry.ScanOptions{Involving: []int64{d.ID}}); err != nil || sum.Rescored != 0 || sum.Open != 2 {
		t.Fatalf("import's check: %+v %v", sum, err)
	}
	sum, err := s.ScanDuplicates(ctx, registry.ScanOptions{})
	if err != nil || sum.Rescored != 2 || sum.Retired != 2 || sum.Open != 0 || sum.Judged != 1 {
		t.Fatalf("rescan: %+v %v, want the a–b and c–d pairs scored again and retired, the judged one kept", sum, err)
	}
	var status string
	if err := s.DB().QueryRowContext(ctx, `SELECT status FROM match_pairs WHERE a = ? AND b = ?`, a.ID, c.ID).Scan(&status); err != nil || status != "different" {
		t.Fatalf("judged pair: %q %v", status, err)
	}
}

// A scan that keeps only probable pairs does not record a possible one;
// its open entry is scored again with today's model and kept, not dropped.
func TestScanDuplicates_RescoresUnreachedPairs(t *testing.T) {
	s, ctx := newStore(t)
	a := register(t, s, ctx, registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-04-12", Phone: "0772123456", Village: "Kireka"})
	e := register(t, s, ctx, registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1985-07-01", BirthDateEstimated: true}) // an estimate beyond tolerance: possible
	if sum, err := s.ScanDuplicates(ctx, registry.ScanOptions{}); err != nil || sum.Open != 1 {
		t.Fatalf("first scan: %+v %v", sum, err)
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE match_pairs SET probability = 0.99, level = 'probable', reasons = '[]'`); err != nil {
		t.Fatal(err) // as an older model had it
	}
	sum, err := s.ScanDuplicates(ctx, registry.ScanOptions{Min: idcards.MatchProbable})
	if err != nil || sum.Rescored != 1 || sum.Retired != 0 || sum.Open != 1 {
		t.Fatalf("probable-only scan: %+v %v", sum, err)
	}
	list, err := s.ReviewList(ctx, false, 10)
	if err != nil || len(list) != 1 || list[0].A.ID != a.ID || list[0].B.ID != e.ID || list[0].Level != string(idcards.MatchPossible) || list[0].Probability >= 0.99 || len(list[0].Reasons) == 0 {
		t.Fatalf("rescored pair: %+v %v", list, err)
	}
}

// TestRegister_TwoDesksAtOnce: desks registering one person at the same
// moment each ran their check before the other's record existed. Register
// checks the records registered since, under the write lock: one desk
// registers, every other is refused with the record just made.
func TestRegister_TwoDesksAtOnce(t *testing.T) {
	s, ctx := newStore(t)
	np := registry.NewPatient{GivenName: "Bebotine", FamilyName: "Racerton", Sex: "F", BirthDate: "1977-07-07"}

	// Desk A checks; desk B registers; desk A saves its "no candidates".
	seen, err := s.CheckMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.Candidates(ctx, np, 5); err != nil || len(c) != 0 {
		t.Fatalf("candidates before: %v %v", c, err)
	}
	b := register(t, s, ctx, np)
	_, _, err = s.Register(ctx, registry.Registration{Patient: np, Decision: "no duplicate candidates", CheckMark: seen})
	var dup *registry.DuplicateError
	if !errors.As(err, &dup) || !dup.Meanwhile || len(dup.Candidates) != 1 || dup.Candidates[0].Patient.ID != b.ID {
		t.Fatalf("desk A's save: %v", err)
	}
	// Having seen it, desk A may still register a different person.
	if _, _, err := s.Register(ctx, registry.Registration{Patient: np, Decision: "override: twin; reason: test", CheckMark: b.ID + 1}); err != nil {
		t.Fatalf("override after seeing the record: %v", err)
	}

	// Eight desks at once, each with its own check (Decision empty).
	other := registry.NewPatient{GivenName: "Ozymandias", FamilyName: "Quillfeather", Sex: "M", BirthDate: "1960-02-29"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Register(ctx, registry.Registration{Patient: other})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &dup):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || refused != 7 {
		t.Fatalf("8 desks at once: %d registered, %d refused; want 1 and 7", ok, refused)
	}
}

// TestMatching_RegisteredTwiceIsNotItsOwnRival: a patient registered
// twice (two identical records) is found probable on both records, not
// held at possible by "another record fits nearly as well". Whether the
// two records are one person is scored with the query's frequencies: in
// a registry whose birth dates are mostly a few estimates (u of an exact
// date high) and whose names are few, the model's averages alone judged
// two records of a rare date and family name only about 90 % one person,
// and each stayed the other's rival.
func TestMatching_RegisteredTwiceIsNotItsOwnRival(t *testing.T) {
	s, ctx := newStore(t)
	john := registry.NewPatient{GivenName: "John", FamilyName: "Ocen", Sex: "M", BirthDate: "2008-08-20", Village: "Kawempe"}
	givens := []string{"John", "Peter", "Moses", "Paul", "James", "Brian", "Ivan", "Denis", "Allan", "Isaac"}
	villages := []string{"Kawempe", "Kireka", "Ntinda", "Nansana", "Mukono"}
	importN(t, s, ctx, 1200, func(i int) registry.NewPatient {
		if i == 400 {
			return john
		}
		return registry.NewPatient{GivenName: givens[i%10], FamilyName: famName(i % 20), Sex: "M",
			BirthDate: fmt.Sprintf("%d-07-01", 1960+i%20), BirthDateEstimated: true, Village: villages[i%5], Phone: fmt.Sprintf("07720%05d", i)}
	})
	twice := register(t, s, ctx, john) // an import would take the identical row for the same record
	cs, err := s.Candidates(ctx, john, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) < 2 {
		t.Fatalf("%d candidates, want both records: %+v", len(cs), cs)
	}
	for _, c := range cs[:2] {
		if c.Patient.ID != twice.ID && c.Patient.ID != cs[0].Patient.ID+cs[1].Patient.ID-twice.ID || c.Level != idcards.MatchProbable {
			t.Errorf("record %d %s %.3f %v, want both records of John Ocen probable", c.Patient.ID, c.Level, c.Score, c.Reasons)
		}
		for _, r := range c.Reasons {
			if strings.Contains(r, "fits nearly as well") {
				t.Errorf("record %d: its own second record counted as a rival: %v", c.Patient.ID, c.Reasons)
			}
		}
	}
}
