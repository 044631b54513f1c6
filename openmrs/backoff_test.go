package openmrs_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// TestSyncer_BackoffIsReported: a round run while earlier failures wait
// out their back-off pushed nothing, yet reported only "waiting" and
// cleared the last error, so sync --once exited 0. The rows are counted as
// retrying, with the earliest next attempt, and the last error stays.
func TestSyncer_BackoffIsReported(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	d.register(t, 1)
	d.register(t, 2)
	fake.SetFaults(openmrstest.Faults{FailRate: 1, Only: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/patient")
	}})
	rep, err := d.sy.RunOnce(d.ctx, false, nil)
	if err != nil || rep.Push.Deferred != 2 || rep.Push.Retrying() != 2 || rep.Push.NextRetry.IsZero() {
		t.Fatalf("round with failing creates: %+v, %v", rep.Push, err)
	}
	first := rep.Push.NextRetry
	fake.SetFaults(openmrstest.Faults{})
	for _, tc := range []struct {
		name    string
		advance time.Duration
		backoff int
		pushed  int
	}{
		{"WithinBackoff", 0, 2, 0}, // the server is fine again, but the rows wait their turn
		{"AfterBackoff", 2 * time.Hour, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d.clock.Advance(tc.advance)
			rep, err := d.sy.RunOnce(d.ctx, false, nil)
			if err != nil || rep.Push.Backoff != tc.backoff || rep.Push.Pushed != tc.pushed || rep.Push.Retrying() != tc.backoff {
				t.Fatalf("push = %+v, %v", rep.Push, err)
			}
			// Each patient's add_identifier row waits behind its registration.
			if tc.backoff > 0 && (!rep.Push.NextRetry.Equal(first.Truncate(time.Microsecond)) || rep.Push.Waiting != 2) {
				t.Errorf("next retry %v (want %v), waiting %d", rep.Push.NextRetry, first, rep.Push.Waiting)
			}
			if tc.backoff == 0 && !rep.Push.NextRetry.IsZero() {
				t.Errorf("next retry %v with nothing left to retry", rep.Push.NextRetry)
			}
			st, err := d.s.SyncStatus(d.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if failing := st.LastError != ""; failing != (tc.backoff > 0) {
				t.Errorf("last error %q with %d row(s) in back-off", st.LastError, tc.backoff)
			}
		})
	}
}

// TestSyncer_BackoffIsWhyTheRowWaits: a row is in back-off because it
// failed, not because of its attempt count. A refusal that never reached
// OpenMRS's data (a 403, a 404) counts no attempt, and its back-off was
// reported as a mere wait (a stalled cron sync exited 0); a row that failed
// once and now only waits for something else was reported as failing.
func TestSyncer_BackoffIsWhyTheRowWaits(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	d.register(t, 1)
	d.register(t, 2)
	items, err := d.s.Outbox(d.ctx, "pending", 10)
	if err != nil {
		t.Fatal(err)
	}
	var regs []idcards.OutboxItem
	for _, it := range items {
		if it.Kind == idcards.OutboxRegister {
			regs = append(regs, it)
		}
	}
	if len(regs) != 2 {
		t.Fatalf("registrations queued: %+v", items)
	}
	later := d.clock.Now().Add(time.Hour)
	// Failed without an attempt counted (a 403): back-off.
	if err := d.s.OutboxDefer(d.ctx, regs[0].ID, "HTTP 403: privileges required", later, false, true); err != nil {
		t.Fatal(err)
	}
	// Failed once (counted), then deferred only to wait: a wait.
	// (Its wait ends later, so the next retry tells which row is counted.)
	if err := d.s.OutboxDefer(d.ctx, regs[1].ID, "timeout", later, true, true); err != nil {
		t.Fatal(err)
	}
	if err := d.s.OutboxDefer(d.ctx, regs[1].ID, "waiting for an MRN", later.Add(time.Hour), false, false); err != nil {
		t.Fatal(err)
	}
	rep, err := d.sy.RunOnce(d.ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Push.Backoff != 1 || rep.Push.Pushed != 0 || !rep.Push.NextRetry.Equal(later.Truncate(time.Microsecond)) {
		t.Errorf("push = %+v: want the 403's row alone in back-off until %v", rep.Push, later)
	}
	got, err := d.s.Outbox(d.ctx, "pending", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range got {
		if want := it.ID == regs[0].ID; (it.ID == regs[0].ID || it.ID == regs[1].ID) && it.Failing != want {
			t.Errorf("row %d (%s) failing = %v, want %v", it.ID, it.LastError, it.Failing, want)
		}
	}
}
