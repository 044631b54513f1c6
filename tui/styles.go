package tui

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/idcards/idcards"
)

// Colours are ANSI-16 where it matters (status panels), so they stay
// distinct on 16-colour terminals; Bubble Tea downsamples the rest. Every
// status is also spelled out in words: colour is never the only signal.
var (
	green  = lipgloss.Color("2")
	red    = lipgloss.Color("1")
	yellow = lipgloss.Color("3")
	blue   = lipgloss.Color("4")
	grey   = lipgloss.Color("8")
)

type styles struct {
	title, faint, err, ok, label, selected, bar, key, note lipgloss.Style
}

func newStyles() styles {
	return styles{
		title:    lipgloss.NewStyle().Bold(true),
		faint:    lipgloss.NewStyle().Foreground(grey),
		err:      lipgloss.NewStyle().Foreground(red).Bold(true),
		ok:       lipgloss.NewStyle().Foreground(green).Bold(true),
		label:    lipgloss.NewStyle().Width(16),
		selected: lipgloss.NewStyle().Reverse(true),
		bar:      lipgloss.NewStyle().Reverse(true),
		key:      lipgloss.NewStyle().Bold(true),
		note:     lipgloss.NewStyle().Foreground(blue).Bold(true),
	}
}

// statusWords is the large headline and the colour for each status.
func statusLook(s idcards.Status) (headline, advice string, c lipgloss.Style) {
	base := lipgloss.NewStyle().Bold(true).Border(lipgloss.ThickBorder()).Padding(0, 2)
	switch s {
	case idcards.StatusActive:
		return "✔ ACTIVE", "Valid card. Check the name and age with the patient.", base.BorderForeground(green).Foreground(green)
	case idcards.StatusUnassigned:
		return "◆ UNASSIGNED", "Pre-printed card with no patient yet. Press ctrl+r to register a patient onto it.", base.BorderForeground(blue).Foreground(blue)
	case idcards.StatusVoided:
		return "✖ VOIDED", "This ID was voided: do not use it. Take the card back; the patient's record shows their active ID.", base.BorderForeground(red).Foreground(red)
	case idcards.StatusReplaced:
		return "✖ REPLACED CARD", "A newer card was printed for this ID: take this old card back.", base.BorderForeground(red).Foreground(red)
	case idcards.StatusUnknown:
		return "? UNKNOWN", "Not a card of this registry: ask the patient for another card or look them up by name.", base.BorderForeground(yellow).Foreground(yellow)
	case idcards.StatusInvalidCheck:
		return "✖ WRONG CHECK DIGIT", "Wrong check character — probably mistyped or misread. Scan again or retype it carefully.", base.BorderForeground(yellow).Foreground(yellow)
	default:
		return "✖ NOT AN ID", "This is not an ID of this clinic (wrong length, prefix or characters).", base.BorderForeground(yellow).Foreground(yellow)
	}
}

// statusName is a status in the panel's words ("WRONG CHECK DIGIT"), never
// the raw vocabulary ("invalid_check").
func statusName(s idcards.Status) string {
	h, _, _ := statusLook(s)
	if i := strings.IndexByte(h, ' '); i >= 0 {
		return h[i+1:]
	}
	return h
}
