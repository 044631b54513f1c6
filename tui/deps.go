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
	Register(ctx context.Context, r registry.Registration) (idcards.Patient, string, error)
	Patient(ctx context.Context, id int64) (idcards.Patient, error)
	PatientIdentifiers(ctx context.Context, patientID int64) ([]idcards.Identifier, error)
	ListCards(ctx context.Context, f registry.CardFilter) ([]idcards.Card, error)
	IssueID(ctx context.Context, patientID int64, reason string) (idcards.Identifier, error)
	Bind(ctx context.Context, mrn string, patientID int64) error
	Void(ctx context.Context, mrn, reason string) error
	Audit(ctx context.Context, action, subject, detail string) error
	Path() string
}

// Printer renders cards for MRNs (recording them in the registry first) and
// returns where the output went (a PDF path or a printer job).
type Printer interface {
	PrintCards(ctx context.Context, mrns []string, reprint bool, reason string) (path string, err error)
}

// Authenticator signs a desk user in. The accounts package satisfies it;
// until then the TUI runs as the actor the caller passes.
type Authenticator interface {
	Authenticate(ctx context.Context, user, pass string) (idcards.Actor, error)
}
