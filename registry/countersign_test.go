package registry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestStore_Countersign: a supervisor approves one action at a clerk's
// desk; the audit rows of that action name both (issue 14 item 3).
func TestStore_Countersign(t *testing.T) {
	s, op, _ := accountsStore(t)
	addUser(t, op, s, "okot", idcards.RoleClerk)
	addUser(t, op, s, "sarah", idcards.RoleSupervisor)
	addUser(t, op, s, "peter", idcards.RoleClerk)
	clerkActor, err := s.Authenticate(context.Background(), "okot", goodPW)
	if err != nil {
		t.Fatal(err)
	}
	clerk := idcards.WithActor(context.Background(), clerkActor)
	_, mrn, err := s.Register(clerk, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-01-01"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(clerk, mrn, "duplicate"); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Fatalf("clerk voided without approval: %v", err)
	}

	t.Run("wrong password counts towards the lock-out", func(t *testing.T) {
		_, err := s.Countersign(clerk, "sarah", "wrong password here")
		wantKind(t, err, idcards.Forbidden, "wrong user name or password")
		evs := auditRows(t, s, registry.AuditFilter{Action: "user.sign_in_failed", Subject: "sarah"})
		if len(evs) != 1 || !strings.Contains(evs[0].Detail, "1 consecutive failures") || !strings.Contains(evs[0].Detail, "via=okot") {
			t.Fatalf("failure audit = %+v", evs)
		}
	})
	t.Run("a clerk cannot approve", func(t *testing.T) {
		_, err := s.Countersign(clerk, "peter", goodPW)
		wantKind(t, err, idcards.Forbidden, "only a supervisor or an admin")
	})
	t.Run("not oneself", func(t *testing.T) {
		_, err := s.Countersign(clerk, "okot", goodPW)
		wantKind(t, err, idcards.Invalid, "another person")
	})
	t.Run("nobody signed in", func(t *testing.T) {
		_, err := s.Countersign(context.Background(), "sarah", goodPW)
		wantKind(t, err, idcards.Forbidden, "nobody is signed in")
	})

	approved, err := s.Countersign(clerk, "Sarah", goodPW)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := idcards.ActorFrom(approved); a.Name != "sarah" || a.Role != idcards.RoleSupervisor || a.OnBehalfOf != "okot" {
		t.Fatalf("approved actor = %+v", a)
	}
	if err := s.Void(approved, mrn, "registered twice"); err != nil {
		t.Fatal(err)
	}
	evs := auditRows(t, s, registry.AuditFilter{Action: "id.void"})
	if len(evs) != 1 || evs[0].Actor != "sarah" || evs[0].Detail != "registered twice; approved at the desk of okot by sarah" {
		t.Fatalf("void audit = %+v", evs)
	}
	if evs := auditRows(t, s, registry.AuditFilter{Action: "user.countersign"}); len(evs) != 1 || evs[0].Detail != "at the desk of okot" {
		t.Fatalf("countersign audit = %+v", evs)
	}
	// The success reset sarah's failure count, as a sign-in does.
	us, _ := s.ListUsers(op)
	for _, u := range us {
		if u.Username == "sarah" && u.FailedAttempts != 0 {
			t.Errorf("sarah's failures = %d after a good countersign", u.FailedAttempts)
		}
	}
	if _, err := s.Countersign(approved, "sarah", goodPW); idcards.ErrorKind(err) != idcards.Invalid {
		t.Errorf("chained approval: %v", err)
	}
	// One action only: a second change with the same approval is refused.
	_, second, err := s.Register(clerk, registry.Registration{Patient: registry.NewPatient{GivenName: "Okello", FamilyName: "John", Sex: "M", BirthDate: "1970-01-01"}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Void(approved, second, "test")
	wantKind(t, err, idcards.Forbidden, "approval was for one action")
	if v, _ := s.Verify(clerk, second); v.Status != idcards.StatusActive {
		t.Errorf("second void went through: %s", v.Status)
	}
	// The clerk's own context is unchanged: the next action is the clerk's.
	if a, _ := idcards.ActorFrom(clerk); a.Name != "okot" || a.OnBehalfOf != "" {
		t.Errorf("clerk's context changed: %+v", a)
	}
	if _, err := s.Verify(clerk, mrn); err != nil {
		t.Fatal(err)
	}
	if n := len(auditRows(t, s, registry.AuditFilter{Actor: "okot", Action: "id.void"})); n != 0 {
		t.Errorf("void recorded under the clerk: %d rows", n)
	}
}

// TestStore_Countersign_LockOut: five wrong passwords at a desk lock the
// supervisor's account as five failed sign-ins would.
func TestStore_Countersign_LockOut(t *testing.T) {
	s, op, _ := accountsStore(t)
	addUser(t, op, s, "okot", idcards.RoleClerk)
	addUser(t, op, s, "sarah", idcards.RoleSupervisor)
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "okot", Role: idcards.RoleClerk})
	for range 5 {
		s.Countersign(clerk, "sarah", "not her password")
	}
	_, err := s.Countersign(clerk, "sarah", goodPW)
	if idcards.ErrorKind(err) != idcards.Forbidden {
		t.Fatalf("right password while locked: %v", err)
	}
	if _, err := s.Authenticate(context.Background(), "sarah", goodPW); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Fatalf("sign-in while locked by desk failures: %v", err)
	}
}

// TestStore_Countersign_Expires: an approval not used within
// CountersignTTL is refused.
func TestStore_Countersign_Expires(t *testing.T) {
	s, op, now := accountsStore(t)
	addUser(t, op, s, "okot", idcards.RoleClerk)
	addUser(t, op, s, "sarah", idcards.RoleSupervisor)
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "okot", Role: idcards.RoleClerk})
	_, mrn, err := s.Register(clerk, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-01-01"}})
	if err != nil {
		t.Fatal(err)
	}
	approved, err := s.Countersign(clerk, "sarah", goodPW)
	if err != nil {
		t.Fatal(err)
	}
	*now = now.Add(registry.CountersignTTL + time.Second)
	wantKind(t, s.Void(approved, mrn, "late"), idcards.Forbidden, "approval has expired")
}
