package registry_test

import (
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestMerge_StaleRecordGetsNoNewID: a desk that still shows a record a
// supervisor has just merged into another must not give it a new ID (nor
// bind a pre-printed card to it): the person would have two active
// records again, and the merged-away one is never offered by the
// duplicate check. The refusal names the kept record's MRN.
func TestMerge_StaleRecordGetsNoNewID(t *testing.T) {
	s, ctx := newStore(t)
	reg := func(given string) (idcards.Patient, string) {
		t.Helper()
		p, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: given, FamilyName: "Ødegaard", Sex: idcards.SexMale, BirthDate: "1981-04-02"}, Decision: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return p, mrn
	}
	kept, keptMRN := reg("Soren")
	gone, _ := reg("Søren")
	if err := s.Merge(ctx, gone.ID, kept.ID, "one person"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueID(ctx, gone.ID, "card lost"); idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), keptMRN) {
		t.Errorf("a new ID for the merged-away record: %v", err)
	}
	pre, err := s.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bind(ctx, pre[0], gone.ID); idcards.ErrorKind(err) != idcards.Conflict {
		t.Errorf("a pre-printed card bound to the merged-away record: %v", err)
	}
	if v, _ := s.Verify(ctx, pre[0]); v.Status != idcards.StatusUnassigned {
		t.Errorf("the refused card is %s, want still unassigned", v.Status)
	}
	// The kept record takes them.
	if _, err := s.IssueID(ctx, kept.ID, "card lost"); err != nil {
		t.Errorf("a second ID for the kept record: %v", err)
	}
	if err := s.Bind(ctx, pre[0], kept.ID); err != nil {
		t.Errorf("binding to the kept record: %v", err)
	}
	if _, err := s.IssueID(ctx, 999, ""); idcards.ErrorKind(err) != idcards.NotFound {
		t.Errorf("an ID for no patient: %v", err)
	}
}
