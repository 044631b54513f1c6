package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestPatientScreen_OpenMRSState: the desk's duplicate check sees only
// the registry; whether OpenMRS already holds the person (registered
// there before idcards, or by another department) is checked by sync
// when the registration is sent, a minute or so later. The patient's
// screen says so, and when sync holds the registration as a look-alike
// the next re-read shows who OpenMRS has and what to ask the patient,
// while they may still be at the desk; printing the card still works
// (its ID is valid either way). Once settled and sent, it says so.
func TestPatientScreen_OpenMRSState(t *testing.T) {
	s := newStore(t)
	if err := s.SaveSyncConfig(opCtx, registry.SyncConfig{URL: "https://emr.example.org/openmrs", Username: "idcards-desk", PasswordFile: "/etc/idcards/openmrs.pw",
		IdentifierType: "05a29f94-c0ed-11e2-94be-8c13b969e334", Location: "8d6c993e-c2cc-11de-8d13-0010c6dffd0f", Interval: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	grace, mrn := register(t, s, "Grace", "Nakatto", "1990-04-12")
	pr := &fakePrinter{s: s}
	cfg := testConfig(s, pr, &clock{t: testNow, step: slow})
	cfg.Registry, cfg.StatusEvery = fixedPath{deskReg{s}}, -1 // the test sends the tick
	cfg.Actor = idcards.Actor{Name: "ann", Role: idcards.RoleClerk}
	open := func(w, h int) tea.Model {
		return drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: w, Height: h}, pushMsg{newDetail(nil, grace.ID)})
	}
	m := open(80, 24)
	wantFlat(t, m, "OpenMRS", "not sent yet: the next sync checks whether OpenMRS already has this person (sync runs every 30s)")
	noFlat(t, m, "OPENMRS MAY ALREADY")

	// The push finds OpenMRS's Grace Nakato and holds the registration.
	items, err := s.DueOutbox(opCtx, 0, 10)
	if err != nil || len(items) == 0 || items[0].Kind != idcards.OutboxRegister {
		t.Fatalf("outbox: %+v %v", items, err)
	}
	if err := s.OutboxConflict(opCtx, items[0].ID, idcards.SyncConflict{Identifier: mrn, LocalPatientID: grace.ID, RemotePatientUUID: "b1ac4a4c-0000-4000-8000-000000000001",
		Kind: idcards.ConflictLookalike, Detail: "OpenMRS may already hold Grace Nakatto … Same person: idcards sync resolve ID --same",
		Summary: "Grace Nakato, F, born 1990-04-12, OpenMRS ID 1003EY (probable, 98 %: same birth date; family name 95 % alike)"}); err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, statusTickMsg{})
	wantFlat(t, m, "HELD, not sent: OpenMRS may already have this person", "OPENMRS MAY ALREADY HAVE THIS PERSON",
		"Grace Nakato, F, born 1990-04-12, OpenMRS ID 1003EY", "Ask the patient now if they were seen here before", "sync conflict 1", "valid either way")
	noFlat(t, m, "--same", "resolve ID")
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 20}} {
		t.Run(fmt.Sprintf("held_%dx%d", size[0], size[1]), func(t *testing.T) {
			out := screenText(open(size[0], size[1]))
			checkFit(t, out, size[0], size[1])
			golden.RequireEqual(t, out)
		})
	}
	// Its card scanned: active, not yet in OpenMRS.
	sm := drive(t, open(80, 24), scanMsg{raw: mrn})
	wantFlat(t, sm, "NOT YET IN OPENMRS", "OpenMRS may already have this person under another record")
	noFlat(t, sm, "may reach another chart")
	m = drive(t, m, keyText('p'))
	if len(pr.calls) != 1 {
		t.Fatalf("the card of a held registration was not printed: %v\n%s", pr.calls, screenText(m))
	}

	// The supervisor says someone else; the registration goes.
	if err := s.JudgeLookalike(opCtx, 1, false, "different mother", nil); err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, statusTickMsg{})
	wantFlat(t, m, "not sent yet")
	noFlat(t, m, "OPENMRS MAY ALREADY", "HELD")
	items, _ = s.DueOutbox(opCtx, 0, 10)
	for _, it := range items {
		if err := s.OutboxDone(opCtx, it.ID, grace.UUID, ""); err != nil {
			t.Fatal(err)
		}
	}
	m = drive(t, m, statusTickMsg{})
	wantFlat(t, m, "sent, up to date")
}

// TestConflictAdvice: an identifier conflict without a summary shows its
// detail.
func TestConflictAdvice(t *testing.T) {
	got := conflictAdvice(idcards.SyncConflict{ID: 7, Identifier: "0420000028", Kind: idcards.ConflictIdentifier, Detail: "OpenMRS holds 0420000028 for Joseph Okello."})
	if want := "OPENMRS DISAGREES ABOUT 0420000028: OpenMRS holds 0420000028 for Joseph Okello. Tell IT (sync conflict 7): until it is settled, visits filed under this ID in OpenMRS may reach another chart."; got != want {
		t.Errorf("conflictAdvice = %q\nwant %q", got, want)
	}
}

// wantFlat and noFlat look for text in the screen with its lines joined
// (a row wraps where the width says).
func wantFlat(t *testing.T, m tea.Model, want ...string) {
	t.Helper()
	out := flat(screenText(m))
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("screen lacks %q:\n%s", w, screenText(m))
		}
	}
}

func noFlat(t *testing.T, m tea.Model, not ...string) {
	t.Helper()
	out := flat(screenText(m))
	for _, w := range not {
		if strings.Contains(out, w) {
			t.Fatalf("screen shows %q:\n%s", w, screenText(m))
		}
	}
}
