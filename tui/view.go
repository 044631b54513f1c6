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
	title := st.bar.Width(m.w).Render(fitTitle(" idcards · "+s.title(), m.w))
	bindings := m.bindings()
	shown := bindings
	if m.h < smallTerminal && m.ask == askNone {
		shown = screenKeys(bindings)
	}
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
	bottom = append(bottom, keyBar(st, shown, m.w)...)
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
	lines := fitBody(st, strings.Split(strings.TrimRight(body, "\n"), "\n"), bodyH)
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

// smallTerminal is the height below which the idle status line is left
// out and the key bar shows the screen's own keys and f1 only (f1 lists
// the global ones: f2, ctrl+l, ctrl+q, ctrl+c).
const smallTerminal = 14

// screenKeys is the key bar of a small terminal: b without the keys that
// are the same on every screen, except f1, which lists them all.
func screenKeys(b []key.Binding) []key.Binding {
	global := map[string]bool{}
	for _, k := range []key.Binding{globalKeys.scan, globalKeys.lock, globalKeys.signOut, globalKeys.quit} {
		global[k.Help().Key] = true
	}
	var out []key.Binding
	for _, k := range b {
		if !global[k.Help().Key] {
			out = append(out, k)
		}
	}
	return out
}

// fitTitle shortens a title that does not fit w: first it drops its
// explanation (after " — " or ": "), then the detail after " · " (a
// patient's name, shown in the body anyway); only then is it cut.
func fitTitle(t string, w int) string {
	for _, sep := range []string{" — ", ": ", " · "} {
		if ansi.StringWidth(t) <= w {
			break
		}
		// The first " · " follows "idcards": cut after the screen's name.
		from := 0
		if sep == " · " {
			from = len(" idcards · ")
		}
		if i := strings.LastIndex(t[from:], sep); i >= 0 {
			t = t[:from+i]
		}
	}
	return truncate(t, w)
}

// fitBody makes a screen's body lines fit h lines. When they do not, the
// blank lines go first; then the lines the clerk must see are kept — the
// field being typed ("> … █") and an error or warning ("✖", "⚠") with its
// wrapped lines — with as many of the lines nearest them as fit, and each
// run of lines left out is one line saying so ("▲ N more above", "⋮ N
// more", "▼ N more below"): nothing goes missing unsaid.
func fitBody(st styles, lines []string, h int) []string {
	if len(lines) <= h {
		return lines
	}
	var kept []string
	for _, l := range lines {
		if strings.TrimSpace(ansi.Strip(l)) != "" {
			kept = append(kept, l)
		}
	}
	lines = kept
	if len(lines) <= h {
		return lines
	}
	if h < 3 {
		return lines[:h]
	}
	show := make([]bool, len(lines))
	// rendered is how many lines show takes: its lines and one per gap.
	rendered := func() int {
		n := 0
		for i, s := range show {
			if s || i == 0 || show[i-1] {
				n++
			}
		}
		return n
	}
	var must []int
	for i := range lines {
		if mustSee(lines, i) {
			must = append(must, i)
		}
	}
	if len(must) == 0 {
		must = []int{0} // nothing marked: the top
	}
	for _, i := range must {
		show[i] = true
		if rendered() > h {
			show[i] = false // more than fits: the first ones, said to go on
			break
		}
	}
	// Then the lines nearest them, the nearest first (earlier on a tie).
	for d := 1; d < len(lines); d++ {
		for _, i := range must {
			for _, j := range []int{i - d, i + d} {
				if j < 0 || j >= len(lines) || show[j] {
					continue
				}
				show[j] = true
				if rendered() > h {
					show[j] = false
				}
			}
		}
	}
	out := make([]string, 0, h)
	for i := 0; i < len(lines); {
		if show[i] {
			out = append(out, lines[i])
			i++
			continue
		}
		j := i
		for j < len(lines) && !show[j] {
			j++
		}
		switch {
		case i == 0:
			out = append(out, st.faint.Render(fmt.Sprintf("  ▲ %d more above", j-i)))
		case j == len(lines):
			out = append(out, st.faint.Render(fmt.Sprintf("  ▼ %d more below", j-i)))
		default:
			out = append(out, st.faint.Render(fmt.Sprintf("  ⋮ %d more", j-i)))
		}
		i = j
	}
	return out
}

// mustSee reports whether lines[i] is one fitBody keeps in view: the
// focused field, or an error or warning block (its first line marked ✖ or
// ⚠, its wrapped lines indented under it).
func mustSee(lines []string, i int) bool {
	l := ansi.Strip(lines[i])
	if strings.HasPrefix(l, "> ") && strings.Contains(l, "█") {
		return true
	}
	for ; i >= 0; i-- {
		l := ansi.Strip(lines[i])
		t := strings.TrimLeft(l, " ")
		if strings.HasPrefix(t, "✖") || strings.HasPrefix(t, "⚠") {
			return true
		}
		if !strings.HasPrefix(l, "    ") {
			return false
		}
	}
	return false
}

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
			return styleLines(st.err, wrapWords(fitPaths("! "+m.status, m.w), m.w))
		}
		return styleLines(st.ok, wrapWords(fitPaths(m.status, m.w), m.w))
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
	if w >= 52 {
		out.WriteString("\n  " + st.title.Render("All keys on this screen") + st.faint.Render("  (esc or f1 closes this)") + "\n\n")
	} else {
		out.WriteString("\n  " + st.title.Render("All keys on this screen") + "\n" + st.faint.Render("  (esc or f1 closes this)") + "\n\n")
	}
	for _, k := range b {
		h := k.Help()
		if h.Key == "" {
			continue
		}
		col := 22
		if w < 60 {
			col = 12 // a narrow terminal: a narrower key column
		}
		out.WriteString(strings.Join(hanging(fmt.Sprintf("  %-*s ", col, h.Key), h.Desc, w), "\n") + "\n")
	}
	out.WriteString("\n" + styledBlock(st.faint, "A scanner works on every screen; f2 opens scan mode to type a code.", w))
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

// wrapWords wraps plain text to width w at spaces only — a path's "-"
// is no place to break it — hard-breaking only a word wider than w.
func wrapWords(text string, w int) []string {
	w = max(w, 10) // as wrapLines
	var out []string
	cur := ""
	for _, word := range strings.Split(text, " ") {
		switch {
		case cur == "":
			cur = word
		case ansi.StringWidth(cur)+1+ansi.StringWidth(word) <= w:
			cur += " " + word
		default:
			out = append(out, cur)
			cur = word
		}
		for ansi.StringWidth(cur) > w {
			out = append(out, ansi.Truncate(cur, w, ""))
			cur = ansi.TruncateLeft(cur, w, "")
		}
	}
	return append(out, cur)
}

// wrapRow is a table row that fits w: whole when it does, else wrapped
// at spaces with its further lines indented by ind (nothing cut).
func wrapRow(row string, ind, w int) string {
	if ansi.StringWidth(row) <= w {
		return row
	}
	if head := ansi.Truncate(row, ind, ""); ind < w-10 && ansi.StringWidth(head) == ind && strings.HasSuffix(ansi.Strip(head), " ") {
		// A labelled row ("  Name            Grace…"): the label keeps its
		// padding, and the value wraps in its own column under itself.
		rest := strings.Fields(ansi.TruncateLeft(row, ind, ""))
		if len(rest) > 0 {
			lines := wrapWords(strings.Join(rest, " "), w-ind)
			for i := range lines {
				if i == 0 {
					lines[i] = head + lines[i]
				} else {
					lines[i] = strings.Repeat(" ", ind) + lines[i]
				}
			}
			return strings.Join(lines, "\n")
		}
	}
	lead := len(row) - len(strings.TrimLeft(row, " "))
	lines := wrapWords(strings.Join(strings.Fields(row), " "), max(w-ind, 10))
	for i := range lines {
		if i == 0 {
			lines[i] = strings.Repeat(" ", lead) + lines[i]
			if ansi.StringWidth(lines[i]) > w {
				// The first line again, without the lead it had no room for.
				lines[i] = strings.TrimLeft(lines[i], " ")
			}
		} else {
			lines[i] = strings.Repeat(" ", ind) + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// styledLines renders each line of a multi-line string with style (a
// style rendered over several lines would pad them to one width).
func styledLines(style interface{ Render(...string) string }, s string) string {
	return strings.Join(styleLines(style, strings.Split(s, "\n")), "\n")
}

// styleLines renders each line with style.
func styleLines(style interface{ Render(...string) string }, lines []string) []string {
	for i, l := range lines {
		lines[i] = style.Render(l)
	}
	return lines
}

// fitPaths shortens in the middle each path in text (a word with a "/")
// that is wider than a line of w, so that wrapping never splits it; a path
// that fits is left whole, however long.
func fitPaths(text string, w int) string {
	w = max(w, 10) // as wrapLines
	words := strings.Split(text, " ")
	for i, word := range words {
		if strings.ContainsRune(word, '/') && ansi.StringWidth(word) > w {
			words[i] = shortMiddle(word, w)
		}
	}
	return strings.Join(words, " ")
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
