package tui

import (
	"context"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
)

// The patient screen's o key: a registration that sync held because
// OpenMRS may already have the person is settled at the desk, while the
// patient is there to ask, as idcards sync resolve --same/--different
// does. It is a supervisor's judgement: at a clerk's desk the supervisor
// types their password (one approval, audited under both names).

// mayJudge: o is offered when a look-alike is open, the desk can settle
// it, and the user may, or may ask a supervisor to (a clerk).
func (s *detailScreen) mayJudge(e *env) bool {
	_, open := s.sync.Lookalike()
	return open && e.judge != nil && (e.allowed(idcards.PermResolve) || e.allowed(idcards.PermRegister))
}

func (s *detailScreen) startLookalike(e *env) {
	if _, open := s.sync.Lookalike(); !open {
		s.err = "no OpenMRS look-alike is waiting for this patient"
		return
	}
	if e.judge == nil {
		s.err = "this desk cannot settle OpenMRS look-alikes: a supervisor runs idcards sync resolve"
		return
	}
	if !s.mayJudge(e) {
		s.err = "you may not settle OpenMRS look-alikes"
		return
	}
	s.note.set("")
	s.mode, s.err = modeLookalikeChoice, ""
}

func (s *detailScreen) lookalikeKey(e *env, k tea.KeyPressMsg) tea.Cmd {
	switch s.mode {
	case modeLookalikeChoice:
		switch k.String() {
		case "s", "d":
			s.same = k.String() == "s"
			s.mode = modeLookalikeNote
		case "esc", "n":
			s.mode = modeNormal
			return status("Nothing decided.", false)
		}
		return nil
	}
	switch k.String() {
	case "esc":
		s.mode, s.err = modeLookalikeChoice, ""
	case "enter":
		if strings.TrimSpace(s.note.String()) == "" {
			s.err = "say how you know: it is recorded with the decision"
			return nil
		}
		s.err = ""
		if !e.allowed(idcards.PermResolve) {
			s.mode, s.appr, s.apprFor = modeApproval, newApproval("this decision"), modeLookalikeNote
			return nil
		}
		return s.judge(e, e.ctx)
	default:
		s.note.handle(k)
	}
	return nil
}

// judge settles the open look-alike with ctx (the supervisor's own, or
// their approval at a clerk's desk).
func (s *detailScreen) judge(e *env, ctx context.Context) tea.Cmd {
	c, open := s.sync.Lookalike()
	s.mode = modeNormal
	if !open {
		s.err = "the OpenMRS look-alike was settled meanwhile"
		return nil
	}
	j, same, note := e.judge, s.same, strings.Join(strings.Fields(s.note.String()), " ")
	reg, id, name := e.reg, s.id, s.p.DisplayName()
	carded := false
	for _, c := range s.cards {
		carded = carded || c.State == idcards.CardActive
	}
	busy := "Recording: different people…"
	if same {
		busy = "Reading OpenMRS's record and linking…"
	}
	return s.action(e, busy, func() (string, error) {
		if err := j.JudgeLookalike(ctx, c.ID, same, note); err != nil {
			return "", err
		}
		if same {
			msg := fmt.Sprintf("One person: %s is OpenMRS's record now (its details are taken from there) and its IDs go onto it at the next sync.", name)
			if p, err := reg.Patient(ctx, id); err == nil && carded && p.DisplayName() != name {
				// The card names the patient as the desk wrote them.
				msg += fmt.Sprintf(" The card printed earlier says %q: press r to reprint it as %q if the patient wants.", name, p.DisplayName())
			}
			return msg, nil
		}
		return fmt.Sprintf("Different people: %s is sent to OpenMRS as a new patient at the next sync.", name), nil
	})
}

func (s *detailScreen) lookalikeView(e *env, w int) string {
	c, _ := s.sync.Lookalike()
	who := c.Summary
	if who == "" {
		who = truncate(c.Detail, 300)
	}
	name := s.p.DisplayName()
	if s.mode == modeLookalikeChoice {
		return "\n" + spaceBlock(fmt.Sprintf("Is %s the same person as OpenMRS's %s? Ask the patient. s: the same person (this record becomes OpenMRS's: its details are taken from there and its IDs added to it). d: different people (%s is sent to OpenMRS as a new patient). esc: not now.", name, strings.TrimRight(who, ". "), name), w)
	}
	what := name + " is not the same person"
	if s.same {
		what = name + " is the same person"
	}
	return "\n" + spaceBlock(what+" as OpenMRS's "+strings.TrimRight(who, ". ")+": how do you know? It is recorded with the decision (enter; esc goes back).", w) + s.note.view(e.st, true, w) + "\n"
}

// spaceBlock is textBlock wrapped at spaces only: a date such as
// 1990-04-12 is not broken at its dashes.
func spaceBlock(text string, w int) string {
	lines := wrapWords(text, max(w-4, 10))
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
