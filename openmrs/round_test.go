package openmrs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/openmrs"
	"github.com/idcards/idcards/openmrs/openmrstest"
	"github.com/idcards/idcards/registry"
)

// serverClock is the fake server's clock, moved by the test.
type serverClock struct{ t atomic.Int64 }

func newServerClock() *serverClock {
	c := &serverClock{}
	c.t.Store(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *serverClock) Now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *serverClock) Advance(d time.Duration) { c.t.Add(int64(d)) }

func othersPatient(fake *openmrstest.Server, id string) string {
	return fake.AddPatient(openmrstest.Patient{GivenName: "Other", FamilyName: "Person", Gender: "M",
		Identifiers: []openmrstest.Identifier{{Identifier: id, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID, Preferred: true}}})
}

// TestSyncer_IncrementalPull: after a full pull, a round reads only the
// patients changed since (FHIR2 _lastUpdated), in one page for ten
// changes; a nightly full pull still comes round.
func TestSyncer_IncrementalPull(t *testing.T) {
	sc := newServerClock()
	fake := openmrstest.New(t, openmrstest.Options{Now: sc.Now})
	for i := range 1000 {
		othersPatient(fake, mrn(t, int64(5000+i)))
	}
	sc.Advance(time.Hour)
	d := newDesk(t, fake, 5*time.Second)
	rep, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true, Push: true}, nil)
	if err != nil || rep.Pull.Mode != openmrs.PullFull || rep.Pull.Identifiers != 1000 || rep.Pull.Requests != 10 {
		t.Fatalf("first pull = %+v, %v; want a full pull of 1000 in 10 pages", rep.Pull, err)
	}
	sc.Advance(time.Hour)
	d.clock.Advance(time.Hour)
	for i := range 10 {
		othersPatient(fake, mrn(t, int64(9000+i)))
	}
	sc.Advance(15 * time.Minute)
	d.clock.Advance(15 * time.Minute)
	before := fake.Requests()
	rep, err = d.sy.Run(d.ctx, openmrs.Round{Pull: true, Push: true}, nil)
	if err != nil || rep.Pull.Mode != openmrs.PullIncremental || rep.Pull.Identifiers != 10 || rep.Pull.Added != 10 || rep.Pull.Requests != 1 {
		t.Fatalf("incremental pull = %+v, %v; want 10 identifiers in one page", rep.Pull, err)
	}
	if n := fake.Requests() - before; n != 2 { // session + one FHIR page
		t.Errorf("round sent %d requests, want 2", n)
	}
	st, _ := d.s.SyncStatus(d.ctx)
	if st.External != 1010 || st.PullMode != openmrs.PullIncremental || st.LastPullAt.IsZero() || st.LastFullPullAt.IsZero() {
		t.Errorf("status = %+v", st)
	}
	// Nothing changed: one page, nothing read.
	sc.Advance(15 * time.Minute)
	d.clock.Advance(15 * time.Minute)
	if rep, err = d.sy.Run(d.ctx, openmrs.Round{Pull: true}, nil); err != nil || rep.Pull.Identifiers != 0 || rep.Pull.Requests != 1 {
		t.Fatalf("quiet round = %+v, %v", rep.Pull, err)
	}
	// A day after the last full pull, the next pull is full again.
	sc.Advance(24 * time.Hour)
	d.clock.Advance(24 * time.Hour)
	if rep, err = d.sy.Run(d.ctx, openmrs.Round{Pull: true}, nil); err != nil || rep.Pull.Mode != openmrs.PullFull || rep.Pull.Identifiers != 1010 {
		t.Fatalf("nightly pull = %+v, %v", rep.Pull, err)
	}
	// --full-pull forces one.
	if rep, err = d.sy.Run(d.ctx, openmrs.Round{Pull: true, FullPull: true}, nil); err != nil || rep.Pull.Mode != openmrs.PullFull {
		t.Fatalf("forced full pull = %+v, %v", rep.Pull, err)
	}
}

// TestSyncer_PullWithoutFHIR: a server without FHIR2 gets full pulls.
func TestSyncer_PullWithoutFHIR(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{NoFHIR: true})
	othersPatient(fake, mrn(t, 77))
	d := newDesk(t, fake, 5*time.Second)
	if _, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true}, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true}, nil)
	if err != nil || rep.Pull.Mode != openmrs.PullFullNoFHIR || rep.Pull.Identifiers != 1 {
		t.Fatalf("second pull = %+v, %v; want a full pull (no FHIR2)", rep.Pull, err)
	}
}

// TestSyncer_OldRESTWithoutStartSearch: a server that ignores
// searchType=start is named as such instead of "pulled 0".
func TestSyncer_OldRESTWithoutStartSearch(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{NoStartSearch: true})
	d := newDesk(t, fake, 5*time.Second)
	// Empty server, nothing pushed yet: zero is the honest answer.
	if _, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true}, nil); err != nil {
		t.Fatalf("empty server: %v", err)
	}
	d.register(t, 1)
	if _, err := d.sy.Run(d.ctx, openmrs.Round{Push: true}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true, FullPull: true}, nil)
	if !errors.Is(err, openmrs.ErrNoPrefixSearch) {
		t.Fatalf("pull = %v, want ErrNoPrefixSearch", err)
	}
	st, _ := d.s.SyncStatus(d.ctx)
	if !strings.Contains(st.LastError, "searchType=start") {
		t.Errorf("last error = %q", st.LastError)
	}
}

// TestSyncer_PullOnly: a pull-only round checks the session and records
// the pull.
func TestSyncer_PullOnly(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	if _, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true}, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.s.SyncStatus(d.ctx); st.LastPullAt.IsZero() || !st.LastPushAt.IsZero() {
		t.Errorf("after pull-only: last pull %v, last push %v", st.LastPullAt, st.LastPushAt)
	}
	if fake.RequestsTo("GET", "/session") != 1 {
		t.Errorf("session checked %d times", fake.RequestsTo("GET", "/session"))
	}
	fake.SetPassword("admin", "changed")
	d.c.ResetSession()
	if _, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true}, nil); openmrs.Classify(err) != openmrs.ReasonUnauthorized {
		t.Errorf("pull-only with a wrong password = %v", err)
	}
}

// TestSyncer_FailedPullStillPushes: registrations do not starve behind a
// failing pull.
func TestSyncer_FailedPullStillPushes(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	fake.SetFaults(openmrstest.Faults{FailRate: 1, Only: func(r *http.Request) bool { return r.URL.Query().Get("searchType") == "start" }})
	d.register(t, 1)
	rep, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true, Push: true}, nil)
	if err == nil || rep.PullErr == nil {
		t.Fatalf("err = %v, PullErr = %v: want the pull's failure reported", err, rep.PullErr)
	}
	if rep.Push.Pushed != 1 || len(fake.Patients()) != 1 {
		t.Fatalf("push = %+v: the registration should have gone out", rep.Push)
	}
	st, _ := d.s.SyncStatus(d.ctx)
	if st.Pending != 0 || st.LastPullAt.IsZero() == false || st.LastError == "" {
		t.Errorf("status = %+v", st)
	}
}

// TestSyncer_PullUnderLease: a second syncer neither pushes nor pulls.
func TestSyncer_PullUnderLease(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	if ok, err := d.s.AcquireSyncLease(d.ctx, "sync 99@other", time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	before := fake.Requests()
	if _, err := d.sy.Pull(d.ctx, true, nil); err != openmrs.ErrBusy {
		t.Errorf("Pull = %v, want ErrBusy", err)
	}
	if _, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true}, nil); err != openmrs.ErrBusy {
		t.Errorf("pull-only round = %v, want ErrBusy", err)
	}
	if n := fake.Requests() - before; n != 0 {
		t.Errorf("%d requests sent without the lease", n)
	}
}

// TestSyncer_RefusedPostConflictMRN: a duplicate found only at create time
// is filed under the MRN in dispute, and the next pull, finding the same
// holder, adds no second conflict.
func TestSyncer_RefusedPostConflictMRN(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	_, m := d.register(t, 1)
	var raced atomic.Bool
	fake.SetFaults(openmrstest.Faults{Only: func(r *http.Request) bool {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/patient") && !raced.Swap(true) {
			othersPatient(fake, m) // another desk files the number between our look and our post
		}
		return false
	}})
	rep, err := d.sy.Run(d.ctx, openmrs.Round{Push: true}, nil)
	if err != nil || rep.Push.Conflicts != 1 {
		t.Fatalf("push = %+v, %v", rep.Push, err)
	}
	for range 2 {
		if _, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true, FullPull: true, Push: true}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cs, _ := d.s.SyncConflicts(d.ctx, false)
	if len(cs) != 1 || cs[0].Identifier != m || cs[0].OutboxID == 0 {
		t.Fatalf("conflicts = %+v; want one, for %s, holding the push", cs, m)
	}
}

// TestSyncer_NotREST: a 200 with an HTML page is "not OpenMRS's REST API".
func TestSyncer_NotREST(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!DOCTYPE html><html><body>Welcome to our intranet</body></html>")
	}))
	t.Cleanup(ts.Close)
	c := newClient(t, ts.URL+"/openmrs", "admin", "Admin123", newFakeClock())
	_, err := c.Session(context.Background())
	if !errors.Is(err, openmrs.ErrNotREST) || !strings.Contains(err.Error(), "does not look like OpenMRS's REST API") {
		t.Fatalf("Session = %v", err)
	}
	if openmrs.Classify(err) != openmrs.ReasonNotFound {
		t.Errorf("Classify = %v", openmrs.Classify(err))
	}
}

// poolDesk is a desk whose MRNs come from the stock idgen source.
func poolDesk(t *testing.T, fake *openmrstest.Server, size, low int) *desk {
	t.Helper()
	d := newDesk(t, fake, 5*time.Second)
	op := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	if err := d.s.SetIDSource(op, registry.IDSource{Idgen: openmrstest.StockSourceUUID, Size: size, LowWater: low}); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSyncer_Pool: issuance takes idgen's numbers from the pool, which
// refills below its low-water mark, serves offline until empty, and
// withdraws numbers OpenMRS turns out to hold.
func TestSyncer_Pool(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := poolDesk(t, fake, 10, 3)
	rep, err := d.sy.Run(d.ctx, openmrs.Round{Push: true}, nil)
	if err != nil || rep.Refill.Added != 10 || rep.Refill.Requests != 1 {
		t.Fatalf("first round = %+v, %v; want the pool filled with 10", rep.Refill, err)
	}
	// idgen's next numbers; one of them OpenMRS already holds (typed in elsewhere).
	next, err := d.c.ExportIdentifiers(d.ctx, openmrstest.StockSourceUUID, 2, "test")
	if err != nil {
		t.Fatal(err)
	}
	_ = next
	pool, _ := d.s.Pool(d.ctx)
	if pool.Free != 10 {
		t.Fatalf("pool = %+v", pool)
	}
	// A pull finds the pool's 4th number held by someone in OpenMRS.
	_, first := d.register(t, 1)
	if !strings.HasPrefix(first, "1000") {
		t.Fatalf("first MRN %q: want idgen's stock numbers (10000X…)", first)
	}
	issued := map[string]bool{first: true}
	held := ""
	{
		// The pool's oldest free number now.
		_, m := d.register(t, 2)
		issued[m] = true
		held = nextFree(t, d)
		othersPatient(fake, held)
	}
	rep, err = d.sy.Run(d.ctx, openmrs.Round{Pull: true, FullPull: true, Push: true}, nil)
	if err != nil || rep.Pull.Withdrawn != 1 || rep.Push.Pushed != 2 {
		t.Fatalf("round = %+v, %v; want 1 withdrawn and 2 pushed", rep, err)
	}
	// Offline: the pool serves until it is empty, never the held number.
	fake.SetFaults(openmrstest.Faults{Down: true})
	for i := 3; ; i++ {
		op := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
		_, m, err := d.s.Register(op, registry.Registration{Patient: registry.NewPatient{GivenName: letterName(i), FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-02"}, Decision: "test"})
		if err != nil {
			if idcards.ErrorKind(err) != idcards.Unavailable || !strings.Contains(err.Error(), "pool") {
				t.Fatalf("empty pool: %v", err)
			}
			break
		}
		if m == held || issued[m] {
			t.Fatalf("issued %s twice or while OpenMRS holds it", m)
		}
		issued[m] = true
	}
	if len(issued) != 9 { // 10 fetched, 1 withdrawn
		t.Errorf("issued %d from a pool of 10 with 1 withdrawn", len(issued))
	}
	// Back online: the round refills and pushes the offline registrations.
	fake.SetFaults(openmrstest.Faults{})
	d.clock.Advance(time.Hour) // past the breaker's cool-down
	rep, err = d.sy.Run(d.ctx, openmrs.Round{Push: true}, nil)
	if err != nil || rep.Refill.Added != 10 || rep.Push.Pushed != 7 {
		t.Fatalf("back online = %+v, %v", rep, err)
	}
	for m := range issued {
		if got := fake.PatientsWithIdentifier(m); len(got) != 1 {
			t.Errorf("%s held by %d patients in OpenMRS", m, len(got))
		}
	}
	for _, n := range next {
		if issued[n] {
			t.Errorf("%s was exported to someone else but issued here", n)
		}
	}
	w, _ := d.s.PoolWithdrawn(d.ctx, 10)
	if len(w) != 1 || w[0].Identifier != held || !strings.Contains(w[0].Note, "held in OpenMRS") {
		t.Errorf("withdrawn = %+v", w)
	}
}

// nextFree is the number the pool hands out next.
func nextFree(t *testing.T, d *desk) string {
	t.Helper()
	free, err := d.s.PoolFree(d.ctx, 1)
	if err != nil || len(free) != 1 {
		t.Fatalf("pool free = %v, %v", free, err)
	}
	return free[0]
}

// TestSyncer_PoolOutsideSeriesPrefix: with series prefix KLA and idgen's
// numbers 1000…, the pull still reads around the pool and withdraws a
// pool number OpenMRS holds.
func TestSyncer_PoolOutsideSeriesPrefix(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := poolDesk(t, fake, 10, 3)
	sy, err := openmrs.NewSyncer(d.c, d.s, openmrs.SyncerConfig{IdentifierType: openmrstest.StockIdentifierTypeUUID, Location: openmrstest.StockLocationUUID,
		Prefixes: []string{"KLA"}, Owner: "test", Now: d.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sy.Run(d.ctx, openmrs.Round{Push: true}, nil); err != nil {
		t.Fatal(err)
	}
	held := nextFree(t, d)
	othersPatient(fake, held)
	othersPatient(fake, "99999Y") // far from the pool: not read
	rep, err := sy.Run(d.ctx, openmrs.Round{Pull: true, FullPull: true}, nil)
	if err != nil || rep.Pull.Withdrawn != 1 || rep.Pull.Identifiers != 1 {
		t.Fatalf("pull = %+v, %v; want the held pool number read and withdrawn", rep.Pull, err)
	}
	if _, m := d.register(t, 1); m == held {
		t.Fatalf("issued %s, which OpenMRS holds", m)
	}
}

// TestSyncer_FailedRefillStillPushes: idgen refusing the export is
// reported, and registrations still go out.
func TestSyncer_FailedRefillStillPushes(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := poolDesk(t, fake, 10, 3)
	if _, err := d.sy.Run(d.ctx, openmrs.Round{Push: true}, nil); err != nil {
		t.Fatal(err)
	}
	d.register(t, 1)
	fake.SetFaults(openmrstest.Faults{FailRate: 1, Only: func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/idgen/") }})
	for range 8 { // below the low-water mark
		d.register(t, 2)
	}
	rep, err := d.sy.Run(d.ctx, openmrs.Round{Push: true}, nil)
	if err == nil || !strings.Contains(err.Error(), "refill") {
		t.Fatalf("err = %v, want the refill's failure", err)
	}
	if rep.Push.Pushed != 9 {
		t.Errorf("pushed %d, want 9", rep.Push.Pushed)
	}
}
