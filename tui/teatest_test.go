package tui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// deskTM is a running program with everything it has drawn so far.
type deskTM struct {
	*teatest.TestModel
	all  bytes.Buffer
	w, h int
}

// waitScreen waits until the screen, as a terminal shows it (the whole
// output replayed on a small emulator, see vterm), has all of want.
func waitScreen(t *testing.T, tm *deskTM, want ...string) {
	t.Helper()
	var screen string
	// The deadline only bounds a hung program; it is no timing assertion.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := io.ReadAll(tm.Output())
		if err != nil {
			t.Fatal(err)
		}
		tm.all.Write(b)
		v := newVterm(tm.w, tm.h)
		v.replay(tm.all.String())
		screen = v.String()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(screen, w)
		}
		if ok {
			return
		}
	}
	t.Fatalf("the screen never showed %q:\n%s", want, screen)
}

func startProgram(t *testing.T, cfg Config) *deskTM {
	tm := &deskTM{TestModel: teatest.NewTestModel(t, New(context.Background(), cfg), teatest.WithInitialTermSize(100, 30)), w: 100, h: 30}
	t.Cleanup(func() { tm.Quit() })
	return tm
}

// Register → duplicate warning → different person → issue → print → scan
// the new card, through the real program loop on a real registry.
func TestE2ERegisterIssuePrintScan(t *testing.T) {
	s := newStore(t)
	register(t, s, "Amina", "Okello", "1990-03-04")
	pr := &fakePrinter{s: s}
	tm := startProgram(t, testConfig(s, pr, &clock{t: testNow, step: fast}))
	waitScreen(t, tm, "Find or register")

	tm.Send(ctrl('n'))
	waitScreen(t, tm, "Register a new patient")
	for i, v := range []string{"Amina", "Okello", "F", "1990-05-05"} {
		if i > 0 {
			tm.Send(tab)
		}
		tm.Type(v)
	}
	tm.Send(ctrl('s'))
	waitScreen(t, tm, "Possible duplicate", "why:")
	tm.Send(keyText('n'))
	codec, _ := barcode.NewCodec(testFmt)
	mrn, _ := codec.Make(2)
	waitScreen(t, tm, "Registered Amina Okello with MRN "+mrn)
	tm.Send(keyText('p'))
	waitScreen(t, tm, "saved as cards.pdf")

	// The scanner types the new card's code in a burst ending in Enter.
	tm.Type(mrn)
	tm.Send(enter)
	waitScreen(t, tm, "ACTIVE", "Valid card")
}

func TestE2EScanUnknownAndInvalidCheck(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Grace", "Atim", "1985-01-02")
	codec, _ := barcode.NewCodec(testFmt)
	unknown, _ := codec.Make(777)
	wrong := mrn[:len(mrn)-1] + string("1234567890"[strings.IndexByte("0123456789", mrn[len(mrn)-1])])
	tm := startProgram(t, testConfig(s, nil, &clock{t: testNow, step: fast}))
	waitScreen(t, tm, "Find or register")

	tm.Type(unknown)
	tm.Send(enter)
	waitScreen(t, tm, "UNKNOWN", "never issued this ID")

	tm.Type(wrong)
	tm.Send(enter)
	waitScreen(t, tm, "WRONG CHECK DIGIT", "probably mistyped")

	// Garbage from a misconfigured scanner never crashes the program.
	tm.Type("]Q3\x07€€€###123")
	tm.Send(enter)
	waitScreen(t, tm, "NOT AN ID")
	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// lockedClock is a fake clock the test goroutine may re-pace while the
// program runs (a clerk's typing, then a scanner's burst).
type lockedClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *lockedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func (c *lockedClock) pace(step, pause time.Duration) {
	c.mu.Lock()
	c.step, c.t = step, c.t.Add(pause)
	c.mu.Unlock()
}

// A clerk's morning through the real program loop: sign in, half fill the
// register form, a card's 2D symbol is scanned (the panel, then the form as
// it was), a bracketed paste, lock and unlock, then ctrl+c asks before
// losing the form (issue 14 items 2, 7, 8, 21).
func TestE2EScanOverHalfFilledFormThenQuit(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Grace", "Atim", "1985-01-02")
	twoD := cardFor(t, s, mrn, "")
	c := &lockedClock{t: testNow, step: slow}
	cfg := testConfig(s, nil, &clock{})
	cfg.Now, cfg.Actor, cfg.Auth, cfg.IdleCheck, cfg.StatusEvery = c.now, idcards.Actor{}, fakeAuth{}, -1, -1
	tm := startProgram(t, cfg)
	waitScreen(t, tm, "Sign in")
	for _, v := range []string{"ann", "s3cret"} {
		tm.Type(v)
		tm.Send(enter)
	}
	waitScreen(t, tm, "Find or register", "Signed in as ann (clerk)")
	tm.Send(ctrl('n'))
	waitScreen(t, tm, "Register a new patient")
	for i, v := range []string{"Joy", "Akello", "F", "1975-03-03"} {
		if i > 0 {
			tm.Send(tab)
		}
		tm.Type(v)
	}
	waitScreen(t, tm, "1975-03-03█")
	c.pace(fast, time.Second)
	tm.Type(twoD)
	tm.Send(enter)
	waitScreen(t, tm, "✔ ACTIVE", "Card    "+twoD[len(twoD)-9:], "Grace Atim")
	c.pace(slow, time.Second)
	tm.Send(esc)
	waitScreen(t, tm, "Given name      Joy", "Sex             F", "Birth date/age  1975-03-03█")
	tm.Send(tab)
	tm.Send(tea.PasteMsg{Content: "0772 123456\n"})
	waitScreen(t, tm, "> Phone           0772 123456█")
	tm.Send(ctrl('l'))
	waitScreen(t, tm, "Sign in · locked")
	for _, v := range []string{"ann", "s3cret"} {
		tm.Type(v)
		tm.Send(enter)
	}
	waitScreen(t, tm, "> Phone           0772 123456█", "Birth date/age  1975-03-03")
	tm.Send(ctrl('c'))
	waitScreen(t, tm, "Quit and lose it? y/n")
	tm.Send(keyText('y'))
	out := screenText(tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)))
	for _, want := range []string{"Given name      Joy", "Sex             F", "Birth date/age  1975-03-03", "> Phone           0772 123456█"} {
		if !strings.Contains(out, want) {
			t.Fatalf("final screen lacks %q:\n%s", want, out)
		}
	}
}

// Edit through the real program loop: the reason prompt, then the patient
// screen shows the new name (item 1).
func TestE2EEditPatient(t *testing.T) {
	s := newStore(t)
	p, _ := register(t, s, "Grace", "Atm", "1985-01-02")
	tm := startProgram(t, testConfig(s, nil, &clock{t: testNow, step: slow}))
	waitScreen(t, tm, "Find or register")
	tm.Send(pushMsg{newDetail(nil, p.ID)})
	waitScreen(t, tm, "Patient · Grace Atm", "e edit details")
	tm.Send(keyText('e'))
	waitScreen(t, tm, "Edit · Grace Atm")
	tm.Send(tab)
	tm.Send(ctrl('u'))
	tm.Type("Atim")
	tm.Send(ctrl('s'))
	waitScreen(t, tm, "family name: Atm → Atim")
	tm.Type("misspelt")
	tm.Send(enter)
	waitScreen(t, tm, "Saved the changes to Grace Atim", "Patient · Grace Atim")
	tm.Send(ctrl('c'))
	out := screenText(tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)))
	if !strings.Contains(out, "Patient · Grace Atim") || !strings.Contains(out, "Name            Grace Atim") {
		t.Fatalf("final screen:\n%s", out)
	}
}
