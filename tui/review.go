package tui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// reviewer is a registry with a duplicate review list (`idcards patients
// duplicates` fills it; *registry.Store has it). The desk offers the
// review screen to supervisors when the registry has one.
type reviewer interface {
	ReviewList(ctx context.Context, all bool, limit int) ([]registry.ReviewPair, error)
	JudgeDifferent(ctx context.Context, id int64, note string) error
	JudgeSame(ctx context.Context, id, keep int64, note string) error
}

// mayReview reports whether the desk shows the review screen to this user.
func mayReview(e *env) bool {
	_, ok := e.reg.(reviewer)
	return ok && e.allowed(idcards.PermMerge)
}

// reviewScreen is the supervisor's list of possible duplicate records
// found by the whole-registry scan: each pair is judged "different people"
// (never raised again) or "the same person" (merged into the record kept).
type reviewScreen struct {
	pairs   []registry.ReviewPair
	cursor  int
	pending int
	loaded  bool
	// asking: the judgment waiting for its reason ('d', or the record
	// kept: '1' the first, '2' the second).
	asking rune
	reason field
	err    string
}

type reviewLoadedMsg struct {
	req   int
	pairs []registry.ReviewPair
	err   error
}

type reviewJudgedMsg struct {
	req  int
	text string
	err  error
}

var reviewKeys = struct{ up, down, different, keepA, keepB, open, confirm, cancel key.Binding }{
	up:        key.NewBinding(key.WithKeys("up"), key.WithHelp("↑/↓", "choose")),
	down:      key.NewBinding(key.WithKeys("down")),
	different: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "different people")),
	keepA:     key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "same: keep the first")),
	keepB:     key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "same: keep the second")),
	open:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the first")),
	confirm:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "record")),
	cancel:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
}

func newReview() *reviewScreen {
	return &reviewScreen{reason: newField("Reason", 200, "required: it is recorded in the audit trail")}
}

// start loads the list when the screen is pushed.
func (s *reviewScreen) start(e *env) tea.Cmd { return s.load(e) }

func (s *reviewScreen) load(e *env) tea.Cmd {
	s.pending = e.req()
	ctx, r, req := e.ctx, e.reg.(reviewer), s.pending
	return func() tea.Msg {
		p, err := r.ReviewList(ctx, false, 200)
		return reviewLoadedMsg{req: req, pairs: p, err: err}
	}
}

func (s *reviewScreen) title() string {
	if s.asking != 0 {
		return "Duplicates to review — why?"
	}
	return "Duplicates to review"
}

func (s *reviewScreen) typing() bool { return s.asking != 0 }

func (s *reviewScreen) focused() *field {
	if s.asking != 0 {
		return &s.reason
	}
	return nil
}

// snapshot: a scan's keys reach the reason field before its Enter shows
// they were a scan; the root puts back what they typed (the reason and the
// message under it). The list, the prompt and any answer that came
// meanwhile are kept.
func (s *reviewScreen) snapshot() func() {
	saved := *s
	return func() {
		if s.asking != saved.asking {
			return // a judgment landed or a held key opened the prompt
		}
		s.reason = saved.reason
		if s.pending == saved.pending {
			s.err = saved.err
		}
	}
}

func (s *reviewScreen) dirty() bool {
	return s.asking != 0 && strings.TrimSpace(s.reason.String()) != ""
}

// resume reloads the list (a patient opened from it may have been merged
// or edited).
func (s *reviewScreen) resume(e *env) tea.Cmd { return s.refresh(e) }

// refresh reads the list again (pairs the CLI's scan added meanwhile),
// except while a reason is typed: the pair being judged must not change
// under the prompt. A reload in flight is not started again.
func (s *reviewScreen) refresh(e *env) tea.Cmd {
	if s.asking != 0 || s.pending != 0 {
		return nil
	}
	return s.load(e)
}

func (s *reviewScreen) keys(e *env) []key.Binding {
	if s.asking != 0 {
		return []key.Binding{reviewKeys.confirm, reviewKeys.cancel}
	}
	if len(s.pairs) == 0 {
		return nil
	}
	return []key.Binding{reviewKeys.up, reviewKeys.different, reviewKeys.keepA, reviewKeys.keepB, reviewKeys.open}
}

func (s *reviewScreen) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case reviewLoadedMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending, s.loaded = 0, true
		if msg.err != nil {
			return status(friendly(e, "review list", msg.err), true)
		}
		// The chosen pair stays chosen when pairs come or go above it,
		// so a key judges the pair that was on the screen.
		cursor := min(s.cursor, max(0, len(msg.pairs)-1))
		if s.cursor < len(s.pairs) {
			for i, p := range msg.pairs {
				if p.ID == s.pairs[s.cursor].ID {
					cursor = i
				}
			}
		}
		s.pairs, s.cursor = msg.pairs, cursor
		return nil
	case reviewJudgedMsg:
		if msg.req != s.pending {
			return nil
		}
		s.pending = 0
		if msg.err != nil {
			s.err = friendly(e, "review", msg.err)
			return nil
		}
		s.asking, s.err = 0, ""
		return tea.Batch(s.load(e), status(msg.text, false))
	case tea.KeyPressMsg:
		if s.asking != 0 {
			return s.reasonKey(e, msg) // esc there closes the prompt first
		}
		if msg.String() == "esc" {
			return pop // the key bar says "esc back", also with nothing to review
		}
		if len(s.pairs) == 0 {
			return nil
		}
		switch {
		case key.Matches(msg, reviewKeys.up):
			s.cursor = max(0, s.cursor-1)
		case key.Matches(msg, reviewKeys.down):
			s.cursor = min(len(s.pairs)-1, s.cursor+1)
		case key.Matches(msg, reviewKeys.different):
			s.ask('d')
		case key.Matches(msg, reviewKeys.keepA):
			s.ask('1')
		case key.Matches(msg, reviewKeys.keepB):
			s.ask('2')
		case key.Matches(msg, reviewKeys.open):
			return push(newDetail(e, s.pairs[s.cursor].A.ID))
		}
	}
	return nil
}

func (s *reviewScreen) ask(what rune) {
	s.asking, s.err = what, ""
	s.reason.set("")
}

func (s *reviewScreen) reasonKey(e *env, k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		s.asking, s.err = 0, ""
		return nil
	case "enter":
		if s.pending != 0 {
			return nil
		}
		note := strings.Join(strings.Fields(s.reason.String()), " ")
		if note == "" {
			s.err = "a reason is required: it is recorded in the audit trail"
			return nil
		}
		p := s.pairs[s.cursor]
		s.pending = e.req()
		ctx, r, req, what := e.ctx, e.reg.(reviewer), s.pending, s.asking
		return func() tea.Msg {
			var err error
			var text string
			switch what {
			case 'd':
				err = r.JudgeDifferent(ctx, p.ID, note)
				text = fmt.Sprintf("Recorded: %s and %s are different people; this pair is not raised again.", p.A.DisplayName(), p.B.DisplayName())
			default:
				keep, from, fromMRNs, keepMRNs := p.A, p.B, p.BMRNs, p.AMRNs
				if what == '2' {
					keep, from, fromMRNs, keepMRNs = p.B, p.A, p.AMRNs, p.BMRNs
				}
				err = r.JudgeSame(ctx, p.ID, keep.ID, note)
				text = fmt.Sprintf("Merged: %s (%s) is now the record of %s (%s), with that record's name and details; its cards still scan.", from.DisplayName(), strings.Join(fromMRNs, ","), keep.DisplayName(), strings.Join(keepMRNs, ","))
			}
			return reviewJudgedMsg{req: req, text: text, err: err}
		}
	}
	if s.reason.handle(k) {
		s.err = ""
	}
	return nil
}

func (s *reviewScreen) view(e *env, w, h int) string {
	st := e.st
	var b strings.Builder
	b.WriteString("\n")
	switch {
	case !s.loaded:
		b.WriteString("  Loading…\n")
		return b.String()
	case len(s.pairs) == 0:
		b.WriteString("  Nothing to review.\n\n")
		b.WriteString(st.faint.Render("  `idcards patients duplicates` scans the whole registry and puts the pairs") + "\n")
		b.WriteString(st.faint.Render("  that may be one person here.") + "\n")
		return b.String()
	}
	b.WriteString(textBlock(fmt.Sprintf("%d pair(s) that may be one person, most likely first", len(s.pairs)), w) + "\n")
	nameW := s.nameWidth(e, w)
	if s.asking != 0 {
		p := s.pairs[s.cursor]
		b.WriteString(pairLines(st, p, e, w, nameW, true))
		switch s.asking {
		case 'd':
			b.WriteString("\n  Not the same person: this pair will not be raised again.\n")
		case '1':
			b.WriteString("\n" + textBlock(fmt.Sprintf("The same person: the second record is merged into the first (%s).", strings.Join(p.AMRNs, ",")), w))
		case '2':
			b.WriteString("\n" + textBlock(fmt.Sprintf("The same person: the first record is merged into the second (%s).", strings.Join(p.BMRNs, ",")), w))
		}
		b.WriteString("\n" + s.reason.view(st, true, w) + "\n")
		if s.err != "" {
			b.WriteString("\n" + errBlock(st, s.err, w))
		}
		return b.String()
	}
	// As many pairs as fit, the chosen one always among them.
	shown := make([]string, len(s.pairs))
	for i, p := range s.pairs {
		shown[i] = pairLines(st, p, e, w, nameW, i == s.cursor) + "\n"
	}
	height := func(i int) int { return strings.Count(shown[i], "\n") }
	room := max(1, h-3)
	start := 0
	for used := 0; ; start++ {
		used = 0
		for i := start; i <= s.cursor; i++ {
			used += height(i)
		}
		if used <= room || start == s.cursor {
			break
		}
	}
	for i, used := start, 0; i < len(s.pairs); i++ {
		if used+height(i) > room && i > start {
			break
		}
		used += height(i)
		b.WriteString(shown[i])
	}
	return b.String()
}

// nameWidth is the name column shared by every pair's rows, so they line
// up: nameCol, wider on a wide terminal when names are longer.
func (s *reviewScreen) nameWidth(e *env, w int) int {
	var ps []idcards.Patient
	mrnW := 12
	for _, p := range s.pairs {
		ps = append(ps, p.A, p.B)
		mrnW = max(mrnW, ansi.StringWidth(pairMRNs(p.AMRNs)), ansi.StringWidth(pairMRNs(p.BMRNs)))
	}
	return nameWidth(e, w, 11+mrnW, ps...)
}

func pairMRNs(m []string) string {
	if len(m) == 0 {
		return "(no ID)"
	}
	return strings.Join(m, ",")
}

// pairLines shows one pair: its probability, both records and why.
func pairLines(st styles, p registry.ReviewPair, e *env, w, nameW int, selected bool) string {
	first := fmt.Sprintf("  %3.0f%%  1 %-12s %s", 100*p.Probability, pairMRNs(p.AMRNs), patientLineW(p.A, e, nameW))
	second := fmt.Sprintf("        2 %-12s %s", pairMRNs(p.BMRNs), patientLineW(p.B, e, nameW))
	// On a narrow terminal a row wraps under itself rather than being cut.
	first, second = wrapRow(first, 10, w), wrapRow(second, 10, w)
	if selected {
		first = styledLines(st.selected, first)
	}
	// The reasons are wrapped, never cut: they are what the judgment rests on.
	var why strings.Builder
	for _, l := range strings.Split(ansi.Wrap(strings.Join(p.Reasons, " · "), max(w-8, 10), ""), "\n") {
		why.WriteString(st.faint.Render("        "+l) + "\n")
	}
	return first + "\n" + second + "\n" + why.String()
}

// actsOnLetters: d, 1 and 2 judge a pair here (and a scanner sends
// digits and letters), so while no reason is asked for the root holds
// plain keys until a burst is ruled out (see Model.waiting).
func (s *reviewScreen) actsOnLetters() bool { return s.asking == 0 }
