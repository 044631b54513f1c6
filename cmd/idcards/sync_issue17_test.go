package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards/openmrs/openmrstest"
	"github.com/idcards/idcards/registry"
)

// TestSyncCLI_PasswordFileStoredAbsolute: a relative --password-file
// works from another directory later (the desk screen, a service).
func TestSyncCLI_PasswordFileStoredAbsolute(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	dir := filepath.Dir(e.pwFile)
	t.Chdir(dir)
	r := e.run("", "sync", "configure", "--url", e.fake.URL(), "--openmrs-user", "admin", "--password-file", filepath.Base(e.pwFile),
		"--identifier-type", openmrstest.StockIdentifierTypeUUID, "--location", openmrstest.StockLocationUUID)
	if r.code != 0 {
		t.Fatalf("configure: %d %s", r.code, r.stderr)
	}
	t.Chdir(t.TempDir())
	e.register("Amina")
	e.must("sync", "--once")
	var st struct {
		LastPushAt string `json:"last_push_at"`
	}
	if err := json.Unmarshal([]byte(e.must("sync", "status", "--json")), &st); err != nil || st.LastPushAt == "" {
		t.Fatalf("status after sync from another directory: %+v %v", st, err)
	}
}

// TestSyncCLI_PullOnlyAndExitCodes: --pull-only records the pull; a second
// syncer exits 3; wrong credentials exit 4; a server down exits 5.
func TestSyncCLI_PullOnlyAndExitCodes(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	r := e.configure()
	if r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	// configure makes the first, full, pull itself: before a desk issues.
	wantIn(t, "configure", r.stdout, "first pull: 0 identifier(s)")
	out := e.must("sync", "--once", "--pull-only")
	wantIn(t, "pull-only", out, "pulled 0 identifiers")
	if strings.Contains(out, "pushed") {
		t.Errorf("pull-only pushed:\n%s", out)
	}
	st := e.must("sync", "status")
	if strings.Contains(st, "last pull:        never") || strings.Contains(st, "last full pull:               never") {
		t.Errorf("status after --pull-only:\n%s", st)
	}
	// Another process holds the lease.
	s, ctx, err := (&app{getenv: func(k string) string { return e.env[k] }, stderr: os.Stderr, stdout: os.Stdout}).open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.AcquireSyncLease(ctx, "tui 1@desk", 60e9); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if r := e.run("", "sync", "--once", "--pull-only"); r.code != 3 || !strings.Contains(r.stderr, "another idcards process") {
		t.Errorf("second syncer: exit %d, %s", r.code, r.stderr)
	}
	_ = s.ReleaseSyncLease(ctx, "tui 1@desk")
	s.Close()
	e.fake.SetPassword("admin", "other")
	if r := e.run("", "sync", "--once"); r.code != 4 {
		t.Errorf("wrong password: exit %d, %s", r.code, r.stderr)
	}
	e.fake.SetFaults(openmrstest.Faults{Down: true})
	if r := e.run("", "sync", "--once"); r.code != 5 {
		t.Errorf("server down: exit %d, %s", r.code, r.stderr)
	}
}

// TestSyncCLI_HeldCardRefused: after a pull flags a pre-printed card's
// number as held in OpenMRS, `patients add --mrn` refuses it.
func TestSyncCLI_HeldCardRefused(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	card := strings.Fields(e.must("issue", "--count", "1"))[0]
	e.fake.AddPatient(openmrstest.Patient{GivenName: "Other", FamilyName: "Person", Gender: "M",
		Identifiers: []openmrstest.Identifier{{Identifier: card, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID}}})
	if r := e.run("", "sync", "--once"); r.code != 1 {
		t.Errorf("sync --once with a conflict: exit %d", r.code)
	}
	wantIn(t, "conflicts", e.must("sync", "conflicts"), card, "do not hand out this card")
	r := e.run("", "patients", "add", "--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12", "--mrn", card, "--force", "--reason", "test")
	if r.code == 0 || !strings.Contains(r.stderr, "held in OpenMRS") {
		t.Fatalf("bind a held card: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantIn(t, "verify", e.run("", "verify", card).stdout, "unassigned")
}

// TestSyncCLI_SeriesSchemeCheckedAgainstType: series add refuses a scheme
// the configured identifier type would reject.
func TestSyncCLI_SeriesSchemeCheckedAgainstType(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	r := e.run("", "series", "add", "--site", "77", "--scheme", "luhn")
	if r.code != 2 || !strings.Contains(r.stderr, "luhn-mod-30") {
		t.Fatalf("series add --scheme luhn: exit %d %s", r.code, r.stderr)
	}
	e.must("series", "add", "--site", "77", "--scheme", "luhn-mod-30")
	wantIn(t, "series list", e.must("series", "list"), "LEFT", "DAYS LEFT", "77")
}

// TestSyncCLI_ConfigureNotFoundVersusFailure: a type OpenMRS does not
// list is "not found"; a type it lists but cannot be read is reported as
// the failure it is; a web page is "not OpenMRS's REST API".
func TestSyncCLI_ConfigureNotFoundVersusFailure(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	r := e.run("", "sync", "configure", "--url", e.fake.URL(), "--openmrs-user", "admin", "--password-file", e.pwFile,
		"--identifier-type", "0b7f4c6e-1111-4c5b-9d6a-1a2b3c4d5e6f", "--location", openmrstest.StockLocationUUID)
	if r.code == 0 || !strings.Contains(r.stderr, "has no patient identifier type") {
		t.Errorf("unknown type: exit %d %s", r.code, r.stderr)
	}
	// The type cannot be read by uuid, but the list has it: configure goes on with the listed one.
	e.fake.SetFaults(openmrstest.Faults{FailRate: 1, Only: func(r *http.Request) bool {
		return strings.HasSuffix(r.URL.Path, "/patientidentifiertype/"+openmrstest.StockIdentifierTypeUUID)
	}})
	if r = e.configure(); r.code != 0 {
		t.Errorf("type listed but unreadable by uuid: exit %d %s", r.code, r.stderr)
	}
	// Neither answers: the failure is reported as what it is.
	e.fake.SetFaults(openmrstest.Faults{FailRate: 1, Only: func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/patientidentifiertype") }})
	r = e.configure()
	if r.code == 0 || strings.Contains(r.stderr, "has no patient identifier type") || !strings.Contains(r.stderr, "injected failure") {
		t.Errorf("types unreadable: exit %d %s", r.code, r.stderr)
	}
	e.fake.SetFaults(openmrstest.Faults{})
	html := httpHTML(t)
	r = e.run("", "sync", "configure", "--url", html, "--openmrs-user", "admin", "--password-file", e.pwFile,
		"--identifier-type", openmrstest.StockIdentifierTypeUUID)
	if r.code == 0 || !strings.Contains(r.stderr, "does not look like OpenMRS's REST API") {
		t.Errorf("HTML server: exit %d %s", r.code, r.stderr)
	}
}

// TestSyncCLI_IdgenPool: configure --id-source idgen:UUID fills the pool;
// new MRNs are idgen's; status, series list and sync pool show what is left.
func TestSyncCLI_IdgenPool(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	// OpenMRS's own desk registered someone with a number from the same
	// idgen source: normal with a pool, not "another system issues our
	// prefix" (configure warned so).
	e.heldElsewhere("10009S")
	r := e.configure("--id-source", "idgen:"+openmrstest.StockSourceUUID, "--pool", "20", "--low-water", "5")
	if r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	wantIn(t, "configure", r.stdout, "pool filled: 20", "issued by OpenMRS itself")
	if strings.Contains(r.stderr, "another system") {
		t.Errorf("configure warns of another system for idgen's own numbers:\n%s", r.stderr)
	}
	m := e.register("Amina")
	if !strings.HasPrefix(m, "1000") {
		t.Fatalf("MRN %q is not idgen's", m)
	}
	e.must("sync", "--once")
	if got := e.fake.PatientsWithIdentifier(m); len(got) != 1 {
		t.Fatalf("%s in OpenMRS: %d", m, len(got))
	}
	wantIn(t, "status", e.must("sync", "status"), "idgen:"+openmrstest.StockSourceUUID, "19 left", "idgen pool:")
	wantIn(t, "series list", e.must("series", "list"), "new MRNs come from the idgen pool")
	wantIn(t, "sync pool", e.must("sync", "pool"), "left:", "19", "issued from the pool:")
	// Configure again without --id-source: the pool stays; --pool alone resizes it.
	if r := e.configure("--pool", "40", "--low-water", "10"); r.code != 0 {
		t.Fatalf("reconfigure: %s", r.stderr)
	}
	wantIn(t, "sync pool after resize", e.must("sync", "pool"), "refilled to 40 when below 10")
	if m := e.register("Babirye"); !strings.HasPrefix(m, "1000") {
		t.Errorf("after reconfigure, MRN %q is not idgen's", m)
	}
	// sync off keeps the ID source: the pool still serves.
	e.must("sync", "off")
	if m := e.register("Chausiku"); !strings.HasPrefix(m, "1000") {
		t.Errorf("after sync off, MRN %q is not idgen's", m)
	}
	// Back to the series, explicitly: warned that the pool's numbers go unused.
	r = e.configure("--id-source", "series")
	if r.code != 0 || !strings.Contains(r.stderr, "will not be issued") {
		t.Fatalf("back to series: exit %d %s", r.code, r.stderr)
	}
	if m := e.register("Dorcas"); !strings.HasPrefix(m, "KLA") {
		t.Errorf("after --id-source series, MRN %q", m)
	}
	if r := e.configure("--pool", "5"); r.code != 2 {
		t.Errorf("--pool on a series registry: exit %d", r.code)
	}
	_ = registry.DefaultPoolSize
}

// httpHTML serves a web page on every path (a proxy's landing page).
func httpHTML(t *testing.T) string {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Intranet</body></html>")
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/openmrs"
}

// TestSyncCLI_SeriesSchemeLearnedForOldConfig: a registry configured before
// the scheme was recorded asks OpenMRS at series add.
func TestSyncCLI_SeriesSchemeLearnedForOldConfig(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	s, ctx, err := (&app{getenv: func(k string) string { return e.env[k] }, stderr: os.Stderr, stdout: os.Stdout}).open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, registry.SettingTypeScheme, ""); err != nil { // as written by an older idcards
		t.Fatal(err)
	}
	s.Close()
	if r := e.run("", "series", "add", "--site", "77", "--scheme", "luhn"); r.code != 2 || !strings.Contains(r.stderr, "luhn-mod-30") {
		t.Fatalf("series add --scheme luhn: exit %d %s", r.code, r.stderr)
	}
}

// TestSyncCLI_ConfigurePullsFirst: OpenMRS already holds this registry's
// first numbers (another entry point uses the same prefix). configure said
// nothing and the desk issued KLA000001D, which another patient holds in
// OpenMRS. configure now makes the first full pull, warns, and the series
// skips the numbers held.
func TestSyncCLI_ConfigurePullsFirst(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	held := strings.Fields(e.must("mrn", "compute", "--scheme", "luhn-mod-30", "KLA000001", "KLA000002"))
	for _, id := range held {
		e.fake.AddPatient(openmrstest.Patient{GivenName: "Other", FamilyName: "Person", Gender: "M", Birthdate: "1970-01-01",
			Identifiers: []openmrstest.Identifier{{Identifier: id, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID}}})
	}
	r := e.configure()
	if r.code != 0 {
		t.Fatalf("configure: %d %s", r.code, r.stderr)
	}
	wantIn(t, "configure", r.stdout, "first pull: 2 identifier(s)")
	wantIn(t, "configure", r.stderr, "already holds 2 number(s)", "a prefix of its own")
	got := e.register("Amina")
	for _, id := range held {
		if got == id {
			t.Fatalf("issued %s, which OpenMRS holds", got)
		}
	}
}

// TestSyncCLI_FailedChangesAreNotSuccess: OpenMRS answered every new
// patient with a 500. sync --once said "to retry later 1" and exited 0,
// sync status showed the failed round as the last push and no error, and
// the desk said "last ok just now": a stalled sync was invisible.
func TestSyncCLI_FailedChangesAreNotSuccess(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	e.register("Amina")
	e.fake.SetFaults(openmrstest.Faults{FailRate: 1, Only: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/ws/rest/v1/patient")
	}})
	r := e.run("", "sync", "--once", "--no-pull")
	if r.code != 1 || !strings.Contains(r.stderr, "stay queued") {
		t.Fatalf("sync --once with a failing change: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var st struct {
		LastPushAt string `json:"last_push_at"`
		LastError  string `json:"last_error"`
	}
	if err := json.Unmarshal([]byte(e.must("sync", "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.LastPushAt != "" || !strings.Contains(st.LastError, "retried later") {
		t.Errorf("status after a failed push: %+v", st)
	}
}

// TestSyncCLI_MergeAfterSync: two records of one person both reached
// OpenMRS, then a supervisor merged them here. The moved MRN's conflict
// blamed "someone else" — our own merged-away record — and said nothing of
// merging in OpenMRS too.
func TestSyncCLI_MergeAfterSync(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	keep := e.register("Amina")
	dup := e.registerTwin()
	e.must("sync", "--once")
	e.must("patients", "merge", dup, keep, "--reason", "same person, confirmed")
	e.run("", "sync", "--once") // exit 1: the conflict is open
	wantIn(t, "conflicts", e.must("sync", "conflicts"), dup, "record merged into", "Merge them in OpenMRS too")
}

// TestSyncCLI_UntrustedCertificate: a self-signed OpenMRS was reported as
// "cannot be reached", and a site IT person debugged the network.
func TestSyncCLI_UntrustedCertificate(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	e := newSyncEnv(t, openmrstest.Options{})
	r := e.run("", "sync", "configure", "--url", ts.URL+"/openmrs", "--openmrs-user", "admin", "--password-file", e.pwFile,
		"--identifier-type", openmrstest.StockIdentifierTypeUUID, "--location", openmrstest.StockLocationUUID)
	if r.code == 0 || !strings.Contains(r.stderr, "TLS certificate could not be verified") || !strings.Contains(r.stderr, "SSL_CERT_FILE") {
		t.Fatalf("configure against a self-signed server: exit %d\n%s", r.code, r.stderr)
	}
}
