package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestPatientSync: what the desk's patient screen shows of a patient's
// way to OpenMRS. Nothing before sync is set up; then "not sent yet"
// (the look-alike check runs when the registration goes), a failing
// round with its error, a look-alike held back with the clerk's summary,
// an identifier conflict over one of the patient's MRNs, and "sent".
func TestPatientSync(t *testing.T) {
	s, ctx := newStore(t)
	p, mrn := registerOne(t, s, ctx, "Amina")
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "amy", Role: idcards.RoleClerk})

	if ps, err := s.PatientSync(clerk, p.ID); err != nil || ps.Configured || ps.Waiting != 0 {
		t.Fatalf("before sync is configured: %+v %v, want nothing", ps, err)
	}
	cfg := registry.SyncConfig{URL: "https://emr.example.org/openmrs", Username: "idcards-desk", PasswordFile: "/etc/idcards/openmrs.pw",
		IdentifierType: "05a29f94-c0ed-11e2-94be-8c13b969e334", Location: "8d6c993e-c2cc-11de-8d13-0010c6dffd0f", Interval: 30 * time.Second}
	if err := s.SaveSyncConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	ps, err := s.PatientSync(clerk, p.ID)
	if err != nil || !ps.Configured || !ps.Unsent || ps.Waiting != 2 || ps.Interval != 30*time.Second || ps.Failing || len(ps.Conflicts) != 0 {
		t.Fatalf("registered, not sent: %+v %v", ps, err)
	}
	admin := idcards.WithActor(context.Background(), idcards.Actor{Name: "root", Role: idcards.RoleAdmin})
	if _, err := s.PatientSync(admin, p.ID); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Errorf("an admin (may not read patients) reads a patient's sync state: %v", err)
	}

	items, err := s.DueOutbox(ctx, 0, 10)
	if err != nil || len(items) != 2 {
		t.Fatalf("outbox: %+v %v", items, err)
	}
	next := time.Now().Add(time.Hour)
	if err := s.OutboxDefer(ctx, items[0].ID, "HTTP 503 from OpenMRS", next, true, true); err != nil {
		t.Fatal(err)
	}
	if ps, _ = s.PatientSync(clerk, p.ID); !ps.Failing || ps.LastError != "HTTP 503 from OpenMRS" || !ps.NextAttempt.After(time.Now()) {
		t.Errorf("failing: %+v", ps)
	}

	// The push's look-alike check holds the registration.
	held := idcards.SyncConflict{Identifier: mrn, LocalPatientID: p.ID, RemotePatientUUID: "b1ac4a4c-0000-4000-8000-000000000001", Kind: idcards.ConflictLookalike,
		Detail:  "OpenMRS may already hold Amina Nakato … Same person: idcards sync resolve ID --same",
		Summary: "Amina Nakato, F, born 1990-04-02, OpenMRS ID 1003EY (probable, 99 %: same birth date)"}
	if err := s.OutboxConflict(ctx, items[0].ID, held); err != nil {
		t.Fatal(err)
	}
	ps, err = s.PatientSync(clerk, p.ID)
	c, ok := ps.Lookalike()
	if err != nil || !ok || ps.Unsent || c.Summary != held.Summary || c.Detail != held.Detail || c.ID == 0 {
		t.Fatalf("held as a look-alike: %+v %v", ps, err)
	}
	// Another patient sees none of it.
	other, _ := registerOne(t, s, ctx, "Sarah")
	if ps, _ := s.PatientSync(clerk, other.ID); len(ps.Conflicts) != 0 || !ps.Unsent {
		t.Errorf("another patient: %+v", ps)
	}
	// sync conflicts lists the summary too.
	all, err := s.SyncConflicts(ctx, false)
	if err != nil || len(all) != 1 || all[0].Summary != held.Summary {
		t.Errorf("SyncConflicts: %+v %v", all, err)
	}

	// Settled as someone else: the registration is queued again.
	if err := s.JudgeLookalike(ctx, c.ID, false, "different father", nil); err != nil {
		t.Fatal(err)
	}
	if ps, _ = s.PatientSync(clerk, p.ID); len(ps.Conflicts) != 0 || !ps.Unsent {
		t.Errorf("after --different: %+v", ps)
	}

	// An identifier conflict a pull found over the patient's MRN, filed
	// under the number only.
	if _, err := s.RecordConflict(ctx, idcards.SyncConflict{Identifier: mrn, Detail: "OpenMRS holds " + mrn + " for patient Joseph Okello"}); err != nil {
		t.Fatal(err)
	}
	if ps, _ = s.PatientSync(clerk, p.ID); len(ps.Conflicts) != 1 || ps.Conflicts[0].Kind != idcards.ConflictIdentifier {
		t.Errorf("identifier conflict over its MRN: %+v", ps)
	}
	if _, ok := ps.Lookalike(); ok {
		t.Error("an identifier conflict read as a look-alike")
	}
}

// TestPatientSync_Describe: the words for each state, as the desk's
// patient screen and patients show write them.
func TestPatientSync_Describe(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.Local)
	held := []idcards.SyncConflict{{Kind: idcards.ConflictIdentifier}, {Kind: idcards.ConflictLookalike}}
	for _, c := range []struct {
		ps   registry.PatientSync
		want string
	}{
		{registry.PatientSync{Configured: true, Unsent: true, Waiting: 2, Interval: time.Minute}, "not sent yet: the next sync checks whether OpenMRS already has this person (sync runs every 1m)"},
		{registry.PatientSync{Configured: true, Unsent: true, Interval: 30 * time.Second}, "not sent yet: the next sync checks whether OpenMRS already has this person (sync runs every 30s)"},
		{registry.PatientSync{Configured: true, Unsent: true, Interval: 90 * time.Second}, "not sent yet: the next sync checks whether OpenMRS already has this person (sync runs every 1m30s)"},
		{registry.PatientSync{Configured: true, Unsent: true, Interval: 2 * time.Hour}, "not sent yet: the next sync checks whether OpenMRS already has this person (sync runs every 2h)"},
		{registry.PatientSync{Configured: true, Unsent: true, Waiting: 2, Interval: 90 * time.Minute, Failing: true, LastError: "HTTP 503", NextAttempt: now.Add(5 * time.Minute)},
			"not sent yet: the next sync checks whether OpenMRS already has this person; sync is failing (HTTP 503), next try 10:05: tell IT"},
		{registry.PatientSync{Configured: true, Waiting: 1}, "1 change(s) waiting to be sent"},
		{registry.PatientSync{Configured: true}, "sent, up to date"},
		{registry.PatientSync{Configured: true, Conflicts: held[:1]}, "HELD: OpenMRS disagrees about an ID"},
		{registry.PatientSync{Configured: true, Conflicts: held}, "HELD, not sent: OpenMRS may already have this person"},
	} {
		if got := c.ps.Describe(now); got != c.want {
			t.Errorf("Describe(%+v)\n = %q\nwant %q", c.ps, got, c.want)
		}
	}
}
