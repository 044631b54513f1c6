package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// The supervisor's review list at the desk: ctrl+d shows the pairs the
// whole-registry scan found; d records "different people" (never raised
// again), 1/2 merge into the record kept; each needs a reason. A clerk is
// not offered the screen.
func TestReviewDuplicatesAtTheDesk(t *testing.T) {
	s := newStore(t)
	ctx := idcards.WithActor(context.Background(), testActor)
	reg := func(given, family, dob, phone string) {
		t.Helper()
		np := registry.NewPatient{GivenName: given, FamilyName: family, Sex: idcards.SexFemale, BirthDate: dob, Phone: phone}
		if _, _, err := s.Register(ctx, registry.Registration{Patient: np, Decision: "test: a second record on purpose"}); err != nil {
			t.Fatal(err)
		}
	}
	reg("Amina", "Nakato", "1990-04-12", "0772123456")
	reg("Amina", "Nakatto", "1990-04-12", "0772123456")
	reg("Grace", "Achieng", "1985-11-02", "0701555123")
	reg("Grace", "Achieng", "1985-11-02", "")
	if _, err := s.ScanDuplicates(ctx, registry.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	open, err := s.ReviewList(ctx, false, 10)
	if err != nil || len(open) != 2 {
		t.Fatalf("review list %d pairs, %v", len(open), err)
	}

	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}))
	wantScreen(t, m, "ctrl+d duplicates")
	m = drive(t, m, ctrl('d'))
	wantScreen(t, m, "Duplicates to review", "2 pair(s) that may be one person", "Amina", "Nakatto", "Achieng", "d different people")
	// The first pair shown is judged different: a reason is required.
	first := open[0]
	m = drive(t, m, keyText('d'))
	wantScreen(t, m, "will not be raised again", "Reason")
	m = drive(t, m, keyCode(tea.KeyEnter))
	wantScreen(t, m, "a reason is required")
	m = drive(t, m, typed("sisters, checked their cards")...)
	m = drive(t, m, keyCode(tea.KeyEnter))
	wantScreen(t, m, "Recorded:", "different people", "1 pair(s) that may be one person")
	// The other pair: the same person, keep the first record.
	m = drive(t, m, keyText('1'))
	wantScreen(t, m, "merged into the first")
	m = drive(t, m, typed("same person, same card")...)
	m = drive(t, m, keyCode(tea.KeyEnter))
	wantScreen(t, m, "Merged:", "Nothing to review")
	all, _ := s.ReviewList(ctx, true, 10)
	judged := map[string]int{}
	for _, p := range all {
		judged[p.Status]++
		if p.ID == first.ID && p.Status != "different" {
			t.Errorf("pair %d: %s, want different", p.ID, p.Status)
		}
	}
	if judged["different"] != 1 || judged["same"] != 1 {
		t.Fatalf("judgments %v", judged)
	}
	// A rescan does not raise the judged pair again.
	if _, err := s.ScanDuplicates(ctx, registry.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.ReviewList(ctx, false, 10); len(open) != 0 {
		t.Fatalf("raised again: %+v", open)
	}

	// A clerk is not offered it.
	cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
	cfg.Actor = idcards.Actor{Name: "clerk1", Role: idcards.RoleClerk}
	m = start80(t, cfg)
	noScreen(t, m, "ctrl+d")
	m = drive(t, m, ctrl('d'))
	noScreen(t, m, "Duplicates to review")
	// ctrl+d pressed anyway says whose job it is instead of nothing.
	wantScreen(t, m, "Reviewing duplicates is a supervisor's job")
}

// reviewPath is fixedPath with the review list (deskReg's *registry.Store).
type reviewPath struct{ fixedPath }

func (r reviewPath) ReviewList(ctx context.Context, all bool, limit int) ([]registry.ReviewPair, error) {
	return r.deskReg.ReviewList(ctx, all, limit)
}
func (r reviewPath) JudgeDifferent(ctx context.Context, id int64, note string) error {
	return r.deskReg.JudgeDifferent(ctx, id, note)
}
func (r reviewPath) JudgeSame(ctx context.Context, id, keep int64, note string) error {
	return r.deskReg.JudgeSame(ctx, id, keep, note)
}

// TestGoldenReview: the review list and its reason prompt, at both sizes.
func TestGoldenReview(t *testing.T) {
	s := reviewStore(t)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, v := range []struct {
			name string
			msgs []tea.Msg
		}{
			{"review_list", []tea.Msg{ctrl('d')}},
			{"review_reason", []tea.Msg{ctrl('d'), keyText('2')}},
		} {
			t.Run(fmt.Sprintf("%s_%dx%d", v.name, size[0], size[1]), func(t *testing.T) {
				cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
				cfg.Registry, cfg.StatusEvery = reviewPath{fixedPath{deskReg{s}}}, -1
				m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				m = drive(t, m, v.msgs...)
				out := screenText(m)
				checkLayout(t, out, size[0], size[1])
				golden.RequireEqual(t, out)
			})
		}
	}
}

// reviewStore is a registry with two open pairs on the review list
// (Amina Nakato/Nakatto, Grace Achieng twice).
func reviewStore(t *testing.T) *registry.Store {
	t.Helper()
	s := newStore(t)
	for _, p := range [][3]string{{"Amina", "Nakato", "0772123456"}, {"Amina", "Nakatto", "0772123456"}, {"Grace", "Achieng", ""}, {"Grace", "Achieng", "0701555123"}} {
		np := registry.NewPatient{GivenName: p[0], FamilyName: p[1], Sex: idcards.SexFemale, BirthDate: "1990-04-12", Phone: p[2]}
		if _, _, err := s.Register(opCtx, registry.Registration{Patient: np, Decision: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ScanDuplicates(opCtx, registry.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Esc left neither the list nor the empty list ("esc back" in the key
// bar): now it closes a reason prompt first, then goes back to Find.
func TestReview_EscGoesBack(t *testing.T) {
	s := reviewStore(t)
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), ctrl('d'))
	wantScreen(t, m, "Duplicates to review", "esc back")
	m = drive(t, m, keyText('d'))
	m = drive(t, m, typed("twins")...)
	wantScreen(t, m, "Duplicates to review — why?", "twins")
	m = drive(t, m, esc)
	wantScreen(t, m, "Duplicates to review", "2 pair(s)")
	noScreen(t, m, "why?")
	m = drive(t, m, esc)
	wantScreen(t, m, "Find or register")

	t.Run("nothing to review", func(t *testing.T) {
		m := start80(t, testConfig(newStore(t), nil, &clock{t: testNow, step: slow}), ctrl('d'))
		wantScreen(t, m, "Nothing to review")
		m = drive(t, m, esc)
		wantScreen(t, m, "Find or register")
	})
}

// keysTimersLate sends keys each within BurstGap of the previous one,
// the timers of keys held back firing only after the last (as in a real
// terminal; drive would run each timer at once).
func keysTimersLate(t *testing.T, m tea.Model, c *clock, keys ...tea.Msg) tea.Model {
	t.Helper()
	c.t, c.step = c.t.Add(time.Second), fast
	var late []tea.Msg
	for _, k := range keys {
		var cmd tea.Cmd
		m, cmd = m.Update(k)
		for _, msg := range runCmd(cmd) {
			if _, ok := msg.(waitedKeyMsg); ok {
				late = append(late, msg)
				continue
			}
			m = drive(t, m, msg)
		}
	}
	c.step = slow
	return drive(t, m, late...)
}

// On the review list 1, 2 and d are actions: a scanned card's keys acted
// as them ("KLA0000129": 1 opened the merge prompt, "29" went into the
// reason; a Caps-Locked "kla000001d" left "Reason d"). Now the list holds
// its plain keys until a burst is ruled out: a scan opens the panel and
// leaves the list as it was, and keys typed by hand still act, in order.
func TestReview_ScanDoesNotAct(t *testing.T) {
	s := reviewStore(t)
	open, err := s.ReviewList(opCtx, false, 10)
	if err != nil || len(open) != 2 {
		t.Fatalf("review list %d, %v", len(open), err)
	}
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), ctrl('d'), keyCode(tea.KeyDown))
	before := wantScreen(t, m, "2 pair(s)")
	body := func(out string) string { return strings.Join(strings.Split(out, "\n")[:12], "\n") }
	for _, code := range []string{open[1].BMRNs[0], open[0].AMRNs[0], "0420000129", "kla000001d", "x12d3"} {
		m = scanTimersLate(t, m, c, code)
		noScreen(t, m, "why?", "Reason")
		if strings.Contains(screenText(m), "idcards · Scan") {
			m = drive(t, m, esc)
		}
		if got := screenText(m); body(got) != body(before) {
			t.Fatalf("%s: the list changed:\n%s\nwas:\n%s", code, got, before)
		}
	}
	if now, _ := s.ReviewList(opCtx, false, 10); len(now) != 2 {
		t.Fatalf("a scan judged a pair: %d left", len(now))
	}
	// A card's panel opens (the screens are shared pointers: one flow).
	m = scanTimersLate(t, m, c, open[0].AMRNs[0])
	wantScreen(t, m, "✔ ACTIVE")
	m = drive(t, m, esc)
	// Keys typed by hand act.
	m = drive(t, m, keyText('1'))
	wantScreen(t, m, "merged into the first")
	m = drive(t, m, esc, keyText('2'))
	wantScreen(t, m, "merged into the second")
	m = drive(t, m, esc)
	// Two keys typed close together act in order.
	m = keysTimersLate(t, m, c, keyText('d'), keyText('x'))
	wantScreen(t, m, "will not be raised again", "Reason          x")
}

// A scan while the reason is asked for was typed into it ("different
// moKLA000001D"): the review screen now has a snapshot, so the reason
// (and a message under it) stays exactly as it was.
func TestReview_ScanKeepsTheReason(t *testing.T) {
	s := reviewStore(t)
	open, _ := s.ReviewList(opCtx, false, 10)
	mrn := open[0].AMRNs[0]
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), ctrl('d'), keyText('d'), enter)
	wantScreen(t, m, "a reason is required")
	m = scanTimersLate(t, m, c, mrn)
	wantScreen(t, m, "✔ ACTIVE")
	m = drive(t, m, esc)
	wantScreen(t, m, "why?", "a reason is required")
	noScreen(t, m, "Reason          0")
	m = drive(t, m, typed("different mo")...)
	m = scanTimersLate(t, m, c, mrn)
	wantScreen(t, m, "✔ ACTIVE")
	m = drive(t, m, esc)
	wantScreen(t, m, "why?", "Reason          different mo█")
}

// Pairs the CLI's scan added while the list was open were not shown until
// the screen was opened again. The list is now read again with the status
// line (every 5 s) while it is on top and no reason is being typed; the
// selected pair stays selected, so a key judges the pair that was chosen.
func TestReview_ListRefreshed(t *testing.T) {
	s := reviewStore(t)
	open, _ := s.ReviewList(opCtx, false, 10)
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.StatusEvery = -1
	m := start80(t, cfg, ctrl('d'), keyCode(tea.KeyDown))
	wantScreen(t, m, "2 pair(s)")
	// Meanwhile, at the CLI: two more records of one person, and a scan.
	for _, phone := range []string{"0788000111", "0788000111"} {
		np := registry.NewPatient{GivenName: "Okot", FamilyName: "Peter", Sex: idcards.SexMale, BirthDate: "1970-01-01", Phone: phone}
		if _, _, err := s.Register(opCtx, registry.Registration{Patient: np, Decision: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ScanDuplicates(opCtx, registry.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, statusTickMsg{})
	wantScreen(t, m, "3 pair(s)", "Okot Peter")
	m = drive(t, m, keyText('1'))
	wantScreen(t, m, "merged into the first ("+strings.Join(open[1].AMRNs, ",")+")")
}
