package tui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// scanScreen shows the answer for a scanned or typed code in a large
// panel, in the status vocabulary (colour and words). A scan on any
// screen lands here; typing a code and Enter works the same.
type scanScreen struct {
	in      field
	res     *scanResult
	last    string // the raw code shown, re-checked when the screen is on top again
	pending int
	err     string
}

// scanResult is a verification with what the panel needs besides: the
// patient of a voided ID (Verify names only active IDs' patients) and
// whether the code came from a 2D symbol (only that names a card).
type scanResult struct {
	v       idcards.Verification
	patient *idcards.Patient
	twoD    bool
}

type verifiedMsg struct {
	req int
	res scanResult
	err error
}

var scanKeys = struct{ check, open, register key.Binding }{
	check:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "check code")),
	open:     key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "open patient record")),
	register: key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "register onto this card")),
}

func newScan() *scanScreen {
	return &scanScreen{in: newField("Code", 64, "scan a card, or type an ID and press enter")}
}

func (s *scanScreen) title() string { return "Scan" }
func (s *scanScreen) typing() bool  { return true }
func (s *scanScreen) oneField()     {}
func (s *scanScreen) snapshot() func() {
	saved := s.in
	return func() { s.in = saved }
}

func (s *scanScreen) keys(e *env) []key.Binding {
	b := []key.Binding{scanKeys.check}
	if s.res != nil && s.res.patient != nil && e.allowed(idcards.PermReadPatient) {
		b = append(b, scanKeys.open)
	}
	if s.res != nil && s.res.v.Rebindable() && e.allowed(idcards.PermRegister) {
		b = append(b, scanKeys.register)
	}
	return b
}

// checkCode is the one verification the desk runs for a code, scanned or
// typed: registry Verify, plus the patient of a voided ID.
func checkCode(ctx context.Context, reg Registry, raw string) (scanResult, error) {
	v, err := reg.Verify(ctx, raw)
	if err != nil {
		return scanResult{}, err
	}
	_, serial := barcode.SplitScan(raw)
	r := scanResult{v: v, twoD: serial != "", patient: v.Patient}
	if cardMismatch(v) {
		// A card made for another ID: whose MRN it carries is not shown.
		r.patient = nil
		return r, nil
	}
	if r.patient == nil && v.Identifier != nil && v.Identifier.PatientID != 0 {
		if p, err := reg.Patient(ctx, v.Identifier.PatientID); err == nil {
			r.patient = &p
		}
	}
	return r, nil
}

// cardMismatch: a 2D code whose MRN is fine but whose card serial is
// another ID's card (registry.Verify answers it malformed, with both).
func cardMismatch(v idcards.Verification) bool {
	return v.Status == idcards.StatusMalformed && v.Code != "" && v.CardSerial != ""
}

// verify starts a lookup; only the newest reply is shown.
func (s *scanScreen) verify(e *env, raw string) tea.Cmd {
	s.pending = e.req()
	s.err, s.last = "", raw
	ctx, reg, req := e.ctx, e.reg, s.pending
	return func() tea.Msg {
		r, err := checkCode(ctx, reg, raw)
		return verifiedMsg{req: req, res: r, err: err}
	}
}

// resume re-checks the code shown: after registering onto an unassigned
// card the panel says ACTIVE, not UNASSIGNED.
func (s *scanScreen) resume(e *env) tea.Cmd {
	if s.last == "" || s.pending != 0 {
		return nil
	}
	return s.verify(e, s.last)
}

func (s *scanScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case verifiedMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		if msg.err != nil {
			s.res = nil
			s.err = friendly(e, "verify", msg.err)
			return nil
		}
		r := msg.res
		s.res = &r
		e.log.Info("scan", "code", r.v.Code, "status", r.v.Status)
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
			if s.res != nil && s.res.patient != nil {
				return push(newDetail(e, s.res.patient.ID))
			}
			return nil
		case key.Matches(msg, scanKeys.register):
			if s.res != nil && s.res.v.Rebindable() {
				r := newRegister(e, "", s.res.v.Code)
				r.lost = s.res.v.Status == idcards.StatusUnknown
				return push(r)
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
		b.WriteString(errBlock(st, s.err, w))
	case s.res != nil:
		p := panel(e, *s.res, w, false)
		if strings.Count(p, "\n") > h-3 {
			p = panel(e, *s.res, w, true) // a low terminal: the words, no box
		}
		b.WriteString(p)
	default:
		b.WriteString(st.faint.Render("  Ready for a scan.") + "\n")
	}
	return b.String()
}

// panel is the large result box; compact, for a terminal too low for
// it, is its words in its colour without the box and blank lines.
func panel(e *env, r scanResult, w int, compact bool) string {
	v := r.v
	head, advice, style := statusLook(v.Status)
	mismatch := cardMismatch(v)
	if mismatch {
		// A 2D code whose MRN is fine but whose card serial is another
		// ID's card: no "not an ID of this clinic", and nobody's name.
		head, advice = "✖ CARD DOES NOT MATCH", "This card's 2D code names a card printed for another ID: a forged or misprinted card. Keep it, and find the patient by name."
	}
	if v.Disputed && v.Status == idcards.StatusActive {
		// This registry's card, but OpenMRS holds the number for someone
		// else (or otherwise disagrees): not the green all-clear.
		head, advice = "✔ ACTIVE · DISPUTED IN OPENMRS", "Check the name and age with the patient before using this ID, and tell IT: visits filed under it in OpenMRS may reach another chart."
		if v.Dispute == idcards.ConflictLookalike {
			// Not in OpenMRS yet: held, because OpenMRS may have the
			// person under another record; the patient can say.
			head, advice = "✔ ACTIVE · NOT YET IN OPENMRS", "OpenMRS may already have this person under another record. Ask the patient if they were seen here before, and tell the supervisor; the patient's screen says who."
		}
		style = style.BorderForeground(yellow).Foreground(yellow)
	}
	if v.Rebindable() && v.Status == idcards.StatusUnknown {
		head, advice = "? RECORD LOST IN A RESTORE", "Look the patient up by name first; if they are not there, press ctrl+r. The card keeps its number."
	}
	inner := w - 10
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
	known := v.Identifier != nil
	switch {
	case r.twoD && v.CardSerial != "":
		lines = append(lines, "Card    "+v.CardSerial)
	case known:
		// A Code 128 symbol carries the MRN only: which of the ID's cards
		// this is cannot be told.
		lines = append(lines, "Card    not identified by this barcode")
	}
	if p := r.patient; p != nil && !mismatch && e.allowed(idcards.PermReadPatient) {
		lines = append(lines, "Name    "+p.DisplayName(), fmt.Sprintf("Sex     %s    Age %s", p.Sex, age(p.BirthDate, e.now())))
	}
	lines = append(lines, "")
	if v.Detail != "" && v.Status != idcards.StatusActive && v.Status != idcards.StatusUnassigned && v.Status != idcards.StatusInvalidCheck { // the advice says what a wrong check character means
		lines = append(lines, detailWords(v))
	} else if v.Detail != "" && v.Status == idcards.StatusActive {
		lines = append(lines, v.Detail)
	}
	lines = append(lines, advice)
	if r.patient != nil && v.Status != idcards.StatusActive && e.allowed(idcards.PermReadPatient) {
		lines = append(lines, "Press ctrl+o to open "+r.patient.DisplayName()+"'s record.")
	}
	if compact {
		var out []string
		colour := lipgloss.NewStyle().Foreground(style.GetForeground())
		for _, l := range lines {
			if l != "" {
				out = append(out, styleLines(colour, hanging("  ", l, w))...)
			}
		}
		return strings.Join(out, "\n") + "\n"
	}
	body := lipgloss.NewStyle().Width(inner).Render(strings.Join(lines, "\n"))
	return lipgloss.NewStyle().MarginLeft(2).Render(style.Render(body)) + "\n"
}

// detailWords is the registry's detail in a clerk's words.
func detailWords(v idcards.Verification) string {
	d := v.Detail
	switch v.Status {
	case idcards.StatusVoided:
		if r := strings.TrimPrefix(d, "voided: "); r != d {
			return "Voided because: " + r
		}
	case idcards.StatusReplaced:
		if c := strings.TrimPrefix(d, "this card was replaced by card "); c != d {
			return "This card was replaced by card " + c + "."
		}
	}
	if d == "" {
		return d
	}
	return strings.ToUpper(d[:1]) + d[1:]
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
