package registry

import (
	"context"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
)

// TestVoid_MergedAwayRecord: an MRN still bound to a record merged into
// another (a registry older than merges that move the IDs) is not voided
// behind the kept record's back; the refusal names the kept record. An
// MRN a merge moved to the kept record is that record's, and voids.
func TestVoid_MergedAwayRecord(t *testing.T) {
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	s, err := Create(ctx, pgtest.Location(t), idcards.Format{Prefix: "12", Width: 6, Scheme: "luhn"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	reg := func(given string) (idcards.Patient, string) {
		p, m, err := s.Register(ctx, Registration{Patient: NewPatient{GivenName: given, FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-02"}, Decision: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return p, m
	}
	keep, keepMRN := reg("Amina")
	dup, dupMRN := reg("Aminah")
	old, oldMRN := reg("Amena")
	if err := s.Merge(ctx, dup.ID, keep.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(ctx, old.ID, keep.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	// As an older version left it: the MRN stayed on the merged-away record.
	if _, err := s.db.ExecContext(ctx, `UPDATE identifiers SET patient_id = ? WHERE mrn = ?`, old.ID, oldMRN); err != nil {
		t.Fatal(err)
	}
	err = s.Void(ctx, oldMRN, "test")
	if idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), "merged into patient") || !strings.Contains(err.Error(), keepMRN) {
		t.Errorf("void of an MRN on a merged-away record: %v", err)
	}
	if err := s.Void(ctx, dupMRN, "the duplicate's number, retired"); err != nil {
		t.Errorf("void of an MRN the merge moved to the kept record: %v", err)
	}
}
