package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/idcards/idcards/match"
	"io"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// rows is an import source of the given patients.
func rows(ps ...registry.NewPatient) func() (registry.ImportRow, error) {
	i := 0
	return func() (registry.ImportRow, error) {
		if i >= len(ps) {
			return registry.ImportRow{}, io.EOF
		}
		i++
		return registry.ImportRow{Line: i + 1, Patient: ps[i-1]}, nil
	}
}

// crowd registers n strangers (distinct names, dates and villages).
func crowd(t *testing.T, s *registry.Store, ctx context.Context, n int) {
	t.Helper()
	var ps []registry.NewPatient
	for i := range n {
		ps = append(ps, registry.NewPatient{GivenName: "Zu" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + "mba", FamilyName: famName(i), Sex: "M",
			BirthDate: fmt.Sprintf("%d-%02d-%02d", 1940+i%60, 1+i%12, 1+i%28), Village: fmt.Sprintf("Village %d", i)})
	}
	if _, err := s.Import(ctx, rows(ps...), registry.ImportOptions{NoDuplicateCheck: true}, nil); err != nil {
		t.Fatal(err)
	}
}

// An imported row that is a patient already registered (written a little
// differently), or two rows of one person, reach the review list; a
// stranger does not.
func TestImport_ChecksDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		crowd   int
		scanned bool
	}{
		{"each row checked", 200, false},
		{"whole registry scanned", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := newStore(t)
			crowd(t, s, ctx, tc.crowd)
			anjali := register(t, s, ctx, registry.NewPatient{GivenName: "Anjali", FamilyName: "Nair", Sex: "F", BirthDate: "1990-03-14", Phone: "0772123456", Village: "Mukono"})
			sum, err := s.Import(ctx, rows(
				registry.NewPatient{GivenName: "Anjali", FamilyName: "Nair", Sex: "F", BirthDate: "1990-03-14", Phone: "+256772123456", Village: "Mukono town"},
				registry.NewPatient{GivenName: "Okello", FamilyName: "Wanyama", Sex: "M", BirthDate: "1961-11-02", Village: "Gulu"},
				registry.NewPatient{GivenName: "Musa", FamilyName: "Kiprotich", Sex: "M", BirthDate: "2001-05-06", Phone: "0701555444"},
				registry.NewPatient{GivenName: "Mussa", FamilyName: "Kiprotich", Sex: "M", BirthDate: "2001-06-05", Phone: "0701555444"},
			), registry.ImportOptions{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ch := sum.Check
			if ch == nil || ch.Scanned != tc.scanned {
				t.Fatalf("check %+v, want scanned=%v", ch, tc.scanned)
			}
			if ch.Pairs != 2 || ch.Probable != 2 {
				t.Fatalf("check %+v: want the 2 pairs, both probable", ch)
			}
			list, err := s.ReviewList(ctx, false, 10)
			if err != nil {
				t.Fatal(err)
			}
			var withAnjali int
			for _, p := range list {
				if p.A.ID == anjali.ID || p.B.ID == anjali.ID {
					withAnjali++
				}
				for _, x := range []idcards.Patient{p.A, p.B} {
					if x.FamilyName == "Wanyama" {
						t.Errorf("a stranger reached the review list: %+v", p)
					}
				}
			}
			if len(list) != 2 || withAnjali != 1 {
				t.Fatalf("review list %+v", list)
			}
			// A pair judged different is not raised again by the next import.
			if err := s.JudgeDifferent(ctx, list[0].ID, "checked: sisters"); err != nil {
				t.Fatal(err)
			}
			sum, err = s.Import(ctx, rows(registry.NewPatient{GivenName: "Zawadi", FamilyName: "Achieng", Sex: "F", BirthDate: "1979-01-01", BirthDateEstimated: true}), registry.ImportOptions{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if list2, _ := s.ReviewList(ctx, false, 10); len(list2) != 1 || sum.Check.Pairs != 0 {
				t.Fatalf("after judging one: open %+v, check %+v", list2, sum.Check)
			}
		})
	}
}

// NoDuplicateCheck skips the check; a dry run checks each row against the
// registry as it is and lists the look-alikes; neither records a pair.
func TestImport_NoDuplicateCheck(t *testing.T) {
	s, ctx := newStore(t)
	register(t, s, ctx, registry.NewPatient{GivenName: "Anjali", FamilyName: "Nair", Sex: "F", BirthDate: "1990-03-14", Village: "Mukono"})
	dup := registry.NewPatient{GivenName: "Anjali", FamilyName: "Nair", Sex: "F", BirthDate: "1990-03-14", Village: "Mukono town"}
	stranger := registry.NewPatient{GivenName: "Okello", FamilyName: "Wanyama", Sex: "M", BirthDate: "1961-11-02", Village: "Gulu"}
	sum, err := s.Import(ctx, rows(dup), registry.ImportOptions{NoDuplicateCheck: true}, nil)
	if err != nil || sum.Check != nil {
		t.Fatalf("NoDuplicateCheck: check %+v, %v", sum.Check, err)
	}
	// (dup is now registered; its next spelling is not.)
	dup2 := registry.NewPatient{GivenName: "Anjali", FamilyName: "Nair", Sex: "F", BirthDate: "1990-03-14", Phone: "0772123456"}
	sum, err = s.Import(ctx, rows(stranger, dup2), registry.ImportOptions{DryRun: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := sum.Check
	if ch == nil || !ch.DryRun || ch.Checked != 2 || ch.Pairs != 1 || ch.Probable != 1 || len(ch.LookAlikes) != 1 {
		t.Fatalf("dry run check %+v", ch)
	}
	if l := ch.LookAlikes[0]; l.Line != 3 || len(l.Candidates) == 0 || l.Candidates[0].Patient.FamilyName != "Nair" {
		t.Fatalf("look-alike %+v", l)
	}
	if list, _ := s.ReviewList(ctx, false, 10); len(list) != 0 {
		t.Fatalf("review list %+v", list)
	}
}

// A model stored by version 1 (six birth-date levels) is upgraded at the
// next check, and u measured again on the registry.
func TestMatching_UpgradesStoredModel(t *testing.T) {
	s, ctx := newStore(t)
	crowd(t, s, ctx, 1200)
	if _, err := s.Candidates(ctx, registry.NewPatient{GivenName: "Zuaamba", FamilyName: famName(0), Sex: "M"}, 5); err != nil {
		t.Fatal(err)
	}
	m, err := s.MatchModel(ctx)
	if err != nil || m.Source != "u" {
		t.Fatalf("model %+v %v", m, err)
	}
	// Store it as version 1 wrote it.
	b := &m.Fields[match.FBirth]
	b.Levels = []string{"exact", "typo", "estimate same year", "estimate within tolerance", "a year apart", "other"}
	b.M = append(b.M[:match.BirthEstFar:match.BirthEstFar], 0.03)
	b.U = append(b.U[:match.BirthEstFar:match.BirthEstFar], 0.95)
	m.Version = 1
	js, _ := json.Marshal(m)
	if _, err := s.DB().ExecContext(ctx, `UPDATE match_model SET model = ? WHERE id = 1`, string(js)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Candidates(ctx, registry.NewPatient{GivenName: "Zuaamba", FamilyName: famName(0), Sex: "M"}, 5); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := s.DB().QueryRowContext(ctx, `SELECT model FROM match_model WHERE id = 1`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Version int `json:"version"`
		Fields  []struct {
			U []float64 `json:"u"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(stored), &v); err != nil || v.Version != match.ModelVersion || len(v.Fields[match.FBirth].U) != len(match.LevelNames[match.FBirth]) {
		t.Fatalf("stored model not upgraded: %v %s", err, stored)
	}
	for _, l := range []int8{match.BirthEstFar, match.BirthGeneration} {
		if u := v.Fields[match.FBirth].U[l]; u == match.DefaultModel().Fields[match.FBirth].U[l] {
			t.Fatalf("u of the new level %s not measured: %v", match.LevelNames[match.FBirth][l], v.Fields[match.FBirth].U)
		}
	}
}

// TestImport_InterruptedCheckResumes: an import stopped after its commit,
// before its duplicate check ended (a killed process), leaves the check on
// record: the next import checks those patients too, and says so.
func TestImport_InterruptedCheckResumes(t *testing.T) {
	s, ctx := newStore(t)
	crowd(t, s, ctx, 200)
	register(t, s, ctx, registry.NewPatient{GivenName: "Anjali", FamilyName: "Nair", Sex: "F", BirthDate: "1990-03-14", Phone: "0772123456", Village: "Mukono"})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cut, err := s.Import(cctx, rows(registry.NewPatient{GivenName: "Anjali", FamilyName: "Nair", Sex: "F", BirthDate: "1990-03-14", Phone: "+256772123456", Village: "Mukono town"}),
		registry.ImportOptions{CheckProgress: func(done, total int) { cancel() }}, nil)
	if err == nil {
		t.Fatal("the check was not interrupted")
	}
	// The rows are saved: the caller must not say nothing was imported.
	if !cut.Committed || cut.Imported != 1 {
		t.Fatalf("an import interrupted after its commit: %+v", cut)
	}
	if n, err := s.PendingImportCheck(ctx); err != nil || n != 1 {
		t.Fatalf("pending check: %d %v", n, err)
	}
	sum, err := s.Import(ctx, rows(registry.NewPatient{GivenName: "Okello", FamilyName: "Wanyama", Sex: "M", BirthDate: "1961-11-02", Village: "Gulu"}), registry.ImportOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ch := sum.Check; ch == nil || ch.Resumed != 1 || ch.Checked != 2 || ch.Probable != 1 {
		t.Fatalf("check after the interrupted one: %+v", sum.Check)
	}
	if n, _ := s.PendingImportCheck(ctx); n != 0 {
		t.Fatalf("still pending: %d", n)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}
