package openmrs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/openmrs"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// fakeClock is the clock of retries and the breaker: sleeping moves it on
// at once, so no test waits for a backoff.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.Advance(d)
	return ctx.Err()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClient(t testing.TB, url, user, pw string, clock *fakeClock) *openmrs.Client {
	t.Helper()
	c, err := openmrs.New(openmrs.Config{BaseURL: url, Username: user, Password: pw, Clock: clock, JitterSeed: 7,
		Timeout: 2 * time.Second, Retry: openmrs.RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// luhn30 makes valid "OpenMRS ID" style identifiers: prefix 10, 6 digits
// (room for the 100,000-identifier benchmark).
var luhn30 = idcards.Format{Prefix: "10", Width: 6, Scheme: "luhn-mod-30"}

func mrn(t testing.TB, seq int64) string {
	t.Helper()
	c, err := barcode.NewCodec(luhn30)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Make(seq)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func seed(fake *openmrstest.Server, uuid, given, id string) string {
	return fake.AddPatient(openmrstest.Patient{UUID: uuid, GivenName: given, FamilyName: "Lewis", Gender: "F", Birthdate: "1936-12-04",
		Identifiers: []openmrstest.Identifier{{Identifier: id, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID, Preferred: true}}})
}

func TestClient_Session(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	ctx := context.Background()
	tests := []struct {
		name   string
		url    string
		user   string
		pw     string
		reason openmrs.Reason
	}{
		{"good credentials", fake.URL(), "admin", "Admin123", openmrs.ReasonNone},
		{"URL with the REST suffix", fake.URL() + "/ws/rest/v1/", "admin", "Admin123", openmrs.ReasonNone},
		{"wrong password", fake.URL(), "admin", "admin123", openmrs.ReasonUnauthorized},
		{"unknown user", fake.URL(), "nobody", "Admin123", openmrs.ReasonUnauthorized},
		{"wrong base URL", strings.TrimSuffix(fake.URL(), "/openmrs") + "/emr", "admin", "Admin123", openmrs.ReasonNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.url, tc.user, tc.pw, newFakeClock())
			s, err := c.Session(ctx)
			if got := openmrs.Classify(err); got != tc.reason {
				t.Fatalf("Classify(%v) = %s, want %s", err, got, tc.reason)
			}
			if err == nil && (!s.Authenticated || s.User.Username == "") {
				t.Errorf("session = %+v", s)
			}
			if err != nil && strings.Contains(err.Error(), tc.pw) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestClient_ServerDownOpensCircuit(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL + "/openmrs"
	ts.Close() // nothing listens there any more
	clock := newFakeClock()
	c := newClient(t, url, "admin", "Admin123", clock)
	ctx := context.Background()
	_, err := c.Session(ctx)
	if r := openmrs.Classify(err); r != openmrs.ReasonUnavailable {
		t.Fatalf("down server: %s (%v)", r, err)
	}
	_, err = c.Session(ctx) // 4 + 4 failed attempts: the breaker is open now
	if !errors.Is(err, openmrs.ErrCircuitOpen) {
		t.Fatalf("second call: %v, want circuit open", err)
	}
	sent := c.Stats().Requests
	if _, err := c.Session(ctx); !errors.Is(err, openmrs.ErrCircuitOpen) || c.Stats().Requests != sent {
		t.Errorf("open circuit still sends requests: %v", err)
	}
	clock.Advance(time.Minute) // cool-down over: one probe goes out
	c.Session(ctx)
	if c.Stats().Requests != sent+1 {
		t.Errorf("half-open probe: %d requests, want %d", c.Stats().Requests, sent+1)
	}
}

func TestClient_Patients(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	ctx := context.Background()
	c := newClient(t, fake.URL(), "admin", "Admin123", newFakeClock())
	sarah := seed(fake, "", "Sarah", mrn(t, 3))

	got, err := c.FindPatientsByIdentifier(ctx, mrn(t, 3))
	if err != nil || len(got) != 1 || got[0].UUID != sarah || got[0].GivenName != "Sarah" || got[0].Birthdate != "1936-12-04" {
		t.Fatalf("FindPatientsByIdentifier = %+v, %v", got, err)
	}
	if id, ok := got[0].Identifier(openmrstest.StockIdentifierTypeUUID); !ok || id != mrn(t, 3) {
		t.Errorf("identifier of type = %q %v (identifiers %+v)", id, ok, got[0].Identifiers)
	}
	if got, err := c.FindPatientsByIdentifier(ctx, mrn(t, 3)[:3]); err != nil || len(got) != 0 {
		t.Errorf("search is exact: a prefix found %+v, %v", got, err)
	}
	if _, found, err := c.GetPatient(ctx, "0b7f4c6e-1111-4c5b-9d6a-1a2b3c4d5e6f"); found || err != nil {
		t.Errorf("GetPatient(missing) = %v, %v", found, err)
	}
	if _, _, err := c.GetPatient(ctx, "../session"); err == nil {
		t.Error("a uuid that changes the path was sent")
	}

	uuid := "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	pc := openmrs.NewPatientCreate(idcards.Patient{UUID: uuid, GivenName: "Amina", FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-02", Village: "Kawempe"},
		mrn(t, 4), openmrstest.StockIdentifierTypeUUID, openmrstest.StockLocationUUID)
	created, err := c.CreatePatient(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	if created.UUID != uuid {
		t.Errorf("client-chosen uuid not kept: %s", created.UUID)
	}
	if p, found, err := c.GetPatient(ctx, uuid); !found || err != nil || p.FamilyName != "Nakato" {
		t.Errorf("GetPatient = %+v %v %v", p, found, err)
	}
	if _, err := c.AddIdentifier(ctx, uuid, openmrs.IdentifierCreate{Identifier: mrn(t, 5), TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID}); err != nil {
		t.Fatal(err)
	}
	ids, err := c.PatientIdentifiers(ctx, uuid)
	if err != nil || len(ids) != 2 {
		t.Fatalf("identifiers = %+v, %v", ids, err)
	}
	for _, id := range ids {
		if id.Identifier == mrn(t, 5) {
			if err := c.VoidIdentifier(ctx, uuid, id.UUID, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := fake.PatientsWithIdentifier(mrn(t, 5)); len(got) != 0 {
		t.Errorf("voided identifier still found: %+v", got)
	}
}

// TestClient_RefusalsAreClassified: OpenMRS answers every identifier
// problem with the same 400 "Invalid Submission"; the message tells them
// apart.
func TestClient_RefusalsAreClassified(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	ctx := context.Background()
	c := newClient(t, fake.URL(), "admin", "Admin123", newFakeClock())
	seed(fake, "", "Sarah", mrn(t, 3))
	good := idcards.Patient{GivenName: "Amina", FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-02"}
	wrongCheck := mrn(t, 6)
	wrongCheck = wrongCheck[:len(wrongCheck)-1] + map[bool]string{true: "A", false: "C"}[strings.HasSuffix(wrongCheck, "C")]
	tests := []struct {
		name     string
		id       string
		location string
		reason   openmrs.Reason
		message  string
	}{
		{"taken by another patient", mrn(t, 3), openmrstest.StockLocationUUID, openmrs.ReasonDuplicateIdentifier, "already in use by another patient"},
		{"wrong check character", wrongCheck, openmrstest.StockLocationUUID, openmrs.ReasonInvalidCheckDigit, "Invalid check digit"},
		{"character outside the alphabet", "10B0016", openmrstest.StockLocationUUID, openmrs.ReasonUnallowedIdentifier, "not appropriate for validation scheme"},
		{"no location", mrn(t, 7), "", openmrs.ReasonLocationRequired, "Location cannot be null"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fake.Patients())
			_, err := c.CreatePatient(ctx, openmrs.NewPatientCreate(good, tc.id, openmrstest.StockIdentifierTypeUUID, tc.location))
			if got := openmrs.Classify(err); got != tc.reason {
				t.Fatalf("Classify(%v) = %s, want %s", err, got, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not carry OpenMRS's message %q", err, tc.message)
			}
			if len(fake.Patients()) != before {
				t.Error("a refused patient was created")
			}
		})
	}
}

func TestClient_PagesFollowNextLinks(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	ctx := context.Background()
	c := newClient(t, fake.URL(), "admin", "Admin123", newFakeClock())
	want := map[string]bool{}
	for i := int64(1); i <= 250; i++ {
		id := mrn(t, i)
		seed(fake, "", fmt.Sprint("P", i), id)
		want[id] = true
	}
	seed(fake, "", "Other", "20001") // another namespace: not ours
	got := map[string]bool{}
	pages, err := c.IdentifiersWithPrefix(ctx, openmrstest.StockIdentifierTypeUUID, "10", func(batch []openmrs.IdentifierRecord) error {
		for _, r := range batch {
			if got[r.Identifier] {
				t.Errorf("%s twice", r.Identifier)
			}
			got[r.Identifier] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || pages != 3 {
		t.Errorf("read %d identifiers in %d pages, want %d in 3", len(got), pages, len(want))
	}
}

func TestClient_RetriesFlakyGets(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{Seed: 3})
	ctx := context.Background()
	c := newClient(t, fake.URL(), "admin", "Admin123", newFakeClock())
	seed(fake, "", "Sarah", mrn(t, 3))
	fake.SetFaults(openmrstest.Faults{FailRate: 0.3})
	for i := 0; i < 20; i++ {
		if _, err := c.FindPatientsByIdentifier(ctx, mrn(t, 3)); err != nil {
			t.Fatalf("look-up %d: %v", i, err)
		}
	}
	if c.Stats().Retries == 0 {
		t.Error("no retries with 30% of requests failing")
	}
}

func TestClient_Metadata(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	ctx := context.Background()
	c := newClient(t, fake.URL(), "admin", "Admin123", newFakeClock())
	typ, err := c.IdentifierType(ctx, openmrstest.StockIdentifierTypeUUID)
	if err != nil || typ.Validator != openmrstest.ValidatorLuhnMod30 || !typ.LocationRequired() || !typ.Required {
		t.Fatalf("IdentifierType = %+v, %v", typ, err)
	}
	if types, err := c.IdentifierTypes(ctx); err != nil || len(types) != 1 {
		t.Errorf("IdentifierTypes = %+v, %v", types, err)
	}
	if loc, err := c.Location(ctx, openmrstest.StockLocationUUID); err != nil || loc.Name != "Amani Hospital" {
		t.Errorf("Location = %+v, %v", loc, err)
	}
	srcs, err := c.IdentifierSources(ctx)
	if err != nil || len(srcs) != 1 || srcs[0].IdentifierTypeUUID != openmrstest.StockIdentifierTypeUUID {
		t.Fatalf("IdentifierSources = %+v, %v", srcs, err)
	}
	block, err := c.ExportIdentifiers(ctx, srcs[0].UUID, 10, "idcards test")
	if err != nil || len(block) != 10 {
		t.Fatalf("ExportIdentifiers = %v, %v", block, err)
	}
	one, err := c.GenerateIdentifier(ctx, srcs[0].UUID, "")
	if err != nil {
		t.Fatal(err)
	}
	sch, _ := barcode.Lookup("luhn-mod-30")
	for _, id := range append(block, one) {
		if err := sch.Validate(id); err != nil {
			t.Errorf("idgen gave %s: %v", id, err)
		}
	}
}
