package tui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/idcards/idcards/barcode"
)

// waitScreen waits until the program has drawn all of want.
func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	var seen bytes.Buffer
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		seen.Write(b)
		s := ansi.Strip(seen.String())
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

func startProgram(t *testing.T, cfg Config) *teatest.TestModel {
	tm := teatest.NewTestModel(t, New(context.Background(), cfg), teatest.WithInitialTermSize(100, 30))
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
	waitScreen(t, tm, "UNKNOWN", "not in this registry")

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
