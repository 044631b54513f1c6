package tui

import (
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"
)

// field is a one-line text input. It is deliberately simpler than
// bubbles/textinput: no blinking cursor, so views are deterministic.
type field struct {
	label string
	value []rune
	max   int
	hint  string
}

func newField(label string, max int, hint string) field {
	return field{label: label, max: max, hint: hint}
}

func (f *field) String() string { return string(f.value) }

func (f *field) set(s string) { f.value = []rune(s) }

// trim removes the last n runes (used when a scanner burst was typed into it).
func (f *field) trim(n int) {
	if n > len(f.value) {
		n = len(f.value)
	}
	f.value = f.value[:len(f.value)-n]
}

// handle applies an editing key; it reports whether the key was used.
func (f *field) handle(k tea.KeyPressMsg) bool {
	switch k.String() {
	case "backspace":
		if len(f.value) > 0 {
			f.value = f.value[:len(f.value)-1]
		}
		return true
	case "ctrl+u":
		f.value = nil
		return true
	case "space":
		if len(f.value) < f.max {
			f.value = append(f.value, ' ')
		}
		return true
	}
	if k.Text == "" || k.Mod&^tea.ModShift != 0 {
		return false
	}
	for _, r := range k.Text {
		if unicode.IsControl(r) || len(f.value) >= f.max {
			continue
		}
		f.value = append(f.value, r)
	}
	return true
}

func (f *field) view(st styles, focused bool, width int) string {
	v := string(f.value)
	if v == "" && !focused && f.hint != "" {
		v = st.faint.Render(f.hint)
	}
	if focused {
		v += "█"
	}
	marker := "  "
	if focused {
		marker = "> "
	}
	line := marker + st.label.Render(f.label) + v
	_ = width
	return strings.TrimRight(line, " ")
}

// paste inserts pasted text: control characters and newlines are dropped,
// so a paste never submits a form.
func (f *field) paste(text string) {
	for _, r := range text {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || len(f.value) >= f.max {
			continue
		}
		f.value = append(f.value, r)
	}
}
