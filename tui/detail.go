package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// detailScreen shows one patient: demographics, IDs and cards, and the
// actions on them: edit, issue another ID, print, reprint with a reason,
// bind a pre-printed card, void (a supervisor may approve it at the desk).
type detailScreen struct {
	id      int64
	p       *idcards.Patient
	ids     []idcards.Identifier
	cards   []idcards.Card
	sync    registry.PatientSync
	cursor  int // selected identifier
	mode    int
	reason  field
	cardNo  field // the pre-printed card's number, typed at the b prompt
	note    field // how the supervisor knows, judging an OpenMRS look-alike
	same    bool  // the look-alike judgement being made: one person
	appr    *approval
	apprFor int // the prompt whose action the approval allows (modeVoidConfirm, modeLookalikeNote)
	pending int
	busy    string
	err     string
	// checking: the pending read is a check for changes made at another
	// desk (a refresh, or the read before an action); after is the key
	// that waits for it and acts only if nothing changed; fresh says the
	// data was read for the key now acting. approved is the supervisor's
	// approval waiting for that read (the void it allows runs after it).
	checking bool
	after    *tea.KeyPressMsg
	// held: keys that do not act on the record (esc, ↑/↓, help) pressed
	// while such a read is on its way; they are applied when it is back.
	held     []tea.KeyPressMsg
	fresh    bool
	approved context.Context
	notice   string // what another desk changed, until the next key
	edited   bool   // the edit screen was opened over this one
}

const (
	modeNormal = iota
	modeReprintReason
	modeVoidReason
	modeVoidConfirm
	modeIssueReason
	modeIssueConfirm
	modeBindWait
	modeApproval
	modeLookalikeChoice // s same person / d different people
	modeLookalikeNote   // how the supervisor knows
)

type (
	detailMsg struct {
		req   int
		p     idcards.Patient
		ids   []idcards.Identifier
		cards []idcards.Card
		sync  registry.PatientSync
		err   error
	}
	actionMsg struct {
		req  int
		what string
		err  error
	}
)

var detailKeys = struct {
	print, reprint, issue, bind, void, voidSup, edit, choose, yes, no, confirm, bindEnter key.Binding
	lookalike, same, different                                                            key.Binding
}{
	lookalike: key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "OpenMRS look-alike: same person?")),
	same:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "same person")),
	different: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "different people")),
	edit:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit details")),
	bind:      key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "give pre-printed card")),
	print:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "print card")),
	reprint:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reprint lost card")),
	issue:     key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "issue another ID")),
	void:      key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "void ID")),
	voidSup:   key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "void ID (supervisor approves)")),
	choose:    key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "choose ID")),
	yes:       key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
	no:        key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
	confirm:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
	bindEnter: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "give the typed card")),
}

func newDetail(e *env, id int64) *detailScreen {
	return &detailScreen{id: id, reason: newField("Reason", 200, "required, e.g. card lost at home"),
		note:   newField("How you know", 200, "required, e.g. the patient confirmed the 2019 visit"),
		cardNo: newField("Card number", 64, "scan the card, or type its number and press enter")}
}

func (s *detailScreen) title() string {
	if s.p == nil {
		return "Patient"
	}
	return "Patient · " + s.p.DisplayName()
}

func (s *detailScreen) working() bool { return s.busy != "" }

func (s *detailScreen) typing() bool {
	switch s.mode {
	case modeReprintReason, modeVoidReason, modeIssueReason, modeBindWait, modeApproval, modeLookalikeNote:
		return true
	}
	return false
}

func (s *detailScreen) snapshot() func() {
	saved := *s
	var appr approval
	if s.appr != nil {
		appr = *s.appr
	}
	return func() {
		// A scan changes nothing here but the answer it brings.
		pending, busy, p, ids, cards, sync, checking, notice, approved := s.pending, s.busy, s.p, s.ids, s.cards, s.sync, s.checking, s.notice, s.approved
		*s = saved
		s.pending, s.busy, s.p, s.ids, s.cards, s.sync, s.checking, s.notice, s.approved = pending, busy, p, ids, cards, sync, checking, notice, approved
		if s.appr != nil {
			*s.appr = appr
		}
	}
}

func (s *detailScreen) dirty() bool {
	if s.mode == modeLookalikeNote {
		return strings.TrimSpace(s.note.String()) != ""
	}
	return s.typing() && s.mode != modeBindWait && s.mode != modeApproval && strings.TrimSpace(s.reason.String()) != ""
}

func (s *detailScreen) keys(e *env) []key.Binding {
	switch s.mode {
	case modeReprintReason, modeVoidReason, modeIssueReason:
		return []key.Binding{detailKeys.confirm}
	case modeVoidConfirm, modeIssueConfirm:
		return []key.Binding{detailKeys.yes, detailKeys.no}
	case modeBindWait:
		return []key.Binding{detailKeys.bindEnter}
	case modeApproval:
		return s.appr.keys()
	case modeLookalikeChoice:
		return []key.Binding{detailKeys.same, detailKeys.different, detailKeys.no}
	case modeLookalikeNote:
		return []key.Binding{detailKeys.confirm}
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
	if e.allowed(idcards.PermRegister) {
		b = append(b, detailKeys.edit)
	}
	if e.allowed(idcards.PermIssue) {
		b = append(b, detailKeys.issue, detailKeys.bind)
	}
	switch {
	case e.allowed(idcards.PermVoid):
		b = append(b, detailKeys.void)
	case e.allowed(idcards.PermIssue):
		b = append(b, detailKeys.voidSup)
	}
	if s.mayJudge(e) {
		b = append(b, detailKeys.lookalike)
	}
	return b
}

func (s *detailScreen) start(e *env) tea.Cmd { return s.load(e) }

// resume reloads the patient after an edit or anything else done above;
// unless it was this desk's own edit, what changed meanwhile is said.
func (s *detailScreen) resume(e *env) tea.Cmd {
	if s.pending != 0 {
		return nil
	}
	s.checking = !s.edited
	s.edited = false
	return s.load(e)
}

// refresh re-reads the patient while the screen is on top and idle (with
// the status line, every 5 s): another desk may have voided an ID, edited
// the record or printed a card. Not while a prompt or an action is open.
func (s *detailScreen) refresh(e *env) tea.Cmd {
	if s.pending != 0 || s.mode != modeNormal || s.p == nil {
		return nil
	}
	s.checking = true
	return s.load(e)
}

// actsOnStatus: the keys whose action depends on the record as it is now
// (its IDs' states, its details): the record is read again before they act.
func actsOnStatus(k tea.KeyPressMsg) bool {
	for _, b := range []key.Binding{detailKeys.print, detailKeys.reprint, detailKeys.edit, detailKeys.issue, detailKeys.bind, detailKeys.void, detailKeys.lookalike} {
		if key.Matches(k, b) {
			return true
		}
	}
	return false
}

// finalStep: the key that acts after a prompt (enter on a reprint or
// second-ID reason that is filled in, y on a confirmation). The record is
// read again before it acts, as before the key that opened the prompt:
// the clerk may have typed for a while, and another desk may have printed
// a card, issued an ID, voided the ID or merged the record meanwhile (the
// registry refuses some of these — a voided MRN printed, an ID voided
// twice, an ID for a merged record — but not a reprint over another
// desk's new card, a third ID, or a void of an ID a merge moved).
func (s *detailScreen) finalStep(k tea.KeyPressMsg) bool {
	switch s.mode {
	case modeReprintReason, modeIssueReason:
		return k.String() == "enter" && strings.TrimSpace(s.reason.String()) != ""
	case modeVoidConfirm, modeIssueConfirm:
		return k.String() == "y"
	case modeLookalikeNote:
		return k.String() == "enter" && strings.TrimSpace(s.note.String()) != ""
	}
	return false
}

// actionKey is the key that starts the action a prompt belongs to, for
// "press r again".
func actionKey(mode int) string {
	switch mode {
	case modeReprintReason:
		return "r"
	case modeIssueReason, modeIssueConfirm:
		return "i"
	case modeVoidReason, modeVoidConfirm, modeApproval:
		return "v"
	case modeLookalikeChoice, modeLookalikeNote:
		return "o"
	}
	return ""
}

// otherDeskChanges says what differs between the record as shown (old)
// and as read now, in a clerk's words: "0420000028 voided (registered
// twice)", "family name Atim → Atimo", "new card C… for 0420000028".
func otherDeskChanges(old *idcards.Patient, oldIDs []idcards.Identifier, oldCards []idcards.Card, m detailMsg) []string {
	if old == nil {
		return nil
	}
	var out []string
	if old.MergedInto == 0 && m.p.MergedInto != 0 {
		out = append(out, "the record was merged into another (the same person)")
	}
	for _, c := range registry.PatientChanges(*old, m.p) {
		f := strings.ReplaceAll(c.Field, "_", " ")
		if c.Field == "birth_date_estimated" {
			out = append(out, "birth date estimated: "+c.Old+" → "+c.New)
			continue
		}
		out = append(out, fmt.Sprintf("%s %s → %s", f, orNone(c.Old), orNone(c.New)))
	}
	was := map[string]idcards.Identifier{}
	for _, id := range oldIDs {
		was[id.MRN] = id
	}
	for _, id := range m.ids {
		o, ok := was[id.MRN]
		switch {
		case !ok:
			out = append(out, id.MRN+" issued to this patient")
		case o.State != id.State && id.State == idcards.IDVoided:
			v := id.MRN + " voided"
			if id.VoidReason != "" {
				v += " (" + id.VoidReason + ")"
			}
			out = append(out, v)
		case o.State != id.State:
			out = append(out, fmt.Sprintf("%s now %s", id.MRN, strings.ToUpper(string(id.State))))
		}
		delete(was, id.MRN)
	}
	for mrn := range was {
		out = append(out, mrn+" no longer on this record")
	}
	had := map[string]idcards.CardState{}
	for _, c := range oldCards {
		had[c.Serial] = c.State
	}
	for _, c := range m.cards {
		st, ok := had[c.Serial]
		switch {
		case !ok:
			out = append(out, "new card "+c.Serial+" for "+c.MRN)
		case st != c.State:
			out = append(out, fmt.Sprintf("card %s now %s", c.Serial, strings.ToUpper(string(c.State))))
		}
	}
	return out
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

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
		// The card in use first, then the newest.
		sort.SliceStable(m.cards, func(i, j int) bool {
			a, b := m.cards[i], m.cards[j]
			if (a.State == idcards.CardActive) != (b.State == idcards.CardActive) {
				return a.State == idcards.CardActive
			}
			return a.PrintedAt.After(b.PrintedAt)
		})
		// An account that may not read patients' sync state (an admin
		// opening a scanned card) sees the patient without it.
		if m.sync, m.err = reg.PatientSync(ctx, id); idcards.ErrorKind(m.err) == idcards.Forbidden {
			m.err = nil
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

// active returns the selected ID if it is active, else the patient's
// first active ID.
func (s *detailScreen) active() (idcards.Identifier, bool) {
	if id, ok := s.selected(); ok && id.State == idcards.IDActive {
		return id, true
	}
	for _, id := range s.ids {
		if id.State == idcards.IDActive {
			return id, true
		}
	}
	return idcards.Identifier{}, false
}

func (s *detailScreen) activeIDs() []string {
	var out []string
	for _, id := range s.ids {
		if id.State == idcards.IDActive {
			out = append(out, id.MRN)
		}
	}
	return out
}

func (s *detailScreen) hasActiveCard(mrn string) bool {
	for _, c := range s.cards {
		if c.MRN == mrn && c.State == idcards.CardActive {
			return true
		}
	}
	return false
}

func (s *detailScreen) action(e *env, busy string, fn func() (string, error)) tea.Cmd {
	s.pending = e.req()
	s.busy, s.err = busy, ""
	req := s.pending
	return func() tea.Msg {
		what, err := fn()
		return actionMsg{req: req, what: what, err: err}
	}
}

// printedWords is the printer's answer in a sentence: the contract is a
// clerk-facing phrase ("saved as /path/x.pdf", "printed on cards"); a bare
// path or "printer NAME" from an older printer is worded here.
func printedWords(mrn, where string) string {
	// After a line break: what printed differently from the record (a
	// letter no card font has, a name shortened), for the clerk to see.
	where, warning, _ := strings.Cut(where, "\n")
	if warning != "" {
		warning = " " + warning
	}
	switch {
	case where == "":
		return "Card for " + mrn + " printed."
	case strings.HasPrefix(where, "/") || strings.HasSuffix(where, ".pdf") && !strings.Contains(where, " "):
		where = "saved as " + where
	case strings.HasPrefix(where, "printer "):
		where = "sent to " + where
	}
	// The path is given whole: the status line shortens it in the middle
	// only when it is wider than the terminal (fitPaths).
	return "Card for " + mrn + " " + where + "." + warning
}

func (s *detailScreen) print(e *env, mrn string, reprint bool, reason string) tea.Cmd {
	if e.printer == nil {
		s.err = "printing is not set up on this machine"
		return nil
	}
	ctx, pr := e.ctx, e.printer
	s.mode = modeNormal
	return s.action(e, "Printing card for "+mrn+"…", func() (string, error) {
		where, err := pr.PrintCards(ctx, []string{mrn}, reprint, reason)
		return printedWords(mrn, where), err
	})
}

func (s *detailScreen) void(e *env, ctx context.Context, mrn, reason string) tea.Cmd {
	reg := e.reg
	s.mode = modeNormal
	return s.action(e, "Voiding "+mrn+"…", func() (string, error) {
		return mrn + " voided; its cards no longer verify.", reg.Void(ctx, mrn, reason)
	})
}

func (s *detailScreen) update(e *env, msg tea.Msg) (cmd tea.Cmd) {
	switch msg := msg.(type) {
	case detailMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		checking, after, approved, held := s.checking, s.after, s.approved, s.held
		s.checking, s.after, s.approved, s.held = false, nil, nil, nil
		if len(held) > 0 {
			// Apply the held keys after whatever this read leads to.
			defer func() { cmd = tea.Batch(cmd, s.heldKeys(e, held)) }()
		}
		if msg.err != nil {
			s.err = friendly(e, "load patient", msg.err)
			if s.mode == modeApproval {
				s.mode, s.appr = modeNormal, nil
			}
			return nil
		}
		var changed []string
		if checking {
			changed = otherDeskChanges(s.p, s.ids, s.cards, msg)
		}
		p := msg.p
		s.p, s.ids, s.cards, s.sync = &p, msg.ids, msg.cards, msg.sync
		if s.cursor >= len(s.ids) {
			s.cursor = 0
		}
		if len(changed) > 0 {
			e.log.Info("patient changed at another desk", "patient", s.id, "changes", len(changed))
			s.err = "" // an answer about the record as it was
			s.notice = "Changed at another desk: " + strings.Join(changed, "; ") + "."
			again := ""
			switch {
			case s.mode == modeApproval:
				again = actionKey(s.apprFor)
				s.mode, s.appr = modeNormal, nil
			case s.mode != modeNormal:
				// A prompt's final step: the prompt is closed, its
				// action is started again on the record as it is now.
				again = actionKey(s.mode)
				s.mode, s.appr = modeNormal, nil
			case after != nil:
				again = after.String()
			}
			switch {
			case approved != nil && s.apprFor == modeLookalikeNote:
				s.notice += " Nothing was decided and the supervisor's approval was not used: check the record, then press " + again + " again."
			case approved != nil:
				s.notice += " Nothing was voided and the supervisor's approval was not used: check the record, then press " + again + " again."
			case again != "":
				s.notice += " Nothing was done: check the record, then press " + again + " again."
			}
			return nil
		}
		if approved != nil {
			s.appr = nil
			if s.apprFor == modeLookalikeNote {
				return s.judge(e, approved)
			}
			id, _ := s.selected()
			return s.void(e, approved, id.MRN, strings.TrimSpace(s.reason.String()))
		}
		if after != nil {
			s.fresh = true
			return s.key(e, *after)
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
	case approvedMsg:
		if s.appr == nil {
			return nil
		}
		ctx, ok := s.appr.result(e, msg)
		if !ok {
			return nil
		}
		// Approved: read the record once more (the supervisor took a
		// while); the void runs only if nothing changed meanwhile.
		s.approved, s.checking = ctx, true
		return s.load(e)
	case tea.KeyPressMsg:
		if s.pending != 0 {
			switch {
			case s.checking && s.after == nil && s.mode == modeNormal && actsOnStatus(msg):
				// A refresh is on its way: it is the read this key waits for.
				s.after = &msg
			case s.checking && s.mode == modeNormal && !actsOnStatus(msg) && len(s.held) < 8:
				// esc or ↑/↓ during a refresh: not lost, applied after it.
				s.held = append(s.held, msg)
			}
			return nil
		}
		return s.key(e, msg)
	}
	return nil
}

// heldKeys applies keys held during a read, in order, as long as nothing
// else is on its way (a key that starts an action or a read ends the run).
func (s *detailScreen) heldKeys(e *env, held []tea.KeyPressMsg) tea.Cmd {
	var cmds []tea.Cmd
	for _, k := range held {
		if s.pending != 0 || s.mode != modeNormal {
			break
		}
		c := s.key(e, k)
		cmds = append(cmds, c)
		if c != nil {
			break // esc leaves the screen; the keys after it were not for it
		}
	}
	return tea.Batch(cmds...)
}

func (s *detailScreen) key(e *env, k tea.KeyPressMsg) tea.Cmd {
	if s.p != nil && !s.fresh && (s.mode == modeNormal && actsOnStatus(k) || s.finalStep(k)) {
		// Another desk may have changed the record since it was read:
		// read it again, and act only if nothing changed.
		s.after, s.checking = &k, true
		return s.load(e)
	}
	s.fresh = false
	if s.mode == modeNormal {
		s.notice = ""
	}
	id, haveID := s.selected()
	switch s.mode {
	case modeReprintReason, modeVoidReason, modeIssueReason:
		switch k.String() {
		case "esc":
			s.mode, s.err = modeNormal, ""
		case "enter":
			reason := strings.Join(strings.Fields(s.reason.String()), " ")
			if reason == "" {
				s.err = "a reason is required"
				return nil
			}
			s.err = ""
			switch s.mode {
			case modeReprintReason:
				return s.print(e, id.MRN, true, reason)
			case modeIssueReason:
				return s.issue(e, reason)
			}
			s.mode = modeVoidConfirm
		default:
			s.reason.handle(k)
		}
		return nil
	case modeVoidConfirm:
		s.mode = modeNormal
		if k.String() != "y" {
			return status("Nothing voided.", false)
		}
		if !e.allowed(idcards.PermVoid) {
			s.mode, s.appr, s.apprFor = modeApproval, newApproval("voiding "+id.MRN), modeVoidConfirm
			return nil
		}
		return s.void(e, e.ctx, id.MRN, strings.TrimSpace(s.reason.String()))
	case modeApproval:
		cmd, cancel := s.appr.key(e, k)
		if cancel {
			s.mode, s.appr = modeNormal, nil
			if s.apprFor == modeLookalikeNote {
				return status("Nothing decided.", false)
			}
			return status("Nothing voided.", false)
		}
		return cmd
	case modeLookalikeChoice, modeLookalikeNote:
		return s.lookalikeKey(e, k)
	case modeBindWait:
		switch k.String() {
		case "esc":
			s.mode = modeNormal
		case "enter":
			if code := strings.TrimSpace(s.cardNo.String()); code != "" {
				cmd, _ := s.bindCard(e, code)
				return cmd
			}
		default:
			s.cardNo.handle(k)
		}
		return nil
	case modeIssueConfirm:
		s.mode = modeNormal
		if k.String() == "y" {
			return s.issue(e, "")
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
		act, ok := s.active()
		if !ok {
			s.err = "this patient has no active ID to print: issue one first (i)"
			return nil
		}
		if s.hasActiveCard(act.MRN) {
			s.err = act.MRN + " already has a card: use r to reprint it with a reason"
			return nil
		}
		return s.print(e, act.MRN, false, "")
	case key.Matches(k, detailKeys.reprint):
		if !e.allowed(idcards.PermReplace) {
			s.err = "you may not reprint cards"
			return nil
		}
		act, ok := s.active()
		if !ok {
			s.err = "this patient has no active ID to reprint"
			return nil
		}
		s.cursor = s.indexOf(act.MRN)
		s.reason.set("")
		s.mode, s.err = modeReprintReason, ""
	case key.Matches(k, detailKeys.lookalike):
		s.startLookalike(e)
	case key.Matches(k, detailKeys.edit):
		if !e.allowed(idcards.PermRegister) {
			s.err = "you may not edit patients"
			return nil
		}
		if s.p == nil {
			return nil
		}
		s.edited = true
		return push(newEdit(e, *s.p))
	case key.Matches(k, detailKeys.issue):
		if !e.allowed(idcards.PermIssue) {
			s.err = "you may not issue IDs"
			return nil
		}
		s.err = ""
		if len(s.activeIDs()) > 0 {
			s.reason.set("")
			s.mode = modeIssueReason
			return nil
		}
		s.mode = modeIssueConfirm
	case key.Matches(k, detailKeys.bind):
		if !e.allowed(idcards.PermIssue) {
			s.err = "you may not give IDs to patients"
			return nil
		}
		s.cardNo.set("")
		s.mode, s.err = modeBindWait, ""
	case key.Matches(k, detailKeys.void):
		if !e.allowed(idcards.PermVoid) && !e.allowed(idcards.PermIssue) {
			s.err = "voiding needs a supervisor"
			return nil
		}
		if !haveID || id.State == idcards.IDVoided {
			s.err = "this ID is already voided: choose another with ↑/↓"
			if !haveID {
				s.err = "no ID to void"
			}
			return nil
		}
		s.reason.set("")
		s.mode, s.err = modeVoidReason, ""
	}
	return nil
}

func (s *detailScreen) indexOf(mrn string) int {
	for i, id := range s.ids {
		if id.MRN == mrn {
			return i
		}
	}
	return s.cursor
}

func (s *detailScreen) issue(e *env, reason string) tea.Cmd {
	s.mode = modeNormal
	ctx, reg, pid := e.ctx, e.reg, s.id
	old := s.activeIDs()
	return s.action(e, "Issuing…", func() (string, error) {
		got, err := reg.IssueID(ctx, pid, reason)
		if len(old) > 0 {
			return fmt.Sprintf("Issued %s; %s stays active and its card still verifies. Press p to print the new card.", got.MRN, strings.Join(old, ", ")), err
		}
		return "Issued " + got.MRN + ". Press p to print the card.", err
	})
}

func (s *detailScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	b.WriteString("\n")
	if s.p == nil {
		if s.err != "" {
			return "\n" + errBlock(st, s.err, w)
		}
		return "\n  Loading…"
	}
	p := s.p
	row := func(k, v string) { b.WriteString(wrapRow("  "+st.label.Render(k)+v, 18, w) + "\n") }
	row("Name", st.title.Render(p.DisplayName()))
	dob := p.BirthDate
	if p.BirthDateEstimated && len(dob) >= 4 {
		dob = "about " + dob[:4] + " (estimated)"
	}
	if dob == "" {
		dob = "not known"
	}
	row("Sex / born", fmt.Sprintf("%s / %s (%s)", p.Sex, dob, age(p.BirthDate, e.now())))
	if p.Phone != "" {
		row("Phone", p.Phone)
	}
	if p.Village != "" {
		row("Village", p.Village)
	}
	if s.sync.Configured && p.MergedInto == 0 {
		row("OpenMRS", s.sync.Describe(e.now()))
	}
	if p.MergedInto != 0 {
		// Another desk merged it since: its IDs and cards are on the
		// kept record now, and it takes no new ones (the registry refuses).
		b.WriteString("\n" + errBlock(st, "MERGED: a supervisor marked this record the same person as another; that record holds its IDs and cards. Press esc and search for the patient.", w) + "\n")
	} else if s.mode != modeLookalikeChoice && s.mode != modeLookalikeNote { // the prompt says who
		for _, c := range s.sync.Conflicts {
			b.WriteString("\n" + warnBlock(st, conflictAdvice(c, s.mayJudge(e)), w))
		}
	}
	b.WriteString("\n  " + st.title.Render("IDs") + "\n")
	switch {
	case len(s.ids) == 0 && p.MergedInto != 0:
		b.WriteString("  (moved to the record it was merged into)\n")
	case len(s.ids) == 0:
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
		line := wrapRow(fmt.Sprintf("  %-16s %-10s %s, %d card(s) ever", id.MRN, strings.ToUpper(string(id.State)), state, cards), 4, w)
		if i == s.cursor && len(s.ids) > 1 {
			line = styledLines(st.selected, line)
		}
		b.WriteString(line + "\n")
	}
	room := h - strings.Count(b.String(), "\n") - 6
	if len(s.cards) > 0 && s.mode == modeNormal && room < 2 {
		// No room for the list: say it is there rather than drop it unsaid.
		fmt.Fprintf(&b, "  ▼ %d card(s): a taller window lists them\n", len(s.cards))
	}
	if len(s.cards) > 0 && s.mode == modeNormal && room >= 2 {
		b.WriteString("\n  " + st.title.Render("Cards") + "\n")
		var rows []string
		for _, c := range s.cards {
			rows = append(rows, wrapRow(fmt.Sprintf("  %-12s %-10s %-9s printed %s by %s", c.MRN, c.Serial, strings.ToUpper(string(c.State)), c.PrintedAt.UTC().Format("2006-01-02 15:04"), c.PrintedBy), 4, w))
		}
		// As many cards as fit (the one in use first), then how many more.
		used := 0
		for i, r := range rows {
			n := strings.Count(r, "\n") + 1
			if i == 5 || used+n > room-1 && i > 0 {
				fmt.Fprintf(&b, "  ▼ %d more card(s)\n", len(rows)-i)
				break
			}
			b.WriteString(r + "\n")
			used += n
		}
	}
	mrn := ""
	if id, ok := s.selected(); ok {
		mrn = id.MRN
	}
	switch s.mode {
	case modeReprintReason:
		b.WriteString("\n" + textBlock("Reprint "+mrn+": the old card will scan as REPLACED.", w))
		b.WriteString(s.reason.view(st, true, w) + "\n")
	case modeVoidReason:
		b.WriteString("\n" + textBlock("Void "+mrn+": its cards will stop verifying.", w))
		b.WriteString(s.reason.view(st, true, w) + "\n")
	case modeVoidConfirm:
		b.WriteString("\n" + errBlock(st, "Void "+mrn+" for good? This cannot be undone. y/n", w))
	case modeApproval:
		b.WriteString(s.appr.view(st, w))
	case modeBindWait:
		b.WriteString("\n" + textBlock("Scan the pre-printed card to give it to "+p.DisplayName()+", or type its number and press enter (esc cancels).", w))
		b.WriteString(s.cardNo.view(st, true, w) + "\n")
	case modeIssueReason:
		old := strings.Join(s.activeIDs(), ", ")
		b.WriteString("\n" + textBlock(p.DisplayName()+" already has "+old+". A new ID does not replace it: "+old+" stays active and its card still verifies (void it with v to stop the old card; for a lost card use r instead). Why a second ID?", w))
		b.WriteString(s.reason.view(st, true, w) + "\n")
	case modeIssueConfirm:
		b.WriteString("\n  Issue an ID to " + p.DisplayName() + "? y/n\n")
	case modeLookalikeChoice, modeLookalikeNote:
		b.WriteString(s.lookalikeView(e, w))
	}
	if s.notice != "" {
		b.WriteString("\n" + warnBlock(st, s.notice, w))
	}
	if s.busy != "" {
		b.WriteString("\n  ◐ " + s.busy + "\n")
	}
	if s.err != "" {
		b.WriteString("\n" + errBlock(st, s.err, w))
	}
	return b.String()
}

// takeScan binds a scanned pre-printed card while waiting for one.
func (s *detailScreen) takeScan(e *env, raw string, r scanResult) (tea.Cmd, bool) {
	if s.mode != modeBindWait || s.pending != 0 {
		return nil, false
	}
	return s.bindCard(e, raw)
}

// bindCard gives the pre-printed card code (scanned or typed) to the patient.
func (s *detailScreen) bindCard(e *env, code string) (tea.Cmd, bool) {
	s.mode = modeNormal
	ctx, reg, pid := e.ctx, e.reg, s.id
	return s.action(e, "Giving the card to the patient…", func() (string, error) {
		v, err := reg.Verify(ctx, code)
		if err != nil {
			return "", err
		}
		if !v.Rebindable() {
			return "", idcards.Errorf(idcards.Conflict, "card %s is %s, not a blank pre-printed card: it cannot be given to this patient", printable(code), statusName(v.Status))
		}
		return "Card " + v.Code + " now belongs to this patient.", reg.Bind(ctx, v.Code, pid)
	}), true
}

func (s *detailScreen) focused() *field {
	switch s.mode {
	case modeBindWait:
		return &s.cardNo
	case modeApproval:
		return s.appr.focused()
	case modeLookalikeNote:
		return &s.note
	}
	if s.typing() {
		return &s.reason
	}
	return nil
}

// mayScan: the supervisor's password field takes no scans (see approval).
func (s *detailScreen) mayScan(code string) bool {
	if s.mode == modeApproval && s.appr != nil {
		return s.appr.mayScan(code)
	}
	return true
}

// actsOnLetters: p, r, i, v, e … are actions here, never text, except in
// the prompt for a reason or a number.
func (s *detailScreen) actsOnLetters() bool { return !s.typing() }
