package registry_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

func registerOne(t *testing.T, s *registry.Store, ctx context.Context, given string) (idcards.Patient, string) {
	t.Helper()
	p, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: given, FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-02"}})
	if err != nil {
		t.Fatal(err)
	}
	return p, mrn
}

func TestSync_OutboxLifeCycle(t *testing.T) {
	s, ctx := newStore(t)
	p, mrn := registerOne(t, s, ctx, "Amina")
	items, err := s.DueOutbox(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Kind != idcards.OutboxRegister || items[1].Kind != idcards.OutboxAddIdentifier || items[1].MRN != mrn || items[0].PatientID != p.ID {
		t.Fatalf("outbox after Register = %+v", items)
	}
	// A failure counts an attempt; waiting does not.
	next := time.Now().Add(time.Minute)
	if err := s.OutboxDefer(ctx, items[0].ID, "HTTP 500", next, true, true); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxDefer(ctx, items[1].ID, "waiting", next, false, false); err != nil {
		t.Fatal(err)
	}
	items, _ = s.DueOutbox(ctx, 0, 10)
	if items[0].Attempts != 1 || items[0].LastError != "HTTP 500" || items[0].NextAttemptAt.IsZero() || items[1].Attempts != 0 {
		t.Fatalf("after defer: %+v", items)
	}
	if err := s.OutboxDone(ctx, items[0].ID, p.UUID, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxDone(ctx, items[0].ID, p.UUID, ""); idcards.ErrorKind(err) != idcards.Conflict {
		t.Errorf("second done: %v", err)
	}
	items, _ = s.DueOutbox(ctx, 0, 10)
	if len(items) != 1 {
		t.Fatalf("after done: %+v", items)
	}
	st, err := s.SyncStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 1 || st.PendingPatients != 1 || st.Configured || st.OldestQueued.IsZero() {
		t.Errorf("status = %+v", st)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain: %v", err)
	}
	// The desk's clerk cannot drain the outbox.
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "amy", Role: idcards.RoleClerk})
	if _, err := s.DueOutbox(clerk, 0, 10); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Errorf("clerk DueOutbox: %v", err)
	}
}

func TestSync_ConflictHoldsRowUntilResolved(t *testing.T) {
	s, ctx := newStore(t)
	p, mrn := registerOne(t, s, ctx, "Amina")
	items, _ := s.DueOutbox(ctx, 0, 10)
	c := idcards.SyncConflict{Identifier: mrn, LocalPatientID: p.ID, RemotePatientUUID: "b52ec6f9-0e26-424c-a4a1-c64f9d571eb3", Detail: mrn + " is held by Sarah Lewis"}
	if err := s.OutboxConflict(ctx, items[0].ID, c); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueOutbox(ctx, 0, 10); len(due) != 1 {
		t.Fatalf("conflicted row still due: %+v", due)
	}
	cs, err := s.SyncConflicts(ctx, false)
	if err != nil || len(cs) != 1 || cs[0].OutboxID != items[0].ID || cs[0].Identifier != mrn {
		t.Fatalf("conflicts = %+v, %v", cs, err)
	}
	// The same conflict seen again is not recorded twice.
	if added, err := s.RecordConflict(ctx, cs[0]); err != nil || added {
		t.Errorf("RecordConflict again = %v, %v", added, err)
	}
	if err := s.ResolveConflict(ctx, cs[0].ID, "  ", true); idcards.ErrorKind(err) != idcards.Invalid {
		t.Errorf("resolve without note: %v", err)
	}
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "amy", Role: idcards.RoleClerk})
	if err := s.ResolveConflict(clerk, cs[0].ID, "x", true); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Errorf("clerk resolve: %v", err)
	}
	if err := s.ResolveConflict(ctx, cs[0].ID, "duplicate merged in OpenMRS", true); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveConflict(ctx, cs[0].ID, "again", true); idcards.ErrorKind(err) != idcards.NotFound {
		t.Errorf("resolve twice: %v", err)
	}
	if due, _ := s.DueOutbox(ctx, 0, 10); len(due) != 2 {
		t.Errorf("after resolve --retry the row is due again: %+v", due)
	}
	all, _ := s.SyncConflicts(ctx, true)
	if len(all) != 1 || all[0].ResolvedBy != "os:test" || all[0].ResolvedAt.IsZero() {
		t.Errorf("resolved conflict = %+v", all)
	}
}

// A pull and a push that find the same number held by the same OpenMRS
// patient make one conflict, which holds the pushed row; in either order.
func TestSync_OneConflictPerDisagreement(t *testing.T) {
	for _, pullFirst := range []bool{true, false} {
		s, ctx := newStore(t)
		p, mrn := registerOne(t, s, ctx, "Amina")
		items, _ := s.DueOutbox(ctx, 0, 10)
		remote := "b52ec6f9-0e26-424c-a4a1-c64f9d571eb3"
		pull := idcards.SyncConflict{Identifier: mrn, LocalPatientID: p.ID, RemotePatientUUID: remote, Detail: "seen by the pull"}
		push := idcards.SyncConflict{Identifier: mrn, LocalPatientID: p.ID, RemotePatientUUID: remote, Detail: "seen by the push"}
		if pullFirst {
			if added, err := s.RecordConflict(ctx, pull); err != nil || !added {
				t.Fatalf("pull conflict: %v %v", added, err)
			}
		}
		if err := s.OutboxConflict(ctx, items[0].ID, push); err != nil {
			t.Fatal(err)
		}
		if added, err := s.RecordConflict(ctx, pull); err != nil || added {
			t.Errorf("pull after push: added=%v %v", added, err)
		}
		cs, _ := s.SyncConflicts(ctx, false)
		if len(cs) != 1 || cs[0].OutboxID != items[0].ID {
			t.Fatalf("pullFirst=%v: conflicts = %+v", pullFirst, cs)
		}
		// A different OpenMRS patient holding the number is another conflict.
		other := pull
		other.RemotePatientUUID = "c0ffee00-0e26-424c-a4a1-c64f9d571eb3"
		if added, err := s.RecordConflict(ctx, other); err != nil || !added {
			t.Errorf("second holder: added=%v %v", added, err)
		}
		if err := s.ResolveConflict(ctx, cs[0].ID, "checked", true); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueOutbox(ctx, 0, 10); len(due) != 2 {
			t.Errorf("pullFirst=%v: resolve --retry did not re-queue the held row: %+v", pullFirst, due)
		}
	}
}

func TestSync_MergeExternal(t *testing.T) {
	s, ctx := newStore(t)
	p, mrn := registerOne(t, s, ctx, "Amina")
	spare, err := s.Reserve(ctx, 1) // a pre-printed card nobody holds yet
	if err != nil {
		t.Fatal(err)
	}
	other := "0b7f4c6e-1111-4c5b-9d6a-1a2b3c4d5e6f"
	tests := []struct {
		name               string
		ids                []idcards.ExternalIdentifier
		added, conflicts   int
		conflictIdentifier string
	}{
		{"new numbers held elsewhere", []idcards.ExternalIdentifier{{Identifier: mustMake(t, 50), PatientUUID: other}, {Identifier: mustMake(t, 51), PatientUUID: other}}, 2, 0, ""},
		{"seen again", []idcards.ExternalIdentifier{{Identifier: mustMake(t, 50), PatientUUID: other}}, 0, 0, ""},
		// Numbers this registry issued are not new when OpenMRS holds them:
		// ours read back after a push, or (a conflict) held by someone else.
		{"our own patient, pushed earlier", []idcards.ExternalIdentifier{{Identifier: mrn, PatientUUID: p.UUID}}, 0, 0, ""},
		{"our number on another patient", []idcards.ExternalIdentifier{{Identifier: mrn, PatientUUID: other}}, 0, 1, mrn},
		{"pre-printed card's number typed into OpenMRS", []idcards.ExternalIdentifier{{Identifier: spare[0], PatientUUID: other}}, 0, 1, spare[0]},
		{"empty batch", nil, 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.SyncConflicts(ctx, true)
			m, err := s.MergeExternal(ctx, "openmrs", tc.ids)
			if err != nil {
				t.Fatal(err)
			}
			if m.Added != tc.added || m.Conflicts != tc.conflicts {
				t.Errorf("added %d conflicts %d, want %d %d", m.Added, m.Conflicts, tc.added, tc.conflicts)
			}
			after, _ := s.SyncConflicts(ctx, true)
			if tc.conflictIdentifier != "" && (len(after) != len(before)+1 || after[len(after)-1].Identifier != tc.conflictIdentifier) {
				t.Errorf("conflicts = %+v", after)
			}
		})
	}
	// A number OpenMRS holds is never issued here.
	_, next, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Zoë", FamilyName: "Achieng", Sex: idcards.SexFemale, BirthDate: "2001-01-01"}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if next == mustMake(t, 50) || next == mustMake(t, 51) {
		t.Errorf("issued %s, which OpenMRS holds", next)
	}
	st, _ := s.SyncStatus(ctx)
	if st.External != 4 || st.Conflicts != 2 {
		t.Errorf("status = %+v", st)
	}
}

func TestSync_LeaseKeepsOneSyncer(t *testing.T) {
	s, ctx := newStore(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	steps := []struct {
		owner string
		want  bool
	}{
		{"tui 1@desk", true},
		{"serve 2@desk", false}, // held
		{"tui 1@desk", true},    // renewal
	}
	for _, st := range steps {
		got, err := s.AcquireSyncLease(ctx, st.owner, time.Minute)
		if err != nil || got != st.want {
			t.Fatalf("%s: got %v, %v; want %v", st.owner, got, err, st.want)
		}
	}
	now = now.Add(2 * time.Minute) // the TUI crashed: its lease runs out
	if got, _ := s.AcquireSyncLease(ctx, "serve 2@desk", time.Minute); !got {
		t.Fatal("expired lease not taken over")
	}
	if err := s.ReleaseSyncLease(ctx, "tui 1@desk"); err != nil { // not the holder: no effect
		t.Fatal(err)
	}
	if got, _ := s.AcquireSyncLease(ctx, "tui 1@desk", time.Minute); got {
		t.Fatal("release by a non-holder freed the lease")
	}
	if err := s.ReleaseSyncLease(ctx, "serve 2@desk"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AcquireSyncLease(ctx, "tui 1@desk", time.Minute); !got {
		t.Fatal("released lease not free")
	}
}

func TestSync_Config(t *testing.T) {
	s, ctx := newStore(t)
	if _, ok, err := s.SyncConfig(ctx); err != nil || ok {
		t.Fatalf("fresh registry: ok=%v err=%v", ok, err)
	}
	cfg := registry.SyncConfig{URL: "https://emr.example.org/openmrs", Username: "idcards-desk", PasswordFile: "/etc/idcards/openmrs.pw",
		IdentifierType: "05a29f94-c0ed-11e2-94be-8c13b969e334", Location: "8d6c993e-c2cc-11de-8d13-0010c6dffd0f", Interval: 30 * time.Second}
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "amy", Role: idcards.RoleClerk})
	if err := s.SaveSyncConfig(clerk, cfg); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Errorf("clerk configures sync: %v", err)
	}
	if err := s.SaveSyncConfig(ctx, registry.SyncConfig{URL: "x"}); idcards.ErrorKind(err) != idcards.Invalid {
		t.Errorf("incomplete config: %v", err)
	}
	if err := s.SaveSyncConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.SyncConfig(ctx)
	cfg.PullInterval = registry.DefaultPullInterval
	cfg.FullPullInterval = registry.DefaultFullPullInterval
	cfg.Lookalikes = registry.LookalikesPossible // the default
	if err != nil || !ok || got != cfg {
		t.Fatalf("SyncConfig = %+v %v %v, want %+v", got, ok, err, cfg)
	}
	m, _ := s.Settings(ctx)
	for k, v := range m {
		if strings.Contains(strings.ToLower(k), "password") && !strings.HasSuffix(k, "_file") {
			t.Errorf("setting %s=%s looks like a stored password", k, v)
		}
	}
	if err := s.ClearSyncConfig(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.SyncConfig(ctx); ok {
		t.Error("still configured after ClearSyncConfig")
	}
}

// TestSync_LeaseOfAKilledProcess: a sync killed with SIGKILL on this
// machine left its lease, and for two minutes every sync was told another
// process was syncing. A holder on this machine that no longer runs frees
// it at once; a running one, or one on another machine, keeps it.
func TestSync_LeaseOfAKilledProcess(t *testing.T) {
	s, ctx := newStore(t)
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip(err)
	}
	gone := fmt.Sprintf("sync %d@%s", dead.Process.Pid, host)
	for _, tc := range []struct {
		holder string
		free   bool
	}{
		{gone, true},
		{fmt.Sprintf("sync %d@%s", os.Getpid(), host), false},        // running
		{fmt.Sprintf("sync %d@other-desk", dead.Process.Pid), false}, // cannot tell
	} {
		if err := s.ReleaseSyncLease(ctx, "sync me@"+host); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AcquireSyncLease(ctx, tc.holder, time.Minute); err != nil || !got {
			t.Fatalf("%s: %v %v", tc.holder, got, err)
		}
		got, err := s.AcquireSyncLease(ctx, "sync me@"+host, time.Minute)
		if err != nil || got != tc.free {
			t.Errorf("lease held by %s: taken %v (%v), want %v", tc.holder, got, err, tc.free)
		}
		s.ReleaseSyncLease(ctx, tc.holder)
	}
}
