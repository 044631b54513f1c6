package tui

import (
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// field is a one-line text input. It is deliberately simpler than
// bubbles/textinput: no blinking cursor, so views are deterministic.
type field struct {
	label string
	value []rune
	max   int
	hint  string
	// over is set when a character was refused because the field is full;
	// the screen says so instead of dropping it silently.
	over bool
	// gap: a raw paste's line break was seen; the next character gets a
	// space before it (none at the end of the paste).
	gap bool
}

func newField(label string, max int, hint string) field {
	return field{label: label, max: max, hint: hint}
}

func (f *field) String() string { return string(f.value) }

func (f *field) set(s string) { f.value, f.over, f.gap = []rune(s), false, false }

// add appends r unless the field is full.
func (f *field) add(r rune) {
	if f.gap {
		f.gap = false
		if r != ' ' && len(f.value) > 0 && f.value[len(f.value)-1] != ' ' {
			f.add(' ')
		}
	}
	if len(f.value) >= f.max {
		f.over = true
		return
	}
	f.value = append(f.value, r)
}

// handle applies an editing key; it reports whether the key was used.
func (f *field) handle(k tea.KeyPressMsg) bool {
	switch k.String() {
	case "backspace":
		if len(f.value) > 0 && !f.gap {
			f.value = f.value[:len(f.value)-1]
		}
		f.over, f.gap = false, false
		return true
	case "ctrl+u":
		f.value, f.over, f.gap = nil, false, false
		return true
	case "space":
		f.add(' ')
		return true
	}
	if k.Text == "" || k.Mod&^tea.ModShift != 0 {
		return false
	}
	for _, r := range k.Text {
		if unicode.IsControl(r) {
			continue
		}
		f.add(r)
	}
	return true
}

func (f *field) view(st styles, focused bool, width int) string {
	v := string(f.value)
	if v == "" && !focused && f.hint != "" {
		// A hint too long for the line wraps under the value column.
		lines := hanging("", f.hint, max(width-2-16, 10))
		for i := range lines {
			if i > 0 {
				lines[i] = strings.Repeat(" ", 18) + lines[i]
			}
			lines[i] = st.faint.Render(lines[i])
		}
		v = strings.Join(lines, "\n")
	} else if room := width - 2 - 16 - 1; room > 4 && ansi.StringWidth(v) > room {
		// Long text scrolls: the end, where the clerk types, stays visible.
		r := []rune(v)
		for ansi.StringWidth(string(r)) > room-1 {
			r = r[1:]
		}
		v = "…" + string(r)
	}
	if focused {
		v += "█"
	}
	marker := "  "
	if focused {
		marker = "> "
	}
	return strings.TrimRight(marker+st.label.Render(f.label)+v, " ")
}

// paste inserts pasted text as one run: line breaks and tabs become single
// spaces between words (a paste never moves to the next field or submits a
// form), other control characters are dropped.
func (f *field) paste(text string) {
	pend := false
	for _, r := range text {
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == ' ':
			pend = true
			continue
		case unicode.IsControl(r) || r == unicode.ReplacementChar:
			continue
		}
		if pend {
			f.gap = true
			pend = false
		}
		f.add(r)
	}
}

// space is a raw paste's line break: one separating space before the next
// character (none at the start or the end, none doubled).
func (f *field) space() { f.gap = true }

func cloneFields(fs []field) []field { return append([]field(nil), fs...) }
