package registry_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
	"github.com/idcards/idcards/registry"
)

// TestStore_SearchPatients: what a clerk types at Find (issue 14 items 9
// and 20).
func TestStore_SearchPatients(t *testing.T) {
	s, ctx := newStore(t)
	reg := func(g, f, dob, phone string) (idcards.Patient, string) {
		t.Helper()
		p, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: g, FamilyName: f, Sex: "F", BirthDate: dob, Phone: phone}, Decision: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return p, mrn
	}
	amina, aminaMRN := reg("Amina", "Nakato", "1990-04-12", "0772 123456")
	cards, err := s.RecordCards(ctx, []string{aminaMRN}, "card", "", "")
	if err != nil {
		t.Fatal(err)
	}
	lukasz, _ := reg("Łukasz", "Nowak", "1985-01-01", "+48 601 234 567")
	diaye, _ := reg("Aïssatou", "N'Diaye", "1990-11-30", "")
	okello, _ := reg("Okello", "John", "1975-03-03", "256-772-999888")
	for _, tc := range []struct {
		name string
		q    string
		want []idcards.Patient
	}{
		{"MRN", aminaMRN, []idcards.Patient{amina}},
		{"MRN lower case with dashes", strings.ToLower(aminaMRN[:4] + "-" + aminaMRN[4:]), []idcards.Patient{amina}},
		{"2D payload", "]Q1" + aminaMRN + " " + cards[0].Serial, []idcards.Patient{amina}},
		{"AIM prefix", "]C0" + aminaMRN, []idcards.Patient{amina}},
		{"birth year", "1990", []idcards.Patient{diaye, amina}},
		{"birth year and name", "amina 1990", []idcards.Patient{amina}},
		{"birth date", "1990-04-12", []idcards.Patient{amina}},
		{"birth date day first", "12/04/1990", []idcards.Patient{amina}},
		{"phone as stored", "0772 123456", []idcards.Patient{amina}},
		{"phone international", "+256 772 123 456", []idcards.Patient{amina}},
		{"phone country code, no plus", "256772123456", []idcards.Patient{amina}},
		{"phone national for an international record", "0772999888", []idcards.Patient{okello}},
		{"phone with brackets", "(0772) 999-888", []idcards.Patient{okello}},
		{"part of a phone", "772123", []idcards.Patient{amina}},
		{"a few digits match phones as written", "234", []idcards.Patient{lukasz, amina}},
		{"phone with a name", "nakato 0772123456", []idcards.Patient{amina}},
		{"apostrophe ignored", "ndiaye", []idcards.Patient{diaye}},
		{"apostrophe typed", "n'diaye", []idcards.Patient{diaye}},
		{"accent ignored", "aissatou", []idcards.Patient{diaye}},
		{"Ł typed", "łukasz", []idcards.Patient{lukasz}},
		{"nothing", "zzzz", nil},
		{"punctuation alone", "'", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SearchPatients(ctx, tc.q, 10)
			if err != nil {
				t.Fatal(err)
			}
			var g, w []int64
			for _, p := range got {
				g = append(g, p.ID)
			}
			for _, p := range tc.want {
				w = append(w, p.ID)
			}
			if len(g) != len(w) || len(g) > 0 && !equalIDs(g, w) {
				t.Fatalf("search %q = %v, want %v", tc.q, g, w)
			}
		})
	}
	t.Run("Lukasz finds Łukasz", func(t *testing.T) {
		if match.Fold("Ł") != "l" {
			t.Skip("match.Fold does not fold Ł yet (the matching branch adds it); the search uses whatever it folds")
		}
		got, err := s.SearchPatients(ctx, "Lukasz", 10)
		if err != nil || len(got) != 1 || got[0].ID != lukasz.ID {
			t.Fatalf("Lukasz = %+v, %v", got, err)
		}
	})
}

func equalIDs(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStore_SearchPatients_MistypedMRN: a typed MRN with a wrong check
// character is told apart from "no patient" (issue 14 item 9).
func TestStore_SearchPatients_MistypedMRN(t *testing.T) {
	s, ctx := newStore(t)
	_, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-04-12"}})
	if err != nil {
		t.Fatal(err)
	}
	bad := mrn[:len(mrn)-1] + string("0123456789"[(strings.IndexByte("0123456789", mrn[len(mrn)-1])+1)%10])
	if ps, err := s.SearchPatients(ctx, bad, 10); err != nil || len(ps) != 0 {
		t.Fatalf("search %s = %v, %v; want nobody", bad, ps, err)
	}
	ok, msg := s.LooksLikeMistypedMRN(ctx, " "+strings.ToLower(bad)+" ")
	if !ok || msg != bad+": wrong check character — probably mistyped; check the number on the card and type it again" {
		t.Fatalf("LooksLikeMistypedMRN(%s) = %v, %q", bad, ok, msg)
	}
	for _, q := range []string{mrn, "amina", mrn[:len(mrn)-2], "99" + mrn[2:], ""} {
		if ok, msg := s.LooksLikeMistypedMRN(ctx, q); ok {
			t.Errorf("LooksLikeMistypedMRN(%q) = %q", q, msg)
		}
	}
	// Wrong length or another prefix is not an MRN of ours: no error, no hit.
	for _, q := range []string{mrn[:len(mrn)-2], "99" + mrn[2:]} {
		if ps, err := s.SearchPatients(ctx, q, 10); err != nil || len(ps) != 0 {
			t.Errorf("search %s = %v, %v", q, ps, err)
		}
	}
	// A voided MRN still finds the patient who held it.
	if err := s.Void(ctx, mrn, "test"); err != nil {
		t.Fatal(err)
	}
	if ps, err := s.SearchPatients(ctx, mrn, 10); err != nil || len(ps) != 1 {
		t.Errorf("voided MRN: %v, %v", ps, err)
	}
}

// TestStore_RefoldNames: names stored with an older folding are folded
// again on open, so search and import compare like with like.
func TestStore_RefoldNames(t *testing.T) {
	s, ctx := newStore(t)
	p, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Aïssatou", FamilyName: "N'Diaye", Sex: "F", BirthDate: "1990-11-30"}})
	if err != nil {
		t.Fatal(err)
	}
	// As an older build stored it: lower case, apostrophe kept.
	db := s.DB()
	if _, err := db.ExecContext(ctx, `UPDATE patients SET name_norm = 'aissatou n''diaye' WHERE id = ?`, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM settings WHERE key = 'name_fold'`); err != nil {
		t.Fatal(err)
	}
	path := s.Path()
	s.Close()
	if !registry.IsPostgresURL(path) {
		path = filepath.Clean(path)
	}
	s2, err := registry.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var norm string
	if err := s2.DB().QueryRowContext(ctx, `SELECT name_norm FROM patients WHERE id = ?`, p.ID).Scan(&norm); err != nil {
		t.Fatal(err)
	}
	if norm != registry.FoldName("Aïssatou N'Diaye") {
		t.Fatalf("name_norm = %q after open", norm)
	}
	if ps, _ := s2.SearchPatients(ctx, "ndiaye", 5); len(ps) != 1 {
		t.Errorf("search after refold = %v", ps)
	}
}

// FuzzSearchPatients: any text typed at Find gives results (or none),
// never an error or a panic; LooksLikeMistypedMRN never panics either.
func FuzzSearchPatients(f *testing.F) {
	s, ctx := newStore(f)
	if _, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "N'Diaye", Sex: "F", BirthDate: "1990-04-12", Phone: "+256 772 123456"}}); err != nil {
		f.Fatal(err)
	}
	for _, q := range []string{"amina", "1990", "12/04/1990", "+256 772 123 456", "1200000015", "]Q11200000014 X", "%", "_", `\`, "' OR 1=1 --", "ł", "0000000000000000"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if _, err := s.SearchPatients(ctx, q, 5); err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		s.LooksLikeMistypedMRN(ctx, q)
	})
}
