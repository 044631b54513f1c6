package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcards/idcards"
)

// scanScreen shows the answer for a scanned or typed code in a large
// panel, in the status vocabulary (colour and words). A scan on any
// screen lands here; typing a code and Enter works the same.
type scanScreen struct {
	in      field
	v       *idcards.Verification
	pending int
	err     string
}

type verifiedMsg struct {
	req int
	v   idcards.Verification
	err error
}

var scanKeys = struct{ check, open, register key.Binding }{
	check:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "check code")),
	open:     key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "open patient")),
	register: key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "register onto card")),
}

func newScan() *scanScreen {
	return &scanScreen{in: newField("Code", 64, "scan a card, or type an ID and press enter")}
}

func (s *scanScreen) title() string   { return "Scan" }
func (s *scanScreen) typing() bool    { return true }
func (s *scanScreen) trimInput(n int) { s.in.trim(n) }

func (s *scanScreen) keys(e *env) []key.Binding {
	b := []key.Binding{scanKeys.check}
	if s.v != nil && s.v.Status == idcards.StatusActive && s.v.Patient != nil {
		b = append(b, scanKeys.open)
	}
	if s.v != nil && s.v.Status == idcards.StatusUnassigned && e.allowed(idcards.PermRegister) {
		b = append(b, scanKeys.register)
	}
	return b
}

// verify starts a lookup; only the newest reply is shown.
func (s *scanScreen) verify(e *env, raw string) tea.Cmd {
	s.pending = e.req()
	s.err = ""
	ctx, reg, req := e.ctx, e.reg, s.pending
	return func() tea.Msg {
		v, err := reg.Verify(ctx, raw)
		return verifiedMsg{req: req, v: v, err: err}
	}
}

func (s *scanScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case verifiedMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		if msg.err != nil {
			s.v = nil
			s.err = friendly(e, "verify", msg.err)
			return nil
		}
		v := msg.v
		s.v = &v
		e.log.Info("scan", "code", v.Code, "status", v.Status)
		return nil
	case tea.KeyPressMsg:
		switch {
		case msg.String() == "esc":
			return pop
		case msg.String() == "enter":
			raw := s.in.String()
			s.in.set("")
			if strings.TrimSpace(raw) == "" {
				return nil
			}
			return s.verify(e, raw)
		case key.Matches(msg, scanKeys.open):
			if s.v != nil && s.v.Status == idcards.StatusActive && s.v.Patient != nil {
				return push(newDetail(e, s.v.Patient.ID))
			}
			return nil
		case key.Matches(msg, scanKeys.register):
			if s.v != nil && s.v.Status == idcards.StatusUnassigned {
				return push(newRegister(e, "", s.v.Code))
			}
			return nil
		}
		s.in.handle(msg)
	}
	return nil
}

func (s *scanScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	b.WriteString("\n" + s.in.view(st, true, w) + "\n\n")
	switch {
	case s.pending != 0:
		b.WriteString("  Checking…\n")
	case s.err != "":
		b.WriteString(st.err.Render("  ✖ "+s.err) + "\n")
	case s.v != nil:
		b.WriteString(panel(e, *s.v, w))
	default:
		b.WriteString(st.faint.Render("  Ready for a scan.") + "\n")
	}
	return b.String()
}

// panel is the large result box.
func panel(e *env, v idcards.Verification, w int) string {
	head, advice, style := statusLook(v.Status)
	inner := w - 8
	if inner > 76 {
		inner = 76
	}
	if inner < 20 {
		inner = 20
	}
	lines := []string{head, ""}
	code := v.Code
	if code == "" {
		code = printable(v.Input)
	}
	lines = append(lines, "ID      "+code)
	if v.CardSerial != "" {
		lines = append(lines, "Card    "+v.CardSerial)
	}
	if p := v.Patient; p != nil && v.Status == idcards.StatusActive {
		lines = append(lines, "Name    "+p.DisplayName(), fmt.Sprintf("Sex     %s    Age %s", p.Sex, age(p.BirthDate, e.now())))
	}
	lines = append(lines, "")
	if v.Detail != "" {
		lines = append(lines, v.Detail)
	}
	lines = append(lines, advice)
	body := lipgloss.NewStyle().Width(inner).Render(strings.Join(lines, "\n"))
	return lipgloss.NewStyle().MarginLeft(2).Render(style.Render(body)) + "\n"
}

// printable shows garbled scanner input safely: control characters as ·
// and at most 40 characters.
func printable(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		r = append(r[:40], '…')
	}
	for i, c := range r {
		if c < 32 || c == 127 || c == 0xFFFD {
			r[i] = '·'
		}
	}
	return string(r)
}

func (s *scanScreen) focused() *field { return &s.in }
