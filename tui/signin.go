package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
)

// signInScreen asks for a user name and password when an Authenticator is
// wired (accounts). The password is never shown.
type signInScreen struct {
	auth    Authenticator
	user    field
	pass    field
	focus   int
	err     string
	pending int
}

type signedInMsg struct {
	req   int
	actor idcards.Actor
	err   error
}

var signInKey = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next / sign in"))

func newSignIn(a Authenticator) *signInScreen {
	return &signInScreen{auth: a, user: newField("User", 64, ""), pass: newField("Password", 256, "")}
}

func (s *signInScreen) title() string             { return "Sign in" }
func (s *signInScreen) typing() bool              { return true }
func (s *signInScreen) keys(e *env) []key.Binding { return []key.Binding{signInKey} }

func (s *signInScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case signedInMsg:
		if msg.req == s.pending {
			s.pending = 0
			s.pass.set("")
			if msg.err != nil {
				s.err = "user or password not accepted"
				e.log.Warn("sign-in failed", "user", s.user.String(), "err", msg.err)
			}
		}
	case tea.KeyPressMsg:
		if s.pending != 0 {
			return nil
		}
		switch msg.String() {
		case "tab", "down", "up", "shift+tab":
			s.focus = 1 - s.focus
		case "enter":
			if s.focus == 0 {
				s.focus = 1
				return nil
			}
			s.pending = e.req()
			ctx, a, req, u, p := e.ctx, s.auth, s.pending, strings.TrimSpace(s.user.String()), s.pass.String()
			return func() tea.Msg {
				act, err := a.Authenticate(ctx, u, p)
				return signedInMsg{req: req, actor: act, err: err}
			}
		default:
			if s.focus == 0 {
				s.user.handle(msg)
			} else {
				s.pass.handle(msg)
			}
			s.err = ""
		}
	}
	return nil
}

func (s *signInScreen) view(e *env, w, h int) string {
	st := e.st
	masked := field{label: s.pass.label, value: []rune(strings.Repeat("•", len(s.pass.value)))}
	out := "\n" + s.user.view(st, s.focus == 0, w) + "\n" + masked.view(st, s.focus == 1, w) + "\n"
	if s.pending != 0 {
		out += "\n  Checking…\n"
	}
	if s.err != "" {
		out += "\n" + st.err.Render("  ✖ "+s.err) + "\n"
	}
	return out
}

func (s *signInScreen) focused() *field {
	if s.focus == 0 {
		return &s.user
	}
	return &s.pass
}
