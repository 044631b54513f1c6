package openmrs_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

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
