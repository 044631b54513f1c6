package registry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestStore_IssueID_AnotherNeedsReason: a second active ID for the same
// person needs a reason, which is audited with the ID it sits beside
// (issue 14 item 5).
func TestStore_IssueID_AnotherNeedsReason(t *testing.T) {
	s, ctx := newStore(t)
	p, first, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-02-03"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.IssueID(ctx, p.ID, "  ")
	if idcards.ErrorKind(err) != idcards.Invalid || !strings.Contains(err.Error(), "already has active ID "+first+"; give a reason") {
		t.Fatalf("IssueID without reason: %v", err)
	}
	if ids, _ := s.PatientIdentifiers(ctx, p.ID); len(ids) != 1 {
		t.Fatalf("refused IssueID left %d IDs", len(ids))
	}
	id, err := s.IssueID(ctx, p.ID, "card kept by the HIV clinic")
	if err != nil {
		t.Fatal(err)
	}
	evs := auditRows(t, s, registry.AuditFilter{Action: "id.issue_another"})
	if len(evs) != 1 || evs[0].Subject != id.MRN || !strings.Contains(evs[0].Detail, "beside "+first) || !strings.Contains(evs[0].Detail, "reason: card kept by the HIV clinic") {
		t.Fatalf("audit = %+v", evs)
	}
	// A patient without an active ID (registered without one, or whose
	// only ID was voided) needs no reason.
	q, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Okello", FamilyName: "John", Sex: "M", BirthDate: "1970-01-01"}, NoID: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueID(ctx, q.ID, ""); err != nil {
		t.Fatalf("first ID of a patient without one: %v", err)
	}
}

// auditRows reads the audit rows f selects.
func auditRows(t testing.TB, s *registry.Store, f registry.AuditFilter) []idcards.AuditEvent {
	t.Helper()
	var out []idcards.AuditEvent
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	if err := s.EachAudit(ctx, f, func(e idcards.AuditEvent) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}
