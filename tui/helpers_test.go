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
func newStore(t testing.TB) *registry.Store {
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

// deskReg is a real registry with fakes for the three methods the edit
// branch adds to *registry.Store (EditPatient, Countersign, IssueID with a
// reason): the tests pin the desk's side of those contracts.
type deskReg struct{ *registry.Store }

// supervisors are the fake Countersign's accounts.
var supervisors = map[string]string{"sam": "supervisor pass"}

func (d deskReg) Countersign(ctx context.Context, user, pass string) (context.Context, error) {
	clerk, _ := idcards.ActorFrom(ctx)
	if supervisors[user] != pass || pass == "" {
		return nil, idcards.Errorf(idcards.Forbidden, "wrong user name or password")
	}
	sup := idcards.Actor{Name: user, Role: idcards.RoleSupervisor}
	if err := d.Audit(idcards.WithActor(ctx, sup), "approval.countersign", clerk.Name, "approved at "+clerk.Name+"'s desk"); err != nil {
		return nil, err
	}
	return idcards.WithActor(ctx, sup), nil
}

func (d deskReg) IssueID(ctx context.Context, patientID int64, reason string) (idcards.Identifier, error) {
	ids, err := d.PatientIdentifiers(ctx, patientID)
	if err != nil {
		return idcards.Identifier{}, err
	}
	for _, id := range ids {
		if id.State == idcards.IDActive && strings.TrimSpace(reason) == "" {
			return idcards.Identifier{}, idcards.Errorf(idcards.Invalid, "patient already has active ID %s: a reason is required", id.MRN)
		}
	}
	got, err := storeIssue(ctx, d.Store, patientID, reason)
	if err == nil && reason != "" {
		err = d.Audit(ctx, "identifier.issue_reason", got.MRN, reason)
	}
	return got, err
}

// storeIssue calls the Store's IssueID with or without a reason, whichever
// it has (the edit branch adds the reason), so the tests build before and
// after that merge.
func storeIssue(ctx context.Context, s *registry.Store, patientID int64, reason string) (idcards.Identifier, error) {
	switch is := any(s).(type) {
	case interface {
		IssueID(context.Context, int64, string) (idcards.Identifier, error)
	}:
		return is.IssueID(ctx, patientID, reason)
	case interface {
		IssueID(context.Context, int64) (idcards.Identifier, error)
	}:
		return is.IssueID(ctx, patientID)
	}
	panic("registry.Store has no IssueID")
}

func (d deskReg) EditPatient(ctx context.Context, e registry.PatientEdit) (idcards.Patient, []idcards.Candidate, error) {
	p, err := d.Patient(ctx, e.ID)
	if err != nil {
		return p, nil, err
	}
	if (e.GivenName != nil || e.FamilyName != nil || e.BirthDate != nil) && strings.TrimSpace(e.Reason) == "" {
		return p, nil, idcards.Errorf(idcards.Invalid, "a reason is required")
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.GivenName, e.GivenName)
	set(&p.FamilyName, e.FamilyName)
	set(&p.BirthDate, e.BirthDate)
	set(&p.Phone, e.Phone)
	set(&p.Village, e.Village)
	if e.Sex != nil {
		p.Sex = *e.Sex
	}
	if e.BirthDateEstimated != nil {
		p.BirthDateEstimated = *e.BirthDateEstimated
	}
	_, err = d.DB().ExecContext(ctx, `UPDATE patients SET given_name=?, family_name=?, sex=?, birth_date=?, birth_date_estimated=?, phone=?, village=?, name_norm=? WHERE id=?`,
		p.GivenName, p.FamilyName, string(p.Sex), p.BirthDate, p.BirthDateEstimated, p.Phone, p.Village, registry.FoldName(p.GivenName+" "+p.FamilyName), p.ID)
	if err != nil {
		return p, nil, err
	}
	if err := d.Audit(ctx, "patient.edit", p.UUID, "reason: "+e.Reason); err != nil {
		return p, nil, err
	}
	cands, err := d.Candidates(ctx, registry.NewPatient{GivenName: p.GivenName, FamilyName: p.FamilyName, Sex: p.Sex, BirthDate: p.BirthDate, BirthDateEstimated: p.BirthDateEstimated, Phone: p.Phone, Village: p.Village}, 5)
	var others []idcards.Candidate
	for _, c := range cands {
		if c.Patient.ID != p.ID {
			others = append(others, c)
		}
	}
	return p, others, err
}

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
