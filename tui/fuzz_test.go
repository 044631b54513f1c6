package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// FuzzScannerInput feeds arbitrary scanner/keyboard input, as a fast burst
// ending in Enter, to the find screen and the scan screen: the UI must not
// panic and must keep every line within the terminal width.
func FuzzScannerInput(f *testing.F) {
	for _, seed := range []string{"0420000010", "]C00420000010", "\x00\x1b[2J", "€€€123", strings.Repeat("9", 500), "042-000-001-0", ""} {
		f.Add(seed)
	}
	s := newStore(f)
	f.Fuzz(func(t *testing.T, in string) {
		c := &clock{t: testNow, step: fast}
		m := drive(t, New(t.Context(), testConfig(s, nil, c)), tea.WindowSizeMsg{Width: 80, Height: 24})
		var keys []tea.Msg
		for _, r := range in {
			keys = append(keys, tea.KeyPressMsg{Code: r, Text: string(r)})
		}
		m = drive(t, m, append(keys, enter)...)
		m = drive(t, m, scanMsg{raw: in})
		for _, l := range strings.Split(m.(Model).render(), "\n") {
			if w := ansi.StringWidth(l); w > 80 {
				t.Fatalf("line %d wide: %q", w, ansi.Strip(l))
			}
		}
	})
}

// FuzzFormInput feeds arbitrary text to the register form as a bracketed
// paste, as a raw paste (fast keys, line breaks as Enter) and then submits
// it: the UI must not panic, no field may exceed its limit, a raw paste
// must stay in the field it started in, and every line must fit 80 columns.
func FuzzFormInput(f *testing.F) {
	for _, seed := range []string{"Amina\nOkello\n", "0772123456\r\n", "😀\x00\x1b[2J", "042000001M CABCDEFGH\r", strings.Repeat("é", 300), "3m", "1975-03-03\n\n\n"} {
		f.Add(seed)
	}
	s := newStore(f)
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 2048 { // a paste of a page at most; longer only slows the fuzzer
			return
		}
		c := &clock{t: testNow, step: slow}
		m := drive(t, New(t.Context(), testConfig(s, nil, c)), tea.WindowSizeMsg{Width: 80, Height: 24}, ctrl('n'))
		m = drive(t, m, tea.PasteMsg{Content: in})
		c.t, c.step = c.t.Add(time.Second), time.Millisecond
		var keys []tea.Msg
		for _, r := range in {
			switch r {
			case '\n', '\r':
				keys = append(keys, enter)
			default:
				keys = append(keys, tea.KeyPressMsg{Code: r, Text: string(r)})
			}
		}
		m = drive(t, m, keys...)
		if r, ok := m.(Model).top().(*registerScreen); ok {
			// A paste that starts with a line break starts with what a
			// clerk's Enter looks like: only later ones are the paste's.
			if r.focus != fGiven && r.pending == 0 && !strings.HasPrefix(in, "\n") && !strings.HasPrefix(in, "\r") {
				t.Fatalf("a paste moved the focus to field %d", r.focus)
			}
			for _, fd := range r.fields {
				if len(fd.value) > fd.max {
					t.Fatalf("field %s holds %d > %d", fd.label, len(fd.value), fd.max)
				}
			}
		}
		c.step = slow
		m = drive(t, m, ctrl('s'))
		for _, l := range strings.Split(m.(Model).render(), "\n") {
			if w := ansi.StringWidth(l); w > 80 {
				t.Fatalf("line %d wide: %q", w, ansi.Strip(l))
			}
		}
		_, _, _ = parseBirth(in, testNow)
		_ = checkName("given name", in)
	})
}
