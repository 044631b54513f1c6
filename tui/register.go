package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// registerScreen is the registration form and, before anything is written,
// the duplicate warning: likely existing records with the reasons, and
// the clerk's decision ("same person" opens the existing record, "different
// person" registers and issues a new MRN). The decision is audited.
type registerScreen struct {
	fields  []field
	focus   int
	bind    string // pre-printed MRN to bind instead of issuing
	err     string
	np      registry.NewPatient
	cands   []idcards.Candidate
	cursor  int
	warning bool
	pending int
}

const (
	fGiven = iota
	fFamily
	fSex
	fBirth
	fPhone
	fVillage
)

type (
	candidatesMsg struct {
		req   int
		np    registry.NewPatient
		cands []idcards.Candidate
		err   error
	}
	registeredMsg struct {
		req int
		p   idcards.Patient
		mrn string
		err error
	}
	bindCheckMsg struct {
		req int
		v   idcards.Verification
		err error
	}
	sameMsg struct {
		req int
		id  int64
		err error
	}
)

var regKeys = struct{ next, prev, submit, same, different, up key.Binding }{
	next:      key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
	prev:      key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
	submit:    key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s/enter on last", "check & register")),
	same:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "same person")),
	different: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new person")),
	up:        key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "choose")),
}

func newRegister(e *env, query, bind string) *registerScreen {
	s := &registerScreen{bind: bind, fields: []field{
		newField("Given name", 100, ""),
		newField("Family name", 100, ""),
		newField("Sex", 10, "M, F, O or U"),
		newField("Birth date/age", 10, "YYYY-MM-DD, or age in years (estimated)"),
		newField("Phone", 30, "optional"),
		newField("Village/address", 100, "optional"),
	}}
	// Carry a name typed into the search box over.
	if q := strings.TrimSpace(query); q != "" && !strings.ContainsAny(q, "0123456789") {
		w := strings.Fields(q)
		s.fields[fGiven].set(w[0])
		if len(w) > 1 {
			s.fields[fFamily].set(strings.Join(w[1:], " "))
		}
	}
	return s
}

func (s *registerScreen) title() string {
	if s.bind != "" {
		return "Register onto pre-printed card " + s.bind
	}
	if s.warning {
		return "Possible duplicate — decide before a new ID is issued"
	}
	return "Register a new patient"
}

func (s *registerScreen) typing() bool { return !s.warning }
func (s *registerScreen) trimInput(n int) {
	if !s.warning {
		s.fields[s.focus].trim(n)
	}
}

func (s *registerScreen) keys(e *env) []key.Binding {
	if s.warning {
		return []key.Binding{regKeys.up, regKeys.same, regKeys.different}
	}
	return []key.Binding{regKeys.next, regKeys.prev, regKeys.submit}
}

// parse validates the form into a NewPatient.
func (s *registerScreen) parse(e *env) (registry.NewPatient, error) {
	np := registry.NewPatient{
		GivenName:  s.fields[fGiven].String(),
		FamilyName: s.fields[fFamily].String(),
		Phone:      s.fields[fPhone].String(),
		Village:    s.fields[fVillage].String(),
	}
	sex, err := idcards.ParseSex(strings.TrimSpace(s.fields[fSex].String()))
	if err != nil {
		return np, err
	}
	np.Sex = sex
	b := strings.TrimSpace(s.fields[fBirth].String())
	if n, err := strconv.Atoi(b); err == nil {
		d, err := registry.BirthDateFromAge(n, e.now())
		if err != nil {
			return np, err
		}
		np.BirthDate, np.BirthDateEstimated = d, true
	} else {
		np.BirthDate = b
	}
	err = np.Validate(e.now())
	return np, err
}

func (s *registerScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case candidatesMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		if msg.err != nil {
			s.err = friendly(e, "duplicate check", msg.err)
			return nil
		}
		if len(msg.cands) == 0 {
			return s.register(e, msg.np, "no candidates")
		}
		s.np, s.cands, s.cursor, s.warning = msg.np, msg.cands, 0, true
		return nil
	case registeredMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		if msg.err != nil {
			s.err = friendly(e, "register", msg.err)
			s.warning = false
			return nil
		}
		d := newDetail(e, msg.p.ID)
		return tea.Batch(replace(d), status(fmt.Sprintf("Registered %s with MRN %s. Press p to print the card.", msg.p.DisplayName(), msg.mrn), false))
	case bindCheckMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		switch {
		case msg.err != nil:
			s.err = friendly(e, "check card", msg.err)
		case msg.v.Status != idcards.StatusUnassigned:
			s.err = fmt.Sprintf("card %s is %s, not a blank pre-printed card: it cannot be given to this patient", printable(msg.v.Input), strings.ToUpper(string(msg.v.Status)))
		default:
			s.bind, s.err = msg.v.Code, ""
		}
		return nil
	case sameMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		if msg.err != nil {
			s.err = friendly(e, "record decision", msg.err)
			return nil
		}
		d := newDetail(e, msg.id)
		return tea.Batch(replace(d), status("Using the existing record; no new ID issued.", false))
	case tea.KeyPressMsg:
		if s.pending != 0 {
			return nil
		}
		if s.warning {
			return s.decide(e, msg)
		}
		switch {
		case msg.String() == "esc":
			return pop
		case key.Matches(msg, regKeys.submit) || (msg.String() == "enter" && s.focus == len(s.fields)-1):
			return s.check(e)
		case key.Matches(msg, regKeys.next) || msg.String() == "enter":
			s.focus = (s.focus + 1) % len(s.fields)
			return nil
		case key.Matches(msg, regKeys.prev):
			s.focus = (s.focus + len(s.fields) - 1) % len(s.fields)
			return nil
		}
		if s.fields[s.focus].handle(msg) {
			s.err = ""
		}
	}
	return nil
}

// check validates the form and looks for likely duplicates.
func (s *registerScreen) check(e *env) tea.Cmd {
	np, err := s.parse(e)
	if err != nil {
		s.err = err.Error()
		return nil
	}
	s.err = ""
	s.pending = e.req()
	ctx, reg, req := e.ctx, e.reg, s.pending
	return func() tea.Msg {
		c, err := reg.Candidates(ctx, np, 5)
		return candidatesMsg{req: req, np: np, cands: c, err: err}
	}
}

func (s *registerScreen) register(e *env, np registry.NewPatient, decision string) tea.Cmd {
	s.pending = e.req()
	ctx, reg, req := e.ctx, e.reg, s.pending
	r := registry.Registration{Patient: np, BindMRN: s.bind, Decision: decision}
	return func() tea.Msg {
		p, mrn, err := reg.Register(ctx, r)
		return registeredMsg{req: req, p: p, mrn: mrn, err: err}
	}
}

func (s *registerScreen) decide(e *env, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case k.String() == "esc":
		s.warning = false
		return nil
	case k.String() == "up":
		if s.cursor > 0 {
			s.cursor--
		}
	case k.String() == "down":
		if s.cursor < len(s.cands)-1 {
			s.cursor++
		}
	case key.Matches(k, regKeys.same):
		c := s.cands[s.cursor]
		s.pending = e.req()
		ctx, reg, req := e.ctx, e.reg, s.pending
		detail := fmt.Sprintf("same person as %s (%s); reasons: %s; no new ID", c.Patient.UUID, strings.Join(c.MRNs, ","), strings.Join(c.Reasons, ", "))
		return func() tea.Msg {
			err := reg.Audit(ctx, "patient.duplicate_same", c.Patient.UUID, detail)
			return sameMsg{req: req, id: c.Patient.ID, err: err}
		}
	case key.Matches(k, regKeys.different):
		var ids []string
		for _, c := range s.cands {
			ids = append(ids, c.Patient.UUID)
		}
		return s.register(e, s.np, fmt.Sprintf("override: %d candidate(s) judged a different person: %s", len(s.cands), strings.Join(ids, ",")))
	}
	return nil
}

func (s *registerScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	b.WriteString("\n")
	if s.warning {
		b.WriteString(st.err.Render(fmt.Sprintf("  %d existing record(s) may be this person:", len(s.cands))) + "\n\n")
		for i, c := range s.cands {
			mrns := strings.Join(c.MRNs, ",")
			if mrns == "" {
				mrns = "(no ID)"
			}
			line := fmt.Sprintf("  %-9s %-12s %s", strings.ToUpper(string(c.Level)), mrns, patientLine(c.Patient, e))
			if i == s.cursor {
				line = st.selected.Render(truncate(line, w))
			}
			b.WriteString(truncate(line, w) + "\n")
			b.WriteString(st.faint.Render(truncate("            why: "+strings.Join(c.Reasons, "; "), w)) + "\n")
		}
		b.WriteString(fmt.Sprintf("\n  %-9s %-12s ", "NEW", "(new ID)") + patientLine(idcards.Patient{GivenName: s.np.GivenName, FamilyName: s.np.FamilyName, Sex: s.np.Sex, BirthDate: s.np.BirthDate, BirthDateEstimated: s.np.BirthDateEstimated, Phone: s.np.Phone, Village: s.np.Village}, e) + "\n")
		b.WriteString("\n  Ask the patient, then press\n    s  same person: use the selected record, no new ID\n    n  different person: register and issue a new ID\n")
	} else {
		for i := range s.fields {
			b.WriteString(truncate(s.fields[i].view(st, i == s.focus, w), w) + "\n")
		}
		if s.bind != "" {
			b.WriteString("\n  The patient gets the pre-printed card " + s.bind + " (no new number).\n")
		}
	}
	if s.pending != 0 {
		b.WriteString("\n  Working…\n")
	}
	if s.err != "" {
		b.WriteString("\n" + st.err.Render(truncate("  ✖ "+s.err, w)) + "\n")
	}
	return b.String()
}

// takeScan: scanning a card while filling the form gives the patient that
// pre-printed card (if it is unassigned) instead of a new number.
func (s *registerScreen) takeScan(e *env, code string) (tea.Cmd, bool) {
	if s.warning || s.pending != 0 {
		return nil, false
	}
	s.pending = e.req()
	ctx, reg, req := e.ctx, e.reg, s.pending
	return func() tea.Msg {
		v, err := reg.Verify(ctx, code)
		return bindCheckMsg{req: req, v: v, err: err}
	}, true
}

func (s *registerScreen) focused() *field {
	if s.warning {
		return nil
	}
	return &s.fields[s.focus]
}
