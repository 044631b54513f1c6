package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

func registerAmina(t testing.TB, s *registry.Store, ctx context.Context) idcards.Patient {
	t.Helper()
	p, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F",
		BirthDate: "1990-04-12", Phone: "0772 123456", Village: "Kireka"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pendingKinds(t testing.TB, s *registry.Store, ctx context.Context, patientID int64) []string {
	t.Helper()
	items, err := s.Outbox(ctx, "pending", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].PatientID == patientID {
			out = append(out, string(items[i].Kind))
		}
	}
	return out
}

// TestStore_EditPatient: every rule of an edit, one row each (issue 14
// item 1).
func TestStore_EditPatient(t *testing.T) {
	sex := idcards.SexMale
	for _, tc := range []struct {
		name    string
		edit    registry.PatientEdit
		want    string // error text; "" = accepted
		changes string // "field old -> new" joined by "; " as PatientChanges reports them
		push    bool   // an update_patient row is queued
	}{
		{"given name with reason", registry.PatientEdit{GivenName: strp("Aminah"), Reason: "typo"}, "", "given_name Amina -> Aminah", true},
		{"given name without reason", registry.PatientEdit{GivenName: strp("Aminah")}, "changing the given name needs a reason", "", false},
		{"family name without reason", registry.PatientEdit{FamilyName: strp("Nakatto"), Reason: "  "}, "changing the family name needs a reason", "", false},
		{"birth date without reason", registry.PatientEdit{BirthDate: strp("1991-04-12")}, "changing the birth date needs a reason", "", false},
		{"estimated flag without reason", registry.PatientEdit{BirthDateEstimated: boolp(true)}, "needs a reason", "", false},
		{"birth date exact", registry.PatientEdit{BirthDate: strp("1991-04-12"), Reason: "card seen"}, "", "birth_date 1990-04-12 -> 1991-04-12", true},
		{"age in weeks", registry.PatientEdit{BirthDate: strp("2026-01-01"), BirthDateEstimated: boolp(true), Reason: "baby"}, "", "birth_date 1990-04-12 -> 2026-01-01; birth_date_estimated no -> yes", true},
		{"sex needs no reason", registry.PatientEdit{Sex: &sex}, "", "sex F -> M", true},
		{"phone only is not pushed", registry.PatientEdit{Phone: strp("+256 772 999888")}, "", "phone 0772 123456 -> +256 772 999888", false},
		{"clear the phone", registry.PatientEdit{Phone: strp("")}, "", "phone 0772 123456 -> ", false},
		{"village", registry.PatientEdit{Village: strp("  Kireka   East ")}, "", "village Kireka -> Kireka East", true},
		{"same values normalised are no change", registry.PatientEdit{GivenName: strp(" Amina "), Village: strp("Kireka")}, registry.ErrNoChange.Error(), "", false},
		{"no field at all", registry.PatientEdit{}, registry.ErrNoChange.Error(), "", false},
		{"digit in the name", registry.PatientEdit{GivenName: strp("Am1na"), Reason: "x"}, "contains a digit", "", false},
		{"emoji", registry.PatientEdit{FamilyName: strp("Nakato 😀"), Reason: "x"}, "contains an emoji", "", false},
		{"too long", registry.PatientEdit{FamilyName: strp(strings.Repeat("n", 51)), Reason: "x"}, "at most 50", "", false},
		{"birth date removed", registry.PatientEdit{BirthDate: strp(""), Reason: "x"}, "a date of birth or an age is needed", "", false},
		{"future birth date", registry.PatientEdit{BirthDate: strp("2999-01-01"), Reason: "x"}, "in the future", "", false},
		{"bad sex", registry.PatientEdit{Sex: func() *idcards.Sex { x := idcards.Sex("X"); return &x }()}, "use M, F, O or U", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := newStore(t)
			p := registerAmina(t, s, ctx)
			before := len(auditRows(t, s, registry.AuditFilter{}))
			tc.edit.ID = p.ID
			got, _, err := s.EditPatient(ctx, tc.edit)
			after, _ := s.Patient(ctx, p.ID)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || idcards.ErrorKind(err) != idcards.Invalid {
					t.Fatalf("err = %v, want Invalid %q", err, tc.want)
				}
				if after != p && !(after.CreatedAt.Equal(p.CreatedAt) && registry.PatientChanges(p, after) == nil) {
					t.Errorf("refused edit changed the record: %+v", after)
				}
				if n := len(auditRows(t, s, registry.AuditFilter{})); n != before {
					t.Errorf("refused edit wrote %d audit rows", n-before)
				}
				if k := pendingKinds(t, s, ctx, p.ID); strings.Contains(strings.Join(k, ","), "update_patient") {
					t.Errorf("refused edit queued %v", k)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ch []string
			for _, c := range registry.PatientChanges(p, after) {
				ch = append(ch, c.Field+" "+c.Old+" -> "+c.New)
			}
			if strings.Join(ch, "; ") != tc.changes {
				t.Errorf("stored changes %q, want %q", strings.Join(ch, "; "), tc.changes)
			}
			if registry.PatientChanges(got, after) != nil {
				t.Errorf("returned %+v, stored %+v", got, after)
			}
			evs := auditRows(t, s, registry.AuditFilter{Action: "patient.edit"})
			if len(evs) != 1 || evs[0].Subject != p.UUID || evs[0].Actor != "os:test" {
				t.Fatalf("audit = %+v", evs)
			}
			for _, c := range registry.PatientChanges(p, after) {
				if want := c.Field + ` "` + c.Old + `" -> "` + c.New + `"`; !strings.Contains(evs[0].Detail, want) {
					t.Errorf("audit detail %q lacks %q", evs[0].Detail, want)
				}
			}
			if tc.edit.Reason != "" && !strings.Contains(evs[0].Detail, "reason: "+tc.edit.Reason) {
				t.Errorf("audit detail %q lacks the reason", evs[0].Detail)
			}
			kinds := strings.Join(pendingKinds(t, s, ctx, p.ID), ",")
			if want := "register_patient,add_identifier"; tc.push {
				if kinds != want+",update_patient" {
					t.Errorf("outbox %s, want one update_patient after %s", kinds, want)
				}
			} else if kinds != want {
				t.Errorf("outbox %s, want %s", kinds, want)
			}
		})
	}
}

// TestStore_EditPatient_SearchAndCandidates: the edited values are what
// search and the duplicate check see, and the record is told when it now
// looks like someone else (itself left out).
func TestStore_EditPatient_SearchAndCandidates(t *testing.T) {
	s, ctx := newStore(t)
	amina := registerAmina(t, s, ctx)
	other, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Okello", FamilyName: "John", Sex: "M", BirthDate: "1975-03-03"}})
	if err != nil {
		t.Fatal(err)
	}
	f := idcards.SexFemale
	p, cands, err := s.EditPatient(ctx, registry.PatientEdit{ID: other.ID, GivenName: strp("Aminah"), FamilyName: strp("Nakato"), Sex: &f,
		BirthDate: strp("1990-04-12"), Phone: strp("+256 772 123456"), Reason: "wrong patient's form typed"})
	if err != nil {
		t.Fatal(err)
	}
	if p.GivenName != "Aminah" {
		t.Fatalf("edited = %+v", p)
	}
	if len(cands) == 0 || cands[0].Patient.ID != amina.ID || cands[0].Level != idcards.MatchProbable {
		t.Fatalf("candidates = %+v, want Amina Nakato as probable", cands)
	}
	for _, c := range cands {
		if c.Patient.ID == other.ID {
			t.Error("the edited patient is its own candidate")
		}
	}
	if ps, _ := s.SearchPatients(ctx, "okello", 10); len(ps) != 0 {
		t.Errorf("old name still found: %+v", ps)
	}
	if ps, _ := s.SearchPatients(ctx, "aminah", 10); len(ps) == 0 || ps[0].ID != other.ID { // Amina sounds alike, so she is found too
		t.Errorf("new name not found: %+v", ps)
	}
}

func TestStore_EditPatient_Refusals(t *testing.T) {
	s, ctx := newStore(t)
	if _, _, err := s.EditPatient(ctx, registry.PatientEdit{ID: 99, Phone: strp("0772000000")}); idcards.ErrorKind(err) != idcards.NotFound {
		t.Errorf("unknown patient: %v", err)
	}
	dup := registerAmina(t, s, ctx)
	keep, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-04-12"}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sup := idcards.WithActor(context.Background(), idcards.Actor{Name: "sarah", Role: idcards.RoleSupervisor})
	if err := s.Merge(sup, dup.ID, keep.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EditPatient(ctx, registry.PatientEdit{ID: dup.ID, Phone: strp("0772000000")}); idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), "edit that record instead") {
		t.Errorf("merged-away record: %v", err)
	}
	printer := idcards.WithActor(context.Background(), idcards.Actor{Name: "pat", Role: idcards.RolePrinter})
	if _, _, err := s.EditPatient(printer, registry.PatientEdit{ID: keep.ID, Phone: strp("0772000000")}); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Errorf("printer role: %v", err)
	}
	if _, _, err := s.EditPatient(ctx, registry.PatientEdit{ID: keep.ID, Village: strp("")}); !errors.Is(err, registry.ErrNoChange) {
		t.Errorf("clearing an empty village: %v, want ErrNoChange", err)
	}
}

// TestStore_EditPatient_LegacyWithoutBirthDate: an imported record with no
// birth date can have its phone corrected; a birth date, once given, is
// checked as at registration.
func TestStore_EditPatient_LegacyWithoutBirthDate(t *testing.T) {
	s, ctx := newStore(t)
	p, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Okello", FamilyName: "John", Sex: "M", BirthDate: "1970-01-01"}, NoID: true})
	if err != nil {
		t.Fatal(err)
	}
	// make it a legacy record without a birth date, as import keeps them
	if _, err := s.DB().ExecContext(ctx, `UPDATE patients SET birth_date = NULL, birth_year = NULL WHERE id = ?`, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EditPatient(ctx, registry.PatientEdit{ID: p.ID, Phone: strp("0772 123456")}); err != nil {
		t.Fatalf("phone of a legacy record: %v", err)
	}
	if _, _, err := s.EditPatient(ctx, registry.PatientEdit{ID: p.ID, BirthDate: strp("1970-13-01"), Reason: "card"}); idcards.ErrorKind(err) != idcards.Invalid {
		t.Fatalf("bad date: %v", err)
	}
}
