package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
)

// approval is the supervisor's sign-off at the clerk's desk: for one
// action the clerk may not do alone (void an ID, go past the hourly cap),
// a supervisor types their user name and password here instead of the
// clerk signing out. Registry.Countersign checks them and returns the
// context the one action runs with (audited under both names).
type approval struct {
	what    string // the action, in words: "void 042000013"
	user    field
	pass    field
	focus   int
	err     string
	pending int
}

type approvedMsg struct {
	req int
	ctx context.Context
	err error
}

var approvalKeys = struct{ next, submit, cancel key.Binding }{
	next:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
	submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "approve")),
	cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
}

func newApproval(what string) *approval {
	return &approval{what: what, user: newField("Supervisor", 64, ""), pass: newField("Password", 256, "")}
}

func (a *approval) keys() []key.Binding {
	return []key.Binding{approvalKeys.next, approvalKeys.submit, approvalKeys.cancel}
}

func (a *approval) focused() *field {
	if a.focus == 0 {
		return &a.user
	}
	return &a.pass
}

// key handles a key; cancel reports Esc.
func (a *approval) key(e *env, k tea.KeyPressMsg) (cmd tea.Cmd, cancel bool) {
	if a.pending != 0 {
		return nil, false
	}
	switch k.String() {
	case "esc":
		return nil, true
	case "tab", "down", "shift+tab", "up":
		a.focus = 1 - a.focus
	case "enter":
		if a.focus == 0 {
			a.focus = 1
			return nil, false
		}
		u, p := strings.TrimSpace(a.user.String()), a.pass.String()
		a.pass.set("")
		if u == "" || p == "" {
			a.err, a.focus = "the supervisor types their user name and password", 0
			return nil, false
		}
		a.pending, a.err = e.req(), ""
		ctx, reg, req := e.ctx, e.reg, a.pending
		return func() tea.Msg {
			c, err := reg.Countersign(ctx, u, p)
			return approvedMsg{req: req, ctx: c, err: err}
		}, false
	default:
		a.focused().handle(k)
		a.err = ""
	}
	return nil, false
}

// result takes Countersign's answer: ok means run the action with ctx.
func (a *approval) result(e *env, m approvedMsg) (ctx context.Context, ok bool) {
	if m.req != a.pending {
		return nil, false
	}
	a.pending = 0
	if m.err != nil {
		// Never log what was typed: people type passwords into name fields.
		e.log.Warn("supervisor approval refused", "kind", idcards.ErrorKind(m.err).String())
		switch idcards.ErrorKind(m.err) {
		case idcards.Forbidden, idcards.Invalid, idcards.NotFound, idcards.Unavailable:
			a.err = strings.TrimPrefix(m.err.Error(), "registry: ")
		default:
			a.err = "approval failed: internal error (details in the log)"
		}
		a.focus = 1
		return nil, false
	}
	return m.ctx, true
}

func (a *approval) view(st styles, w int) string {
	var b strings.Builder
	b.WriteString("\n" + textBlock("A supervisor approves "+a.what+" here: they type their own user name and password (recorded under both names).", w))
	b.WriteString(a.user.view(st, a.focus == 0, w) + "\n")
	shown := field{label: a.pass.label, value: []rune(strings.Repeat("•", len(a.pass.value)))}
	b.WriteString(shown.view(st, a.focus == 1, w) + "\n")
	if a.pending != 0 {
		b.WriteString("  Checking…\n")
	}
	if a.err != "" {
		b.WriteString(errBlock(st, a.err, w))
	}
	return b.String()
}

// mayScan: a fast run in the password field is a password manager.
func (a *approval) mayScan(code string) bool { return a.focus == 0 || is2D(code) }
