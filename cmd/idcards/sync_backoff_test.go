package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards/openmrs/openmrstest"
)

// TestSyncCLI_OnceExitsNonZeroDuringBackoff: after a round whose creates
// failed, the next sync --once (a cron job a minute later) found the rows
// waiting out their back-off, pushed nothing and exited 0 — the script
// could not tell that nothing got through. It exits 1, says how many and
// when the next attempt is, and once they went it exits 0 again.
func TestSyncCLI_OnceExitsNonZeroDuringBackoff(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	m := e.register("Amina")
	e.fake.SetFaults(openmrstest.Faults{FailRate: 1, Only: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/ws/rest/v1/patient")
	}})
	if r := e.run("", "sync", "--once", "--no-pull"); r.code != 1 {
		t.Fatalf("sync --once with a failing change: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.fake.SetFaults(openmrstest.Faults{})
	// However slow this machine is, the retry is an hour away.
	e.retryAt(time.Now().Add(time.Hour))

	r := e.run("", "sync", "--once")
	if r.code != 1 {
		t.Fatalf("sync --once during the back-off: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantIn(t, "during the back-off", r.stdout, "pushed 0,", "to retry later 1")
	wantIn(t, "during the back-off", r.stderr, "1 change(s) failed and stay queued", "1 waiting out the back-off", "the next attempt is at", "idcards sync outbox")
	if h := e.fake.PatientsWithIdentifier(m); len(h) != 0 {
		t.Fatalf("%s pushed during its back-off", m)
	}
	wantIn(t, "status during the back-off", e.must("sync", "status"), "last error:", "retried later")

	e.retryAt(time.Now().Add(-time.Minute))
	wantIn(t, "after the back-off", e.must("sync", "--once"), "pushed 1,", "to retry later 0")
	if h := e.fake.PatientsWithIdentifier(m); len(h) != 1 {
		t.Fatalf("%s held by %d OpenMRS patients after the back-off", m, len(h))
	}
}

// retryAt moves the next attempt of every queued change that failed.
func (e *syncEnv) retryAt(at time.Time) {
	e.t.Helper()
	s, ctx, err := (&app{getenv: func(k string) string { return e.env[k] }, stderr: os.Stderr, stdout: os.Stdout}).open(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	defer s.Close()
	items, err := s.Outbox(ctx, "pending", 10)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range items {
		if it.Failing {
			if err := s.OutboxDefer(ctx, it.ID, it.LastError, at, false, true); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}
