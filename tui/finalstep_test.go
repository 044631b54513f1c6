package tui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestPatientScreen_FinalStepRechecks: the patient screen reads the record
// again before a key opens a prompt (r, i, v); the key that then acts —
// enter on the reprint or second-ID reason, y on a confirmation, the
// supervisor's approval — reads it again too: another desk may have
// printed a card, issued an ID, voided the ID or merged the record while
// the clerk typed. If so nothing is done, the change is said, and the
// clerk starts the action again having seen it.
func TestPatientScreen_FinalStepRechecks(t *testing.T) {
	a, b, ctx := twoDesks(t)
	if err := a.AddUser(ctx, registry.NewUser{Username: supUser, Role: idcards.RoleSupervisor, Password: supPass}); err != nil {
		t.Fatal(err)
	}
	sup := idcards.WithActor(context.Background(), idcards.Actor{Name: "sarah", Role: idcards.RoleSupervisor})
	desk := func(t *testing.T, actor idcards.Actor, pr Printer, id int64) tea.Model {
		c := &clock{t: testNow, step: slow}
		cfg := testConfig(a, pr, c)
		cfg.StatusEvery = -1
		if actor.Name != "" {
			cfg.Actor = actor
		}
		return drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24}, pushMsg{newDetail(nil, id)})
	}
	state := func(t *testing.T, mrn string) idcards.IdentifierState {
		t.Helper()
		id, err := a.Identifier(ctx, mrn)
		if err != nil {
			t.Fatal(err)
		}
		return id.State
	}
	said := func(t *testing.T, m tea.Model, want ...string) {
		t.Helper()
		out := flat(screenText(m))
		for _, w := range append([]string{"Changed at another desk:"}, want...) {
			if !strings.Contains(out, w) {
				t.Fatalf("screen lacks %q:\n%s", w, screenText(m))
			}
		}
	}

	t.Run("reprint reason: another card printed meanwhile", func(t *testing.T) {
		p, mrn := register(t, a, "Grace", "Atim", "1985-01-02")
		pr := &fakePrinter{s: a}
		m := desk(t, idcards.Actor{}, pr, p.ID)
		m = drive(t, m, keyText('p'))
		m = drive(t, m, keyText('r'))
		wantScreen(t, m, "Reprint "+mrn)
		if _, err := b.RecordCards(ctx, []string{mrn}, "test", "", "lost at home"); err != nil { // desk B reprints
			t.Fatal(err)
		}
		m = drive(t, m, append(typed("card lost"), enter)...)
		said(t, m, "new card", "Nothing was done: check the record, then press r again.")
		if len(pr.calls) != 1 {
			t.Fatalf("reprinted over desk B's new card: %v", pr.calls)
		}
		noScreen(t, m, "Reprint "+mrn+":")
		m = drive(t, m, keyText('r'))
		m = drive(t, m, append(typed("card lost"), enter)...)
		if len(pr.calls) != 2 {
			t.Fatalf("r again, seen, did not reprint: %v\n%s", pr.calls, screenText(m))
		}
	})

	t.Run("second ID reason: an ID issued meanwhile", func(t *testing.T) {
		p, _ := register(t, a, "Joy", "Akello", "1990-01-02")
		m := desk(t, idcards.Actor{}, nil, p.ID)
		m = drive(t, m, keyText('i'))
		wantScreen(t, m, "Why a second ID")
		if _, err := b.IssueID(ctx, p.ID, "ward card"); err != nil {
			t.Fatal(err)
		}
		m = drive(t, m, append(typed("ward card"), enter)...)
		said(t, m, "issued to this patient", "press i again")
		if ids, _ := a.PatientIdentifiers(ctx, p.ID); len(ids) != 2 {
			t.Fatalf("%d IDs, want the first and desk B's", len(ids))
		}
	})

	t.Run("void confirmation: the record merged meanwhile", func(t *testing.T) {
		p, mrn := register(t, a, "Brian", "Mugisha", "1980-05-06")
		kept, _ := register(t, a, "Brian", "Mugisha", "1980-05-06")
		m := desk(t, idcards.Actor{}, nil, p.ID)
		m = drive(t, m, append(append([]tea.Msg{keyText('v')}, typed("registered twice")...), enter)...)
		wantScreen(t, m, "Void "+mrn+" for good?")
		// Desk B merges instead: mrn now belongs to the kept record.
		if err := b.Merge(sup, p.ID, kept.ID, "same person"); err != nil {
			t.Fatal(err)
		}
		m = drive(t, m, keyText('y'))
		said(t, m, "merged into another", "press v again")
		if st := state(t, mrn); st != idcards.IDActive {
			t.Fatalf("%s is %s: voided on the kept record from a stale screen", mrn, st)
		}
	})

	t.Run("void confirmation: voided meanwhile", func(t *testing.T) {
		p, mrn := register(t, a, "Amina", "Okello", "1990-03-04")
		m := desk(t, idcards.Actor{}, nil, p.ID)
		m = drive(t, m, append(append([]tea.Msg{keyText('v')}, typed("registered twice")...), enter)...)
		if err := b.Void(ctx, mrn, "typo on card"); err != nil {
			t.Fatal(err)
		}
		m = drive(t, m, keyText('y'))
		said(t, m, mrn+" voided (typo on card)")
		if n := countAudit(t, a, "id.void", mrn); n != 1 {
			t.Fatalf("%d void audit rows, want desk B's only", n)
		}
	})

	t.Run("supervisor's approval: the record merged meanwhile", func(t *testing.T) {
		p, mrn := register(t, a, "Okot", "Peter", "1970-07-08")
		kept, _ := register(t, a, "Okot", "Peter", "1970-07-08")
		m := desk(t, idcards.Actor{Name: "ann", Role: idcards.RoleClerk}, nil, p.ID)
		m = drive(t, m, append(append([]tea.Msg{keyText('v')}, typed("registered twice")...), enter, keyText('y'))...)
		wantScreen(t, m, "A supervisor approves voiding "+mrn)
		m = drive(t, m, append(typed(supUser), enter)...)
		if err := b.Merge(sup, p.ID, kept.ID, "same person"); err != nil {
			t.Fatal(err)
		}
		m = drive(t, m, append(typed(supPass), enter)...)
		said(t, m, "merged into another", "press v again")
		if st := state(t, mrn); st != idcards.IDActive {
			t.Fatalf("%s is %s after an approval given on a stale screen", mrn, st)
		}
		noScreen(t, m, "Password")
	})
}

func countAudit(t *testing.T, s *registry.Store, action, subject string) int {
	t.Helper()
	n := 0
	ctx := idcards.WithActor(context.Background(), testActor)
	if err := s.EachAudit(ctx, registry.AuditFilter{Action: action, Subject: subject}, func(idcards.AuditEvent) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
