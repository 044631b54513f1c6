package tui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// twoDesks is one registry opened twice, as two desks would: desk A's
// screen runs on a, desk B's changes go through b.
func twoDesks(t *testing.T) (a, b *registry.Store, ctx context.Context) {
	t.Helper()
	ctx = idcards.WithActor(context.Background(), testActor)
	loc := pgtest.Location(t)
	a, err := registry.Create(ctx, loc, testFmt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = registry.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b, ctx
}

// TestEditForm_OtherDeskSavedMeanwhile: desk A opens the edit form; desk B
// corrects the same patient and saves; then A saves. A's save sends only
// the fields A's clerk changed, so B's correction of another field stays.
// When A's clerk changed the same field B did (a real conflict), the
// registry refuses A's save, the form says what B changed and shows the
// record as it is now with the clerk's typed values kept and marked, and a
// second ctrl+s (the clerk has seen it) saves them.
func TestEditForm_OtherDeskSavedMeanwhile(t *testing.T) {
	a, b, ctx := twoDesks(t)
	p, _ := register(t, a, "Grace", "Atim", "1985-01-02")
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(a, nil, c)
	cfg.StatusEvery = -1
	m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24}, pushMsg{newDetail(nil, p.ID)})
	edits := func() int {
		t.Helper()
		n := 0
		if err := a.EachAudit(ctx, registry.AuditFilter{Action: "patient.edit"}, func(idcards.AuditEvent) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	current := func() idcards.Patient {
		t.Helper()
		got, err := a.Patient(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("another field: the other desk's correction stays", func(t *testing.T) {
		m := drive(t, m, keyText('e'))
		wantScreen(t, m, "Edit · Grace Atim", "Family name     Atim")
		// B corrects the family name and the birth date while A's form is open.
		if _, _, err := b.EditPatient(ctx, registry.PatientEdit{ID: p.ID, FamilyName: strp("Atimo"), BirthDate: strp("1985-01-20"), Reason: "national ID seen"}); err != nil {
			t.Fatal(err)
		}
		m = drive(t, m, tab, tab, tab, tab)
		m = drive(t, m, append(typed("0772 123456"), ctrl('s'))...)
		wantScreen(t, m, "Saved the changes to Grace Atimo")
		got := current()
		if got.FamilyName != "Atimo" || got.BirthDate != "1985-01-20" || got.Phone != "0772 123456" {
			t.Fatalf("after both saves: %s %s born %s phone %q; want Atimo, 1985-01-20, 0772 123456", got.GivenName, got.FamilyName, got.BirthDate, got.Phone)
		}
		if ev := lastAuditAction(t, a, "patient.edit"); strings.Contains(ev, "family_name") || strings.Contains(ev, "birth_date") {
			t.Fatalf("A's edit is audited as changing what B changed: %q", ev)
		}
	})

	t.Run("the same field: refused, said, typed value kept", func(t *testing.T) {
		m := drive(t, m, keyText('e'))
		wantScreen(t, m, "Family name     Atimo")
		if _, _, err := b.EditPatient(ctx, registry.PatientEdit{ID: p.ID, FamilyName: strp("Atimu"), Village: strp("Kireka"), Reason: "patient spelt it"}); err != nil {
			t.Fatal(err)
		}
		before := edits()
		m = drive(t, m, tab, ctrl('u'))
		m = drive(t, m, append(typed("Atima"), ctrl('s'))...)
		wantScreen(t, m, "family name: Atimo → Atima")
		m = drive(t, m, append(typed("misspelt at registration"), enter)...)
		out := flat(screenText(m))
		if !strings.Contains(out, "family name was changed to Atimu at another desk since you opened the form") {
			t.Fatalf("the conflict is not said:\n%s", screenText(m))
		}
		if got := current(); got.FamilyName != "Atimu" || got.Village != "Kireka" {
			t.Fatalf("desk B's correction was overwritten: %+v", got)
		}
		if n := edits(); n != before {
			t.Fatalf("a refused edit wrote %d audit rows", n-before)
		}
		// The form shows the record as it is now (B's village) and keeps
		// the clerk's typed family name, marked against the current one.
		wantScreen(t, m, "Family name     Atima", `(was "Atimu", changed at another desk)`, "Village/address Kireka", "Also changed there: village")
		// Saving again is the clerk's decision, made seeing Atimu.
		m = drive(t, m, ctrl('s'))
		wantScreen(t, m, "family name: Atimu → Atima")
		m = drive(t, m, enter) // the reason typed before is kept
		wantScreen(t, m, "Saved the changes to Grace Atima")
		if got := current(); got.FamilyName != "Atima" || got.Village != "Kireka" {
			t.Fatalf("after the deliberate second save: %+v", got)
		}
		if ev := lastAuditAction(t, a, "patient.edit"); !strings.Contains(ev, `family_name "Atimu" -> "Atima"`) {
			t.Fatalf("audit of the second save: %q", ev)
		}
	})

	t.Run("the birth date: an estimate the clerk relied on", func(t *testing.T) {
		m := drive(t, m, keyText('e'))
		// B marks the birth date as estimated; A corrects the date.
		if _, _, err := b.EditPatient(ctx, registry.PatientEdit{ID: p.ID, BirthDate: strp("1985-01-01"), BirthDateEstimated: boolp(true), Reason: "only the year is known"}); err != nil {
			t.Fatal(err)
		}
		m = drive(t, m, tab, tab, tab, ctrl('u'))
		m = drive(t, m, append(typed("1985-02-01"), ctrl('s'))...)
		m = drive(t, m, append(typed("birth certificate seen"), enter)...)
		if out := flat(screenText(m)); !strings.Contains(out, "birth date was changed to 1985-01-01 (estimated) at another desk since you opened the form") {
			t.Fatalf("the conflict is not said:\n%s", screenText(m))
		}
		if got := current(); got.BirthDate != "1985-01-01" || !got.BirthDateEstimated {
			t.Fatalf("desk B's estimate was overwritten: %+v", got)
		}
		m = drive(t, m, esc, keyText('y'))
	})

	t.Run("what else changed there is said once per field", func(t *testing.T) {
		m := drive(t, m, keyText('e'))
		wantScreen(t, m, "Edit · ")
		if _, _, err := b.EditPatient(ctx, registry.PatientEdit{ID: p.ID, BirthDate: strp("1985-03-04"), BirthDateEstimated: boolp(false), Phone: strp("0701 000111"), Reason: "card seen"}); err != nil {
			t.Fatal(err)
		}
		m = drive(t, m, tab, tab, tab, tab, ctrl('u'))
		m = drive(t, m, append(typed("0772 000999"), ctrl('s'))...)
		out := flat(screenText(m))
		if !strings.Contains(out, "phone was changed to 0701 000111 at another desk") || !strings.Contains(out, "Also changed there: birth date/age (shown now)") {
			t.Fatalf("the conflict and the other change are not said:\n%s", screenText(m))
		}
		wantScreen(t, m, "Birth date/age  1985-03-04")
	})
}

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }
