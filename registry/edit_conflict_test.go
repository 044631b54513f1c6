package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestStore_EditPatient_Seen: optimistic concurrency between two desks on
// one registry. Desk A read the record (Seen) and edits some fields; desk
// B saved a correction in between. A field A does not send is not touched
// (B's change stays); a field A sets that B changed refuses A's edit with
// a Conflict naming B's value, and nothing is written. The birth date and
// its estimated flag are one value: the form shows them as one field.
func TestStore_EditPatient_Seen(t *testing.T) {
	male := idcards.SexMale
	for _, tc := range []struct {
		name     string
		other    registry.PatientEdit // desk B's save, after A read the record
		mine     registry.PatientEdit // desk A's save, with Seen = the record as read before B's
		conflict string               // "" = accepted
		want     func(p idcards.Patient) bool
	}{
		{"another field: B's change stays",
			registry.PatientEdit{FamilyName: strp("Nakatto"), Reason: "spelling"},
			registry.PatientEdit{Phone: strp("0772 999888")}, "",
			func(p idcards.Patient) bool { return p.FamilyName == "Nakatto" && p.Phone == "0772 999888" }},
		{"the same field",
			registry.PatientEdit{FamilyName: strp("Nakatto"), Reason: "spelling"},
			registry.PatientEdit{FamilyName: strp("Nakaato"), Reason: "typo"}, "family name was changed to Nakatto at another desk since you opened the form",
			func(p idcards.Patient) bool { return p.FamilyName == "Nakatto" }},
		{"the same field to the same value is no conflict",
			registry.PatientEdit{FamilyName: strp("Nakatto"), Reason: "spelling"},
			registry.PatientEdit{FamilyName: strp("Nakatto"), Phone: strp("0772 999888"), Reason: "spelling"}, "",
			func(p idcards.Patient) bool { return p.FamilyName == "Nakatto" && p.Phone == "0772 999888" }},
		{"a cleared phone",
			registry.PatientEdit{Phone: strp("")},
			registry.PatientEdit{Phone: strp("0772 999888")}, "phone was cleared at another desk since you opened the form",
			func(p idcards.Patient) bool { return p.Phone == "" }},
		{"sex",
			registry.PatientEdit{Sex: &male},
			registry.PatientEdit{Sex: func() *idcards.Sex { s := idcards.SexOther; return &s }()}, "sex was changed to M at another desk",
			func(p idcards.Patient) bool { return p.Sex == male }},
		{"the birth date's estimated flag belongs to the date",
			registry.PatientEdit{BirthDateEstimated: boolp(true), Reason: "only the year is known"},
			registry.PatientEdit{BirthDate: strp("1990-05-12"), Reason: "card seen"}, "birth date was changed to 1990-04-12 (estimated) at another desk",
			func(p idcards.Patient) bool { return p.BirthDate == "1990-04-12" && p.BirthDateEstimated }},
		{"date and flag changed: said once",
			registry.PatientEdit{BirthDate: strp("1990-01-01"), BirthDateEstimated: boolp(true), Reason: "only the year is known"},
			registry.PatientEdit{BirthDate: strp("1990-05-12"), Reason: "card seen"}, "birth date was changed to 1990-01-01 (estimated) at another desk since",
			func(p idcards.Patient) bool { return p.BirthDate == "1990-01-01" && p.BirthDateEstimated }},
		{"the flag alone relies on the date",
			registry.PatientEdit{BirthDate: strp("1991-04-12"), Reason: "card seen"},
			registry.PatientEdit{BirthDateEstimated: boolp(true), Reason: "not sure"}, "birth date was changed to 1991-04-12 at another desk",
			func(p idcards.Patient) bool { return p.BirthDate == "1991-04-12" && !p.BirthDateEstimated }},
		{"two fields changed, both named",
			registry.PatientEdit{GivenName: strp("Aminah"), Village: strp("Kireka East"), Reason: "spelling"},
			registry.PatientEdit{GivenName: strp("Amena"), Village: strp("Kireka West"), Reason: "typo"}, "given name was changed to Aminah and village was changed to Kireka East at another desk",
			func(p idcards.Patient) bool { return p.GivenName == "Aminah" && p.Village == "Kireka East" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, ctx := newStore(t)
			b, err := registry.Open(ctx, a.Path()) // desk B's own handle on the same registry
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			seen := registerAmina(t, a, ctx) // what desk A's form was opened with
			tc.other.ID = seen.ID
			if _, _, err := b.EditPatient(ctx, tc.other); err != nil {
				t.Fatal(err)
			}
			before := len(auditRows(t, a, registry.AuditFilter{Action: "patient.edit"}))
			tc.mine.ID, tc.mine.Seen = seen.ID, &seen
			_, _, err = a.EditPatient(ctx, tc.mine)
			got, _ := a.Patient(ctx, seen.ID)
			if !tc.want(got) {
				t.Errorf("stored %+v", got)
			}
			if tc.conflict == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), tc.conflict) || strings.Count(err.Error(), "birth date") > 1 {
				t.Fatalf("err = %v, want Conflict %q", err, tc.conflict)
			}
			var ec *registry.EditConflict
			if !errors.As(err, &ec) || ec.Current.ID != seen.ID || registry.PatientChanges(ec.Current, got) != nil || len(ec.Changes) == 0 {
				t.Fatalf("no EditConflict with the current record: %#v", err)
			}
			if n := len(auditRows(t, a, registry.AuditFilter{Action: "patient.edit"})); n != before {
				t.Errorf("a refused edit wrote %d audit rows", n-before)
			}
		})
	}
}

// TestStore_EditPatient_SeenOtherPatient: a Seen record of another patient
// is a caller's mistake, refused rather than compared.
func TestStore_EditPatient_SeenOtherPatient(t *testing.T) {
	s, ctx := newStore(t)
	p := registerAmina(t, s, ctx)
	other := p
	other.ID++
	if _, _, err := s.EditPatient(ctx, registry.PatientEdit{ID: p.ID, Phone: strp("0772 999888"), Seen: &other}); idcards.ErrorKind(err) != idcards.Invalid {
		t.Fatalf("err = %v, want Invalid", err)
	}
}
