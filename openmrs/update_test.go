package openmrs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/openmrs/openmrstest"
	"github.com/idcards/idcards/registry"
)

// letterName spells i in letters (0 = "A", 25 = "Z", 26 = "BA"): test
// patients' names may not hold digits.
func letterName(i int) string {
	s := string(rune('A' + i%26))
	for i /= 26; i > 0; i /= 26 {
		s = string(rune('A'+i%26)) + s
	}
	return s
}

func strp(s string) *string { return &s }

// edit corrects a patient at the desk (as the CLI and desk screen do).
func (d *desk) edit(t testing.TB, e registry.PatientEdit) idcards.Patient {
	t.Helper()
	op := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	p, _, err := d.s.EditPatient(op, e)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// remoteMatches reports how the OpenMRS person differs from the registry's
// record ("" when it holds the same demographics).
func remoteMatches(t testing.TB, fake *openmrstest.Server, p idcards.Patient) string {
	t.Helper()
	for _, r := range fake.Patients() {
		if r.UUID != p.UUID {
			continue
		}
		got := fmt.Sprintf("%s|%s|%s|%s|%t|%s", r.GivenName, r.FamilyName, r.Gender, r.Birthdate, r.BirthdateEstimated, fake.Address(r.UUID)["cityVillage"])
		want := fmt.Sprintf("%s|%s|%s|%s|%t|%s", p.GivenName, p.FamilyName, p.Sex, p.BirthDate, p.BirthDateEstimated, p.Village)
		if got != want {
			return "OpenMRS " + got + ", registry " + want
		}
		return ""
	}
	return "not in OpenMRS"
}

func writes(fake *openmrstest.Server, uuid string) string {
	return fmt.Sprintf("person=%d name=%d address=%d", fake.PersonWrites(uuid, "person"), fake.PersonWrites(uuid, "name"), fake.PersonWrites(uuid, "address"))
}

// TestSyncer_EditBeforeFirstPush: a patient corrected before reaching
// OpenMRS is created with the new values; the update row is settled
// without a request of its own.
func TestSyncer_EditBeforeFirstPush(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	p, _ := d.register(t, 0)
	p = d.edit(t, registry.PatientEdit{ID: p.ID, GivenName: strp("Aminah"), BirthDate: strp("1991-04-02"), Village: strp("Kireka"), Reason: "typo"})
	rep, err := d.sy.Push(d.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pushed != 1 || rep.Settled != 2 || d.pending(t) != 0 {
		t.Fatalf("push = %+v, pending %d; want the registration pushed, its MRN and the edit settled", rep, d.pending(t))
	}
	if diff := remoteMatches(t, fake, p); diff != "" {
		t.Fatal(diff)
	}
	if w := writes(fake, p.UUID); w != "person=0 name=0 address=0" || fake.RequestsTo("GET", "/person/"+p.UUID) != 0 {
		t.Errorf("edit before first push cost requests: %s, %d GETs", w, fake.RequestsTo("GET", "/person/"+p.UUID))
	}
	done, _ := d.s.Outbox(d.ctx, "done", 10)
	for _, it := range done {
		if it.Kind == idcards.OutboxUpdatePatient && it.RemoteUUID != p.UUID {
			t.Errorf("update row settled with remote %q", it.RemoteUUID)
		}
	}
}

// TestSyncer_EditAfterPush: a correction of a patient OpenMRS has sends
// each changed part once; nothing is sent for parts that did not change,
// and a second edit of the same field is a second write.
func TestSyncer_EditAfterPush(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	p, _ := d.register(t, 0)
	if _, err := d.sy.Push(d.ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		e    registry.PatientEdit
		want string
	}{
		{"name", registry.PatientEdit{GivenName: strp("Aminah"), FamilyName: strp("Nakatto"), Reason: "typo"}, "person=0 name=1 address=0"},
		{"birth date", registry.PatientEdit{BirthDate: strp("1990-04-20"), Reason: "card"}, "person=1 name=1 address=0"},
		{"first village adds an address", registry.PatientEdit{Village: strp("Kireka")}, "person=1 name=1 address=1"},
		{"village changed", registry.PatientEdit{Village: strp("Kireka East")}, "person=1 name=1 address=2"},
		{"sex", registry.PatientEdit{Sex: func() *idcards.Sex { x := idcards.SexOther; return &x }()}, "person=2 name=1 address=2"},
		{"phone is not sent", registry.PatientEdit{Phone: strp("0772 123456")}, "person=2 name=1 address=2"},
	} {
		tc.e.ID = p.ID
		p = d.edit(t, tc.e)
		if _, err := d.sy.Push(d.ctx, nil); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d.pending(t) != 0 {
			t.Fatalf("%s: %d rows pending", tc.name, d.pending(t))
		}
		if diff := remoteMatches(t, fake, p); diff != "" {
			t.Fatalf("%s: %s", tc.name, diff)
		}
		if w := writes(fake, p.UUID); w != tc.want {
			t.Errorf("%s: writes %s, want %s", tc.name, w, tc.want)
		}
	}
	if n := fake.RequestsTo("POST", "/patient"); n != 1 {
		t.Errorf("%d POST /patient, want 1", n)
	}
}

// TestSyncer_EditsUnderFaults: 60 patients, some corrected before their
// first push and all corrected after it, pushed while OpenMRS fails 30% of
// requests and loses the answer to some writes after applying them.
// Afterwards OpenMRS holds every patient once with the registry's values,
// and each changed part was written exactly once.
func TestSyncer_EditsUnderFaults(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{Seed: 7})
	d := newDesk(t, fake, 300*time.Millisecond)
	const n = 60
	ps := make([]idcards.Patient, n)
	for i := range ps {
		ps[i], _ = d.register(t, i)
		if i%3 == 0 {
			ps[i] = d.edit(t, registry.PatientEdit{ID: ps[i].ID, Village: strp("Kireka"), Reason: "before push"})
		}
	}
	drain := func(what string) {
		t.Helper()
		fake.SetFaults(openmrstest.Faults{FailRate: 0.3, DropAfterCommitRate: 0.2, HangAfterCommitRate: 0.02})
		rounds := 0
		for ; d.pending(t) > 0 && rounds < 300; rounds++ {
			if _, err := d.sy.RunOnce(d.ctx, false, nil); err != nil {
				t.Logf("%s round %d: %v", what, rounds, err)
			}
			d.clock.Advance(2 * time.Hour)
		}
		fake.SetFaults(openmrstest.Faults{})
		if p := d.pending(t); p != 0 {
			items, _ := d.s.Outbox(d.ctx, "pending", 5)
			t.Fatalf("%s: %d rows pending after %d rounds, e.g. %+v", what, p, rounds, items)
		}
		t.Logf("%s: %d rounds", what, rounds)
	}
	drain("registrations")
	for i := range ps {
		if w := writes(fake, ps[i].UUID); w != "person=0 name=0 address=0" {
			t.Errorf("patient %d: edit before the first push wrote %s", i, w)
		}
		ps[i] = d.edit(t, registry.PatientEdit{ID: ps[i].ID, FamilyName: strp("Nakatto"), BirthDate: strp("1991-01-01"), Village: strp("Kawempe"), Reason: "after push"})
	}
	drain("edits")
	if got := len(fake.Patients()); got != n {
		t.Errorf("OpenMRS holds %d patients, want %d", got, n)
	}
	for i, p := range ps {
		if diff := remoteMatches(t, fake, p); diff != "" {
			t.Errorf("patient %d: %s", i, diff)
		}
		if w := writes(fake, p.UUID); w != "person=1 name=1 address=1" {
			t.Errorf("patient %d: writes %s, want each part exactly once", i, w)
		}
	}
	if cs, _ := d.s.SyncConflicts(d.ctx, true); len(cs) != 0 {
		t.Errorf("conflicts: %+v", cs)
	}
	posts := int64(0)
	for _, p := range ps {
		posts += fake.RequestsTo("POST", "/person/"+p.UUID)
	}
	t.Logf("%d POST /person/{uuid} requests (faults included) for %d applied person writes", posts, n)
}
