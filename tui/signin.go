package tui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// Accounts is what the first-admin and forced-password-change steps need
// besides Authenticate; *registry.Store satisfies it.
type Accounts interface {
	Authenticator
	CreateFirstAdmin(ctx context.Context, username, fullName, password string) error
	ChangePassword(ctx context.Context, username, oldPassword, newPassword string) (idcards.Actor, error)
}

// signInMode is what the sign-in screen is asking for.
type signInMode int

const (
	modeSignIn     signInMode = iota // user + password
	modeFirstAdmin                   // no accounts yet: create the first admin (cannot be skipped)
	modeNewPass                      // the password was reset: choose a new one
)

// signInScreen asks for a user name and password when an Authenticator is
// wired (accounts). Passwords are never shown. With no accounts in the
// registry it first creates the personal admin account; after an admin
// reset it makes the user choose a new password.
type signInScreen struct {
	auth    Authenticator
	mode    signInMode
	user    field
	pass    field
	again   field
	old     string // the accepted reset password, in modeNewPass
	focus   int
	err     string
	note    string // not an error: what the screen asks for and why
	pending int
	// lockedBy is whose screens the lock keeps (they find them as left).
	lockedBy string
}

type signedInMsg struct {
	req   int
	actor idcards.Actor
	err   error
}

var signInKey = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next / sign in"))

func newSignIn(a Authenticator) *signInScreen {
	return &signInScreen{auth: a, user: newField("User", 64, ""), pass: newField("Password", 256, ""), again: newField("Again", 256, "")}
}

// newFirstAdmin is the first-run step that nobody can skip: there is no
// default account, so the first person creates their own admin account.
func newFirstAdmin(a Authenticator) *signInScreen {
	s := newSignIn(a)
	s.mode = modeFirstAdmin
	s.user.label = "Your user name"
	s.pass.label = "New password"
	return s
}

func (s *signInScreen) title() string {
	switch s.mode {
	case modeFirstAdmin:
		return "First run: create your admin account"
	case modeNewPass:
		return "First sign-in: choose your own password"
	}
	if s.lockedBy != "" {
		return "Sign in · locked"
	}
	return "Sign in"
}
func (s *signInScreen) typing() bool              { return true }
func (s *signInScreen) keys(e *env) []key.Binding { return []key.Binding{signInKey} }

func (s *signInScreen) snapshot() func() {
	saved := *s
	return func() { *s = saved }
}

// mayScan: on the sign-in screen only a card's 2D content or a code with
// an AIM prefix is a scan. A password manager types the user name and the
// password fast too, and a user name may have digits ("okot123").
func (s *signInScreen) mayScan(code string) bool {
	return is2D(code) || (s.focused() == &s.user && barcode.StripAIM(code) != code)
}

// fields lists the fields this mode shows, in focus order.
func (s *signInScreen) fields() []*field {
	switch s.mode {
	case modeFirstAdmin:
		return []*field{&s.user, &s.pass, &s.again}
	case modeNewPass:
		return []*field{&s.pass, &s.again}
	}
	return []*field{&s.user, &s.pass}
}

func (s *signInScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case signedInMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		pass := s.pass.String()
		s.pass.set("")
		s.again.set("")
		switch {
		case msg.err == nil:
		case s.mode == modeSignIn && errors.Is(msg.err, registry.ErrMustChangePassword):
			if _, ok := s.auth.(Accounts); ok {
				s.mode, s.old, s.focus = modeNewPass, pass, 0
				s.pass.label = "New password"
				s.err = ""
				s.note = "Welcome, " + strings.TrimSpace(s.user.String()) + ". This is your first sign-in: the password an admin gave you is right, and now you choose your own (10 or more characters) — nobody else will know it."
				return nil
			}
			s.err = "a new password is required: ask an admin"
		case s.mode == modeSignIn:
			// Never log what was typed: people type their password into the
			// user field ("okot green lake morning").
			kind := idcards.ErrorKind(msg.err)
			e.log.Warn("sign-in failed", "kind", kind.String())
			switch kind {
			case idcards.Forbidden, idcards.Invalid, idcards.NotFound, idcards.Unavailable:
				// The authenticator's words: the same for unknown names, a
				// wrong password and a locked account ("too many attempts,
				// try again in N minutes"), so they reveal no account.
				s.err = strings.TrimPrefix(msg.err.Error(), "registry: ")
			default:
				s.err = "sign-in failed: internal error (details in the log)"
			}
			s.focus = 1
		default:
			// Creating or changing a password: the policy's reason helps;
			// both password fields were cleared, so start again at the first.
			s.err = friendly(e, "account", msg.err)
			s.focus = len(s.fields()) - 2
		}
	case tea.KeyPressMsg:
		if s.pending != 0 {
			return nil
		}
		fs := s.fields()
		switch msg.String() {
		case "tab", "down":
			s.focus = (s.focus + 1) % len(fs)
		case "shift+tab", "up":
			s.focus = (s.focus + len(fs) - 1) % len(fs)
		case "enter":
			if s.focus < len(fs)-1 {
				s.focus++
				return nil
			}
			return s.submit(e)
		default:
			fs[s.focus].handle(msg)
			s.err = ""
		}
	}
	return nil
}

func (s *signInScreen) submit(e *env) tea.Cmd {
	u, p := strings.TrimSpace(s.user.String()), s.pass.String()
	if s.mode != modeSignIn && p != s.again.String() {
		s.err = "the two passwords differ"
		s.pass.set("")
		s.again.set("")
		s.focus = len(s.fields()) - 2
		return nil
	}
	if s.mode == modeFirstAdmin && u == "" {
		s.err = "enter your user name"
		s.focus = 0
		return nil
	}
	s.pending = e.req()
	ctx, a, req, mode, old := e.ctx, s.auth, s.pending, s.mode, s.old
	return func() tea.Msg {
		var act idcards.Actor
		var err error
		switch mode {
		case modeFirstAdmin:
			acc := a.(Accounts)
			if err = acc.CreateFirstAdmin(ctx, u, "", p); err == nil {
				act, err = acc.Authenticate(ctx, u, p)
			}
		case modeNewPass:
			act, err = a.(Accounts).ChangePassword(ctx, u, old, p)
		default:
			act, err = a.Authenticate(ctx, u, p)
		}
		return signedInMsg{req: req, actor: act, err: err}
	}
}

func (s *signInScreen) view(e *env, w, h int) string {
	st := e.st
	out := "\n"
	switch s.mode {
	case modeFirstAdmin:
		out += "  There are no accounts yet. Create your own personal admin account:\n  it can add the desk's other users. There is no default account.\n\n"
	case modeNewPass:
		out += textBlock(s.note, w) + "\n"
	default:
		if s.lockedBy != "" {
			out += textBlock("The desk is locked. "+s.lockedBy+" finds their screens as they left them; anyone else starts afresh.", w) + "\n"
		}
	}
	for i, f := range s.fields() {
		shown := *f
		if f != &s.user {
			shown = field{label: f.label, value: []rune(strings.Repeat("•", len(f.value)))}
		}
		out += shown.view(st, s.focus == i, w) + "\n"
	}
	if s.pending != 0 {
		out += "\n  Checking…\n"
	}
	if s.err != "" {
		out += "\n" + errBlock(st, s.err, w)
	}
	return out
}

func (s *signInScreen) focused() *field { return s.fields()[s.focus] }
