package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// registerScreen is the registration form and, before anything is written,
// the duplicate warning: likely existing records with the reasons, and
// the clerk's decision ("same person" opens the existing record, "different
// person" registers and issues a new MRN; over a probable duplicate only
// with a reason). The decision is audited in the same words as the CLI's.
type registerScreen struct {
	fields  []field
	opened  []string // the fields as the form opened (edited)
	focus   int
	bind    string // pre-printed MRN to bind instead of issuing
	lost    bool   // bind is a card whose record a restore lost, not a pre-printed one
	err     string
	np      registry.NewPatient
	cands   []idcards.Candidate
	cursor  int
	warning bool
	// overriding: the clerk said "different person" over a probable
	// duplicate and types the reason.
	overriding bool
	reason     field
	// refused: the last registration was refused for want of permission
	// (e.g. the hourly cap); a supervisor may approve it here.
	refused *registry.Registration
	appr    *approval
	pending int
	// seen: the last patient id before the duplicate check shown
	// (Registration.CheckMark): records registered after it at another
	// desk are checked again when the patient is registered.
	seen int64
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
		seen  int64 // the last patient id before the check (Registration.CheckMark)
		err   error
	}
	registeredMsg struct {
		req int
		r   registry.Registration
		p   idcards.Patient
		mrn string
		err error
	}
	sameMsg struct {
		req int
		id  int64
		err error
	}
)

var regKeys = struct{ next, prev, submit, same, different, up, reason, approve key.Binding }{
	next:      key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
	prev:      key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
	submit:    key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s/enter on last", "check & register")),
	same:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "same person")),
	different: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "different person")),
	up:        key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "choose")),
	reason:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "register with this reason")),
	approve:   key.NewBinding(key.WithKeys("ctrl+a"), key.WithHelp("ctrl+a", "supervisor approves")),
}

const birthHint = "YYYY-MM-DD, or age: 34, 3m, 6w (estimated)"

func newRegister(e *env, query, bind string) *registerScreen {
	s := &registerScreen{bind: bind, fields: []field{
		newField("Given name", idcards.MaxNameRunes, ""),
		newField("Family name", idcards.MaxNameRunes, ""),
		newField("Sex", 10, "M, F, O or U"),
		newField("Birth date/age", 10, birthHint),
		newField("Phone", 30, "optional"),
		newField("Village/address", 100, "optional"),
	}, reason: newField("Reason", 200, "required: how you know this is someone else")}
	// Carry a name typed into the search box over.
	if q := strings.TrimSpace(query); q != "" && !strings.ContainsAny(q, "0123456789") {
		w := strings.Fields(q)
		s.fields[fGiven].set(w[0])
		if len(w) > 1 {
			s.fields[fFamily].set(strings.Join(w[1:], " "))
		}
	}
	for i := range s.fields {
		s.opened = append(s.opened, s.fields[i].String())
	}
	return s
}

func (s *registerScreen) title() string {
	switch {
	case s.warning:
		return "Possible duplicate — decide before a new ID is issued"
	case s.bind != "" && s.lost:
		return "Register again onto card " + s.bind
	case s.bind != "":
		return "Register onto pre-printed card " + s.bind
	}
	return "Register a new patient"
}

func (s *registerScreen) typing() bool { return !s.warning || s.overriding || s.appr != nil }

func (s *registerScreen) snapshot() func() {
	saved := *s
	saved.fields = cloneFields(s.fields)
	var appr approval
	if s.appr != nil {
		appr = *s.appr
	}
	return func() {
		*s = saved
		s.fields = cloneFields(saved.fields)
		if s.appr != nil {
			*s.appr = appr
		}
	}
}

// edited: the clerk typed something since the form opened (a name carried
// over from the search box is not theirs to lose): Esc asks first.
func (s *registerScreen) edited() bool {
	for i := range s.fields {
		if i >= len(s.opened) || strings.TrimSpace(s.fields[i].String()) != strings.TrimSpace(s.opened[i]) {
			return true
		}
	}
	return false
}

// dirty: anything typed is lost by quitting.
func (s *registerScreen) dirty() bool {
	for i := range s.fields {
		if strings.TrimSpace(s.fields[i].String()) != "" {
			return true
		}
	}
	return false
}

func (s *registerScreen) keys(e *env) []key.Binding {
	switch {
	case s.appr != nil:
		return s.appr.keys()
	case s.overriding:
		return []key.Binding{regKeys.reason}
	case s.warning:
		return []key.Binding{regKeys.up, regKeys.same, regKeys.different}
	}
	b := []key.Binding{regKeys.next, regKeys.prev, regKeys.submit}
	if s.refused != nil {
		b = append(b, regKeys.approve)
	}
	return b
}

// checkName is the desk's early check of a name part, before the registry
// (NewPatient.Validate) has the last word: a letter, no digits, control
// characters, emoji or symbols, and no longer than a card prints.
func checkName(label, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if n := len([]rune(v)); n > idcards.MaxNameRunes {
		return idcards.Errorf(idcards.Invalid, "%s is %d characters long; at most %d fit on the card", label, n, idcards.MaxNameRunes)
	}
	letter := false
	for _, r := range v {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.Is(unicode.M, r) || r == ' ' || strings.ContainsRune("-'’.,", r):
		case unicode.IsDigit(r):
			return idcards.Errorf(idcards.Invalid, "%s %q contains a digit: type the name only", label, v)
		case unicode.IsControl(r):
			return idcards.Errorf(idcards.Invalid, "%s contains a control character", label)
		case r > 0xFFFF || unicode.Is(unicode.So, r) || r == 0x200D || r == 0xFE0F:
			return idcards.Errorf(idcards.Invalid, "%s contains an emoji or picture symbol (%q): names are letters only; the card cannot print it", label, string(r))
		default:
			return idcards.Errorf(idcards.Invalid, "%s contains %q: use letters, spaces, hyphens and apostrophes", label, string(r))
		}
	}
	if !letter {
		return idcards.Errorf(idcards.Invalid, "%s %q has no letter", label, v)
	}
	return nil
}

// parseBirth reads the birth date field: a date, or an age in years,
// months, weeks or days (estimated).
func parseBirth(b string, now time.Time) (date string, estimated bool, err error) {
	b = strings.TrimSpace(b)
	switch {
	case b == "":
		return "", false, idcards.Errorf(idcards.Invalid, "a birth date or an age is needed: 1990-03-04, or an age such as 34, 3m (months) or 6w (weeks)")
	case strings.ContainsAny(b, "-/."):
		t, err := time.Parse("2006-01-02", b)
		if err != nil {
			return "", false, idcards.Errorf(idcards.Invalid, "birth date %q is not a date: use YYYY-MM-DD (e.g. 1990-03-04), or give an age", b)
		}
		if t.After(now) {
			return "", false, idcards.Errorf(idcards.Invalid, "birth date %s is in the future", b)
		}
		return b, false, nil
	}
	return registry.ParseAge(b, now)
}

// checkField is the early check of one field, run when the clerk leaves it.
func (s *registerScreen) checkField(e *env, i int) error {
	v := s.fields[i].String()
	switch i {
	case fGiven:
		return checkName("given name", v)
	case fFamily:
		return checkName("family name", v)
	case fSex:
		if strings.TrimSpace(v) == "" {
			return nil
		}
		_, err := idcards.ParseSex(strings.TrimSpace(v))
		return err
	case fBirth:
		if strings.TrimSpace(v) == "" {
			return nil
		}
		_, _, err := parseBirth(v, e.now())
		return err
	}
	return nil
}

// parse validates the form into a NewPatient.
func (s *registerScreen) parse(e *env) (registry.NewPatient, error) {
	np := registry.NewPatient{
		GivenName:  s.fields[fGiven].String(),
		FamilyName: s.fields[fFamily].String(),
		Phone:      s.fields[fPhone].String(),
		Village:    s.fields[fVillage].String(),
	}
	for _, i := range []int{fGiven, fFamily} {
		if err := s.checkField(e, i); err != nil {
			s.focus = i
			return np, err
		}
	}
	sex, err := idcards.ParseSex(strings.TrimSpace(s.fields[fSex].String()))
	if err != nil {
		s.focus = fSex
		return np, err
	}
	np.Sex = sex
	if np.BirthDate, np.BirthDateEstimated, err = parseBirth(s.fields[fBirth].String(), e.now()); err != nil {
		s.focus = fBirth
		return np, err
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
		s.seen = msg.seen
		if len(msg.cands) == 0 {
			return s.register(e, e.ctx, registry.Registration{Patient: msg.np, BindMRN: s.bind, Decision: "no duplicate candidates", CheckMark: s.seen})
		}
		s.np, s.cands, s.cursor, s.warning = msg.np, msg.cands, 0, true
		return nil
	case registeredMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		var dup *registry.DuplicateError
		if errors.As(msg.err, &dup) && len(dup.Candidates) > 0 {
			// Registered at another desk meanwhile: show that record as the
			// check's warning, to decide on it as on any other.
			s.np, s.cands, s.cursor, s.warning, s.overriding = msg.r.Patient, dup.Candidates, 0, true, false
			for _, c := range dup.Candidates {
				s.seen = max(s.seen, c.Patient.ID+1) // now seen: newer ones are checked again
			}
			s.err = "Just registered at another desk — is this the same person?"
			return nil
		}
		if msg.err != nil {
			s.err = friendly(e, "register", msg.err)
			s.warning, s.overriding = false, false
			if idcards.ErrorKind(msg.err) == idcards.Forbidden {
				r := msg.r
				s.refused = &r
				s.err += " — a supervisor can approve it at this desk: ctrl+a."
			}
			return nil
		}
		d := newDetail(e, msg.p.ID)
		if msg.r.BindMRN != "" && s.lost {
			return tea.Batch(replace(d), status(fmt.Sprintf("Registered %s again onto card %s: the card keeps working (nothing to print).", msg.p.DisplayName(), msg.mrn), false))
		}
		if msg.r.BindMRN != "" {
			// The card is already printed and in the clerk's hand.
			return tea.Batch(replace(d), status(fmt.Sprintf("Registered %s on the pre-printed card %s: hand them that card (nothing to print).", msg.p.DisplayName(), msg.mrn), false))
		}
		return tea.Batch(replace(d), status(fmt.Sprintf("Registered %s with MRN %s. Press p to print the card.", msg.p.DisplayName(), msg.mrn), false))
	case approvedMsg:
		if s.appr == nil {
			return nil
		}
		ctx, ok := s.appr.result(e, msg)
		if !ok || s.refused == nil {
			return nil
		}
		r := *s.refused
		s.appr, s.refused, s.err = nil, nil, ""
		return s.register(e, ctx, r)
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
		if s.appr != nil {
			cmd, cancel := s.appr.key(e, msg)
			if cancel {
				s.appr = nil
			}
			return cmd
		}
		if s.overriding {
			return s.overrideKey(e, msg)
		}
		if s.warning {
			return s.decide(e, msg)
		}
		switch {
		case msg.String() == "esc":
			if s.edited() {
				return askPop
			}
			return pop
		case key.Matches(msg, regKeys.approve) && s.refused != nil:
			s.appr = newApproval("this registration")
			return nil
		case key.Matches(msg, regKeys.submit) || (msg.String() == "enter" && s.focus == len(s.fields)-1):
			return s.check(e)
		case key.Matches(msg, regKeys.next) || msg.String() == "enter":
			s.leave(e)
			s.focus = (s.focus + 1) % len(s.fields)
			return nil
		case key.Matches(msg, regKeys.prev):
			s.leave(e)
			s.focus = (s.focus + len(s.fields) - 1) % len(s.fields)
			return nil
		}
		if s.fields[s.focus].handle(msg) {
			s.err = ""
		}
	}
	return nil
}

// leave checks the field the clerk is leaving, so a mistake is shown at
// once rather than at the end.
func (s *registerScreen) leave(e *env) {
	if err := s.checkField(e, s.focus); err != nil {
		s.err = err.Error()
	} else {
		s.err = ""
	}
}

// check validates the form and looks for likely duplicates.
func (s *registerScreen) check(e *env) tea.Cmd {
	np, err := s.parse(e)
	if err != nil {
		s.err = strings.TrimPrefix(err.Error(), "registry: ")
		return nil
	}
	s.err = ""
	s.pending = e.req()
	ctx, reg, req := e.ctx, e.reg, s.pending
	return func() tea.Msg {
		seen, err := reg.CheckMark(ctx)
		if err != nil {
			return candidatesMsg{req: req, np: np, err: err}
		}
		c, err := reg.Candidates(ctx, np, 5)
		return candidatesMsg{req: req, np: np, cands: c, seen: seen, err: err}
	}
}

func (s *registerScreen) register(e *env, ctx context.Context, r registry.Registration) tea.Cmd {
	s.pending = e.req()
	reg, req := e.reg, s.pending
	return func() tea.Msg {
		p, mrn, err := reg.Register(ctx, r)
		return registeredMsg{req: req, r: r, p: p, mrn: mrn, err: err}
	}
}

func (s *registerScreen) probable() int {
	n := 0
	for _, c := range s.cands {
		if c.Level == idcards.MatchProbable {
			n++
		}
	}
	return n
}

// probableMRNs lists the probable candidates' MRNs as the CLI does.
func (s *registerScreen) probableMRNs() string {
	var out []string
	for _, c := range s.cands {
		if c.Level == idcards.MatchProbable {
			out = append(out, strings.Join(c.MRNs, "/"))
		}
	}
	return strings.Join(out, ", ")
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
		if s.probable() > 0 {
			// As the CLI's --force --reason: a probable duplicate is only
			// overridden with a reason.
			s.overriding, s.err = true, ""
			s.reason.set("")
			return nil
		}
		return s.register(e, e.ctx, registry.Registration{Patient: s.np, BindMRN: s.bind, CheckMark: s.seen,
			Decision: fmt.Sprintf("%d candidates (0 probable) shown", len(s.cands))})
	}
	return nil
}

func (s *registerScreen) overrideKey(e *env, k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		s.overriding, s.err = false, ""
		return nil
	case "enter":
		reason := strings.Join(strings.Fields(s.reason.String()), " ")
		if reason == "" {
			s.err = "a reason is required: it is recorded in the audit trail"
			return nil
		}
		if err := registry.CheckOverrideReason(reason); err != nil {
			s.err = strings.TrimPrefix(err.Error(), "registry: ")
			return nil
		}
		s.err = ""
		var over []idcards.Candidate
		for _, c := range s.cands {
			if c.Level == idcards.MatchProbable {
				over = append(over, c)
			}
		}
		return s.register(e, e.ctx, registry.Registration{Patient: s.np, BindMRN: s.bind, CheckMark: s.seen, Overrides: over,
			Decision: fmt.Sprintf("override: %d probable duplicate(s) (%s); reason: %s", s.probable(), s.probableMRNs(), reason)})
	}
	if s.reason.handle(k) {
		s.err = ""
	}
	return nil
}

// warningView lists the candidates, the new record and the choice, in h
// lines: each candidate's reasons while they fit, else the selected
// candidate's only (↑/↓ shows another's), so the keys to decide stay on
// the screen with five candidates on an 80×24 terminal.
func (s *registerScreen) warningView(e *env, w, h int) (view string, tight bool) {
	st := e.st
	np := s.np.Patient()
	line := rowLayout(e, w, np, s.cands)
	var tail strings.Builder
	tail.WriteString("\n" + line("NEW", "(new ID)", np) + "\n")
	if s.overriding {
		tail.WriteString("\n" + textBlock(fmt.Sprintf("%d of them is a probable duplicate. Why is this a different person? The reason is recorded in the audit trail (esc goes back).", s.probable()), w))
		tail.WriteString(s.reason.view(st, true, w) + "\n")
	} else {
		if a := idcards.WarningAdvice(np, s.cands); a != "" {
			tail.WriteString("\n" + textBlock(a+" Esc goes back to the form; submitting checks again.", w))
		}
		tail.WriteString("\n  Ask the patient, then press\n    s  same person: use the selected record, no new ID\n    n  different person: register and issue a new ID")
		if s.probable() > 0 {
			tail.WriteString(" (asks why)")
		}
		tail.WriteString("\n")
	}
	head := st.err.Render(fmt.Sprintf("  %d existing record(s) may be this person:", len(s.cands))) + "\n"
	// The view's first line, head and the blank line below it.
	budget := h - 3 - strings.Count(tail.String(), "\n")
	full := "\n" + head + "\n" + candidateRows(e, s.cands, s.cursor, w, budget, line) + tail.String()
	if strings.Count(strings.TrimRight(full, "\n"), "\n")+1 > h || ansi.StringWidth(line("NEW", "(new ID)", np)) >= w && w < 60 {
		return s.tightWarning(e, w), true
	}
	return full, false
}

// tightWarning is the duplicate warning on a terminal too small for the
// table (40×10, say): the selected record alone, wrapped rather than cut,
// what tells the two apart first (birth date, phone, village), then why,
// then the new record; no blank lines. s / n / ↑↓ are in the key bar.
// While a reason is asked for, the question and its field come first.
func (s *registerScreen) tightWarning(e *env, w int) string {
	st := e.st
	np := s.np.Patient()
	c := s.cands[s.cursor]
	var lines []string
	add := func(style interface{ Render(...string) string }, text string) {
		lines = append(lines, wrapLines(style, text, w-1)...)
	}
	if s.err != "" {
		add(st.err, s.err) // "just registered at another desk": first
	}
	if s.overriding {
		add(st.err, fmt.Sprintf("Why is this a different person from %s? (recorded; esc goes back)", candidateMRNs(c)))
		lines = append(lines, strings.Split(strings.TrimRight(s.reason.view(st, true, w), "\n"), "\n")...)
	}
	add(st.err, fmt.Sprintf("May be this person (%d of %d):", s.cursor+1, len(s.cands)))
	add(st.selected, strings.ToUpper(string(c.Level))+" "+candidateMRNs(c)+" "+c.Patient.DisplayName())
	add(st.ok, tightDetails(c.Patient))
	if len(c.Reasons) > 0 {
		add(st.faint, "why: "+strings.Join(c.Reasons, "; "))
	}
	add(st.ok, "NEW "+np.DisplayName()+" · "+tightDetails(np))
	return strings.Join(lines, "\n") + "\n"
}

// tightDetails: sex, birth date, phone, village, as far as known.
func tightDetails(p idcards.Patient) string {
	parts := []string{string(p.Sex), shownBirth(p)}
	for _, x := range []string{p.Phone, p.Village} {
		if x != "" {
			parts = append(parts, x)
		}
	}
	return strings.Join(parts, " · ")
}

// rowLayout is the one layout of a candidate list's rows (and of the new
// record under them, np when it is not zero), so the columns line up:
// patientLine's when every row fits w, else a narrower one without the age
// (the birth date is there; the phone and village, last, tell namesakes
// apart).
//
// On a wide terminal the name column takes the room there is (nameWidth),
// so long names are shown whole rather than cut at 22 characters.
func rowLayout(e *env, w int, np idcards.Patient, cands []idcards.Candidate) func(level, mrn string, p idcards.Patient) string {
	ps, mrnW := []idcards.Patient{np}, 12
	for _, c := range cands {
		ps = append(ps, c.Patient)
		mrnW = max(mrnW, ansi.StringWidth(candidateMRNs(c)))
	}
	nameW := nameWidth(e, w, 2+9+1+mrnW+1, ps...)
	compact := false
	for _, p := range ps {
		compact = compact || ansi.StringWidth(patientLineW(p, e, nameW)) > w-25
	}
	return func(level, mrn string, p idcards.Patient) string {
		row := patientLineW(p, e, nameW)
		if compact {
			row = compactPatientLine(p)
		}
		// Still too wide: the row wraps under its name, never cut (the
		// phone and village, last, tell namesakes apart).
		return wrapRow(fmt.Sprintf("  %-9s %-12s %s", level, mrn, row), 12, w)
	}
}

// candidateRows is one row per candidate with its reasons under it, in at
// most budget lines when it can: every candidate's reasons while they fit,
// else the selected candidate's (cursor) only.
func candidateRows(e *env, cands []idcards.Candidate, cursor, w, budget int, line func(level, mrn string, p idcards.Patient) string) string {
	st := e.st
	whys := make([][]string, len(cands))
	n := 0
	for i, c := range cands {
		whys[i] = hanging("            why: ", strings.Join(c.Reasons, "; "), w)
		n += 1 + len(whys[i])
	}
	allWhys := n <= budget
	var b strings.Builder
	for i, c := range cands {
		l := line(strings.ToUpper(string(c.Level)), candidateMRNs(c), c.Patient)
		if i == cursor {
			l = st.selected.Render(l)
		}
		b.WriteString(l + "\n")
		if allWhys || i == cursor {
			for _, wl := range whys[i] {
				b.WriteString(st.faint.Render(wl) + "\n")
			}
		}
	}
	return b.String()
}

// candidateMRNs is a candidate's MRNs as the lists show them.
func candidateMRNs(c idcards.Candidate) string {
	if len(c.MRNs) == 0 {
		return "(no ID)"
	}
	return strings.Join(c.MRNs, ",")
}

// compactPatientLine is patientLine without the age column and with a
// narrower name, for the duplicate warning on a narrow terminal.
func compactPatientLine(p idcards.Patient) string {
	return strings.TrimRight(fmt.Sprintf("%-18s %s %-10s %-10s %s", truncate(p.DisplayName(), 18), p.Sex, shownBirth(p), p.Phone, p.Village), " ")
}

// hanging wraps text after lead to width w, the following lines indented
// under the text's start.
func hanging(lead, text string, w int) []string {
	ind := ansi.StringWidth(lead)
	lines := strings.Split(ansi.Wrap(text, max(w-ind, 10), ""), "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = lead + lines[i]
		} else {
			lines[i] = strings.Repeat(" ", ind) + lines[i]
		}
	}
	return lines
}

func (s *registerScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	tight := false
	if s.warning {
		var v string
		v, tight = s.warningView(e, w, h) // its own first blank line, if it has room
		b.WriteString(v)
	} else {
		b.WriteString("\n")
	}
	switch {
	case s.warning:
	case s.appr != nil:
		b.WriteString(s.appr.view(st, w))
	default:
		for i := range s.fields {
			b.WriteString(s.fields[i].view(st, i == s.focus, w) + "\n")
		}
		if s.bind != "" && s.lost {
			b.WriteString("\n  The patient gets back card " + s.bind + ", whose record a restore lost (no new number).\n")
		} else if s.bind != "" {
			b.WriteString("\n  The patient gets the pre-printed card " + s.bind + " (no new number).\n")
		}
	}
	if s.pending != 0 {
		b.WriteString("\n  Working…\n")
	}
	switch {
	case s.err != "" && !tight:
		b.WriteString("\n" + errBlock(st, s.err, w))
	case !s.warning && s.appr == nil && s.fields[s.focus].over:
		b.WriteString("\n" + errBlock(st, overMsg(&s.fields[s.focus], s.focus <= fFamily), w))
	}
	return b.String()
}

// overMsg says that a field refused characters because it is full (typed
// or pasted).
func overMsg(f *field, name bool) string {
	m := fmt.Sprintf("%s: at most %d characters", strings.ToLower(f.label), f.max)
	if name {
		m += " fit on the card"
	}
	return m
}

// takeScan: scanning a card while filling the form gives the patient that
// pre-printed card if it is unassigned; any other card shows its panel
// over the form. Either way the form keeps what the clerk typed.
func (s *registerScreen) takeScan(e *env, raw string, r scanResult) (tea.Cmd, bool) {
	if s.warning || s.pending != 0 || s.appr != nil || !r.v.Rebindable() {
		return nil, false
	}
	s.bind, s.lost, s.err = r.v.Code, r.v.Status == idcards.StatusUnknown, ""
	if s.lost {
		return status("The patient gets back card "+r.v.Code+", whose record a restore lost; the form is as you left it.", false), true
	}
	return status("The patient gets the pre-printed card "+r.v.Code+"; the form is as you left it.", false), true
}

func (s *registerScreen) focused() *field {
	switch {
	case s.appr != nil:
		return s.appr.focused()
	case s.overriding:
		return &s.reason
	case s.warning:
		return nil
	}
	return &s.fields[s.focus]
}

// mayScan: the supervisor's password field takes no scans (see approval).
func (s *registerScreen) mayScan(code string) bool {
	if s.appr != nil {
		return s.appr.mayScan(code)
	}
	return true
}

// actsOnLetters: while the duplicate warning is up, s and n decide (n may
// register): a scanner's burst must not reach them as keys.
func (s *registerScreen) actsOnLetters() bool { return s.warning && !s.overriding }
