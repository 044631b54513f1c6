package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestFloodCap: a clerk past flood_cap_per_hour is refused with an
// approval request; another supervisor's approval lets them go on; the
// window slides.
func TestFloodCap(t *testing.T) {
	s, op, now := accountsStore(t)
	if err := s.SetKnownSetting(op, "flood_cap_per_hour", "3"); err != nil {
		t.Fatal(err)
	}
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "john", Role: idcards.RoleClerk})
	sup := idcards.WithActor(context.Background(), idcards.Actor{Name: "sara", Role: idcards.RoleSupervisor})
	register := func(ctx context.Context, i int) error {
		_, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{
			GivenName: "Patient", FamilyName: "Number" + strings.Repeat("x", i), Sex: idcards.SexFemale, BirthDate: "1990-01-02"},
			Decision: "test: distinct synthetic patients"})
		return err
	}
	for i := range 3 {
		if err := register(clerk, i); err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	err := register(clerk, 3)
	wantKind(t, err, idcards.Forbidden, "cap is 3 per hour")
	if !strings.Contains(err.Error(), "approval request 1") {
		t.Fatalf("no request id in %v", err)
	}
	// Supervisors are not capped.
	if err := register(sup, 10); err != nil {
		t.Fatal(err)
	}
	xs, err := s.Approvals(sup, false)
	if err != nil || len(xs) != 1 || xs[0].Actor != "john" {
		t.Fatalf("approvals: %+v %v", xs, err)
	}
	wantKind(t, s.Approve(clerk, xs[0].ID, 2), idcards.Forbidden, "may not override_flood_cap")
	self := idcards.WithActor(context.Background(), idcards.Actor{Name: "john", Role: idcards.RoleSupervisor})
	wantKind(t, s.Approve(self, xs[0].ID, 2), idcards.Forbidden, "own request")
	wantKind(t, s.Approve(sup, xs[0].ID, 0), idcards.Invalid, "between 1 and")
	wantKind(t, s.Approve(sup, 99, 2), idcards.NotFound, "no approval request 99")
	if err := s.Approve(sup, xs[0].ID, 2); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.Approve(sup, xs[0].ID, 2), idcards.Conflict, "already approved")
	for i := 4; i < 6; i++ {
		if err := register(clerk, i); err != nil {
			t.Fatalf("approved registration %d: %v", i, err)
		}
	}
	err = register(clerk, 6)
	var fe *idcards.Error
	if !errors.As(err, &fe) || fe.Kind != idcards.Forbidden {
		t.Fatalf("grant used up, want refusal: %v", err)
	}
	// An hour later the window has slid past the earlier ones.
	*now = now.Add(time.Hour + time.Second)
	if err := register(clerk, 7); err != nil {
		t.Fatalf("after an hour: %v", err)
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM audit WHERE action IN ('approval.request','approval.grant')`).Scan(&n)
	if n < 2 {
		t.Fatalf("approvals not audited: %d rows", n)
	}
}

// TestFloodCap_Reserve: reserved IDs (a printer's or an admin's issue
// --count N) are capped like a clerk's: `--user pete issue --count 5000`
// went through with a cap of 3. A supervisor's approval of at least the
// batch lets it through; supervisors are not capped.
func TestFloodCap_Reserve(t *testing.T) {
	s, op, _ := accountsStore(t)
	if err := s.SetKnownSetting(op, "flood_cap_per_hour", "3"); err != nil {
		t.Fatal(err)
	}
	printer := idcards.WithActor(context.Background(), idcards.Actor{Name: "pete", Role: idcards.RolePrinter})
	admin := idcards.WithActor(context.Background(), idcards.Actor{Name: "amina", Role: idcards.RoleAdmin})
	sup := idcards.WithActor(context.Background(), idcards.Actor{Name: "sara", Role: idcards.RoleSupervisor})
	if _, err := s.Reserve(printer, 3); err != nil {
		t.Fatal(err)
	}
	_, err := s.Reserve(printer, 5000)
	wantKind(t, err, idcards.Forbidden, "cap is 3 per hour")
	if !strings.Contains(err.Error(), "approval request 1") {
		t.Fatalf("no request id in %v", err)
	}
	_, err = s.Reserve(admin, 4)
	wantKind(t, err, idcards.Forbidden, "amina has made 0 registrations/IDs")
	if err := s.Approve(sup, 1, 5000); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.Reserve(printer, 5000); err != nil || len(ids) != 5000 {
		t.Fatalf("approved batch: %d IDs, %v", len(ids), err)
	}
	if _, err := s.Reserve(printer, 1); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Fatalf("grant used up, want refusal: %v", err)
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM identifiers WHERE issued_by = 'pete'`).Scan(&n)
	if n != 5003 {
		t.Fatalf("pete issued %d IDs, want 5003", n)
	}
}
