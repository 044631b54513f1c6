package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/openmrs"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// syncEnv is a CLI environment with a registry whose MRNs fit the stock
// OpenMRS ID type (LuhnMod30), a fake OpenMRS and a password file.
type syncEnv struct {
	*cliEnv
	fake   *openmrstest.Server
	pwFile string
}

func newSyncEnv(t *testing.T, opts openmrstest.Options) *syncEnv {
	t.Helper()
	e := &syncEnv{cliEnv: newCLIEnv(t), fake: openmrstest.New(t, opts)}
	e.must("init", "--site", "KLA", "--scheme", "luhn-mod-30", "--width", "6")
	e.pwFile = filepath.Join(t.TempDir(), "openmrs.pw")
	if err := os.WriteFile(e.pwFile, []byte("Admin123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *syncEnv) configure(extra ...string) cliResult {
	e.t.Helper()
	args := append([]string{"sync", "configure", "--url", e.fake.URL(), "--openmrs-user", "admin", "--password-file", e.pwFile,
		"--identifier-type", openmrstest.StockIdentifierTypeUUID, "--location", openmrstest.StockLocationUUID}, extra...)
	return e.run("", args...)
}

func (e *syncEnv) register(given string) string {
	e.t.Helper()
	return strings.TrimSpace(e.must("patients", "add", "--given", given, "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12", "--issue", "--force", "--reason", "test"))
}

// registerTwin registers a second record of register("Amina")'s person
// (spelt Aminah, same birth date), for the merge tests, and returns its MRN.
func (e *syncEnv) registerTwin() string {
	e.t.Helper()
	return strings.TrimSpace(e.must("patients", "add", "--given", "Aminah", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12", "--issue", "--force", "--reason", "test twice"))
}

func wantIn(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("%s: missing %q in:\n%s", what, s, got)
		}
	}
}

// TestSyncCLI_EndToEnd walks a desk through set-up, a first push, a
// number taken in OpenMRS meanwhile (a conflict a supervisor resolves) and
// a status check.
func TestSyncCLI_EndToEnd(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})

	// Before set-up: status says so, sync refuses with the next step.
	wantIn(t, "status before configure", e.must("sync", "status"), "not configured")
	r := e.run("", "sync", "--once")
	if r.code == 0 {
		t.Fatal("sync --once without configuration succeeded")
	}
	wantIn(t, "sync before configure", r.stderr, "idcards sync configure")

	// Registrations made while offline wait in the outbox.
	var mrns []string
	for _, g := range []string{"Amina", "Babirye", "Nakku"} {
		mrns = append(mrns, e.register(g))
	}

	r = e.configure()
	if r.code != 0 {
		t.Fatalf("configure: %d\n%s", r.code, r.stderr)
	}
	wantIn(t, "configure", r.stdout, "OpenMRS sync configured", "OpenMRS ID", "LuhnMod30", "Amani Hospital")

	out := e.must("sync", "--once")
	wantIn(t, "first push", out, "pushed 3,")
	for _, m := range mrns {
		if h := e.fake.PatientsWithIdentifier(m); len(h) != 1 {
			t.Errorf("%s held by %d OpenMRS patients, want 1", m, len(h))
		}
	}

	// Someone files our next number in OpenMRS by hand before we push it.
	taken := e.register("Okello")
	const wrongID = "1d0c5a1e-0000-4000-8000-00000000f00d"
	other := e.fake.AddPatient(openmrstest.Patient{GivenName: "Other", FamilyName: "Person", Gender: "M", Birthdate: "1970-01-01",
		Identifiers: []openmrstest.Identifier{{UUID: wrongID, Identifier: taken, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID, Preferred: true}}})
	r = e.run("", "sync", "--once")
	if r.code != 1 { // an open conflict: OpenMRS and the registry disagree
		t.Errorf("sync --once with a conflict: exit %d", r.code)
	}
	out = r.stdout
	wantIn(t, "push of a taken number", out, "conflicts 1", "1 open conflict(s)")
	if h := e.fake.PatientsWithIdentifier(taken); len(h) != 1 || h[0].GivenName != "Other" {
		t.Errorf("OpenMRS's own patient was touched: %+v", h)
	}
	// The pull saw the number first; the held registration joins that
	// conflict instead of making a second one.
	list := e.must("sync", "conflicts")
	wantIn(t, "conflicts", list, taken, other)
	if strings.Count(strings.TrimSpace(list), "\n") != 1 {
		t.Errorf("one disagreement listed more than once:\n%s", list)
	}
	var cs []idcards.SyncConflict
	if err := json.Unmarshal([]byte(e.must("sync", "conflicts", "--json")), &cs); err != nil || len(cs) != 1 || cs[0].OutboxID == 0 {
		t.Fatalf("conflicts --json: %v %+v", err, cs)
	}
	wantIn(t, "status with a conflict", e.must("sync", "status"), "open conflicts:", "for 1 patient(s)")

	// A supervisor finds the OpenMRS entry was a typo, removes it there,
	// and resolves the conflict, queueing our registration again.
	c, err := openmrs.New(openmrs.Config{BaseURL: e.fake.URL(), Username: "admin", Password: "Admin123"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VoidIdentifier(context.Background(), other, wrongID, "typo"); err != nil {
		t.Fatal(err)
	}
	r = e.run("", "sync", "resolve", "x", "--note", "n")
	if r.code == 0 || !strings.Contains(r.stderr, "conflict id") {
		t.Errorf("resolve with a bad id: %d %s", r.code, r.stderr)
	}
	e.must("sync", "resolve", strconv.FormatInt(cs[0].ID, 10), "--note", "OpenMRS record was a typo; removed there", "--retry")
	wantIn(t, "conflicts after resolve", e.must("sync", "conflicts"), "no open conflicts")
	wantIn(t, "push after resolve", e.must("sync", "--once"), "pushed 1,")
	if h := e.fake.PatientsWithIdentifier(taken); len(h) != 1 || h[0].GivenName != "Okello" {
		t.Errorf("%s in OpenMRS after the retry: %+v", taken, h)
	}
	wantIn(t, "audit", e.must("audit", "list"), "sync.conflict", "sync.resolve")

	var status idcards.SyncStatus
	if err := json.Unmarshal([]byte(e.must("sync", "status", "--json")), &status); err != nil {
		t.Fatal(err)
	}
	if !status.Configured || status.Pending != 0 || status.Conflicts != 0 || status.LastPushAt.IsZero() {
		t.Errorf("status --json = %+v", status)
	}
}

// TestSyncCLI_ConfigureRefuses: wrong password, a validator that does not
// compute our check character, an unknown type, and a missing password are
// refused before anything is saved, each with a message saying what to fix.
func TestSyncCLI_ConfigureRefuses(t *testing.T) {
	coreLuhn := openmrstest.IdentifierType{UUID: "8d793bee-c2cc-11de-8d13-0010c6dffd0f", Name: "Old Identification Number", Validator: openmrstest.ValidatorCoreLuhn}
	e := newSyncEnv(t, openmrstest.Options{IdentifierTypes: []openmrstest.IdentifierType{openmrstest.StockIdentifierType(), coreLuhn}})

	if err := os.WriteFile(e.pwFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.configure()
	if r.code == 0 {
		t.Fatal("configure with a wrong password succeeded")
	}
	wantIn(t, "wrong password", r.stderr, `did not accept user "admin"`, "wrong username or password")
	if strings.Contains(r.stderr+r.stdout, "wrong\n") {
		t.Error("the password appears in the output")
	}
	os.WriteFile(e.pwFile, []byte("Admin123\n"), 0o600)

	r = e.run("", "sync", "configure", "--url", e.fake.URL(), "--openmrs-user", "admin", "--password-file", e.pwFile,
		"--identifier-type", coreLuhn.UUID, "--location", openmrstest.StockLocationUUID)
	if r.code == 0 {
		t.Fatal("configure with a mismatched validator succeeded")
	}
	wantIn(t, "validator mismatch", r.stderr, "luhn-mod-30", "LuhnIdentifierValidator")

	r = e.run("", "sync", "configure", "--url", e.fake.URL(), "--openmrs-user", "admin", "--password-file", e.pwFile,
		"--identifier-type", "00000000-0000-0000-0000-000000000000", "--location", openmrstest.StockLocationUUID)
	if r.code == 0 {
		t.Fatal("configure with an unknown type succeeded")
	}

	r = e.run("", "sync", "configure", "--url", e.fake.URL(), "--openmrs-user", "admin",
		"--identifier-type", openmrstest.StockIdentifierTypeUUID, "--location", openmrstest.StockLocationUUID)
	if r.code == 0 {
		t.Fatal("configure without a password succeeded")
	}
	wantIn(t, "no password", r.stderr, envOpenMRSPassword)

	r = e.run("", "sync", "configure", "--url", e.fake.URL()+"/nowhere", "--openmrs-user", "admin", "--password-file", e.pwFile,
		"--identifier-type", openmrstest.StockIdentifierTypeUUID, "--location", openmrstest.StockLocationUUID)
	if r.code == 0 {
		t.Fatal("configure with a wrong base URL succeeded")
	}
	wantIn(t, "wrong URL", r.stderr, "404", "base URL")

	wantIn(t, "nothing saved", e.must("sync", "status"), "not configured")

	// The environment variable works instead of the file.
	e.env[envOpenMRSPassword] = "Admin123"
	r = e.run("", "sync", "configure", "--url", e.fake.URL(), "--openmrs-user", "admin",
		"--identifier-type", openmrstest.StockIdentifierTypeUUID, "--location", openmrstest.StockLocationUUID)
	if r.code != 0 {
		t.Fatalf("configure with $%s: %s", envOpenMRSPassword, r.stderr)
	}
}

// TestSyncCLI_ServerDownKeepsEverything: with OpenMRS down, sync --once
// fails with a clear message, status shows the error, and nothing queued
// is lost; once OpenMRS is back everything goes out once.
func TestSyncCLI_ServerDownKeepsEverything(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatal(r.stderr)
	}
	m := e.register("Amina")
	e.fake.SetFaults(openmrstest.Faults{Down: true})
	r := e.run("", "sync", "--once")
	if r.code == 0 {
		t.Fatal("sync --once with OpenMRS down succeeded")
	}
	wantIn(t, "down", r.stderr, "cannot be reached", "stays queued")
	wantIn(t, "status while down", e.must("sync", "status"), "for 1 patient(s)", "last error:", "connection lost")

	// A password file removed after set-up: a clear error, nothing lost.
	e.fake.SetFaults(openmrstest.Faults{})
	os.Rename(e.pwFile, e.pwFile+".moved")
	r = e.run("", "sync", "--once")
	if r.code == 0 || !strings.Contains(r.stderr, "password file") {
		t.Fatalf("missing password file: %d %s", r.code, r.stderr)
	}
	os.Rename(e.pwFile+".moved", e.pwFile)

	wantIn(t, "back up", e.must("sync", "--once"), "pushed 1,")
	if h := e.fake.PatientsWithIdentifier(m); len(h) != 1 {
		t.Fatalf("%s held by %d patients", m, len(h))
	}
	wantIn(t, "again", e.must("sync", "--once"), "pushed 0,")
	if n := len(e.fake.Patients()); n != 1 {
		t.Fatalf("OpenMRS holds %d patients, want 1", n)
	}
	st := e.must("sync", "status")
	if strings.Contains(st, "patient(s)") || strings.Contains(st, "last error:") {
		t.Errorf("status after a good round:\n%s", st)
	}
}

// TestSyncCLI_ServeSync: serve --sync refuses without configuration; with
// it, a registration queued before start reaches OpenMRS while serve runs,
// and a second process's sync --once waits its turn or finds nothing left.
func TestSyncCLI_ServeSync(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	r := e.run("", "serve", "--addr", "127.0.0.1:0", "--sync")
	if r.code == 0 || !strings.Contains(r.stderr, "sync configure") {
		t.Fatalf("serve --sync unconfigured: %d %s", r.code, r.stderr)
	}
	if r := e.configure(); r.code != 0 {
		t.Fatal(r.stderr)
	}
	m := e.register("Amina")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--sync"}, strings.NewReader(""), io.Discard, &logs, func(k string) string { return e.env[k] })
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(e.fake.PatientsWithIdentifier(m)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach OpenMRS while serve --sync ran; log:\n%s", m, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	wantIn(t, "serve log", logs.String(), "background sync started")
	if n := len(e.fake.Patients()); n != 1 {
		t.Fatalf("OpenMRS holds %d patients, want 1", n)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestCheckOpenMRSURL: a URL with credentials is refused (it was saved in
// the settings, printed by sync status and written to the audit trail);
// plain http to another machine is a warning configure stops on.
func TestCheckOpenMRSURL(t *testing.T) {
	for _, tc := range []struct {
		url       string
		err, warn bool
	}{
		{"https://emr.example.org/openmrs", false, false},
		{"http://127.0.0.1:8080/openmrs", false, false},
		{"http://localhost/openmrs", false, false},
		{"http://[::1]:8080/openmrs", false, false},
		{"http://192.0.2.2:8087/openmrs", false, true},
		{"http://emr.clinic.lan/openmrs", false, true},
		{"http://desk:S3cret@127.0.0.1:8082/openmrs", true, false},
		{"https://desk@emr.example.org/openmrs", true, false},
	} {
		w, err := checkOpenMRSURL(tc.url)
		if (err != nil) != tc.err || (w != "") != tc.warn {
			t.Errorf("%s: warning %q, error %v", tc.url, w, err)
		}
		if err != nil && strings.Contains(err.Error(), "S3cret") {
			t.Errorf("the refusal shows the password: %v", err)
		}
	}
}
