package tui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// editScreen changes a registered patient's details (names, sex, birth
// date exact or estimated, phone, village) instead of registering them
// again. A change of name or birth date asks for a reason; after saving,
// the duplicate check runs on the new values and the screen says if the
// record now looks like another patient.
//
// The save carries the record as the form was opened (PatientEdit.Seen)
// and only the fields the clerk changed: a correction another desk saved
// meanwhile to a field the clerk left alone stays, and one to a field the
// clerk changed too makes the registry refuse. The form then shows the
// record as it is now, keeps what the clerk typed, marks the fields the
// other desk changed, and says so; ctrl+s again saves over it, seen.
type editScreen struct {
	p       idcards.Patient // the record the form shows and the save is checked against
	fields  []field
	initial []string
	other   map[int]bool // fields the clerk changed that another desk changed meanwhile
	focus   int
	err     string
	asking  bool // the reason for a name or birth date change
	reason  field
	edit    registry.PatientEdit
	saved   *idcards.Patient
	cands   []idcards.Candidate
	cursor  int // the candidate whose reasons show when not all fit
	pending int
}

type editedMsg struct {
	req   int
	p     idcards.Patient
	cands []idcards.Candidate
	err   error
}

var editKeys = struct{ next, prev, save, reason, done, choose key.Binding }{
	next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
	prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
	save:   key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "save changes")),
	reason: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save with this reason")),
	done:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "back to the patient")),
	choose: key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "another's reasons")),
}

// birthText is how the birth date field shows a stored date: the date
// itself, or for an estimated one the age it was given as.
func birthText(p idcards.Patient, e *env) string {
	if p.BirthDate == "" {
		return ""
	}
	if !p.BirthDateEstimated {
		return p.BirthDate
	}
	a := strings.TrimSuffix(age(p.BirthDate, e.now()), " y")
	a = strings.Replace(strings.Replace(a, " mo", "m", 1), " wk", "w", 1)
	return a
}

// editFieldOf is the form field of a registry field name (FieldChange).
var editFieldOf = map[string]int{"given_name": fGiven, "family_name": fFamily, "sex": fSex,
	"birth_date": fBirth, "birth_date_estimated": fBirth, "phone": fPhone, "village": fVillage}

// formValues are the texts the form shows for a stored record.
func formValues(p idcards.Patient, e *env) []string {
	return []string{p.GivenName, p.FamilyName, string(p.Sex), birthText(p, e), p.Phone, p.Village}
}

func newEdit(e *env, p idcards.Patient) *editScreen {
	s := &editScreen{p: p, fields: []field{
		newField("Given name", idcards.MaxNameRunes, ""),
		newField("Family name", idcards.MaxNameRunes, ""),
		newField("Sex", 10, "M, F, O or U"),
		newField("Birth date/age", 10, birthHint),
		newField("Phone", 30, "optional"),
		newField("Village/address", 100, "optional"),
	}, reason: newField("Reason", 200, "required, e.g. name misspelt at registration")}
	for i, v := range formValues(p, e) {
		s.fields[i].set(v)
		s.initial = append(s.initial, v)
	}
	return s
}

// rebase puts the form on the record as it is now (cur), after the
// registry refused a save because another desk changed c.Changes since
// the form was opened: a field the clerk did not change shows the current
// value; a changed one keeps what the clerk typed, now compared with the
// current value (and marked when it is one the other desk changed). It
// returns what the clerk is told.
func (s *editScreen) rebase(e *env, c *registry.EditConflict) string {
	cur := c.Current
	vals := formValues(cur, e)
	other := map[int]bool{}
	for _, ch := range c.Changes {
		if i, ok := editFieldOf[ch.Field]; ok && s.changed(i) {
			other[i] = true
		}
	}
	var also []string // what else changed there, for fields the clerk left alone
	for _, ch := range registry.PatientChanges(s.p, cur) {
		if i, ok := editFieldOf[ch.Field]; ok && !s.changed(i) {
			if l := strings.ToLower(s.fields[i].label); len(also) == 0 || also[len(also)-1] != l { // the birth date's two fields are one
				also = append(also, l)
			}
		}
	}
	initial := make([]string, len(vals)) // a new slice: a snapshot keeps the old one
	for i, v := range vals {
		if !s.changed(i) {
			s.fields[i].set(v)
		}
		initial[i] = v
	}
	s.p, s.initial, s.other = cur, initial, other
	msg := "Not saved: " + c.Error() + "."
	if len(also) > 0 {
		msg += " Also changed there: " + strings.Join(also, ", ") + " (shown now)."
	}
	return msg + " The form shows the record as it is now, with your changes kept: check them, then press ctrl+s to save them, or esc to leave it as it is."
}

func (s *editScreen) title() string {
	if s.saved != nil {
		return "Edit · " + s.saved.DisplayName()
	}
	return "Edit · " + s.p.DisplayName()
}
func (s *editScreen) typing() bool { return s.saved == nil }
func (s *editScreen) snapshot() func() {
	saved := *s
	saved.fields = cloneFields(s.fields)
	return func() {
		pending := s.pending
		*s = saved
		s.fields, s.pending = cloneFields(saved.fields), pending
	}
}

func (s *editScreen) changed(i int) bool {
	return strings.TrimSpace(s.fields[i].String()) != strings.TrimSpace(s.initial[i])
}

func (s *editScreen) dirty() bool {
	if s.saved != nil {
		return false
	}
	for i := range s.fields {
		if s.changed(i) {
			return true
		}
	}
	return false
}

func (s *editScreen) keys(e *env) []key.Binding {
	switch {
	case s.saved != nil && len(s.cands) > 1:
		return []key.Binding{editKeys.choose, editKeys.done}
	case s.saved != nil:
		return []key.Binding{editKeys.done}
	case s.asking:
		return []key.Binding{editKeys.reason}
	}
	return []key.Binding{editKeys.next, editKeys.prev, editKeys.save}
}

// build turns the changed fields into a PatientEdit; needReason reports a
// change of name or birth date.
func (s *editScreen) build(e *env) (ed registry.PatientEdit, needReason bool, err error) {
	ed.ID = s.p.ID
	seen := s.p
	ed.Seen = &seen
	str := func(i int) *string { v := strings.Join(strings.Fields(s.fields[i].String()), " "); return &v }
	for _, i := range []int{fGiven, fFamily} {
		if !s.changed(i) {
			continue
		}
		label := "given name"
		if i == fFamily {
			label = "family name"
		}
		if err := checkName(label, s.fields[i].String()); err != nil {
			s.focus = i
			return ed, false, err
		}
		if i == fGiven {
			ed.GivenName = str(i)
		} else {
			ed.FamilyName = str(i)
		}
		needReason = true
	}
	if ed.GivenName != nil && ed.FamilyName != nil && *ed.GivenName == "" && *ed.FamilyName == "" ||
		ed.GivenName != nil && *ed.GivenName == "" && ed.FamilyName == nil && s.p.FamilyName == "" ||
		ed.FamilyName != nil && *ed.FamilyName == "" && ed.GivenName == nil && s.p.GivenName == "" {
		s.focus = fGiven
		return ed, false, idcards.Errorf(idcards.Invalid, "a name is needed: given or family name")
	}
	if s.changed(fSex) {
		sx, err := idcards.ParseSex(strings.TrimSpace(s.fields[fSex].String()))
		if err != nil {
			s.focus = fSex
			return ed, false, err
		}
		ed.Sex = &sx
	}
	if s.changed(fBirth) {
		d, est, err := parseBirth(s.fields[fBirth].String(), e.now())
		if err != nil {
			s.focus = fBirth
			return ed, false, err
		}
		ed.BirthDate, ed.BirthDateEstimated = &d, &est
		needReason = true
	}
	if s.changed(fPhone) {
		ed.Phone = str(fPhone)
	}
	if s.changed(fVillage) {
		ed.Village = str(fVillage)
	}
	return ed, needReason, nil
}

func (s *editScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case editedMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		var conflict *registry.EditConflict
		if errors.As(msg.err, &conflict) {
			e.log.Info("edit refused: changed at another desk", "patient", s.p.ID, "fields", len(conflict.Changes))
			s.asking = false
			s.err = s.rebase(e, conflict)
			return nil
		}
		if msg.err != nil {
			s.err = friendly(e, "edit patient", msg.err)
			return nil
		}
		p := msg.p
		s.saved, s.cands, s.cursor, s.asking = &p, msg.cands, 0, false
		if len(msg.cands) == 0 {
			return tea.Batch(pop, status("Saved the changes to "+p.DisplayName()+".", false))
		}
		return status("Saved the changes to "+p.DisplayName()+" — the record now looks like another patient.", true)
	case tea.KeyPressMsg:
		if s.pending != 0 {
			return nil
		}
		if s.saved != nil {
			switch msg.String() {
			case "enter", "esc":
				return pop
			case "up":
				s.cursor = max(s.cursor-1, 0)
			case "down":
				s.cursor = min(s.cursor+1, len(s.cands)-1)
			}
			return nil
		}
		if s.asking {
			switch msg.String() {
			case "esc":
				s.asking, s.err = false, ""
			case "enter":
				r := strings.Join(strings.Fields(s.reason.String()), " ")
				if r == "" {
					s.err = "a reason is required for a change of name or birth date"
					return nil
				}
				s.edit.Reason = r
				return s.save(e)
			default:
				s.reason.handle(msg)
				s.err = ""
			}
			return nil
		}
		switch {
		case msg.String() == "esc":
			if s.dirty() {
				return askPop
			}
			return pop
		case key.Matches(msg, editKeys.save):
			ed, needReason, err := s.build(e)
			if err != nil {
				s.err = err.Error()
				return nil
			}
			if !s.dirty() {
				return tea.Batch(pop, status("Nothing changed.", false))
			}
			s.edit, s.err = ed, ""
			if needReason {
				// A reason typed before (the save another desk's change
				// refused) stays, for the clerk to keep or change.
				s.asking = true
				return nil
			}
			return s.save(e)
		case key.Matches(msg, editKeys.next) || msg.String() == "enter":
			s.focus = (s.focus + 1) % len(s.fields)
			return nil
		case key.Matches(msg, editKeys.prev):
			s.focus = (s.focus + len(s.fields) - 1) % len(s.fields)
			return nil
		}
		if s.fields[s.focus].handle(msg) {
			s.err = ""
		}
	}
	return nil
}

func (s *editScreen) save(e *env) tea.Cmd {
	s.pending = e.req()
	ctx, reg, req, ed := e.ctx, e.reg, s.pending, s.edit
	return func() tea.Msg {
		p, c, err := reg.EditPatient(ctx, ed)
		return editedMsg{req: req, p: p, cands: c, err: err}
	}
}

// changes lists the changed fields as "old → new", for the reason prompt.
func (s *editScreen) changes() []string {
	var out []string
	for i := range s.fields {
		if s.changed(i) {
			old := s.initial[i]
			if old == "" {
				old = "—"
			}
			out = append(out, fmt.Sprintf("%s: %s → %s", strings.ToLower(s.fields[i].label), old, strings.TrimSpace(s.fields[i].String())))
		}
	}
	return out
}

func (s *editScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	b.WriteString("\n")
	switch {
	case s.saved != nil:
		// The warning's layout (register.go): one row layout for the
		// candidates and the edited record, reasons within the screen.
		head := warnBlock(st, fmt.Sprintf("Saved. The edited record of %s now looks like %d other patient(s):", s.saved.DisplayName(), len(s.cands)), w) + "\n"
		line := rowLayout(e, w, *s.saved, s.cands)
		tail := "\n" + line("EDITED", "(this one)", *s.saved) + "\n\n" +
			textBlock("If one of them is the same person, ask a supervisor to merge the records (idcards patients merge); the patient should keep one card.", w)
		budget := h - 1 - strings.Count(head, "\n") - strings.Count(tail, "\n")
		b.WriteString(head + candidateRows(e, s.cands, s.cursor, w, budget, line) + tail)
		return b.String()
	case s.asking:
		b.WriteString(textBlock("You are changing:", w))
		for _, c := range s.changes() {
			b.WriteString(truncate("    "+c, w) + "\n")
		}
		b.WriteString("\n" + textBlock("A change of name or birth date needs a reason (recorded with the old and new values).", w))
		b.WriteString(s.reason.view(st, true, w) + "\n")
	default:
		for i := range s.fields {
			line := s.fields[i].view(st, i == s.focus, w)
			switch {
			case s.changed(i) && s.other[i]:
				// The clerk's value over one another desk saved meanwhile.
				line += st.note.Render("  (was " + strconv.Quote(s.initial[i]) + ", changed at another desk)")
			case s.changed(i):
				line += st.faint.Render("  (was " + strconv.Quote(s.initial[i]) + ")")
			}
			b.WriteString(truncate(line, w) + "\n")
		}
		b.WriteString("\n" + styledBlock(st.faint, "Change what is wrong and press ctrl+s. The patient keeps their ID and card; OpenMRS gets the change.", w))
	}
	if s.pending != 0 {
		b.WriteString("\n  Saving…\n")
	}
	switch {
	case s.err != "":
		b.WriteString("\n" + errBlock(st, s.err, w))
	case !s.asking && s.fields[s.focus].over:
		b.WriteString("\n" + errBlock(st, overMsg(&s.fields[s.focus], s.focus <= fFamily), w))
	}
	return b.String()
}

func (s *editScreen) focused() *field {
	switch {
	case s.saved != nil:
		return nil
	case s.asking:
		return &s.reason
	}
	return &s.fields[s.focus]
}
