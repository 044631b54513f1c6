package tui

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// The tests in this file follow issue 14, "The desk screen through a
// clerk's whole day": one test (or table) per requirement, named by its
// number.

var opCtx = idcards.WithActor(context.Background(), testActor)

// scanWith sends code as a scanner does: after a human pause, every key
// within a few milliseconds, then Enter.
func scanWith(t *testing.T, m tea.Model, c *clock, code string) tea.Model {
	t.Helper()
	step := c.step
	c.t = c.t.Add(time.Second)
	c.step = fast
	m = drive(t, m, append(typed(code), enter)...)
	c.step = step
	c.t = c.t.Add(time.Second)
	return m
}

func clerkConfig(s *registry.Store, p Printer, c *clock) Config {
	cfg := testConfig(s, p, c)
	cfg.Actor = idcards.Actor{Name: "ann", Role: idcards.RoleClerk}
	return cfg
}

func start80(t *testing.T, cfg Config, msgs ...tea.Msg) tea.Model {
	t.Helper()
	return drive(t, New(context.Background(), cfg), append([]tea.Msg{tea.WindowSizeMsg{Width: 80, Height: 24}}, msgs...)...)
}

func wantScreen(t *testing.T, m tea.Model, want ...string) string {
	t.Helper()
	out := screenText(m)
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("screen lacks %q:\n%s", w, out)
		}
	}
	return out
}

func noScreen(t *testing.T, m tea.Model, not ...string) {
	t.Helper()
	out := screenText(m)
	for _, w := range not {
		if strings.Contains(out, w) {
			t.Fatalf("screen shows %q:\n%s", w, out)
		}
	}
}

// cardFor prints a card for mrn and returns its 2D content.
func cardFor(t *testing.T, s *registry.Store, mrn, reason string) string {
	t.Helper()
	cards, err := s.RecordCards(opCtx, []string{mrn}, "test", "", reason)
	if err != nil {
		t.Fatal(err)
	}
	return barcode.Format2D(mrn, cards[0].Serial)
}

// 1. Edit a patient from the patient screen; a name or birth date change
// asks for a reason; a look-alike after the edit is said.
func TestItem01_EditPatient(t *testing.T) {
	s := newStore(t)
	register(t, s, "Amina", "Okello", "1990-03-04")
	grace, _ := register(t, s, "Grace", "Atm", "1985-01-02")
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), pushMsg{newDetail(nil, grace.ID)})
	wantScreen(t, m, "e edit details")

	t.Run("phone only: no reason", func(t *testing.T) {
		m := drive(t, m, keyText('e'))
		wantScreen(t, m, "Edit · Grace Atm", "Given name      Grace")
		m = drive(t, m, tab, tab, tab, tab)
		m = drive(t, m, append(typed("0772 123456"), ctrl('s'))...)
		wantScreen(t, m, "Saved the changes to Grace Atm", "Patient · Grace Atm", "0772 123456")
	})
	t.Run("name: reason asked, audited", func(t *testing.T) {
		m := drive(t, m, keyText('e'), tab, ctrl('u'))
		m = drive(t, m, append(typed("Atim"), ctrl('s'))...)
		wantScreen(t, m, "family name: Atm → Atim", "needs a reason")
		m = drive(t, m, enter)
		wantScreen(t, m, "a reason is required")
		m = drive(t, m, append(typed("misspelt at registration"), enter)...)
		wantScreen(t, m, "Patient · Grace Atim", "Saved the changes to Grace Atim")
		if ev := lastAuditAction(t, s, "patient.edit"); !strings.Contains(ev, "misspelt at registration") {
			t.Fatalf("edit reason not audited: %q", ev)
		}
	})
	t.Run("bad values are refused early", func(t *testing.T) {
		m := drive(t, m, keyText('e'), ctrl('u'))
		m = drive(t, m, append(typed("Grace2"), ctrl('s'))...)
		wantScreen(t, m, "contains a digit")
		m = drive(t, m, esc)
	})
	t.Run("now looks like another patient", func(t *testing.T) {
		m := drive(t, m, keyText('e'), ctrl('u'))
		m = drive(t, m, typed("Amina")...)
		m = drive(t, m, tab, ctrl('u'))
		m = drive(t, m, typed("Okello")...)
		m = drive(t, m, tab, tab, ctrl('u'))
		m = drive(t, m, append(typed("1990-03-04"), ctrl('s'))...)
		m = drive(t, m, append(typed("wrong person's details corrected"), enter)...)
		wantScreen(t, m, "now looks like 1 other", "Amina Okello", "merge")
		m = drive(t, m, enter)
		wantScreen(t, m, "Patient · Amina Okello")
	})
}

// 2. Sign out and lock-now keys; Ctrl+C with a half-filled form asks.
func TestItem02_SignOutLockAndQuit(t *testing.T) {
	s := newStore(t)
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
	signIn := append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)
	m := start80(t, cfg, signIn...)
	wantScreen(t, m, "Find or register", "ctrl+l lock now", "ctrl+q sign out", "Signed in as ann (clerk).")
	m = drive(t, m, keyCode(tea.KeyDown))
	wantScreen(t, m, "signed in: ann (clerk)")

	m = drive(t, m, ctrl('n'))
	m = drive(t, m, typed("Nakato")...)
	m = drive(t, m, ctrl('l'))
	wantScreen(t, m, "Sign in · locked", "ann finds their screens")
	noScreen(t, m, "Nakato")
	m = drive(t, m, signIn...)
	wantScreen(t, m, "Register a new patient", "Nakato")

	// Ctrl+C asks; n stays; y quits.
	m = drive(t, m, ctrl('c'))
	wantScreen(t, m, "Quit and lose it? y/n")
	m = drive(t, m, keyText('n'))
	wantScreen(t, m, "Nakato", "Nothing lost")
	m = drive(t, m, ctrl('c'))
	if _, cmd := m.Update(keyText('y')); cmd == nil || cmd() != tea.Quit() {
		t.Fatal("y did not quit")
	}
	m = drive(t, m, keyText('n'))
	// Sign out asks too, then forgets the screens.
	m = drive(t, m, ctrl('q'))
	wantScreen(t, m, "Sign out and lose it? y/n")
	m = drive(t, m, keyText('y'))
	wantScreen(t, m, "Signed out.", "Sign in")
	m = drive(t, m, signIn...)
	wantScreen(t, m, "Find or register")
	noScreen(t, m, "Nakato")
	// With nothing half-filled Ctrl+C quits at once.
	if _, cmd := m.Update(ctrl('c')); cmd == nil || cmd() != tea.Quit() {
		t.Fatal("ctrl+c with nothing typed did not quit")
	}
}

// 3. A registration past the hourly cap is approved by a supervisor at
// the desk (the void case is in TestVoidNeedsPermissionAndConfirmation).
func TestItem03_SupervisorApprovesPastTheCap(t *testing.T) {
	s := newStore(t)
	if err := s.SetKnownSetting(opCtx, "flood_cap_per_hour", "1"); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: testNow, step: slow}
	m := start80(t, clerkConfig(s, nil, c))
	m = drive(t, m, append(regForm("Joy", "Akello", "F", "20"), ctrl('s'))...)
	wantScreen(t, m, "Registered Joy Akello")
	m = drive(t, m, esc)
	m = drive(t, m, append(regForm("Brian", "Mugisha", "M", "30"), ctrl('s'))...)
	wantScreen(t, m, "cap is 1 per hour", "a supervisor can approve it at", "this desk: ctrl+a", "ctrl+a supervisor approves")
	m = drive(t, m, ctrl('a'))
	wantScreen(t, m, "A supervisor approves this registration")
	m = drive(t, m, append(append(typed(supUser), enter), append(typed(supPass), enter)...)...)
	wantScreen(t, m, "Registered Brian Mugisha")
	if ev := lastAuditAction(t, s, "user.countersign"); !strings.Contains(ev, "at the desk of ann") {
		t.Fatalf("approval not audited: %q", ev)
	}
}

// 4. Overriding a probable duplicate asks for a reason, recorded in the
// CLI's words.
func TestItem04_ProbableOverrideNeedsReason(t *testing.T) {
	s := newStore(t)
	_, oldMRN := register(t, s, "Amina", "Okello", "1990-03-04")
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c))
	m = drive(t, m, append(regForm("Amina", "Okello", "F", "1990-03-04"), ctrl('s'))...)
	wantScreen(t, m, "PROBABLE", "different person: register and issue a new ID (asks why)")
	m = drive(t, m, keyText('n'))
	wantScreen(t, m, "Why is this a different person?")
	m = drive(t, m, enter)
	wantScreen(t, m, "a reason is required")
	if c, _ := s.Counts(context.Background()); c.Patients != 1 {
		t.Fatal("registered without a reason")
	}
	m = drive(t, m, append(typed("twin sister, different phone"), enter)...)
	wantScreen(t, m, "Registered Amina Okello")
	want := "override: 1 probable duplicate(s) (" + oldMRN + "); reason: twin sister, different phone"
	if ev := lastAuditAction(t, s, "patient.register"); ev != want {
		t.Fatalf("decision %q, want %q", ev, want)
	}
}

// 5b. A record another desk merged while this desk shows it: issuing it
// an ID is refused (the person would be two active records again), and
// the screen, reloaded, says it was merged and which record holds its IDs.
func TestItem05b_StaleMergedRecordGetsNoID(t *testing.T) {
	s := newStore(t)
	_, keptMRN := register(t, s, "Soren", "Odegaard", "1981-04-02")
	p, _, err := s.Register(opCtx, registry.Registration{Patient: registry.NewPatient{GivenName: "Søren", FamilyName: "Ødegaard", Sex: idcards.SexFemale, BirthDate: "1981-04-02"}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), pushMsg{newDetail(nil, p.ID)})
	wantScreen(t, m, "Søren Ødegaard", "ACTIVE")
	kept, err := s.Verify(opCtx, keptMRN)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(opCtx, p.ID, kept.Patient.ID, "one person"); err != nil {
		t.Fatal(err)
	}
	// i reads the record again first: the merge is said, no question asked.
	m = drive(t, m, keyText('i'))
	wantScreen(t, m, "MERGED", "merged into another", "moved to the record it was merged into")
	noScreen(t, m, "Why a second ID")
	// Asked again, the registry refuses and names the record to open.
	m = drive(t, m, keyText('i'), keyText('y'))
	wantScreen(t, m, "MERGED", keptMRN, "moved to the record it was merged into")
	noScreen(t, m, "press i to issue one")
	if ids, _ := s.PatientIdentifiers(opCtx, p.ID); len(ids) != 0 {
		t.Fatalf("the merged-away record holds %+v", ids)
	}
}

// 5. "Issue another ID" needs a reason and says what happens to the old card.
func TestItem05_IssueAnotherIDNeedsReason(t *testing.T) {
	s := newStore(t)
	p, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), pushMsg{newDetail(nil, p.ID)})
	m = drive(t, m, keyText('i'))
	wantScreen(t, m, "already has "+mrn, "stays active and its card still verifies", "Why a second ID?")
	m = drive(t, m, enter)
	wantScreen(t, m, "a reason is required")
	m = drive(t, m, append(typed("old ID belongs to a merged record"), enter)...)
	out := wantScreen(t, m, "stays active and its card still verifies. Press p")
	ids, _ := s.PatientIdentifiers(context.Background(), p.ID)
	if len(ids) != 2 || !strings.Contains(out, ids[1].MRN) {
		t.Fatalf("ids %+v", ids)
	}
	if ev := lastAuditAction(t, s, "id.issue_another"); !strings.Contains(ev, "reason: old ID belongs to a merged record") {
		t.Fatalf("reason not recorded: %q", ev)
	}
	// A patient without an active ID: a plain y/n.
	p2, m2 := register(t, s, "Ben", "Okot", "1970-01-01")
	if err := s.Void(opCtx, m2, "test"); err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, esc, pushMsg{newDetail(nil, p2.ID)}, keyText('i'))
	wantScreen(t, m, "Issue an ID to Ben Okot? y/n")
}

// 6. The wrong-length message shows no whole MRN (no check character for a
// code the clerk did not type).
func TestItem06_WrongLengthShowsNoValidMRN(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), scanMsg{raw: mrn[:len(mrn)-2]})
	out := wantScreen(t, m, "NOT AN ID", "Wrong length", "prefix 042 +", "6 digits + 1 check character")
	codec, _ := barcode.NewCodec(testFmt)
	for i := int64(1); i < 5; i++ {
		if v, _ := codec.Make(i); strings.Contains(out, v) {
			t.Fatalf("message shows the valid MRN %s:\n%s", v, out)
		}
	}
}

// 7. A card's 2D content (with or without an AIM prefix, space or Tab) is
// a scan on every screen, including sign-in and lock.
func TestItem07_2DScanOnEveryScreen(t *testing.T) {
	s := newStore(t)
	p, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	old := cardFor(t, s, mrn, "")
	cur := cardFor(t, s, mrn, "lost") // old is now REPLACED
	for _, tc := range []struct {
		name   string
		before []tea.Msg
		code   string
		want   []string
	}{
		{"find", nil, cur, []string{"idcards · Scan", "✔ ACTIVE", "Card    " + cur[len(cur)-9:]}},
		{"find, AIM prefix", nil, "]Q1" + cur, []string{"✔ ACTIVE"}},
		{"find, old card", nil, old, []string{"✖ REPLACED CARD", "Amina Okello"}},
		{"register form", []tea.Msg{ctrl('n')}, old, []string{"✖ REPLACED CARD"}},
		{"patient screen", []tea.Msg{pushMsg{newDetail(nil, p.ID)}}, "]Q1" + old, []string{"✖ REPLACED CARD"}},
		{"scan screen", []tea.Msg{keyCode(tea.KeyF2)}, old, []string{"✖ REPLACED CARD"}},
		{"lower case (caps lock)", nil, strings.ToLower(cur), []string{"✔ ACTIVE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: testNow, step: slow}
			m := start80(t, testConfig(s, nil, c), tc.before...)
			m = scanWith(t, m, c, tc.code)
			wantScreen(t, m, tc.want...)
		})
	}
	t.Run("tab between the fields", func(t *testing.T) {
		c := &clock{t: testNow, step: slow}
		m := start80(t, testConfig(s, nil, c), ctrl('n'))
		c.t, c.step = c.t.Add(time.Second), fast
		f := strings.Fields(old)
		m = drive(t, m, append(append(append(typed(f[0]), tab), typed(f[1])...), enter)...)
		wantScreen(t, m, "✖ REPLACED CARD")
		m = drive(t, m, esc)
		wantScreen(t, m, "> Given name")
	})
	t.Run("typed slowly into find", func(t *testing.T) {
		m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), append(typed(old), enter)...)
		wantScreen(t, m, "✖ REPLACED CARD")
	})
	t.Run("sign-in and lock: held until someone signs in", func(t *testing.T) {
		c := &clock{t: testNow, step: slow}
		cfg := testConfig(s, nil, c)
		cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
		m := start80(t, cfg)
		m = scanWith(t, m, c, old)
		wantScreen(t, m, "Sign in", "Card scanned: it is shown once you sign in", "> User            █")
		noScreen(t, m, "Amina", "REPLACED")
		m = drive(t, m, append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)...)
		wantScreen(t, m, "✖ REPLACED CARD", "Amina Okello")
		// F2 on the lock screen opens scan mode after sign-in.
		m = drive(t, m, ctrl('l'), keyCode(tea.KeyF2))
		wantScreen(t, m, "Sign in first: scan mode opens")
		m = drive(t, m, append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)...)
		wantScreen(t, m, "idcards · Scan", "Ready for a scan")
	})
	// A Code 128 card (a plain MRN, no AIM prefix) scanned at sign-in was
	// typed into User. One of this registry's IDs with a right check
	// character is a card; a user name typed as fast is still a name.
	t.Run("sign-in: a Code 128 card is held, a fast user name is typed", func(t *testing.T) {
		c := &clock{t: testNow, step: slow}
		cfg := testConfig(s, nil, c)
		cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
		m := start80(t, cfg)
		m = scanWith(t, m, c, strings.ToLower(mrn)) // Caps Lock on
		wantScreen(t, m, "Card scanned: it is shown once you sign in", "> User            █")
		m = scanWith(t, m, c, "okot123")
		wantScreen(t, m, "User            okot123")
		noScreen(t, m, "Card scanned")
	})
}

// 8. A scan never changes the form's contents, short fields included.
func TestItem08_ScanKeepsFormContents(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Grace", "Atim", "1985-01-02")
	twoD := cardFor(t, s, mrn, "")
	for _, code := range []string{mrn, twoD, "]C0" + mrn} {
		for _, focus := range []int{fSex, fBirth, fGiven} {
			c := &clock{t: testNow, step: slow}
			m := start80(t, testConfig(s, nil, c), regForm("Joy", "Akello", "F", "1975-03-03")...)
			for range (fBirth - focus + 6) % 6 {
				m = drive(t, m, keyCode(tea.KeyUp))
			}
			m = scanWith(t, m, c, code)
			wantScreen(t, m, "ACTIVE", "Grace Atim")
			m = drive(t, m, esc)
			wantScreen(t, m, "Given name      Joy", "Family name     Akello", "Sex             F", "Birth date/age  1975-03-03")
		}
	}
}

// 9. A hand-typed MRN with a wrong check character on Find is a typo.
func TestItem09_TypedWrongCheckOnFind(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	wrong := mrn[:len(mrn)-1] + string("0123456789"[(strings.IndexByte("0123456789", mrn[len(mrn)-1])+1)%10])
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), append(typed(wrong), enter)...)
	wantScreen(t, m, "wrong check character — probably mistyped")
	noScreen(t, m, "No patient matches", "ctrl+n to register")
}

// 9b. A misread card on Find (a letter O for a zero, a character
// dropped), typed or scanned, is not a name that nobody has: the desk says
// it is no ID of this registry and to scan again, and does not offer to
// register a new patient.
func TestItem09b_MisreadCardOnFind(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	i := strings.LastIndexAny(mrn[:len(mrn)-1], "0")
	if i < 0 {
		t.Fatalf("no zero in %s", mrn)
	}
	for _, code := range []string{mrn[:i] + "O" + mrn[i+1:], mrn[:len(mrn)-2] + mrn[len(mrn)-1:]} {
		c := &clock{t: testNow, step: slow}
		m := start80(t, testConfig(s, nil, c), append(typed(code), enter)...)
		wantScreen(t, m, "is not an ID of this registry", "Scan the card")
		noScreen(t, m, "ctrl+n to register")
		c = &clock{t: testNow, step: slow}
		m = start80(t, testConfig(s, nil, c))
		m = scanWith(t, m, c, code)
		noScreen(t, m, "ctrl+n to register")
	}
}

// 10. After registering onto a pre-printed card the panel is fresh and
// names the key as ctrl+r.
func TestItem10_PanelRefreshedAfterRegisteringOntoCard(t *testing.T) {
	s := newStore(t)
	ids, err := s.Reserve(opCtx, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), scanMsg{raw: ids[0]})
	wantScreen(t, m, "◆ UNASSIGNED", "Press ctrl+r to register")
	m = drive(t, m, ctrl('r'))
	m = drive(t, m, regForm("Joy", "Akello", "F", "20")[1:]...)
	m = drive(t, m, ctrl('s'))
	// The card is in the clerk's hand: nothing to print.
	wantScreen(t, m, "Registered Joy Akello on the pre-printed card "+ids[0], "nothing to print")
	noScreen(t, m, "Press p")
	m = drive(t, m, esc)
	wantScreen(t, m, "✔ ACTIVE", "Joy Akello")
	noScreen(t, m, "UNASSIGNED", "register onto this card")
}

// 11. At the b prompt a typed card number and Enter binds.
func TestItem11_BindTypedNumber(t *testing.T) {
	s := newStore(t)
	ids, _ := s.Reserve(opCtx, 1)
	p, _ := register(t, s, "Ben", "Okot", "1970-01-01")
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), pushMsg{newDetail(nil, p.ID)}, keyText('b'))
	wantScreen(t, m, "or type its number", "> Card number")
	m = drive(t, m, append(typed(ids[0]), enter)...)
	wantScreen(t, m, "Card "+ids[0]+" now belongs to this patient")
	if id, _ := s.Identifier(context.Background(), ids[0]); id.PatientID != p.ID {
		t.Fatalf("not bound: %+v", id)
	}
}

// 12. p with a voided ID highlighted prints the patient's active one.
func TestItem12_PrintWithVoidedHighlighted(t *testing.T) {
	s := newStore(t)
	p, first := register(t, s, "Amina", "Okello", "1990-03-04")
	second, err := s.IssueID(opCtx, p.ID, "second ID for the test")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(opCtx, first, "typo"); err != nil {
		t.Fatal(err)
	}
	pr := &fakePrinter{s: s}
	m := start80(t, testConfig(s, pr, &clock{t: testNow, step: slow}), pushMsg{newDetail(nil, p.ID)})
	wantScreen(t, m, first, "VOIDED")
	m = drive(t, m, keyText('p'))
	if len(pr.calls) != 1 || pr.calls[0] != second.MRN {
		t.Fatalf("printed %v, want %s", pr.calls, second.MRN)
	}
	noScreen(t, m, "no active ID")
}

// 13. REPLACED and VOIDED panels name the patient and open the record; a
// scan on the register form shows the panel, not raw words.
func TestItem13_PanelsNameThePatient(t *testing.T) {
	s := newStore(t)
	p, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	old := cardFor(t, s, mrn, "")
	cardFor(t, s, mrn, "lost")
	pv, voided := register(t, s, "Ben", "Okot", "1970-01-01")
	if err := s.Void(opCtx, voided, "registered twice"); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), scanMsg{raw: old})
	wantScreen(t, m, "REPLACED CARD", "Amina Okello", "replaced by card", "ctrl+o open patient record")
	m = drive(t, m, ctrl('o'))
	wantScreen(t, m, "Patient · Amina Okello")
	_ = p
	m = drive(t, m, esc, scanMsg{raw: voided})
	wantScreen(t, m, "✖ VOIDED", "Ben Okot", "Voided because: registered twice")
	m = drive(t, m, ctrl('o'))
	wantScreen(t, m, "Patient · Ben Okot")
	_ = pv

	wrong := mrn[:len(mrn)-1] + string("0123456789"[(strings.IndexByte("0123456789", mrn[len(mrn)-1])+1)%10])
	m = start80(t, testConfig(s, nil, c), regForm("Joy", "Akello", "F", "20")...)
	m = scanWith(t, m, c, wrong)
	wantScreen(t, m, "✖ WRONG CHECK DIGIT")
	noScreen(t, m, "INVALID_CHECK", "invalid_check")
}

type lockedAuth struct{}

func (lockedAuth) Authenticate(ctx context.Context, user, pass string) (idcards.Actor, error) {
	return idcards.Actor{}, idcards.Errorf(idcards.Forbidden, "too many attempts, try again in 4 minutes")
}

// 14. The authenticator's words are shown (a lock-out says so); 15. what
// was typed into the User field is never logged.
func TestItem14and15_SignInWordsAndLog(t *testing.T) {
	s := newStore(t)
	var log bytes.Buffer
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, lockedAuth{}, -1
	cfg.Log = slog.New(slog.NewTextHandler(&log, nil))
	m := start80(t, cfg, append(append(typed("okotgreen lake morning"), enter), append(typed("green lake morning"), enter)...)...)
	wantScreen(t, m, "too many attempts, try again in 4 minutes")
	noScreen(t, m, "not accepted", "Password        green")
	if !strings.Contains(log.String(), "sign-in failed") || strings.Contains(log.String(), "okot") || strings.Contains(log.String(), "green") {
		t.Fatalf("log: %s", log.String())
	}
}

// 16. idle_lock_minutes changed while the desk runs is used at once.
func TestItem16_IdleLockSettingReread(t *testing.T) {
	s := newStore(t)
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.Auth, cfg.IdleCheck, cfg.StatusEvery, cfg.IdleLock = idcards.Actor{}, fakeAuth{}, -1, -1, 30*time.Minute
	m := start80(t, cfg, append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)...)
	c.t = c.t.Add(2 * time.Minute)
	m = drive(t, m, idleTickMsg{})
	wantScreen(t, m, "Find or register")
	if err := s.SetKnownSetting(opCtx, "idle_lock_minutes", "1"); err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, statusTickMsg{}, idleTickMsg{})
	wantScreen(t, m, "Sign in", "Locked after inactivity")
}

// 17. Esc closes F1 help, and help does not stay over the next screens.
func TestItem17_EscClosesHelp(t *testing.T) {
	s := newStore(t)
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), keyCode(tea.KeyF1))
	wantScreen(t, m, "All keys on this screen")
	m = drive(t, m, esc)
	noScreen(t, m, "All keys on this screen")
	wantScreen(t, m, "Find or register")
	m = drive(t, m, keyCode(tea.KeyF1), keyCode(tea.KeyF2))
	wantScreen(t, m, "Ready for a scan")
	noScreen(t, m, "All keys on this screen")
}

// 18. First run: an empty prefix is previewed and warned about, and
// nothing is created before y.
func TestItem18_FirstRunPreviewsEmptyPrefix(t *testing.T) {
	created := false
	cfg := Config{Actor: testActor, Schemes: []string{"luhn"}, Now: (&clock{t: testNow, step: slow}).now,
		Create: func(ctx context.Context, f idcards.Format) (Registry, error) {
			created = true
			return deskReg{newStore(t)}, nil
		}}
	m := start80(t, cfg)
	wantScreen(t, m, "First ID: 0000018", "No site prefix: IDs are digits only")
	m = drive(t, m, ctrl('s'))
	wantScreen(t, m, "The first ID will be 0000018", "y/n")
	m = drive(t, m, keyText('n'))
	if created {
		t.Fatal("created without y")
	}
	m = drive(t, m, ctrl('s'), keyText('y'))
	if !created {
		t.Fatalf("not created:\n%s", screenText(m))
	}
}

// 19. Registration: a birth date or an age is required (ages in months
// and weeks too); names need a letter, no digits, emoji or control
// characters, and fit on the card.
func TestItem19_RegistrationValidation(t *testing.T) {
	for _, tc := range []struct{ name, given, family, sex, birth, want string }{
		{"no birth date or age", "A", "B", "F", "", "a birth date or an age is needed"},
		{"digits", "Amina2", "Okello", "F", "30", "contains a digit"},
		{"emoji", "Amina😀", "Okello", "F", "30", "emoji"},
		{"no letter", "--", "Okello", "F", "30", "has no letter"},
		{"symbol", "Amina@", "Okello", "F", "30", `contains "@"`},
		{"bad age", "Amina", "Okello", "F", "3q", "age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), append(regForm(tc.given, tc.family, tc.sex, tc.birth), ctrl('s'))...)
			wantScreen(t, m, tc.want)
			if c, _ := s.Counts(context.Background()); c.Patients != 0 {
				t.Fatal("registered")
			}
		})
	}
	t.Run("a name longer than the card is stopped as typed", func(t *testing.T) {
		s := newStore(t)
		m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), ctrl('n'))
		m = drive(t, m, typed(strings.Repeat("a", 300))...)
		wantScreen(t, m, "given name: at most 50 characters fit on the card")
		if got := len([]rune(m.(Model).top().(*registerScreen).fields[fGiven].String())); got != idcards.MaxNameRunes {
			t.Fatalf("field holds %d characters", got)
		}
		m = drive(t, m, tab, tea.PasteMsg{Content: strings.Repeat("Okello ", 40)})
		wantScreen(t, m, "family name: at most 50 characters fit on the card")
	})
	t.Run("a Code 128 MRN or a user name with digits on the sign-in screen is typing", func(t *testing.T) {
		s := newStore(t)
		c := &clock{t: testNow, step: slow}
		cfg := testConfig(s, nil, c)
		cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
		m := start80(t, cfg)
		m = scanWith(t, m, c, "okot123")
		wantScreen(t, m, "User            okot123", "> Password")
		noScreen(t, m, "Card scanned")
	})
	t.Run("leaving a field checks it", func(t *testing.T) {
		s := newStore(t)
		m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), ctrl('n'))
		m = drive(t, m, append(typed("Amina😀"), tab)...)
		wantScreen(t, m, "emoji", "> Family name")
	})
	for _, tc := range []struct{ age, date, shown string }{
		{"3m", "2026-08-23", "3 mo"},
		{"6w", "2026-10-12", "6 wk"},
		{"34", "1992-07-01", "about 1992 (estimated)"},
	} {
		t.Run("age "+tc.age, func(t *testing.T) {
			s := newStore(t)
			m := start80(t, testConfig(s, nil, &clock{t: testNow}), append(regForm("Baby", "Nakato", "F", tc.age), ctrl('s'))...)
			wantScreen(t, m, "Registered Baby Nakato", tc.shown)
			ps, _ := s.SearchPatients(context.Background(), "Nakato", 5)
			if len(ps) != 1 || ps[0].BirthDate != tc.date || !ps[0].BirthDateEstimated {
				t.Fatalf("stored %+v, want %s estimated", ps, tc.date)
			}
		})
	}
}

// searchSpy records the text the desk searches for (the registry's
// SearchPatients does the folding, birth years and phone forms).
type searchSpy struct {
	deskReg
	got *[]string
}

func (s searchSpy) SearchPatients(ctx context.Context, text string, limit int) ([]idcards.Patient, error) {
	*s.got = append(*s.got, text)
	return s.deskReg.SearchPatients(ctx, text, limit)
}

// 20. The search text goes to the registry as typed: a birth year, a
// phone in any form, a name without its accents.
func TestItem20_SearchTextAsTyped(t *testing.T) {
	s := newStore(t)
	register(t, s, "Łukasz", "Nowak", "1990-03-04")
	var got []string
	cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
	cfg.Registry = searchSpy{deskReg{s}, &got}
	m := start80(t, cfg)
	for _, q := range []string{"1990", "+256 772 123456", "0772-123-456", "Lukasz"} {
		m = drive(t, m, ctrl('u'))
		m = drive(t, m, append(typed(q), enter)...)
	}
	want := []string{"1990", "+256 772 123456", "0772-123-456", "Lukasz"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("searched %q, want %q", got, want)
	}
	m = drive(t, m, ctrl('u'))
	m = drive(t, m, append(typed("Łukasz"), enter)...)
	wantScreen(t, m, "1 match(es)", "Łukasz Nowak")
}

// 21. A bracketed paste of several lines goes into one field as one run;
// a raw paste (fast keys with Enters) is no scan and stays in its field.
func TestItem21_Paste(t *testing.T) {
	s := newStore(t)
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), ctrl('n'), tea.PasteMsg{Content: "Amina\nOkello\r\n\tKampala\n"})
	wantScreen(t, m, "> Given name      Amina Okello Kampala█")

	m = start80(t, testConfig(s, nil, c), ctrl('n'))
	c.t, c.step = c.t.Add(time.Second), time.Millisecond/2
	var raw []tea.Msg
	for _, l := range []string{"Amina Okello", "0772123456", "Kampala"} {
		raw = append(append(raw, typed(l)...), enter)
	}
	m = drive(t, m, raw...)
	c.step = slow
	wantScreen(t, m, "Register a new patient", "> Given name      Amina Okello 0772123456 Kampala")
	noScreen(t, m, "NOT AN ID", "idcards · Scan")

	// A single pasted line with digits, on a form: not a card, kept.
	m = start80(t, testConfig(s, nil, c), ctrl('n'), tab, tab, tab, tab)
	c.t, c.step = c.t.Add(time.Second), time.Millisecond/2
	m = drive(t, m, append(typed("0772123456"), enter)...)
	c.step = slow
	wantScreen(t, m, "> Phone           0772123456█", "Kept as typed")
	noScreen(t, m, "NOT AN ID")
}

// 23. The status line in a clerk's words, with the user's role; the
// printer's phrase is shown whole or shortened in the middle.
func TestItem23_StatusLineWords(t *testing.T) {
	s := newStore(t)
	register(t, s, "Amina", "Okello", "1990-03-04")
	register(t, s, "Grace", "Atim", "1985-01-02")
	c := &clock{t: testNow, step: slow}
	cfg := clerkConfig(s, nil, c)
	cfg.StatusEvery = -1
	m := start80(t, cfg, statusTickMsg{})
	wantScreen(t, m, "signed in: ann (clerk)", "2 patients not yet sent to")
	noScreen(t, m, "outbox")
	for _, tc := range []struct{ where, want string }{
		{"saved as /data/cards/C123.pdf", "Card for X saved as /data/cards/C123.pdf."},
		{"printed on cards", "Card for X printed on cards."},
		{"/data/cards/C123.pdf", "Card for X saved as /data/cards/C123.pdf."},
		{"printer cards", "Card for X sent to printer cards."},
		{"saved as /data/b.pdf\nWarning: X (王芳): 王芳 not in the card fonts, printed as �", "Card for X saved as /data/b.pdf. Warning: X (王芳): 王芳 not in the card fonts, printed as �"},
		{"saved as /home/clerk/.local/share/idcards/cards/2026/11/23/a-very-long-directory-name/C7Q2M9XKA.pdf", "Card for X saved as /home/clerk/.local/share/idcards/cards/2026/11/23/a-very-long-directory-name/C7Q2M9XKA.pdf."},
	} {
		if got := printedWords("X", tc.where); got != tc.want {
			t.Errorf("printedWords(%q) = %q, want %q", tc.where, got, tc.want)
		}
	}
}

// 24. A first sign-in with an admin-set password is worded as such.
func TestItem24_FirstSignInWording(t *testing.T) {
	s := newStore(t)
	if err := s.AddUser(opCtx, registry.NewUser{Username: "okot", Role: idcards.RoleClerk, Password: "initial pass 1234", MustChange: true}); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.SignIn, cfg.IdleCheck = idcards.Actor{}, true, -1
	m := start80(t, cfg, append(append(typed("okot"), enter), append(typed("initial pass 1234"), enter)...)...)
	wantScreen(t, m, "First sign-in: choose your own password", "Welcome, okot", "This is your first sign-in")
	noScreen(t, m, "✖", "was reset", "Signed in as")
	m = drive(t, m, append(append(typed("blue river morning"), enter), append(typed("blue river morning"), enter)...)...)
	wantScreen(t, m, "Signed in as okot (clerk).", "Find or register")
}

// 25. A Code 128 scan does not name a card; a 2D scan names its own.
func TestItem25_Code128CardNotIdentified(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	old := cardFor(t, s, mrn, "")
	cur := cardFor(t, s, mrn, "lost")
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), scanMsg{raw: mrn})
	wantScreen(t, m, "Card    not identified by this barcode")
	noScreen(t, m, cur[len(cur)-9:], old[len(old)-9:])
	m = drive(t, m, scanMsg{raw: cur})
	wantScreen(t, m, "Card    "+cur[len(cur)-9:])
}

// A password manager types the sign-in fast and the first scan follows at
// once: the sign-in's keys are no paste, the scan is a scan (found with
// bench/tui-start.sh).
func TestItem07_ScanRightAfterFastSignIn(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	c := &clock{t: testNow, step: fast}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
	m := start80(t, cfg, append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)...)
	wantScreen(t, m, "Find or register")
	m = drive(t, m, append(typed(mrn), enter)...)
	wantScreen(t, m, "✔ ACTIVE", "Amina Okello")
}

// Esc on a half-filled registration asks before the typing is lost; a
// form holding only the name carried over from the search box goes back
// at once.
func TestEscOnAHalfFilledFormAsks(t *testing.T) {
	s := newStore(t)
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}))
	m = drive(t, m, ctrl('n'))
	m = drive(t, m, typed("Nakato")...)
	m = drive(t, m, keyCode(tea.KeyEscape))
	wantScreen(t, m, "Register a new patient", "Go back and lose what was typed? y/n", "y yes, lose it")
	m = drive(t, m, keyText('n'))
	wantScreen(t, m, "Register a new patient", "Nakato", "Nothing lost")
	m = drive(t, m, keyCode(tea.KeyEscape))
	m = drive(t, m, keyText('y'))
	wantScreen(t, m, "Find or register")
	noScreen(t, m, "Register a new patient")
	// Carried over from the search box, nothing typed since: no question.
	m = drive(t, m, typed("Amina Okello")...)
	m = drive(t, m, ctrl('n'))
	wantScreen(t, m, "Register a new patient", "Okello")
	m = drive(t, m, keyCode(tea.KeyEscape))
	wantScreen(t, m, "Find or register")
	noScreen(t, m, "lose what was typed")
}

// A print still running when a scan panel opens over the patient's screen:
// its answer reaches the patient's screen once the panel closes, which
// otherwise waited for it for good ("Printing card…", every key ignored).
func TestReplyUnderAScanPanel(t *testing.T) {
	s := newStore(t)
	p, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	pr := &fakePrinter{s: s}
	m := start80(t, testConfig(s, pr, &clock{t: testNow, step: slow}), pushMsg{newDetail(nil, p.ID)})
	m, wait := m.Update(keyText('p'))        // held back a moment: no scanner burst follows
	m, printing := m.Update(runCmd(wait)[0]) // the print starts; its answer comes later
	m = drive(t, m, pushMsg{newScan()})      // a scan panel opens meanwhile
	m = drive(t, m, runCmd(printing)...)     // the print's answer arrives under the panel
	m = drive(t, m, popMsg{})                // the clerk closes the panel
	if len(pr.calls) != 1 || pr.calls[0] != mrn {
		t.Fatalf("printed %v", pr.calls)
	}
	noScreen(t, m, "Printing card")
	m = drive(t, m, keyText('p')) // the screen answers keys again: a second print is refused
	if len(pr.calls) != 1 {
		t.Fatalf("printed again: %v", pr.calls)
	}
}

// A Caps-Locked scanner on the patient screen sends "kla000049p": its
// letters are keys there (p prints, e edits). No key of a burst may act:
// the scan panel opens and nothing is printed. A p pressed alone prints.
func TestLowerCaseScanOnThePatientScreen(t *testing.T) {
	s := newStore(t)
	p, _ := register(t, s, "Amina", "Okello", "1990-03-04")
	_, other := register(t, s, "Grace", "Apio", "1985-01-02")
	pr := &fakePrinter{s: s}
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, pr, c), pushMsg{newDetail(nil, p.ID)})
	for _, code := range []string{strings.ToLower(other), "kla000049p", "xyzep"} {
		m = scanTimersLate(t, m, c, code)
		if len(pr.calls) != 0 {
			t.Fatalf("%s: a scan printed a card: %v", code, pr.calls)
		}
		noScreen(t, m, "· Edit ·")
		if strings.Contains(screenText(m), "idcards · Scan") {
			m = drive(t, m, keyCode(tea.KeyEscape))
		}
	}
	wantScreen(t, m, "Amina Okello")
	m = drive(t, m, keyText('p'))
	if len(pr.calls) != 1 {
		t.Fatalf("p alone: printed %v", pr.calls)
	}
}

// A card scanned while "Quit and lose it? y/n" is up: its first character
// answered "stay" and the rest was typed into the form. Now the question
// is answered "stay" and the scan is taken whole.
func TestScanAtAQuestion(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), ctrl('n'))
	m = drive(t, m, typed("Grace")...)
	m = drive(t, m, ctrl('c'))
	wantScreen(t, m, "y/n")
	m = scanTimersLate(t, m, c, mrn)
	wantScreen(t, m, "✔ ACTIVE")
	m = drive(t, m, keyCode(tea.KeyEscape))
	wantScreen(t, m, "Grace")
	noScreen(t, m, mrn[1:])
}

// scanTimersLate sends code and Enter as a scanner does, each key within
// BurstGap, with the timers of keys held back (waitedKeyMsg, askWaitedMsg)
// firing only after the burst, as they do in a real terminal (drive would
// run each timer at once).
func scanTimersLate(t *testing.T, m tea.Model, c *clock, code string) tea.Model {
	t.Helper()
	c.t, c.step = c.t.Add(time.Second), fast
	var late []tea.Msg
	for _, k := range append(typed(code), enter) {
		var cmd tea.Cmd
		m, cmd = m.Update(k)
		for _, msg := range runCmd(cmd) {
			switch msg.(type) {
			case waitedKeyMsg, askWaitedMsg:
				late = append(late, msg)
				continue
			}
			m = drive(t, m, msg)
		}
	}
	m = drive(t, m, late...)
	c.step = slow
	return m
}

// A patient registered after the backup comes back with their card once
// the registry was restored: the panel says the record was lost (not "not
// a card of this registry") and ctrl+r registers them again onto it.
func TestScan_CardLostInRestore(t *testing.T) {
	s := newStore(t)
	register(t, s, "Early", "Okello", "1990-03-04")
	b := filepath.Join(t.TempDir(), "b.db")
	if _, err := s.Backup(opCtx, registry.BackupOptions{Out: b}); err != nil {
		t.Fatal(err)
	}
	_, lost := register(t, s, "Joy", "Akello", "1990-03-04")
	if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
		t.Fatal(err)
	}
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), scanMsg{raw: lost})
	wantScreen(t, m, "RECORD LOST IN A RESTORE", "lost with the restore", "The card keeps its number")
	noScreen(t, m, "Not a card of this registry", "never issued")
	m = drive(t, m, ctrl('r'))
	wantScreen(t, m, "Register again onto card "+lost)
	m = drive(t, m, regForm("Joy", "Akello", "F", "36")[1:]...)
	m = drive(t, m, ctrl('s'))
	wantScreen(t, m, "Registered Joy Akello again onto card "+lost)
	m = drive(t, m, esc)
	wantScreen(t, m, "✔ ACTIVE", "Joy Akello")
}

// An active ID that OpenMRS disputes (an open sync conflict) is not shown
// as the green all-clear: the panel says so and what to do.
func TestScan_DisputedID(t *testing.T) {
	s := newStore(t)
	p, mrn := register(t, s, "Joy", "Akello", "1990-03-04")
	syncCtx := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:sync", Role: idcards.RoleSupervisor})
	if _, err := s.RecordConflict(syncCtx, idcards.SyncConflict{Identifier: mrn, LocalPatientID: p.ID, RemotePatientUUID: "r-1", Detail: "OpenMRS holds " + mrn + " for another patient"}); err != nil {
		t.Fatal(err)
	}
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), scanMsg{raw: mrn})
	wantScreen(t, m, "DISPUTED IN OPENMRS", "Joy Akello", "open sync conflict", "tell IT")
}

// Two cards scanned before anyone signed in: the last is shown after sign
// in, and the status line names the other so it is not lost unseen.
func TestSignIn_TwoHeldScans(t *testing.T) {
	s := newStore(t)
	_, m1 := register(t, s, "Amina", "Okello", "1990-03-04")
	_, m2 := register(t, s, "Ben", "Okot", "1970-01-01")
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
	m := start80(t, cfg)
	m = scanWith(t, m, c, m1)
	m = scanWith(t, m, c, m2)
	wantScreen(t, m, "2 cards scanned: they are shown once you sign in", "> User            █")
	m = drive(t, m, append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)...)
	wantScreen(t, m, "✔ ACTIVE", "Ben Okot", "2 cards were scanned before sign-in", m1)
}

func TestHoldScan(t *testing.T) {
	var h []string
	for _, c := range []string{"A", "B", "A"} {
		h = holdScan(h, c)
	}
	if strings.Join(h, ",") != "B,A" {
		t.Fatalf("held %v", h)
	}
	for i := range 15 {
		h = holdScan(h, fmt.Sprint(i))
	}
	if len(h) != maxHeld || h[maxHeld-1] != "14" {
		t.Fatalf("held %v", h)
	}
}

// pathPrinter records the card and answers with a long path, as the PDF
// printer does for a registry deep in a home directory.
type pathPrinter struct {
	fakePrinter
	where string
}

func (p *pathPrinter) PrintCards(ctx context.Context, mrns []string, reprint bool, reason string) (string, error) {
	if _, err := p.fakePrinter.PrintCards(ctx, mrns, reprint, reason); err != nil {
		return "", err
	}
	return p.where, nil
}

// TestPrintResult_PathWholeWhenItFits: the printer's path was shortened
// to 56 characters even at 120 columns ("/home/clerk/.local…"). Now the
// status line shows it whole when it fits the width, and shortens in the
// middle only a path wider than the terminal, keeping its file name.
func TestPrintResult_PathWholeWhenItFits(t *testing.T) {
	const path = "/home/clerk/.local/share/idcards/cards/2026/11/23/a-very-long-directory-name/C7Q2M9XKA.pdf"
	for _, tc := range []struct {
		w, h  int
		whole bool
	}{{120, 40, true}, {80, 24, false}, {60, 20, false}} {
		t.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(t *testing.T) {
			s := newStore(t)
			p, _ := register(t, s, "Grace", "Atim", "1985-01-02")
			pr := &pathPrinter{fakePrinter: fakePrinter{s: s}, where: "saved as " + path}
			m, _ := newModel(t, s, pr, slow, tc.w, tc.h)
			m = drive(t, m, pushMsg{newDetail(nil, p.ID)}, keyText('p'))
			out := screenText(m)
			checkFit(t, out, tc.w, tc.h)
			flat := strings.Join(strings.Fields(out), " ")
			if got := strings.Contains(flat, path+"."); got != tc.whole {
				t.Errorf("path whole = %v, want %v:\n%s", got, tc.whole, out)
			}
			if !tc.whole && !strings.Contains(flat, "/home/clerk/") || !strings.Contains(flat, "C7Q2M9XKA.pdf.") {
				t.Errorf("the path's start or file name is missing:\n%s", out)
			}
		})
	}
}
