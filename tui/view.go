package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcards/idcards"
)

// The root's rendering: title bar, the top screen's body, and at the
// bottom the status line and the key bar, each wrapped over as many lines
// as it needs so nothing is cut at 80×24.

// View renders the screen with a title bar, status line and key bar.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "idcards"
	// While a print or other slow action runs, terminals that support it
	// show an indeterminate progress bar too (the screen shows "◐ …").
	if b, ok := m.top().(interface{ working() bool }); ok && b.working() {
		v.ProgressBar = tea.NewProgressBar(tea.ProgressBarIndeterminate, 0)
	}
	return v
}

func (m Model) bindings() []key.Binding {
	s := m.top()
	var b []key.Binding
	if m.ask != askNone {
		return []key.Binding{
			key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes, lose it")),
			key.NewBinding(key.WithKeys("n"), key.WithHelp("any other key", "stay")),
		}
	}
	b = append(b, s.keys(m.e)...)
	escShown := false
	for _, k := range b {
		for _, n := range k.Keys() {
			escShown = escShown || n == "esc"
		}
	}
	if len(m.stack) > 1 && !escShown {
		b = append(b, globalKeys.back)
	}
	if m.e.reg != nil {
		b = append(b, globalKeys.scan)
	}
	if m.cfg.Auth != nil && m.signedIn() {
		b = append(b, globalKeys.lock, globalKeys.signOut)
	}
	return append(b, globalKeys.help, globalKeys.quit)
}

func (m Model) render() string {
	st := m.e.st
	s := m.top()
	t := " idcards · " + s.title()
	if head, _, ok := strings.Cut(t, " — "); ok && ansi.StringWidth(t) > m.w {
		t = head // a narrow terminal: the title without its explanation
	}
	title := st.bar.Width(m.w).Render(truncate(t, m.w))
	bindings := m.bindings()
	var bottom []string
	if m.ask != askNone {
		q := "A form is half filled in. Quit and lose it?"
		switch m.ask {
		case askSignOut:
			q = "A form is half filled in. Sign out and lose it?"
		case askBack:
			q = "A form is half filled in. Go back and lose what was typed?"
		}
		bottom = append(bottom, wrapLines(st.err, q+" y/n", m.w)...)
	}
	// On a very small terminal the idle status (who, site, sync) gives
	// its lines to the screen; an action's result is always shown.
	if m.status != "" || m.h >= smallTerminal {
		bottom = append(bottom, m.statusLines()...)
	}
	bottom = append(bottom, keyBar(st, bindings, m.w)...)
	bodyH := m.h - 1 - len(bottom)
	if bodyH < 1 {
		bodyH = 1
	}
	var body string
	if m.fullHelp {
		body = fullHelp(st, bindings, m.w)
	} else {
		body = s.view(m.e, m.w, bodyH)
	}
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	if len(lines) > bodyH {
		lines = lines[:bodyH]
	}
	for len(lines) < bodyH {
		lines = append(lines, "")
	}
	all := append(append([]string{title}, lines...), bottom...)
	if len(all) > m.h && m.h > 0 {
		all = all[:m.h]
	}
	for i, l := range all {
		all[i] = ansi.Truncate(l, m.w, "…")
	}
	return strings.Join(all, "\n")
}

// smallTerminal is the height below which the idle status line is left out.
const smallTerminal = 14

// who names an actor with their role, as the status line says it.
func who(a idcards.Actor) string {
	if a.Name == "" {
		return ""
	}
	if a.Role == "" {
		return a.Name
	}
	return a.Name + " (" + string(a.Role) + ")"
}

// statusLines is the result of the last action (wrapped, never cut) or,
// when there is none, who is signed in, the site and what waits for
// OpenMRS, in a clerk's words.
func (m Model) statusLines() []string {
	st := m.e.st
	if m.status != "" {
		if m.statusE {
			return wrapLines(st.err, "! "+m.status, m.w)
		}
		return wrapLines(st.ok, m.status, m.w)
	}
	var parts []string
	// Before sign-in the actor is the OS account the desk runs under: not
	// someone signed in.
	if n := who(m.e.actor); n != "" && m.signedIn() {
		parts = append(parts, "signed in: "+n)
	} else if m.cfg.Auth != nil {
		parts = append(parts, "nobody signed in")
	}
	if m.cfg.Site != "" {
		parts = append(parts, "site "+m.cfg.Site)
	}
	if m.e.reg == nil {
		return wrapLines(st.faint, strings.Join(append(parts, "no registry yet"), " · "), m.w)
	}
	parts = append(parts, syncLabel(m.sync, m.e.now()))
	if m.sync == nil || !m.sync.Configured {
		switch {
		case m.sync != nil && m.sync.PendingPatients > 0:
			parts = append(parts, plural(m.sync.PendingPatients, "patient", "patients")+" not yet sent to OpenMRS")
		case m.sync == nil && m.outbox != nil && *m.outbox > 0:
			parts = append(parts, plural(*m.outbox, "change", "changes")+" not yet sent to OpenMRS")
		}
	}
	line := strings.Join(parts, " · ")
	if m.e.reg != nil {
		room := m.w - ansi.StringWidth(line) - 3
		if room >= 12 {
			line += " · " + shortMiddle(m.e.reg.Path(), room)
		}
	}
	return wrapLines(st.faint, line, m.w)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// keyBar lays the bindings out on as many lines as they need: every key is
// shown, none is cut.
func keyBar(st styles, b []key.Binding, w int) []string {
	var lines []string
	cur := ""
	for _, k := range b {
		h := k.Help()
		if h.Key == "" {
			continue
		}
		item := st.key.Render(h.Key) + " " + st.faint.Render(h.Desc)
		iw := ansi.StringWidth(item)
		if cur != "" && ansi.StringWidth(cur)+3+iw > w {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += st.faint.Render(" · ")
		}
		cur += item
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// fullHelp lists every key of the screen with what it does (F1; Esc or F1
// closes it).
func fullHelp(st styles, b []key.Binding, w int) string {
	var out strings.Builder
	out.WriteString("\n  " + st.title.Render("All keys on this screen") + st.faint.Render("  (esc or f1 closes this)") + "\n\n")
	for _, k := range b {
		h := k.Help()
		if h.Key == "" {
			continue
		}
		out.WriteString(truncate(fmt.Sprintf("  %-22s %s", h.Key, h.Desc), w) + "\n")
	}
	out.WriteString("\n" + st.faint.Render(truncate("  A scanner works on every screen; f2 opens scan mode to type a code.", w)) + "\n")
	return out.String()
}

func truncate(s string, w int) string {
	if w <= 1 {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// wrapLines wraps text to width w (words, then hard breaks), styling each
// line, so that nothing ends in "…".
func wrapLines(style interface{ Render(...string) string }, text string, w int) []string {
	if w < 10 {
		w = 10
	}
	var out []string
	for _, l := range strings.Split(ansi.Wrap(text, w, ""), "\n") {
		out = append(out, style.Render(l))
	}
	return out
}

// errBlock is an error for the body of a screen: "  ✖ " and the message
// wrapped with a hanging indent.
func errBlock(st styles, msg string, w int) string {
	lines := strings.Split(ansi.Wrap(msg, max(w-6, 10), ""), "\n")
	for i, l := range lines {
		if i == 0 {
			lines[i] = st.err.Render("  ✖ " + l)
		} else {
			lines[i] = st.err.Render("    " + l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// styledBlock is textBlock with each line styled on its own (a style
// rendered over several lines would pad them all to the same width).
func styledBlock(style interface{ Render(...string) string }, text string, w int) string {
	lines := strings.Split(strings.TrimRight(textBlock(text, w), "\n"), "\n")
	for i, l := range lines {
		lines[i] = style.Render(l)
	}
	return strings.Join(lines, "\n") + "\n"
}

// warnBlock is errBlock for something done that needs a look: "  ⚠ ".
func warnBlock(st styles, msg string, w int) string {
	lines := strings.Split(ansi.Wrap(msg, max(w-6, 10), ""), "\n")
	for i, l := range lines {
		lead := "    "
		if i == 0 {
			lead = "  ⚠ "
		}
		lines[i] = st.err.Render(lead + l)
	}
	return strings.Join(lines, "\n") + "\n"
}

// textBlock wraps plain text with an indent of two spaces.
func textBlock(text string, w int) string {
	lines := strings.Split(ansi.Wrap(text, max(w-4, 10), ""), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// shortMiddle shortens s to at most n characters by cutting its middle,
// so a path keeps its start and its file name.
func shortMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 5 {
		return s
	}
	head := (n - 1) / 3
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}
