package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// detailScreen shows one patient: demographics, IDs and cards, and the
// actions on them: issue an ID, print, reprint with a reason, void.
type detailScreen struct {
	id      int64
	p       *idcards.Patient
	ids     []idcards.Identifier
	cards   []idcards.Card
	cursor  int // selected identifier
	mode    int
	reason  field
	pending int
	busy    string
	err     string
}

const (
	modeNormal = iota
	modeReprintReason
	modeVoidReason
	modeVoidConfirm
	modeIssueConfirm
	modeBindWait
)

type (
	detailMsg struct {
		req   int
		p     idcards.Patient
		ids   []idcards.Identifier
		cards []idcards.Card
		err   error
	}
	actionMsg struct {
		req  int
		what string
		err  error
	}
)

var detailKeys = struct{ print, reprint, issue, bind, void, choose, yes, no, confirm key.Binding }{
	bind:    key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "bind pre-printed card")),
	print:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "print card")),
	reprint: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reprint lost card")),
	issue:   key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "issue ID")),
	void:    key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "void ID")),
	choose:  key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "choose ID")),
	yes:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
	no:      key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
	confirm: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
}

func newDetail(e *env, id int64) *detailScreen {
	return &detailScreen{id: id, reason: newField("Reason", 200, "required, e.g. card lost at home")}
}

func (s *detailScreen) title() string {
	if s.p == nil {
		return "Patient"
	}
	return "Patient · " + s.p.DisplayName()
}

func (s *detailScreen) working() bool { return s.busy != "" }

func (s *detailScreen) typing() bool { return s.mode == modeReprintReason || s.mode == modeVoidReason }
func (s *detailScreen) trimInput(n int) {
	if s.typing() {
		s.reason.trim(n)
	}
}

func (s *detailScreen) keys(e *env) []key.Binding {
	switch s.mode {
	case modeReprintReason, modeVoidReason:
		return []key.Binding{detailKeys.confirm}
	case modeVoidConfirm, modeIssueConfirm:
		return []key.Binding{detailKeys.yes, detailKeys.no}
	case modeBindWait:
		return nil
	}
	var b []key.Binding
	if len(s.ids) > 1 {
		b = append(b, detailKeys.choose)
	}
	if e.allowed(idcards.PermPrintCard) {
		b = append(b, detailKeys.print)
	}
	if e.allowed(idcards.PermReplace) {
		b = append(b, detailKeys.reprint)
	}
	if e.allowed(idcards.PermIssue) {
		b = append(b, detailKeys.issue, detailKeys.bind)
	}
	if e.allowed(idcards.PermVoid) {
		b = append(b, detailKeys.void)
	}
	return b
}

func (s *detailScreen) start(e *env) tea.Cmd { return s.load(e) }

// load fetches the patient, IDs and cards; the reply is tagged.
func (s *detailScreen) load(e *env) tea.Cmd {
	s.pending = e.req()
	ctx, reg, req, id := e.ctx, e.reg, s.pending, s.id
	return func() tea.Msg {
		m := detailMsg{req: req}
		if m.p, m.err = reg.Patient(ctx, id); m.err != nil {
			return m
		}
		if m.ids, m.err = reg.PatientIdentifiers(ctx, id); m.err != nil {
			return m
		}
		for _, i := range m.ids {
			c, err := reg.ListCards(ctx, registry.CardFilter{MRN: i.MRN, Limit: 20})
			if err != nil {
				m.err = err
				return m
			}
			m.cards = append(m.cards, c...)
		}
		return m
	}
}

func (s *detailScreen) selected() (idcards.Identifier, bool) {
	if s.cursor < len(s.ids) {
		return s.ids[s.cursor], true
	}
	return idcards.Identifier{}, false
}

func (s *detailScreen) hasActiveCard(mrn string) bool {
	for _, c := range s.cards {
		if c.MRN == mrn && c.State == idcards.CardActive {
			return true
		}
	}
	return false
}

func (s *detailScreen) action(e *env, busy string, fn func() error) tea.Cmd {
	s.pending = e.req()
	s.busy, s.err = busy, ""
	req := s.pending
	return func() tea.Msg { return actionMsg{req: req, what: busy, err: fn()} }
}

func (s *detailScreen) print(e *env, mrn string, reprint bool, reason string) tea.Cmd {
	if e.printer == nil {
		s.err = "printing is not set up on this machine"
		return nil
	}
	ctx, pr := e.ctx, e.printer
	var out string
	s.mode = modeNormal
	cmd := s.action(e, "Printing card for "+mrn+"…", func() error {
		p, err := pr.PrintCards(ctx, []string{mrn}, reprint, reason)
		out = p
		return err
	})
	return func() tea.Msg {
		m := cmd().(actionMsg)
		if m.err == nil {
			m.what = "Card for " + mrn + " sent to " + out
		}
		return m
	}
}

func (s *detailScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case detailMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		if msg.err != nil {
			s.err = friendly(e, "load patient", msg.err)
			return nil
		}
		p := msg.p
		s.p, s.ids, s.cards = &p, msg.ids, msg.cards
		if s.cursor >= len(s.ids) {
			s.cursor = 0
		}
		return nil
	case actionMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending, s.busy = 0, ""
		if msg.err != nil {
			s.err = friendly(e, "action", msg.err)
			return s.load(e)
		}
		return tea.Batch(status(msg.what, false), s.load(e))
	case tea.KeyPressMsg:
		if s.pending != 0 {
			return nil
		}
		return s.key(e, msg)
	}
	return nil
}

func (s *detailScreen) key(e *env, k tea.KeyPressMsg) tea.Cmd {
	id, haveID := s.selected()
	switch s.mode {
	case modeReprintReason, modeVoidReason:
		switch k.String() {
		case "esc":
			s.mode = modeNormal
		case "enter":
			if strings.TrimSpace(s.reason.String()) == "" {
				s.err = "a reason is required"
				return nil
			}
			s.err = ""
			if s.mode == modeReprintReason {
				return s.print(e, id.MRN, true, strings.TrimSpace(s.reason.String()))
			}
			s.mode = modeVoidConfirm
		default:
			s.reason.handle(k)
		}
		return nil
	case modeVoidConfirm:
		s.mode = modeNormal
		if k.String() == "y" {
			ctx, reg, mrn, reason := e.ctx, e.reg, id.MRN, strings.TrimSpace(s.reason.String())
			cmd := s.action(e, "Voiding "+mrn+"…", func() error { return reg.Void(ctx, mrn, reason) })
			return func() tea.Msg {
				m := cmd().(actionMsg)
				m.what = mrn + " voided; its cards no longer verify"
				return m
			}
		}
		return status("Nothing voided.", false)
	case modeBindWait:
		if k.String() == "esc" {
			s.mode = modeNormal
		}
		return nil
	case modeIssueConfirm:
		s.mode = modeNormal
		if k.String() == "y" {
			ctx, reg, pid := e.ctx, e.reg, s.id
			var got idcards.Identifier
			cmd := s.action(e, "Issuing…", func() error {
				var err error
				got, err = reg.IssueID(ctx, pid, "") // the desk helper adds the reason prompt
				return err
			})
			return func() tea.Msg {
				m := cmd().(actionMsg)
				m.what = "Issued " + got.MRN + ". Press p to print the card."
				return m
			}
		}
		return status("No ID issued.", false)
	}
	switch {
	case k.String() == "esc":
		return pop
	case k.String() == "up":
		if s.cursor > 0 {
			s.cursor--
		}
	case k.String() == "down":
		if s.cursor < len(s.ids)-1 {
			s.cursor++
		}
	case key.Matches(k, detailKeys.print):
		if !haveID || id.State != idcards.IDActive {
			s.err = "no active ID to print: issue one first (i)"
			return nil
		}
		if s.hasActiveCard(id.MRN) {
			s.err = id.MRN + " already has a card: use r to reprint it with a reason"
			return nil
		}
		return s.print(e, id.MRN, false, "")
	case key.Matches(k, detailKeys.reprint):
		if !e.allowed(idcards.PermReplace) {
			s.err = "you may not reprint cards"
			return nil
		}
		if !haveID || id.State != idcards.IDActive {
			s.err = "no active ID to reprint"
			return nil
		}
		s.reason.set("")
		s.mode, s.err = modeReprintReason, ""
	case key.Matches(k, detailKeys.issue):
		if !e.allowed(idcards.PermIssue) {
			s.err = "you may not issue IDs"
			return nil
		}
		s.mode, s.err = modeIssueConfirm, ""
	case key.Matches(k, detailKeys.bind):
		if !e.allowed(idcards.PermIssue) {
			s.err = "you may not give IDs to patients"
			return nil
		}
		s.mode, s.err = modeBindWait, ""
	case key.Matches(k, detailKeys.void):
		if !e.allowed(idcards.PermVoid) {
			s.err = "voiding needs a supervisor"
			return nil
		}
		if !haveID || id.State == idcards.IDVoided {
			s.err = "no ID to void"
			return nil
		}
		s.reason.set("")
		s.mode, s.err = modeVoidReason, ""
	}
	return nil
}

func (s *detailScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	b.WriteString("\n")
	if s.p == nil {
		if s.err != "" {
			return "\n" + st.err.Render("  ✖ "+s.err)
		}
		return "\n  Loading…"
	}
	p := s.p
	row := func(k, v string) { b.WriteString(truncate("  "+st.label.Render(k)+v, w) + "\n") }
	row("Name", st.title.Render(p.DisplayName()))
	dob := p.BirthDate
	if p.BirthDateEstimated && len(dob) >= 4 {
		dob = "about " + dob[:4] + " (estimated)"
	}
	row("Sex / born", fmt.Sprintf("%s / %s (%s)", p.Sex, dob, age(p.BirthDate, e.now())))
	if p.Phone != "" {
		row("Phone", p.Phone)
	}
	if p.Village != "" {
		row("Village", p.Village)
	}
	b.WriteString("\n  " + st.title.Render("IDs") + "\n")
	if len(s.ids) == 0 {
		b.WriteString("  (none — press i to issue one)\n")
	}
	for i, id := range s.ids {
		cards := 0
		state := "no card printed"
		for _, c := range s.cards {
			if c.MRN == id.MRN {
				cards++
				if c.State == idcards.CardActive {
					state = "card " + c.Serial + " active"
				}
			}
		}
		line := fmt.Sprintf("  %-16s %-10s %s, %d card(s) ever", id.MRN, strings.ToUpper(string(id.State)), state, cards)
		if i == s.cursor && len(s.ids) > 1 {
			line = st.selected.Render(truncate(line, w))
		}
		b.WriteString(truncate(line, w) + "\n")
	}
	if len(s.cards) > 0 && s.mode == modeNormal {
		b.WriteString("\n  " + st.title.Render("Cards") + "\n")
		for i, c := range s.cards {
			if i == 5 {
				fmt.Fprintf(&b, "  … %d more\n", len(s.cards)-5)
				break
			}
			b.WriteString(truncate(fmt.Sprintf("  %-12s %-10s %-9s printed %s by %s", c.MRN, c.Serial, strings.ToUpper(string(c.State)), c.PrintedAt.UTC().Format("2006-01-02 15:04"), c.PrintedBy), w) + "\n")
		}
	}
	switch s.mode {
	case modeReprintReason:
		b.WriteString("\n  Reprint " + s.ids[s.cursor].MRN + ": the old card will scan as REPLACED.\n")
		b.WriteString(s.reason.view(st, true, w) + "\n")
	case modeVoidReason:
		b.WriteString("\n  Void " + s.ids[s.cursor].MRN + ": its cards will stop verifying.\n")
		b.WriteString(s.reason.view(st, true, w) + "\n")
	case modeVoidConfirm:
		b.WriteString(st.err.Render("\n  Void "+s.ids[s.cursor].MRN+" for good? This cannot be undone. y/n") + "\n")
	case modeBindWait:
		b.WriteString("\n  Scan the pre-printed card to give it to " + p.DisplayName() + " (esc cancels).\n")
	case modeIssueConfirm:
		b.WriteString("\n  Issue another ID to " + p.DisplayName() + "? y/n\n")
	}
	if s.busy != "" {
		b.WriteString("\n  ◐ " + s.busy + "\n")
	}
	if s.err != "" {
		b.WriteString("\n" + st.err.Render(truncate("  ✖ "+s.err, w)) + "\n")
	}
	return b.String()
}

// takeScan binds a scanned pre-printed card while waiting for one.
func (s *detailScreen) takeScan(e *env, code string) (tea.Cmd, bool) {
	if s.mode != modeBindWait || s.pending != 0 {
		return nil, false
	}
	s.mode = modeNormal
	ctx, reg, pid := e.ctx, e.reg, s.id
	var mrn string
	cmd := s.action(e, "Binding card…", func() error {
		v, err := reg.Verify(ctx, code)
		if err != nil {
			return err
		}
		if v.Status != idcards.StatusUnassigned {
			return idcards.Errorf(idcards.Conflict, "card %s is %s, not a blank pre-printed card", printable(code), strings.ToUpper(string(v.Status)))
		}
		mrn = v.Code
		return reg.Bind(ctx, v.Code, pid)
	})
	return func() tea.Msg {
		m := cmd().(actionMsg)
		m.what = "Card " + mrn + " now belongs to this patient."
		return m
	}, true
}

func (s *detailScreen) focused() *field {
	if s.typing() {
		return &s.reason
	}
	return nil
}
