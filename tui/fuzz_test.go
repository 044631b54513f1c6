package tui

import (
	"strings"
	"testing"

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
