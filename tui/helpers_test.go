package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/idcards/idcards/internal/pgtest"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

var (
	testNow   = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	testActor = idcards.Actor{Name: "os:clerk", Role: idcards.RoleOperator}
	testFmt   = idcards.Format{Prefix: "042", Width: 6, Scheme: "luhn"}
)

// newStore creates a real SQLite registry in a temp dir with a fixed clock.
// newStore is a fresh registry with one supervisor account (supUser).
func newStore(t testing.TB) *registry.Store {
	t.Helper()
	s := newEmptyStore(t)
	if err := s.AddUser(idcards.WithActor(context.Background(), testActor), registry.NewUser{Username: supUser, Role: idcards.RoleSupervisor, Password: supPass}); err != nil {
		t.Fatal(err)
	}
	return s
}

// newEmptyStore is a fresh registry without accounts (a first run).
func newEmptyStore(t testing.TB) *registry.Store {
	t.Helper()
	ctx := idcards.WithActor(context.Background(), testActor)
	s, err := registry.Create(ctx, pgtest.Location(t), testFmt)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return testNow }
	t.Cleanup(func() { s.Close() })
	return s
}

// fakePrinter records the cards in the registry (as the PDF printer will)
// and remembers what it was asked.
type fakePrinter struct {
	s     *registry.Store
	calls []string
}

func (p *fakePrinter) PrintCards(ctx context.Context, mrns []string, reprint bool, reason string) (string, error) {
	if _, err := p.s.RecordCards(ctx, mrns, "test", "", reason); err != nil {
		return "", err
	}
	c := strings.Join(mrns, ",")
	if reprint {
		c += " reprint: " + reason
	}
	p.calls = append(p.calls, c)
	return "cards.pdf", nil
}

// clock is a fake clock advanced by each key press (step).
type clock struct {
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

func testConfig(s *registry.Store, p Printer, c *clock) Config {
	return Config{Registry: deskReg{s}, Printer: p, Actor: testActor, Site: "042", Now: c.now}
}

// deskReg is the real registry as the desk sees it (tests wrap it to spy
// on or replace one method).
type deskReg struct{ *registry.Store }

// The supervisor who countersigns at the desk in these tests.
const supUser, supPass = "sam", "supervisor pass 42 lantern"

// Key helpers.
func keyText(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }
func keyCode(c rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: c} }
func ctrl(r rune) tea.KeyPressMsg    { return tea.KeyPressMsg{Code: r, Mod: tea.ModCtrl} }

var (
	enter = keyCode(tea.KeyEnter)
	tab   = keyCode(tea.KeyTab)
	esc   = keyCode(tea.KeyEscape)
)

func typed(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		if r == ' ' {
			out = append(out, tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
			continue
		}
		out = append(out, keyText(r))
	}
	return out
}

// drive feeds messages to the model and runs every command synchronously,
// feeding its messages back, until nothing is left.
func drive(t testing.TB, m tea.Model, msgs ...tea.Msg) tea.Model {
	t.Helper()
	queue := append([]tea.Msg(nil), msgs...)
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		queue = append(runCmd(cmd), queue...)
	}
	return m
}

func runCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil, tea.QuitMsg:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, runCmd(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

func screenText(m tea.Model) string {
	return ansi.Strip(m.(Model).render())
}

func register(t testing.TB, s *registry.Store, given, family, birth string) (idcards.Patient, string) {
	t.Helper()
	ctx := idcards.WithActor(context.Background(), testActor)
	p, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: given, FamilyName: family, Sex: idcards.SexFemale, BirthDate: birth}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p, mrn
}
