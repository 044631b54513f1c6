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
// the re-read after the sync round shows who OpenMRS has and what to ask the patient,
// while they may still be at the desk; printing the card still works
// (its ID is valid either way). Once settled and sent, it says so.
func TestPatientScreen_OpenMRSState(t *testing.T) {
	s := newStore(t)
	configureSync(t, s)
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

	// The push finds OpenMRS's Grace Nakato and holds the registration;
	// the desk's background sync says its round is done.
	holdLookalike(t, s, grace, mrn)
	m = drive(t, m, SyncRoundMsg{})
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
	items, _ := s.DueOutbox(opCtx, 0, 10)
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
	got := conflictAdvice(idcards.SyncConflict{ID: 7, Identifier: "0420000028", Kind: idcards.ConflictIdentifier, Detail: "OpenMRS holds 0420000028 for Joseph Okello."}, true)
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

// configureSync sets the registry up for OpenMRS sync (the settings only:
// nothing is sent in these tests).
func configureSync(t *testing.T, s *registry.Store) {
	t.Helper()
	if err := s.SaveSyncConfig(opCtx, registry.SyncConfig{URL: "https://emr.example.org/openmrs", Username: "idcards-desk", PasswordFile: "/etc/idcards/openmrs.pw",
		IdentifierType: "05a29f94-c0ed-11e2-94be-8c13b969e334", Location: "8d6c993e-c2cc-11de-8d13-0010c6dffd0f", Interval: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
}

// openmrsGrace is the OpenMRS patient the look-alikes here point at.
var openmrsGrace = idcards.Patient{UUID: "b1ac4a4c-0000-4000-8000-000000000001", GivenName: "Grace", FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-12"}

// holdLookalike does what sync's push does when OpenMRS may already have
// the patient: the registration is held as a look-alike conflict.
func holdLookalike(t *testing.T, s *registry.Store, p idcards.Patient, mrn string) {
	t.Helper()
	items, err := s.Outbox(opCtx, "pending", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.PatientID != p.ID || it.Kind != idcards.OutboxRegister {
			continue
		}
		if err := s.OutboxConflict(opCtx, it.ID, idcards.SyncConflict{Identifier: mrn, LocalPatientID: p.ID, RemotePatientUUID: openmrsGrace.UUID,
			Kind: idcards.ConflictLookalike, Detail: "OpenMRS may already hold " + p.DisplayName() + " … Same person: idcards sync resolve ID --same",
			Summary: "Grace Nakato, F, born 1990-04-12, OpenMRS ID 1003EY (probable, 98 %: same birth date; family name 95 % alike)"}); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no registration of patient %d waits in the outbox", p.ID)
}

// storeJudge settles look-alikes on the registry itself, OpenMRS's record
// being openmrsGrace (the real desk reads it from OpenMRS: see the tmux
// test in cmd/idcards); it keeps who judged.
type storeJudge struct {
	s    *registry.Store
	by   []idcards.Actor
	fail error // OpenMRS's answer instead, when set
}

func (j *storeJudge) JudgeLookalike(ctx context.Context, id int64, same bool, note string) error {
	if j.fail != nil {
		return j.fail
	}
	a, _ := idcards.ActorFrom(ctx)
	j.by = append(j.by, a)
	var remote *idcards.Patient
	if same {
		r := openmrsGrace
		remote = &r
	}
	return j.s.JudgeLookalike(ctx, id, same, note, remote)
}

// TestPatientScreen_SettleLookalikeAtTheDesk: the registration held
// because OpenMRS may already have the person is settled at the desk
// while the patient is there. A clerk presses o, asks the patient,
// chooses s (same person) or d (different people), says how they know,
// and a supervisor approves with their password at the clerk's desk (one
// approval, under both names); a supervisor's own desk needs no approval.
// Same: the record becomes OpenMRS's (its details), nothing held. Esc
// and a missing note decide nothing.
func TestPatientScreen_SettleLookalikeAtTheDesk(t *testing.T) {
	s := newStore(t)
	configureSync(t, s)
	grace, gmrn := register(t, s, "Grace", "Nakatto", "1990-04-12")
	holdLookalike(t, s, grace, gmrn)
	j := &storeJudge{s: s}
	desk := func(actor idcards.Actor, id int64) tea.Model {
		cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
		cfg.Registry, cfg.StatusEvery, cfg.Actor, cfg.Lookalikes = fixedPath{deskReg{s}}, -1, actor, j
		return drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24}, pushMsg{newDetail(nil, id)})
	}
	clerk := idcards.Actor{Name: "ann", Role: idcards.RoleClerk}

	code := cardFor(t, s, gmrn, "")
	serial := code[len(code)-9:] // random: hidden in the golden file
	m := desk(clerk, grace.ID)
	wantFlat(t, m, "o OpenMRS look-alike: same person?")
	m = drive(t, m, keyText('o'))
	wantFlat(t, m, "Is Grace Nakatto the same person as OpenMRS's Grace Nakato, F, born 1990-04-12, OpenMRS ID 1003EY", "s same person", "d different people")
	golden.RequireEqual(t, strings.ReplaceAll(screenText(m), serial, "CSERIAL01"))
	m = drive(t, m, esc)
	wantFlat(t, m, "Nothing decided.")
	m = drive(t, m, keyText('o'), keyText('s'))
	wantFlat(t, m, "Grace Nakatto is the same person as OpenMRS's Grace Nakato", "how do you know?")
	m = drive(t, m, enter)
	wantFlat(t, m, "say how you know")
	m = drive(t, m, append(typed("patient confirmed the 2019 visit"), enter)...)
	wantFlat(t, m, "A supervisor approves this decision")
	if len(j.by) != 0 {
		t.Fatalf("judged before the supervisor approved: %+v", j.by)
	}
	// OpenMRS cannot be reached: said, nothing decided, still held.
	j.fail = idcards.Errorf(idcards.Unavailable, "linking needs OpenMRS's record of patient %s as it is now, and OpenMRS cannot be reached; the conflict stays open", openmrsGrace.UUID)
	m = drive(t, m, append(append(typed(supUser), enter), append(typed(supPass), enter)...)...)
	wantFlat(t, m, "OpenMRS cannot be reached; the conflict stays open", "HELD, not sent")
	j.fail, j.by = nil, nil
	m = drive(t, m, append([]tea.Msg{keyText('o'), keyText('s')}, append(typed("patient confirmed the 2019 visit"), enter)...)...)
	wantFlat(t, m, "A supervisor approves this decision")
	m = drive(t, m, append(append(typed(supUser), enter), append(typed(supPass), enter)...)...)
	if len(j.by) != 1 || j.by[0].Name != supUser || j.by[0].OnBehalfOf != "ann" {
		t.Fatalf("judged by %+v, want the supervisor on behalf of the clerk\n%s", j.by, screenText(m))
	}
	wantFlat(t, m, "One person: Grace Nakatto is OpenMRS's record now", "Grace Nakato", `The card printed earlier says "Grace Nakatto": press r to reprint it as "Grace Nakato"`)
	noFlat(t, m, "OPENMRS MAY ALREADY", "HELD", "o OpenMRS look-alike")
	if ev := lastAuditAction(t, s, "sync.link"); !strings.Contains(ev, openmrsGrace.UUID) {
		t.Errorf("the link is not audited with OpenMRS's patient: %q", ev)
	}

	// A supervisor's own desk: d, a note, done.
	amina, amrn := register(t, s, "Grace", "Nakatu", "1990-04-12")
	holdLookalike(t, s, amina, amrn)
	m = desk(idcards.Actor{Name: "sarah", Role: idcards.RoleSupervisor}, amina.ID)
	m = drive(t, m, append([]tea.Msg{keyText('o'), keyText('d')}, append(typed("different mother, born in Gulu"), enter)...)...)
	if len(j.by) != 2 || j.by[1].Name != "sarah" || j.by[1].OnBehalfOf != "" {
		t.Fatalf("judged by %+v, want sarah herself", j.by)
	}
	wantFlat(t, m, "Different people: Grace Nakatu is sent to OpenMRS as a new patient", "not sent yet")
	noFlat(t, m, "HELD")

	// Without a way to settle at the desk (no judge), no o.
	cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
	cfg.StatusEvery, cfg.Actor = -1, clerk
	third, tmrn := register(t, s, "Grace", "Nakkato", "1990-04-12")
	holdLookalike(t, s, third, tmrn)
	m = drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24}, pushMsg{newDetail(nil, third.ID)})
	noFlat(t, m, "o OpenMRS look-alike")
	m = drive(t, m, keyText('o'))
	wantFlat(t, m, "a supervisor runs idcards sync resolve")
}
