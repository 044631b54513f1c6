package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	idcards "github.com/idcards/idcards"
)

// pausedScan types code fast, with a processing pause (as on a loaded
// machine) after the first `at` keys, and then Enter. at < 0: no pause;
// at == len(code): the pause falls just before the Enter.
func pausedScan(t *testing.T, m tea.Model, c *clock, code string, at int) tea.Model {
	t.Helper()
	step := c.step
	c.t, c.step = c.t.Add(time.Second), fast
	keys := append(typed(code), enter)
	for i, k := range keys {
		if i == at {
			c.t = c.t.Add(120 * time.Millisecond)
		}
		m = drive(t, m, k)
	}
	c.step = step
	c.t = c.t.Add(time.Second)
	return m
}

// The tmux failure: ctrl+l, and the card's burst handled within BurstGap
// of it, so the run had no snapshot and the scan stayed in the User field.
func TestScanRightAfterLockLeavesSignInEmpty(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	twoD := cardFor(t, s, mrn, "")
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
	m := start80(t, cfg, append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)...)
	wantScreen(t, m, "Find or register")
	m = drive(t, m, ctrl('l'))
	c.step = fast // the scan follows the lock at once
	m = drive(t, m, append(typed(twoD), enter)...)
	c.step = slow
	wantScreen(t, m, "Sign in · locked", "Card scanned: it is shown once you sign in", "> User            █")
	noScreen(t, m, strings.Fields(twoD)[0])
}

// A pause anywhere in a burst (or before its Enter) never leaves a piece
// of the scan in the form.
func TestSplitBurstLeavesFormsAlone(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Grace", "Atim", "1985-01-02")
	twoD := cardFor(t, s, mrn, "")
	for _, tc := range []struct {
		code string
		at   []int
	}{
		{twoD, []int{2, 5, len(twoD) / 2, len(strings.Fields(twoD)[0]), len(twoD) - 2, len(twoD)}},
		// A plain MRN whose tail alone looks like a code ("042|0000010"):
		// the registry decides between the readings.
		{mrn, []int{2, 3, len(mrn) / 2, len(mrn) - 3}},
	} {
		for _, at := range tc.at {
			t.Run("register/"+tc.code[:at]+"|"+tc.code[at:], func(t *testing.T) {
				c := &clock{t: testNow, step: slow}
				m := start80(t, testConfig(s, nil, c), regForm("Joy", "Akello", "F", "1975-03-03")...)
				m = pausedScan(t, m, c, tc.code, at)
				wantScreen(t, m, "ACTIVE", "Grace Atim")
				m = drive(t, m, esc)
				wantScreen(t, m, "Given name      Joy", "Family name     Akello", "Sex             F", "Birth date/age  1975-03-03")
			})
		}
	}
	for _, at := range []int{2, len(twoD) / 2, len(twoD)} {
		t.Run("sign-in/"+twoD[:at]+"|"+twoD[at:], func(t *testing.T) {
			c := &clock{t: testNow, step: slow}
			cfg := testConfig(s, nil, c)
			cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
			m := start80(t, cfg)
			m = pausedScan(t, m, c, twoD, at)
			wantScreen(t, m, "Card scanned: it is shown once you sign in", "> User            █")
			m = drive(t, m, append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)...)
			wantScreen(t, m, "ACTIVE", "Grace Atim")
		})
	}
}

// A clerk's quick pair of keys just before a scan stays typed: only the
// reading the registry knows is taken out.
func TestQuickKeysBeforeAScanStayTyped(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Grace", "Atim", "1985-01-02")
	c := &clock{t: testNow, step: slow}
	m := start80(t, testConfig(s, nil, c), ctrl('n'))
	m = drive(t, m, typed("J")...)
	c.t, c.step = c.t.Add(time.Second), fast
	m = drive(t, m, typed("oy")...) // a fast roll, then a pause
	m = pausedScan(t, m, c, mrn, -1)
	wantScreen(t, m, "ACTIVE", "Grace Atim")
	m = drive(t, m, esc)
	wantScreen(t, m, "> Given name      Joy█")
}
