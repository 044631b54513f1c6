package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func TestDetectBurst(t *testing.T) {
	for _, tc := range []struct {
		name string
		gaps []time.Duration // gap before each key; the last key is Enter
		text string
		want string
	}{
		{"scanner", nil, "0420000010", "0420000010"},
		{"aim prefix", nil, "]C10420000010", "]C10420000010"},
		{"too short", nil, "042", ""},
		{"letters only", nil, "okello", ""},
		{"space inside", nil, "042 0000010", ""},
		{"typed text then a scan: only the scan", []time.Duration{2: 200 * time.Millisecond}, "xy0420000010", "0420000010"},
		{"pause before enter", []time.Duration{10: 500 * time.Millisecond}, "0420000010", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := testNow
			m := Model{cfg: Config{BurstGap: 30 * time.Millisecond, Now: func() time.Time { return now }}}
			keys := []tea.KeyPressMsg{}
			for _, r := range tc.text {
				keys = append(keys, keyText(r))
			}
			keys = append(keys, enter)
			var got string
			for i, k := range keys {
				gap := 8 * time.Millisecond
				if i < len(tc.gaps) && tc.gaps[i] != 0 {
					gap = tc.gaps[i]
				}
				now = now.Add(gap)
				if code, _, ok := m.detectBurst(k); ok {
					got = code
				}
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
