package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
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
	confirm       bool // showing the first ID and asking y/n
}

type setupDoneMsg struct {
	reg  Registry
	site string
	err  error
}

var setupKeys = struct{ next, choose, create, yes, no key.Binding }{
	next:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
	choose: key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "scheme")),
	create: key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "check & create")),
	yes:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes, create it")),
	no:     key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "change it")),
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
func (s *setupScreen) typing() bool  { return s.focus < 2 && !s.confirm }
func (s *setupScreen) keys(e *env) []key.Binding {
	if s.confirm {
		return []key.Binding{setupKeys.yes, setupKeys.no}
	}
	return []key.Binding{setupKeys.next, setupKeys.choose, setupKeys.create}
}

func (s *setupScreen) snapshot() func() {
	saved := *s
	return func() { *s = saved }
}

// format is the format the form describes.
func (s *setupScreen) format() (idcards.Format, error) {
	f := idcards.Format{Prefix: strings.ToUpper(strings.TrimSpace(s.prefix.String())), Width: 6}
	if len(s.schemes) > 0 {
		f.Scheme = s.schemes[s.scheme]
	}
	if w := strings.TrimSpace(s.width.String()); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 3 || n > 12 {
			return f, idcards.Errorf(idcards.Invalid, "digits %q: use a number from 3 to 12", w)
		}
		f.Width = n
	}
	return f, nil
}

// preview is the first two IDs the format issues, or why it cannot work.
func (s *setupScreen) preview() (first, second string, err error) {
	f, err := s.format()
	if err != nil {
		return "", "", err
	}
	c, err := barcode.NewCodec(f)
	if err != nil {
		return "", "", err
	}
	if first, err = c.Make(1); err != nil {
		return "", "", err
	}
	second, err = c.Make(2)
	return first, second, err
}

func (s *setupScreen) update(e *env, msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || s.busy {
		return nil
	}
	if s.confirm {
		s.confirm = false
		if k.String() == "y" {
			return s.create(e)
		}
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
		if len(s.schemes) == 0 || e.createFn == nil {
			s.err = "this build cannot create a registry here; run `idcards init`"
			return nil
		}
		if _, _, err := s.preview(); err != nil {
			return nil // the preview says why, under the form
		}
		// The format can never change once IDs are issued: show the
		// first ID and ask before creating anything.
		s.confirm, s.err = true, ""
	case k.String() == "enter":
		s.focus++
	case s.focus == 0:
		s.prefix.handle(k)
		s.err = ""
	case s.focus == 1:
		s.width.handle(k)
		s.err = ""
	}
	return nil
}

func (s *setupScreen) create(e *env) tea.Cmd {
	f, err := s.format()
	if err != nil {
		s.err = err.Error()
		return nil
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
	b.WriteString("\n" + textBlock("No registry was found on this machine. Create one now:", w) + "\n")
	b.WriteString(s.prefix.view(st, s.focus == 0, w) + "\n")
	b.WriteString(s.width.view(st, s.focus == 1, w) + "\n")
	marker := "  "
	if s.focus == 2 {
		marker = "> "
	}
	// The schemes wrap onto as many lines as they need: the choice is
	// always on screen.
	lead := marker + st.label.Render("Check scheme")
	pad := strings.Repeat(" ", 18)
	line, lines := lead, []string{}
	for i, n := range s.schemes {
		item := n
		if i == s.scheme {
			item = st.selected.Render("[" + n + "]")
		}
		if ansi.StringWidth(line)+1+ansi.StringWidth(item) > w-1 && line != lead && line != pad {
			lines = append(lines, line)
			line = pad
		}
		if line != lead && line != pad {
			line += " "
		}
		line += item
	}
	lines = append(lines, line)
	b.WriteString(strings.Join(lines, "\n") + "\n\n")
	first, second, err := s.preview()
	switch {
	case err != nil:
		b.WriteString(textBlock("First ID: — this format cannot work:", w))
		b.WriteString(errBlock(st, err.Error(), w))
	case err == nil:
		b.WriteString(textBlock("First ID: "+st.title.Render(first)+" (the next: "+second+")", w))
		if strings.TrimSpace(s.prefix.String()) == "" {
			b.WriteString(styledBlock(st.err, "No site prefix: IDs are digits only, and another site's IDs could look the same.", w))
		}
	}
	b.WriteString("\n" + styledBlock(st.faint, "The prefix starts every ID (letters/digits allowed by the scheme). For OpenMRS's stock \"OpenMRS ID\" use luhn-mod-30. The format cannot change once IDs are issued.", w))
	if s.confirm {
		b.WriteString("\n" + errBlock(st, fmt.Sprintf("The first ID will be %s. This format can never change afterwards. Create the registry? y/n", first), w))
	}
	if s.busy {
		b.WriteString("\n  Creating…\n")
	}
	if s.err != "" {
		b.WriteString("\n" + errBlock(st, s.err, w))
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
