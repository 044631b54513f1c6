package tui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// findScreen is the home screen: type a name, phone, date of birth or MRN,
// press Enter to search; pick a result or register a new patient.
type findScreen struct {
	q        field
	results  []idcards.Patient
	mrns     map[int64]string
	cursor   int
	pending  int
	searched string
}

type searchedMsg struct {
	req     int
	q       string
	results []idcards.Patient
	mrns    map[int64]string // active MRN(s) per patient
	// badCheck: the text has an MRN's shape but a wrong check character
	// (the same answer a scan gives).
	badCheck bool
	// notID: the text has an ID's shape (letters and three or more
	// digits) but is no ID of this registry (a misread card: O for 0, a
	// character dropped) or one it never issued; the verification's
	// detail says which.
	notID string
	err   error
}

var findKeys = struct{ search, open, register, review, up, down key.Binding }{
	search:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "search/open")),
	open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
	register: key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "new patient")),
	review:   key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "duplicates")),
	up:       key.NewBinding(key.WithKeys("up"), key.WithHelp("↑/↓", "choose")),
	down:     key.NewBinding(key.WithKeys("down")),
}

func newFind() *findScreen {
	return &findScreen{q: newField("Find", 80, "name, phone, birth year or date, or ID")}
}

func (s *findScreen) title() string { return "Find or register" }
func (s *findScreen) typing() bool  { return true }
func (s *findScreen) oneField()     {}
func (s *findScreen) snapshot() func() {
	saved := *s
	return func() { *s = saved }
}

// resume repeats the search shown, so an edited or newly registered
// patient appears as they are now.
func (s *findScreen) resume(e *env) tea.Cmd {
	if s.searched == "" || s.pending != 0 {
		return nil
	}
	s.pending = e.req()
	return search(e.ctx, e.reg, s.pending, s.searched)
}
func (s *findScreen) keys(e *env) []key.Binding {
	if mayReview(e) {
		return []key.Binding{findKeys.search, findKeys.up, findKeys.register, findKeys.review}
	}
	return []key.Binding{findKeys.search, findKeys.up, findKeys.register}
}

func search(ctx context.Context, reg Registry, req int, q string) tea.Cmd {
	return func() tea.Msg {
		r, err := reg.SearchPatients(ctx, q, 50)
		m := searchedMsg{req: req, q: q, results: r, err: err, mrns: map[int64]string{}}
		if mrnShaped(q) {
			// The same verification path as a scan: a typed ID with a
			// wrong check character is a typo, not an unknown patient.
			if v, verr := reg.Verify(ctx, q); verr == nil {
				switch v.Status {
				case idcards.StatusInvalidCheck:
					m.badCheck = true
				case idcards.StatusMalformed, idcards.StatusUnknown:
					m.notID = v.Detail
				}
			}
		}
		for _, p := range r {
			ids, err := reg.PatientIdentifiers(ctx, p.ID)
			if err != nil {
				m.err = err
				break
			}
			var act []string
			for _, id := range ids {
				if id.State == idcards.IDActive {
					act = append(act, id.MRN)
				}
			}
			m.mrns[p.ID] = strings.Join(act, ",")
		}
		return m
	}
}

func (s *findScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case searchedMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		if msg.err != nil {
			return status(friendly(e, "search", msg.err), true)
		}
		s.results, s.mrns, s.cursor, s.searched = msg.results, msg.mrns, 0, msg.q
		switch {
		case msg.badCheck && len(msg.results) == 0:
			return status(fmt.Sprintf("%s: wrong check character — probably mistyped. Check the card and type it again, or scan it.", msg.q), true)
		case msg.badCheck:
			return status(fmt.Sprintf("As an ID, %s has a wrong check character — probably mistyped; the matches below are by phone or name.", msg.q), false)
		case msg.notID != "" && len(msg.results) == 0:
			// Not "register a new patient": a misread card is how a
			// second record gets made.
			return status(fmt.Sprintf("%s is not an ID of this registry (%s). Scan the card again or type it carefully, or search by name or phone.", msg.q, msg.notID), true)
		case len(msg.results) == 0:
			return status(fmt.Sprintf("No patient matches %q. Press ctrl+n to register a new patient.", msg.q), false)
		}
		return nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, findKeys.register):
			return push(newRegister(e, s.q.String(), ""))
		case key.Matches(msg, findKeys.review):
			if mayReview(e) {
				return push(newReview())
			}
			if _, ok := e.reg.(reviewer); ok {
				// The key is not offered to a clerk, but pressing it
				// should not look like a dead keyboard.
				return status("Reviewing duplicates is a supervisor's job: ask a supervisor to sign in and press ctrl+d.", false)
			}
			return nil
		case key.Matches(msg, findKeys.up):
			if s.cursor > 0 {
				s.cursor--
			}
			return nil
		case key.Matches(msg, findKeys.down):
			if s.cursor < len(s.results)-1 {
				s.cursor++
			}
			return nil
		case msg.String() == "enter":
			q := strings.TrimSpace(s.q.String())
			if is2D(q) {
				// A card's 2D content typed or pasted: the same as a scan.
				s.q.set("")
				return scan(q)
			}
			if q != "" && q != s.searched {
				s.pending = e.req()
				return search(e.ctx, e.reg, s.pending, q)
			}
			if len(s.results) > 0 {
				return push(newDetail(e, s.results[s.cursor].ID))
			}
			return nil
		case msg.String() == "esc":
			s.q.set("")
			s.results, s.searched = nil, ""
			return nil
		}
		if s.q.handle(msg) {
			if s.q.String() != s.searched && s.searched != "" {
				s.results, s.searched = nil, ""
			}
		}
	}
	return nil
}

func (s *findScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	b.WriteString("\n" + s.q.view(st, true, w) + "\n\n")
	switch {
	case s.pending != 0:
		b.WriteString("  Searching…\n")
	case s.searched == "":
		if w >= 72 {
			b.WriteString(st.faint.Render("  Type and press enter to search: a name (accents and case do not") + "\n")
			b.WriteString(st.faint.Render("  matter), a phone in any form, a birth year (1990) or date, or an ID.") + "\n")
			b.WriteString(st.faint.Render("  Scan a card at any time. Not found? ctrl+n registers a new patient.") + "\n")
		} else { // a narrow terminal: the same words wrapped
			b.WriteString(styledBlock(st.faint, "Type and press enter to search: a name (accents and case do not matter), a phone in any form, a birth year (1990) or date, or an ID. Scan a card at any time. Not found? ctrl+n registers a new patient.", w))
		}
	default:
		fmt.Fprintf(&b, "  %d match(es) for %q\n", len(s.results), s.searched)
		// The rows that fit under the field and the count (4 lines), the
		// chosen one among them; a line says how many more there are.
		rows := h - 4
		if len(s.results) > rows {
			rows--
		}
		rows = max(rows, 1)
		start := 0
		if s.cursor >= rows {
			start = s.cursor - rows + 1
		}
		for i := start; i < len(s.results) && i-start < rows; i++ {
			mrn := s.mrns[s.results[i].ID]
			if mrn == "" {
				mrn = "(no ID)"
			}
			// On a narrow terminal a row wraps under itself, never cut.
			line := wrapRow(fmt.Sprintf("  %-12s %s", mrn, patientLine(s.results[i], e)), 15, w)
			if i == s.cursor {
				line = styledLines(st.selected, line)
			}
			b.WriteString(line + "\n")
		}
		if more := len(s.results) - rows; more > 0 {
			b.WriteString(st.faint.Render(fmt.Sprintf("  ▼ %d more (↑/↓ scrolls)", more)) + "\n")
		}
	}
	return b.String()
}

// nameCol is the lists' name column: what fits an 80-column terminal.
const nameCol = 22

func patientLine(p idcards.Patient, e *env) string { return patientLineW(p, e, nameCol) }

// patientLineW is patientLine with a name column nameW wide (see
// nameWidth): the name cut to it, or padded to it so the columns after
// it line up.
func patientLineW(p idcards.Patient, e *env, nameW int) string {
	name := truncate(p.DisplayName(), nameW)
	pad := strings.Repeat(" ", max(0, nameW-ansi.StringWidth(name)))
	return strings.TrimRight(name+pad+" "+patientRest(p, e), " ")
}

// patientRest is a list row after the name: sex, birth date, age, phone,
// village.
func patientRest(p idcards.Patient, e *env) string {
	return fmt.Sprintf("%s %-10s %-6s %-13s %s", p.Sex, shownBirth(p), age(p.BirthDate, e.now()), p.Phone, p.Village)
}

// nameWidth is the name column's width for rows of ps on a terminal w
// wide, with lead columns before the name: nameCol, or wider when a name
// is longer and the terminal has room — the name whole if every row then
// still fits w, else as much of it as fits. Two records that differ only
// at the end of a long name ("… Bergh", "… Berghe") are then told apart.
func nameWidth(e *env, w, lead int, ps ...idcards.Patient) int {
	longest, rest := 0, 0
	for _, p := range ps {
		longest = max(longest, ansi.StringWidth(p.DisplayName()))
		rest = max(rest, ansi.StringWidth(strings.TrimRight(patientRest(p, e), " ")))
	}
	return max(nameCol, min(longest, w-lead-1-rest))
}

// shownBirth is the birth date as lists show it: "~1990" for an
// estimate, "—" when unknown.
func shownBirth(p idcards.Patient) string {
	switch {
	case p.BirthDateEstimated && len(p.BirthDate) >= 4:
		return "~" + p.BirthDate[:4]
	case p.BirthDate == "":
		return "—"
	}
	return p.BirthDate
}

func (s *findScreen) focused() *field { return &s.q }

// mrnShaped: one word of letters and digits (dashes and spaces as people
// write them aside) with at least 3 digits — what an ID typed by hand
// looks like. Verify says whether it is one.
func mrnShaped(q string) bool {
	n := barcode.Normalize(q)
	digits := 0
	for _, r := range n {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r >= 'A' && r <= 'Z':
		default:
			return false
		}
	}
	return digits >= 3 && len(n) <= 24
}
