package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
)

// setupScreen is the first run on a machine with no registry: choose the
// site prefix, the width and the check-digit scheme, then create it.
type setupScreen struct {
	prefix, width field
	schemes       []string
	scheme        int
	focus         int
	err           string
	busy          bool
}

type setupDoneMsg struct {
	reg  Registry
	site string
	err  error
}

var setupKeys = struct{ next, choose, create key.Binding }{
	next:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
	choose: key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "scheme")),
	create: key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "create registry")),
}

func newSetup(schemes []string) *setupScreen {
	s := &setupScreen{prefix: newField("Site prefix", 8, "e.g. KLA"), width: newField("Digits", 2, "6"), schemes: schemes}
	for i, n := range schemes {
		if n == "luhn-mod-30" {
			s.scheme = i
		}
	}
	return s
}

func (s *setupScreen) title() string { return "First run: create the registry" }
func (s *setupScreen) typing() bool  { return s.focus < 2 }
func (s *setupScreen) keys(e *env) []key.Binding {
	return []key.Binding{setupKeys.next, setupKeys.choose, setupKeys.create}
}

func (s *setupScreen) update(e *env, msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || s.busy {
		return nil
	}
	switch {
	case k.String() == "tab" || k.String() == "down":
		s.focus = (s.focus + 1) % 3
	case k.String() == "shift+tab" || k.String() == "up":
		s.focus = (s.focus + 2) % 3
	case k.String() == "left" && s.focus == 2 && s.scheme > 0:
		s.scheme--
	case k.String() == "right" && s.focus == 2 && s.scheme < len(s.schemes)-1:
		s.scheme++
	case key.Matches(k, setupKeys.create) || (k.String() == "enter" && s.focus == 2):
		return s.create(e)
	case k.String() == "enter":
		s.focus++
	case s.focus == 0:
		s.prefix.handle(k)
	case s.focus == 1:
		s.width.handle(k)
	}
	return nil
}

func (s *setupScreen) create(e *env) tea.Cmd {
	if len(s.schemes) == 0 || e.createFn == nil {
		s.err = "this build cannot create a registry here; run `idcards init`"
		return nil
	}
	f := idcards.Format{Prefix: strings.ToUpper(strings.TrimSpace(s.prefix.String())), Width: 6, Scheme: s.schemes[s.scheme]}
	if w := strings.TrimSpace(s.width.String()); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 3 || n > 12 {
			s.err = fmt.Sprintf("digits %q: use a number from 3 to 12", w)
			return nil
		}
		f.Width = n
	}
	s.err, s.busy = "", true
	ctx, create := e.ctx, e.createFn
	return func() tea.Msg {
		reg, err := create(ctx, f)
		return setupDoneMsg{reg: reg, site: f.Prefix, err: err}
	}
}

// failed re-enables the form after a failed create.
func (s *setupScreen) failed(err string) { s.busy, s.err = false, err }

func (s *setupScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	b.WriteString("\n  No registry was found on this machine. Create one now:\n\n")
	b.WriteString(s.prefix.view(st, s.focus == 0, w) + "\n")
	b.WriteString(s.width.view(st, s.focus == 1, w) + "\n")
	marker := "  "
	if s.focus == 2 {
		marker = "> "
	}
	var sc []string
	for i, n := range s.schemes {
		if i == s.scheme {
			n = st.selected.Render("[" + n + "]")
		}
		sc = append(sc, n)
	}
	b.WriteString(truncate(marker+st.label.Render("Check scheme")+strings.Join(sc, " "), w) + "\n\n")
	b.WriteString(st.faint.Render("  The prefix starts every ID (letters/digits allowed by the scheme).") + "\n")
	b.WriteString(st.faint.Render("  For OpenMRS's stock \"OpenMRS ID\" use luhn-mod-30. The format cannot") + "\n")
	b.WriteString(st.faint.Render("  change once IDs are issued.") + "\n")
	if s.busy {
		b.WriteString("\n  Creating…\n")
	}
	if s.err != "" {
		b.WriteString("\n" + st.err.Render(truncate("  ✖ "+s.err, w)) + "\n")
	}
	return b.String()
}

func (s *setupScreen) focused() *field {
	switch s.focus {
	case 0:
		return &s.prefix
	case 1:
		return &s.width
	}
	return nil
}
