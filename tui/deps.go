package tui

import (
	"context"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// Registry is what the TUI needs from the registry. *registry.Store
// satisfies it; every method checks the actor in ctx and audits changes.
type Registry interface {
	Verify(ctx context.Context, raw string) (idcards.Verification, error)
	SearchPatients(ctx context.Context, text string, limit int) ([]idcards.Patient, error)
	Candidates(ctx context.Context, np registry.NewPatient, limit int) ([]idcards.Candidate, error)
	CheckMark(ctx context.Context) (int64, error)
	Register(ctx context.Context, r registry.Registration) (idcards.Patient, string, error)
	Patient(ctx context.Context, id int64) (idcards.Patient, error)
	PatientIdentifiers(ctx context.Context, patientID int64) ([]idcards.Identifier, error)
	ListCards(ctx context.Context, f registry.CardFilter) ([]idcards.Card, error)
	// PatientSync is the patient's way to OpenMRS: not sent yet, changes
	// waiting, or held back by a conflict (OpenMRS may already have the
	// person), shown on the patient's screen.
	PatientSync(ctx context.Context, id int64) (registry.PatientSync, error)
	// IssueID gives the patient another MRN; reason is required (and
	// audited) when the patient already has an active one.
	IssueID(ctx context.Context, patientID int64, reason string) (idcards.Identifier, error)
	Bind(ctx context.Context, mrn string, patientID int64) error
	Void(ctx context.Context, mrn, reason string) error
	Audit(ctx context.Context, action, subject, detail string) error
	// EditPatient changes a patient's demographics (audited with old and
	// new values, queued for OpenMRS) and returns the records the edited
	// patient now looks like.
	EditPatient(ctx context.Context, e registry.PatientEdit) (idcards.Patient, []idcards.Candidate, error)
	// Countersign checks a supervisor's password typed at the clerk's desk
	// and returns the context to run ONE approved action with (audited
	// under both names).
	Countersign(ctx context.Context, user, pass string) (context.Context, error)
	Path() string
}

// LookalikeJudge settles a registration that sync held because OpenMRS
// may already have the person, as idcards sync resolve --same/--different
// does: same makes the registry patient that OpenMRS patient (read from
// OpenMRS as it is now, so OpenMRS must be reachable: Unavailable
// otherwise) and its MRNs go onto that record; different lets the patient
// be created. ctx carries the supervisor (resolve_conflicts); the note says
// how they know, and is audited.
type LookalikeJudge interface {
	JudgeLookalike(ctx context.Context, conflictID int64, same bool, note string) error
}

// Printer renders cards for MRNs (recording them in the registry first) and
// returns where the output went, in a clerk's words ("saved as
// /path/C123.pdf", "printed on cards").
type Printer interface {
	PrintCards(ctx context.Context, mrns []string, reprint bool, reason string) (where string, err error)
}

// Authenticator signs a desk user in. *registry.Store satisfies it; its
// error messages are shown to the clerk as they are (they reveal nothing
// about which accounts exist).
type Authenticator interface {
	Authenticate(ctx context.Context, user, pass string) (idcards.Actor, error)
}

// settinger is implemented by registries with settings (*registry.Store):
// the desk re-reads idle_lock_minutes while it runs.
type settinger interface {
	Setting(ctx context.Context, key, def string) (string, error)
}
