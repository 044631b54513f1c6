package openmrs_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/openmrs"
	"github.com/idcards/idcards/openmrs/openmrstest"
	"github.com/idcards/idcards/registry"
)

// desk is a real registry file and a Syncer on a fake OpenMRS.
type desk struct {
	s     *registry.Store
	ctx   context.Context
	clock *fakeClock
	c     *openmrs.Client
	sy    *openmrs.Syncer
	fake  *openmrstest.Server
}

func newDesk(t testing.TB, fake *openmrstest.Server, timeout time.Duration) *desk {
	t.Helper()
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "system:sync", Role: idcards.RoleSystem})
	op := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	s, err := registry.Create(op, filepath.Join(t.TempDir(), "registry.db"), luhn30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d := &desk{s: s, ctx: ctx, clock: newFakeClock(), fake: fake}
	d.c, err = openmrs.New(openmrs.Config{BaseURL: fake.URL(), Username: "admin", Password: "Admin123", Clock: d.clock, JitterSeed: 1, Timeout: timeout,
		Retry: openmrs.RetryPolicy{MaxAttempts: 4, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	d.sy, err = openmrs.NewSyncer(d.c, s, openmrs.SyncerConfig{IdentifierType: openmrstest.StockIdentifierTypeUUID, Location: openmrstest.StockLocationUUID,
		Prefixes: []string{luhn30.Prefix}, Owner: "test", Now: d.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *desk) register(t testing.TB, i int) (idcards.Patient, string) {
	t.Helper()
	op := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	p, m, err := d.s.Register(op, registry.Registration{Patient: registry.NewPatient{GivenName: fmt.Sprint("Given", letterName(i)), FamilyName: "Nakato",
		Sex: idcards.SexFemale, BirthDate: "1990-04-02"}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p, m
}

func (d *desk) pending(t testing.TB) int64 {
	t.Helper()
	st, err := d.s.SyncStatus(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.Pending
}

// TestSyncer_Push500UnderFaults: 500 registrations pushed while OpenMRS
// fails 30% of requests and loses the answer to some writes after saving
// them. Afterwards OpenMRS holds exactly the 500 patients, none twice, and
// the outbox is empty.
func TestSyncer_Push500UnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("500 registrations through a faulty server")
	}
	fake := openmrstest.New(t, openmrstest.Options{Seed: 42})
	d := newDesk(t, fake, 300*time.Millisecond)
	want := map[string]string{} // MRN -> patient uuid
	for i := 0; i < 500; i++ {
		p, m := d.register(t, i)
		want[m] = p.UUID
	}
	fake.SetFaults(openmrstest.Faults{FailRate: 0.3, DropAfterCommitRate: 0.1, HangAfterCommitRate: 0.02})
	rounds := 0
	for ; d.pending(t) > 0 && rounds < 200; rounds++ {
		_, err := d.sy.RunOnce(d.ctx, rounds%10 == 0, nil)
		if err != nil {
			t.Logf("round %d: %v", rounds, err)
		}
		d.clock.Advance(2 * time.Hour) // every deferred row is due again
	}
	fake.SetFaults(openmrstest.Faults{})
	if n := d.pending(t); n != 0 {
		items, _ := d.s.Outbox(d.ctx, "pending", 5)
		t.Fatalf("%d rows still pending after %d rounds, e.g. %+v", n, rounds, items)
	}
	patients := fake.Patients()
	if len(patients) != 500 {
		t.Errorf("OpenMRS holds %d patients, want exactly 500", len(patients))
	}
	seen := map[string]bool{}
	for _, p := range patients {
		if seen[p.UUID] {
			t.Errorf("patient %s twice", p.UUID)
		}
		seen[p.UUID] = true
	}
	for m, uuid := range want {
		holders := fake.PatientsWithIdentifier(m)
		if len(holders) != 1 || holders[0].UUID != uuid {
			t.Errorf("%s held by %d patients (want 1, uuid %s)", m, len(holders), uuid)
		}
	}
	cs, _ := d.s.SyncConflicts(d.ctx, true)
	if len(cs) != 0 {
		t.Errorf("conflicts: %+v", cs)
	}
	if _, err := d.s.VerifyAudit(d.ctx); err != nil {
		t.Errorf("audit chain: %v", err)
	}
	t.Logf("%d rounds, %d requests to OpenMRS, %d POST /patient", rounds, fake.Requests(), fake.RequestsTo("POST", "/patient"))
}

// TestSyncer_FirstSyncOfExistingPatients: OpenMRS already has 10,000
// patients in our namespace; the first pull records them all and the desk
// then issues none of their numbers.
func TestSyncer_FirstSyncOfExistingPatients(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	held := map[string]bool{}
	for i := int64(1); i <= 10_000; i++ {
		m := mrn(t, 2*i) // every other number: the desk's sequence runs into them
		held[m] = true
		fake.AddPatient(openmrstest.Patient{GivenName: "G", FamilyName: "F", Gender: "M",
			Identifiers: []openmrstest.Identifier{{Identifier: m, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID, Preferred: true}}})
	}
	rep, err := d.sy.RunOnce(d.ctx, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pull.Identifiers != 10_000 || rep.Pull.Added != 10_000 || rep.Pull.Requests != 100 {
		t.Errorf("pull = %+v, want 10,000 identifiers in 100 pages", rep.Pull)
	}
	st, _ := d.s.SyncStatus(d.ctx)
	if st.External != 10_000 || st.LastPullAt.IsZero() {
		t.Errorf("status = %+v", st)
	}
	for i := 0; i < 50; i++ {
		_, m := d.register(t, i)
		if held[m] {
			t.Fatalf("issued %s, which OpenMRS holds", m)
		}
	}
	// A second pull adds nothing new.
	if rep, err := d.sy.Pull(d.ctx, true, nil); err != nil || rep.Added != 0 || rep.Identifiers != 10_000 {
		t.Errorf("second pull = %+v, %v", rep, err)
	}
	// The 50 registrations go out; the next pull sees them as ours.
	if rep, err := d.sy.RunOnce(d.ctx, true, nil); err != nil || rep.Push.Pushed != 50 || rep.Push.Settled != 50 || rep.Pull.Conflicts != 0 {
		t.Errorf("push = %+v, %v (want 50 registrations and their 50 add_identifier rows settled)", rep.Push, err)
	}
}

// TestSyncer_NumberTakenInOpenMRS: a number filed in OpenMRS by other means
// is never issued at the desk once pulled, and one taken between
// registration and push becomes a conflict, not a second holder.
func TestSyncer_NumberTakenInOpenMRS(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	p1, m1 := d.register(t, 1) // 10 000001 + check
	// Meanwhile a clerk at another OpenMRS screen typed the desk's numbers
	// 1 (already given to p1 here) and 2 (next in our sequence).
	other := seed(fake, "", "Sarah", m1)
	seed(fake, "", "Ruth", mrn(t, 2))
	if _, err := d.sy.Pull(d.ctx, true, nil); err != nil {
		t.Fatal(err)
	}
	_, m2 := d.register(t, 2)
	if m2 == mrn(t, 2) {
		t.Fatalf("issued %s although OpenMRS holds it", m2)
	}
	rep, err := d.sy.Push(d.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Conflicts != 1 || rep.Pushed != 1 || rep.Settled != 1 {
		t.Errorf("push = %+v, want p1 held as a conflict and p2 pushed", rep)
	}
	if h := fake.PatientsWithIdentifier(m1); len(h) != 1 || h[0].UUID != other {
		t.Errorf("%s now held by %+v", m1, h)
	}
	cs, _ := d.s.SyncConflicts(d.ctx, false)
	// One disagreement, one conflict: found by the pull, then holding
	// back the push.
	if len(cs) != 1 || cs[0].OutboxID == 0 {
		t.Fatalf("conflicts = %+v", cs)
	}
	for _, c := range cs {
		if c.Identifier != m1 || c.LocalPatientID != p1.ID || c.RemotePatientUUID != other || !strings.Contains(c.Detail, m1) {
			t.Errorf("conflict = %+v", c)
		}
	}
	// p1's later rows wait behind the conflict.
	if rep, _ := d.sy.Push(d.ctx, nil); rep.Pushed != 0 || rep.Waiting != 1 {
		t.Errorf("second push = %+v, want p1's add_identifier waiting", rep)
	}
}

func TestSyncer_WrongPassword(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	d.register(t, 1)
	fake.SetPassword("admin", "changed in OpenMRS")
	_, err := d.sy.RunOnce(d.ctx, true, nil)
	if openmrs.Classify(err) != openmrs.ReasonUnauthorized {
		t.Fatalf("RunOnce = %v, want unauthorized", err)
	}
	items, _ := d.s.Outbox(d.ctx, "pending", 10)
	if len(items) != 2 || items[0].Attempts != 0 {
		t.Errorf("outbox after a refused login = %+v", items)
	}
	st, _ := d.s.SyncStatus(d.ctx)
	if st.LastError == "" || st.LastErrorAt.IsZero() || st.Pending != 2 {
		t.Errorf("status = %+v", st)
	}
	if len(fake.Patients()) != 0 {
		t.Error("something reached OpenMRS")
	}
}

// TestSyncer_ServerDownThenBack: nothing is lost while OpenMRS is down;
// everything goes out once it is back.
func TestSyncer_ServerDownThenBack(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, time.Second)
	for i := 0; i < 5; i++ {
		d.register(t, i)
	}
	fake.SetFaults(openmrstest.Faults{Down: true})
	for i := 0; i < 3; i++ {
		_, err := d.sy.RunOnce(d.ctx, true, nil)
		// The fake drops every connection: "no answer" (timeout or
		// connection lost) until the breaker opens, then "unavailable".
		if r := openmrs.Classify(err); r != openmrs.ReasonUnavailable && r != openmrs.ReasonTimeout {
			t.Fatalf("round %d: %s (%v)", i, r, err)
		}
		d.clock.Advance(time.Minute)
	}
	if n := d.pending(t); n != 10 {
		t.Fatalf("pending = %d, want all 10 rows kept", n)
	}
	st, _ := d.s.SyncStatus(d.ctx)
	if !strings.Contains(st.LastError, "server unreachable") && !strings.Contains(st.LastError, "unreachable") {
		t.Errorf("last error = %q", st.LastError)
	}
	fake.SetFaults(openmrstest.Faults{})
	d.clock.Advance(2 * time.Hour)
	rep, err := d.sy.RunOnce(d.ctx, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.pending(t) != 0 || len(fake.Patients()) != 5 {
		t.Errorf("after recovery: %+v, pending %d, %d patients", rep.Push, d.pending(t), len(fake.Patients()))
	}
	if st, _ := d.s.SyncStatus(d.ctx); st.LastError != "" || st.LastPushAt.IsZero() {
		t.Errorf("status after recovery = %+v", st)
	}
}

// TestSyncer_IdentifierChanges: a second MRN and a voided MRN reach the
// patient OpenMRS already has.
func TestSyncer_IdentifierChanges(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	p, m1 := d.register(t, 1)
	if _, err := d.sy.Push(d.ctx, nil); err != nil {
		t.Fatal(err)
	}
	op := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	id2, err := d.s.IssueID(op, p.ID, "second card")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.s.Void(op, m1, "card lost; number retired"); err != nil {
		t.Fatal(err)
	}
	rep, err := d.sy.Push(d.ctx, nil)
	if err != nil || rep.Pushed != 2 {
		t.Fatalf("push = %+v, %v", rep, err)
	}
	if h := fake.PatientsWithIdentifier(id2.MRN); len(h) != 1 || h[0].UUID != p.UUID {
		t.Errorf("new MRN held by %+v", h)
	}
	if h := fake.PatientsWithIdentifier(m1); len(h) != 0 {
		t.Errorf("voided MRN still active in OpenMRS: %+v", h)
	}
	if d.pending(t) != 0 {
		t.Errorf("pending = %d", d.pending(t))
	}
}

// TestSyncer_PatientWithoutMRNWaits: OpenMRS needs an identifier; a
// patient registered without one waits, without counting failures.
func TestSyncer_PatientWithoutMRNWaits(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	op := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	if _, _, err := d.s.Register(op, registry.Registration{Patient: registry.NewPatient{GivenName: "Ngũgĩ", FamilyName: "Kamau", Sex: idcards.SexMale, BirthDate: "1980-01-01"}, NoID: true, Decision: "test"}); err != nil {
		t.Fatal(err)
	}
	rep, err := d.sy.Push(d.ctx, nil)
	if err != nil || rep.Waiting != 1 || len(fake.Patients()) != 0 {
		t.Fatalf("push = %+v, %v", rep, err)
	}
	items, _ := d.s.Outbox(d.ctx, "pending", 10)
	if len(items) != 1 || items[0].Attempts != 0 || !strings.Contains(items[0].LastError, "waiting for an MRN") {
		t.Errorf("outbox = %+v", items)
	}
}

func TestSyncer_LeaseKeepsSecondSyncerOut(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	if ok, err := d.s.AcquireSyncLease(d.ctx, "serve 99@other", time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	d.register(t, 1)
	if _, err := d.sy.Push(d.ctx, nil); err != openmrs.ErrBusy {
		t.Errorf("Push while another holds the lease = %v", err)
	}
}

// TestCheckSetup: configure refuses what OpenMRS would reject.
func TestCheckSetup(t *testing.T) {
	noLoc := openmrstest.StockIdentifierType()
	noLoc.UUID, noLoc.Name, noLoc.LocationBehavior = "1c0b1a5e-0000-4000-8000-000000000001", "Desk ID", "NOT_USED"
	mod25 := openmrstest.StockIdentifierType()
	mod25.UUID, mod25.Name, mod25.Validator = "1c0b1a5e-0000-4000-8000-000000000002", "Mod25 ID", openmrstest.ValidatorLuhnMod25
	none := openmrstest.StockIdentifierType()
	none.UUID, none.Name, none.Validator = "1c0b1a5e-0000-4000-8000-000000000003", "Free ID", ""
	fmtd := openmrstest.StockIdentifierType()
	fmtd.UUID, fmtd.Name, fmtd.Format = "1c0b1a5e-0000-4000-8000-000000000004", "Formatted ID", `\d{3}-[A-Z]`
	fake := openmrstest.New(t, openmrstest.Options{IdentifierTypes: []openmrstest.IdentifierType{openmrstest.StockIdentifierType(), noLoc, mod25, none, fmtd}})
	c := newClient(t, fake.URL(), "admin", "Admin123", newFakeClock())
	ctx := context.Background()
	tests := []struct {
		name     string
		setup    openmrs.Setup
		err      string // "" = accepted
		warnings int
	}{
		{"matching type and location", openmrs.Setup{IdentifierType: openmrstest.StockIdentifierTypeUUID, Location: openmrstest.StockLocationUUID, Formats: []idcards.Format{luhn30}}, "", 0},
		{"scheme mismatch", openmrs.Setup{IdentifierType: openmrstest.StockIdentifierTypeUUID, Location: openmrstest.StockLocationUUID,
			Formats: []idcards.Format{{Prefix: "10", Width: 5, Scheme: "damm"}}}, "scheme mismatch", 0},
		{"other Luhn alphabet", openmrs.Setup{IdentifierType: mod25.UUID, Location: openmrstest.StockLocationUUID, Formats: []idcards.Format{luhn30}}, "luhn-mod-25", 0},
		{"location required", openmrs.Setup{IdentifierType: openmrstest.StockIdentifierTypeUUID, Formats: []idcards.Format{luhn30}}, "needs a location", 0},
		{"location not used", openmrs.Setup{IdentifierType: noLoc.UUID, Formats: []idcards.Format{luhn30}}, "", 0},
		{"unknown location", openmrs.Setup{IdentifierType: openmrstest.StockIdentifierTypeUUID, Location: "0b7f4c6e-1111-4c5b-9d6a-1a2b3c4d5e6f", Formats: []idcards.Format{luhn30}}, "no location", 0},
		{"unknown type", openmrs.Setup{IdentifierType: "0b7f4c6e-1111-4c5b-9d6a-1a2b3c4d5e6f", Formats: []idcards.Format{luhn30}}, "no patient identifier type", 0},
		{"no validator", openmrs.Setup{IdentifierType: none.UUID, Location: openmrstest.StockLocationUUID, Formats: []idcards.Format{luhn30}}, "", 1},
		{"format the MRNs miss", openmrs.Setup{IdentifierType: fmtd.UUID, Location: openmrstest.StockLocationUUID, Formats: []idcards.Format{luhn30}}, "demands format", 0},
		{"idgen in our namespace", openmrs.Setup{IdentifierType: openmrstest.StockIdentifierTypeUUID, Location: openmrstest.StockLocationUUID,
			IdgenSource: openmrstest.StockSourceUUID, Formats: []idcards.Format{luhn30}}, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := openmrs.CheckSetup(ctx, c, tc.setup)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want it to say %q", err, tc.err)
			}
			if len(rep.Warnings) != tc.warnings {
				t.Errorf("warnings = %q, want %d", rep.Warnings, tc.warnings)
			}
		})
	}
}
