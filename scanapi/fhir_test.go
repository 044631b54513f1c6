package scanapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/idcards/idcards/scanapi"
)

// fhirFixture is the scan fixture plus what FHIR shows: an OpenMRS UUID
// confirmed by sync, a reprinted (replaced) card, a merged-away record and
// a few similar names for paging.
type fhirFixture struct {
	*fixture
	system       string
	aminaUUID    string
	replacedMRN  string // its first card was replaced by a reprint
	mergedUUID   string // merged into survivorUUID
	survivorUUID string
	survivorMRN  string
	mergedMRN    string // moved to the survivor by the merge
}

func newFHIRFixture(t testing.TB) *fhirFixture {
	t.Helper()
	f := &fhirFixture{fixture: newFixture(t)}
	s, ctx := f.store, f.ctx
	var err error
	if f.system, err = s.FHIRSystem(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := s.Identifier(ctx, f.active)
	if err != nil {
		t.Fatal(err)
	}
	amina, err := s.Patient(ctx, id.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	f.aminaUUID = amina.UUID
	// Sync confirmed Amina in OpenMRS.
	items, err := s.Outbox(ctx, "pending", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Kind == "register_patient" && it.PatientID == amina.ID {
			if err := s.OutboxDone(ctx, it.ID, amina.UUID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A reprinted card: the first becomes replaced; the MRN stays.
	if _, err := s.RecordCards(ctx, []string{f.active}, "cr80", "", "first"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordCards(ctx, []string{f.active}, "cr80", "", "lost card"); err != nil {
		t.Fatal(err)
	}
	f.replacedMRN = f.active
	// Two records of one person, merged by a supervisor.
	p1, m1, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Grace", FamilyName: "Achieng", Sex: "F", BirthDate: "1985-06-01"}})
	if err != nil {
		t.Fatal(err)
	}
	p2, m2, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Grace", FamilyName: "Achieng", Sex: "F", BirthDate: "1985-06-01"}, Decision: "test: second record"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(ctx, p2.ID, p1.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	f.survivorUUID, f.survivorMRN, f.mergedUUID, f.mergedMRN = p1.UUID, m1, p2.UUID, m2
	// Similar names, for ranking and paging.
	for _, np := range []registry.NewPatient{
		{GivenName: "Grace", FamilyName: "Acheng", Sex: "F", BirthDate: "1986-06-01"},
		{GivenName: "Grace", FamilyName: "Achieng", Sex: "F", BirthDate: "1984-02-11"},
	} {
		if _, _, err := s.Register(ctx, registry.Registration{Patient: np, Decision: "test: similar"}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func fhirDo(h http.Handler, method, target, token string, hdr map[string]string, body string) reply {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return reply{w.Code, w.Header(), w.Body.String()}
}

// resource is a decoded answer, for the checks.
type resource map[string]any

func decode(t testing.TB, body string) resource {
	t.Helper()
	var m resource
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return m
}

func (r resource) list(key string) []any { l, _ := r[key].([]any); return l }

// patients returns the Patient resources of a Bundle's match entries.
func (r resource) patients() []resource {
	var out []resource
	for _, e := range r.list("entry") {
		e := e.(map[string]any)
		if s, _ := e["search"].(map[string]any); s["mode"] == "match" {
			out = append(out, resource(e["resource"].(map[string]any)))
		}
	}
	return out
}

func (r resource) identifiers() []string {
	var out []string
	for _, x := range r.list("identifier") {
		x := x.(map[string]any)
		out = append(out, x["system"].(string)+"|"+x["value"].(string))
	}
	return out
}

func (r resource) link(rel string) string {
	for _, l := range r.list("link") {
		l := l.(map[string]any)
		if l["relation"] == rel {
			return l["url"].(string)
		}
	}
	return ""
}

func TestFHIR_Requests(t *testing.T) {
	f := newFHIRFixture(t)
	srv := newServer(t, f.fixture, scanapi.Config{})
	h := srv.Handler()
	q := url.QueryEscape
	sys := f.system
	openmrs := registry.OpenMRSSystem + "|" + registry.OpenMRSValuePrefix + f.aminaUUID
	tests := []struct {
		name     string
		method   string
		target   string
		token    string
		hdr      map[string]string
		body     string
		code     int
		resource string
		check    func(t *testing.T, r resource)
	}{
		{name: "metadata without token", target: "/fhir/metadata", code: 200, resource: "CapabilityStatement", check: func(t *testing.T, r resource) {
			if r["fhirVersion"] != "4.0.1" || !strings.Contains(mustJSON(r), `"ihe-pix"`) || !strings.Contains(mustJSON(r), sys) {
				t.Errorf("capability statement lacks version, $ihe-pix or our system: %v", r)
			}
		}},
		{name: "identifier with system, read:patient", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.active), token: f.patientTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			ps := r.patients()
			if r["total"] != 1.0 || len(ps) != 1 {
				t.Fatalf("want 1 patient, got total %v, %d", r["total"], len(ps))
			}
			p := ps[0]
			if p["id"] != f.aminaUUID || p["gender"] != "female" || p["birthDate"] != "1990-03-04" || !strings.Contains(mustJSON(p), `"family":"Nakato"`) || !strings.Contains(mustJSON(p), "772") {
				t.Errorf("patient details wrong: %v", p)
			}
			if got, want := p.identifiers(), []string{sys + "|" + f.active, openmrs}; !slices.Equal(got, want) {
				t.Errorf("identifiers %v, want %v (MRN, then the OpenMRS UUID)", got, want)
			}
		}},
		{name: "identifier, verify token: no names, birth dates or phones", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.active), token: f.verifyTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			ps := r.patients()
			if len(ps) != 1 {
				t.Fatalf("want 1 patient, got %d", len(ps))
			}
			for _, k := range []string{"name", "gender", "birthDate", "telecom", "address"} {
				if _, ok := ps[0][k]; ok {
					t.Errorf("verify token sees %s: %v", k, ps[0])
				}
			}
			if strings.Contains(mustJSON(r), "Nakato") || strings.Contains(mustJSON(r), "1990") || ps[0]["id"] != f.aminaUUID || len(ps[0].identifiers()) != 2 {
				t.Errorf("want identifiers and status only: %s", mustJSON(r))
			}
		}},
		{name: "bare value, lower case", target: "/fhir/Patient?identifier=" + q(strings.ToLower(f.active)), token: f.verifyTok, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "replaced card's MRN still found", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.replacedMRN), token: f.verifyTok, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "voided ID not found", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.voided), token: f.patientTok, code: 200, resource: "Bundle", check: wantTotal(0)},
		{name: "unassigned ID not found", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.unassigned), token: f.patientTok, code: 200, resource: "Bundle", check: wantTotal(0)},
		{name: "unknown ID", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.unknown), token: f.patientTok, code: 200, resource: "Bundle", check: wantTotal(0)},
		{name: "typo: empty with a warning", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.typo), token: f.patientTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			wantTotal(0)(t, r)
			if !strings.Contains(mustJSON(r), `"mode":"outcome"`) || !strings.Contains(mustJSON(r), "invalid_check") {
				t.Errorf("want an OperationOutcome entry about the check character: %s", mustJSON(r))
			}
		}},
		{name: "OpenMRS UUID as identifier", target: "/fhir/Patient?identifier=" + q(openmrs), token: f.verifyTok, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "OR list", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.active+","+sys+"|"+f.survivorMRN), token: f.verifyTok, code: 200, resource: "Bundle", check: wantTotal(2)},
		{name: "AND of two identifiers of one patient", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.active) + "&identifier=" + q(openmrs), token: f.verifyTok, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "AND of identifiers of two patients", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.active) + "&identifier=" + q(sys+"|"+f.survivorMRN), token: f.verifyTok, code: 200, resource: "Bundle", check: wantTotal(0)},
		{name: "merged MRN finds the survivor", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.mergedMRN), token: f.verifyTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			if ps := r.patients(); len(ps) != 1 || ps[0]["id"] != f.survivorUUID || ps[0]["active"] != true {
				t.Errorf("want the surviving record: %s", mustJSON(r))
			}
		}},
		{name: "domain filter keeps only OpenMRS", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.active) + "&identifier=" + q(registry.OpenMRSSystem+"|"), token: f.verifyTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			if ps := r.patients(); len(ps) != 1 || !slices.Equal(ps[0].identifiers(), []string{openmrs}) {
				t.Errorf("want only the OpenMRS identifier: %s", mustJSON(r))
			}
		}},
		{name: "unknown identifier system", target: "/fhir/Patient?identifier=" + q("urn:oid:1.2.3|"+f.active), token: f.verifyTok, code: 404, resource: "OperationOutcome"},
		{name: "unknown domain", target: "/fhir/Patient?identifier=" + q(sys+"|"+f.active) + "&identifier=" + q("urn:oid:9.9|"), token: f.verifyTok, code: 404, resource: "OperationOutcome"},
		{name: "family and given, duplicate-aware", target: "/fhir/Patient?family=Achieng&given=Grace", token: f.patientTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			ps := r.patients()
			var ids []any
			for _, p := range ps {
				ids = append(ids, p["id"])
			}
			if len(ps) < 3 || !slices.Contains(ids, any(f.survivorUUID)) {
				t.Fatalf("want the Achieng records, the survivor among them: %s", mustJSON(r))
			}
			for _, p := range ps {
				if p["id"] == f.mergedUUID {
					t.Errorf("merged-away record offered as a match")
				}
			}
			if !strings.Contains(mustJSON(r), `"score"`) || !strings.Contains(mustJSON(r), "match-grade") {
				t.Errorf("want scores and match grades: %s", mustJSON(r))
			}
			// FHIR lists matches from the most likely down.
			last := 2.0
			for _, e := range r.list("entry") {
				sc, _ := e.(map[string]any)["search"].(map[string]any)["score"].(float64)
				if sc > last {
					t.Errorf("scores not most likely first: %s", mustJSON(r))
				}
				last = sc
			}
		}},
		{name: "spelling variant found", target: "/fhir/Patient?family=Akieng&given=Grace&birthdate=1985-06-01", token: f.patientTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			if ps := r.patients(); len(ps) == 0 || ps[0]["id"] != f.survivorUUID {
				t.Errorf("want the survivor first: %s", mustJSON(r))
			}
		}},
		{name: "family:exact", target: "/fhir/Patient?family:exact=Acheng&given=Grace", token: f.patientTok, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "birthdate range filters", target: "/fhir/Patient?family=Achieng&given=Grace&birthdate=ge1985&birthdate=lt1986", token: f.patientTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			for _, p := range r.patients() {
				if b := p["birthDate"].(string); b < "1985" || b >= "1986" {
					t.Errorf("birthDate %s outside the range", b)
				}
			}
			wantTotal(1)(t, r)
		}},
		{name: "identifier and name of different people", target: "/fhir/Patient?identifier=" + q(f.active) + "&family=Achieng", token: f.patientTok, code: 200, resource: "Bundle", check: wantTotal(0)},
		{name: "identifier and matching name", target: "/fhir/Patient?identifier=" + q(f.active) + "&family=Nakato&given=Amina", token: f.patientTok, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "identifier and gender filter", target: "/fhir/Patient?identifier=" + q(f.active) + "&gender=male", token: f.patientTok, code: 200, resource: "Bundle", check: wantTotal(0)},
		{name: "_id", target: "/fhir/Patient?_id=" + f.aminaUUID, token: f.verifyTok, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "active=false finds merged records", target: "/fhir/Patient?_id=" + f.mergedUUID + "&active=false", token: f.verifyTok, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "unknown parameter ignored, with a warning", target: "/fhir/Patient?identifier=" + q(f.active) + "&address-city=Kampala", token: f.patientTok, code: 200, resource: "Bundle", check: func(t *testing.T, r resource) {
			wantTotal(1)(t, r)
			if strings.Contains(r.link("self"), "address") || !strings.Contains(mustJSON(r), "address-city") {
				t.Errorf("want the parameter left out of self and named in a warning: %s", mustJSON(r))
			}
		}},
		{name: "unknown parameter, strict", target: "/fhir/Patient?identifier=" + q(f.active) + "&address-city=Kampala", token: f.patientTok, hdr: map[string]string{"Prefer": "handling=strict"}, code: 400, resource: "OperationOutcome"},
		{name: "POST _search", method: "POST", target: "/fhir/Patient/_search", token: f.verifyTok, hdr: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "identifier=" + q(sys+"|"+f.active), code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "POST _search too large", method: "POST", target: "/fhir/Patient/_search", token: f.verifyTok, hdr: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "identifier=" + strings.Repeat("A", 5000), code: 413, resource: "OperationOutcome"},
		{name: "POST _search wrong type", method: "POST", target: "/fhir/Patient/_search", token: f.verifyTok, hdr: map[string]string{"Content-Type": "application/json"}, body: "{}", code: 415, resource: "OperationOutcome"},
		{name: "name search needs read:patient", target: "/fhir/Patient?family=Nakato", token: f.verifyTok, code: 403, resource: "OperationOutcome"},
		{name: "birthdate alone", target: "/fhir/Patient?birthdate=1990-03-04", token: f.patientTok, code: 400, resource: "OperationOutcome"},
		{name: "no criteria", target: "/fhir/Patient", token: f.patientTok, code: 400, resource: "OperationOutcome"},
		{name: "bad _count", target: "/fhir/Patient?identifier=" + q(f.active) + "&_count=-1", token: f.patientTok, code: 400, resource: "OperationOutcome"},
		{name: "bad birthdate", target: "/fhir/Patient?family=Nakato&birthdate=1990-13-01", token: f.patientTok, code: 400, resource: "OperationOutcome"},
		{name: "bad gender", target: "/fhir/Patient?family=Nakato&gender=F", token: f.patientTok, code: 400, resource: "OperationOutcome"},
		{name: "unsupported modifier", target: "/fhir/Patient?family:contains=Nak", token: f.patientTok, code: 400, resource: "OperationOutcome"},
		{name: "control character in value", target: "/fhir/Patient?identifier=" + q("KLA\x01"), token: f.patientTok, code: 400, resource: "OperationOutcome"},
		{name: "no token", target: "/fhir/Patient?identifier=" + q(f.active), code: 401, resource: "OperationOutcome"},
		{name: "revoked token", target: "/fhir/Patient?identifier=" + q(f.active), token: f.revok, code: 401, resource: "OperationOutcome"},
		{name: "XML not served", target: "/fhir/Patient?identifier=" + q(f.active), token: f.patientTok, hdr: map[string]string{"Accept": "application/fhir+xml"}, code: 406, resource: "OperationOutcome"},
		{name: "_format=json", target: "/fhir/Patient?identifier=" + q(f.active) + "&_format=json", token: f.patientTok, hdr: map[string]string{"Accept": "text/html"}, code: 200, resource: "Bundle", check: wantTotal(1)},
		{name: "read", target: "/fhir/Patient/" + f.aminaUUID, token: f.patientTok, code: 200, resource: "Patient", check: func(t *testing.T, r resource) {
			if r["id"] != f.aminaUUID || r["active"] != true || r["gender"] != "female" {
				t.Errorf("read: %v", r)
			}
		}},
		{name: "read, verify token", target: "/fhir/Patient/" + f.aminaUUID, token: f.verifyTok, code: 200, resource: "Patient", check: func(t *testing.T, r resource) {
			if _, ok := r["name"]; ok || len(r.identifiers()) != 2 {
				t.Errorf("verify token read: %v", r)
			}
		}},
		{name: "read merged-away record", target: "/fhir/Patient/" + f.mergedUUID, token: f.verifyTok, code: 200, resource: "Patient", check: func(t *testing.T, r resource) {
			if r["active"] != false || !strings.Contains(mustJSON(r), `"replaced-by"`) || !strings.Contains(mustJSON(r), "Patient/"+f.survivorUUID) {
				t.Errorf("want active false and a replaced-by link: %v", r)
			}
		}},
		{name: "read unknown", target: "/fhir/Patient/6b0c1d9e-0000-4000-8000-000000000000", token: f.verifyTok, code: 404, resource: "OperationOutcome"},
		{name: "read bad id", target: "/fhir/Patient/" + q("a b"), token: f.verifyTok, code: 404, resource: "OperationOutcome"},
		{name: "read without token", target: "/fhir/Patient/" + f.aminaUUID, code: 401, resource: "OperationOutcome"},
		{name: "pix", target: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + q(sys+"|"+f.active), token: f.verifyTok, code: 200, resource: "Parameters", check: func(t *testing.T, r resource) {
			s := mustJSON(r)
			if strings.Contains(s, `"value":"`+f.active+`"`) || !strings.Contains(s, f.aminaUUID) || !strings.Contains(s, `"Patient/`+f.aminaUUID+`"`) || !strings.Contains(s, "targetIdentifier") {
				t.Errorf("want the OpenMRS UUID and Patient reference, not the source MRN: %s", s)
			}
		}},
		{name: "pix from OpenMRS UUID", target: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + q(openmrs) + "&targetSystem=" + q(sys), token: f.verifyTok, code: 200, resource: "Parameters", check: func(t *testing.T, r resource) {
			s := mustJSON(r)
			if !strings.Contains(s, `"value":"`+f.active+`"`) || strings.Contains(s, "urn:uuid") || strings.Contains(s, "targetId\"") {
				t.Errorf("want only our MRN: %s", s)
			}
		}},
		{name: "pix from logical id", target: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + q("http://example.com/fhir|Patient/"+f.aminaUUID), token: f.verifyTok, code: 200, resource: "Parameters"},
		{name: "pix voided source", target: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + q(sys+"|"+f.voided), token: f.verifyTok, code: 404, resource: "OperationOutcome", check: func(t *testing.T, r resource) {
			if !strings.Contains(mustJSON(r), "sourceIdentifier Patient Identifier not found") {
				t.Errorf("want PIXm's diagnostics: %v", r)
			}
		}},
		{name: "pix unknown source domain", target: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + q("urn:oid:1.2|X"), token: f.verifyTok, code: 400, resource: "OperationOutcome", check: func(t *testing.T, r resource) {
			if !strings.Contains(mustJSON(r), "sourceIdentifier Assigning Authority not found") || !strings.Contains(mustJSON(r), "code-invalid") {
				t.Errorf("want PIXm's diagnostics: %v", r)
			}
		}},
		{name: "pix unknown target", target: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + q(sys+"|"+f.active) + "&targetSystem=urn:oid:7", token: f.verifyTok, code: 403, resource: "OperationOutcome"},
		{name: "pix without system", target: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + q(f.active), token: f.verifyTok, code: 400, resource: "OperationOutcome"},
		{name: "pix without source", target: "/fhir/Patient/$ihe-pix", token: f.verifyTok, code: 400, resource: "OperationOutcome"},
		{name: "pix merged-away record", target: "/fhir/Patient/$ihe-pix?sourceIdentifier=" + q("http://example.com/fhir|Patient/"+f.mergedUUID), token: f.verifyTok, code: 404, resource: "OperationOutcome"},
		{name: "unknown FHIR path", target: "/fhir/Observation?code=x", token: f.verifyTok, code: 404, resource: "OperationOutcome"},
		{name: "GET _search", target: "/fhir/Patient/_search?identifier=x", token: f.verifyTok, code: 405, resource: "OperationOutcome"},
		{name: "wrong method", method: "DELETE", target: "/fhir/Patient/" + f.aminaUUID, token: f.verifyTok, code: 405, resource: "OperationOutcome"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			// httptest requests name example.com: the base is http://example.com/fhir.
			r := fhirDo(h, method, tc.target, tc.token, tc.hdr, tc.body)
			if r.code != tc.code {
				t.Fatalf("status %d, want %d: %s", r.code, tc.code, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			validFHIR(t, r.body)
			res := decode(t, r.body)
			if res["resourceType"] != tc.resource {
				t.Fatalf("resourceType %v, want %s", res["resourceType"], tc.resource)
			}
			if tc.code >= 400 {
				if res.list("issue") == nil {
					t.Errorf("OperationOutcome without issues")
				}
				if tc.code == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func wantTotal(n int) func(t *testing.T, r resource) {
	return func(t *testing.T, r resource) {
		t.Helper()
		if r["total"] != float64(n) || len(r.patients()) != n {
			t.Errorf("total %v with %d patients, want %d: %s", r["total"], len(r.patients()), n, mustJSON(r))
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Paging follows next links to the end: every match once, in rank order.
func TestFHIR_Paging(t *testing.T) {
	f := newFHIRFixture(t)
	h := newServer(t, f.fixture, scanapi.Config{}).Handler()
	all := decode(t, fhirDo(h, "GET", "/fhir/Patient?family=Achieng&given=Grace", f.patientTok, nil, "").body)
	var want []any
	for _, p := range all.patients() {
		want = append(want, p["id"])
	}
	if len(want) < 3 {
		t.Fatalf("fixture should rank at least 3 Achieng records, got %d", len(want))
	}
	var got []any
	next := "/fhir/Patient?family=Achieng&given=Grace&_count=1"
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		r := fhirDo(h, "GET", next, f.patientTok, nil, "")
		if r.code != 200 {
			t.Fatalf("%s: %d %s", next, r.code, r.body)
		}
		validFHIR(t, r.body)
		b := decode(t, r.body)
		if pages > 0 && b.link("previous") == "" {
			t.Errorf("page %d has no previous link", pages)
		}
		for _, p := range b.patients() {
			got = append(got, p["id"])
		}
		next = ""
		if u := b.link("next"); u != "" {
			pu, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			next = pu.RequestURI()
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}
	zero := decode(t, fhirDo(h, "GET", "/fhir/Patient?family=Achieng&given=Grace&_count=0", f.patientTok, nil, "").body)
	if zero["total"] != float64(len(want)) || len(zero.patients()) != 0 {
		t.Errorf("_count=0: want the total only: %s", mustJSON(zero))
	}
}

// TestFHIR_NameSearchListsNamesakes: a search by name lists every patient
// the names fit, not only those the duplicate check finds likely to be the
// person: nine John Okellos spread that likelihood so thin that none was
// listed, and a client heard "nobody" for registered patients. One name
// alone finds too; merged records only with active=false.
func TestFHIR_NameSearchListsNamesakes(t *testing.T) {
	f := newFHIRFixture(t)
	for i := range 9 {
		np := registry.NewPatient{GivenName: "John", FamilyName: "Okello", Sex: "M", BirthDate: fmt.Sprintf("%d-03-0%d", 1950+7*i, 1+i%9)}
		if _, _, err := f.store.Register(f.ctx, registry.Registration{Patient: np, Decision: "test: namesakes"}); err != nil {
			t.Fatal(err)
		}
	}
	h := newServer(t, f.fixture, scanapi.Config{}).Handler()
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"family=Okello&given=John", 9},
		{"family=okello", 10}, // and the fixture's "Okello Peter": names are often written swapped
		{"given=John", 9},
		{"family=Okello&given=John&birthdate=ge1990", 3}, // 1992, 1999, 2006
		{"family=Okello&birthdate=1957", 1},
		{"family=Okello&gender=female", 0},
		{"family:exact=Okello", 9},
		{"family:exact=okello", 0},
		{"family=Achieng", 3},              // with Acheng (sounds alike); the merged record is left out ...
		{"family=Achieng&active=false", 1}, // ... unless asked for
		{"family=Achieng&given=Grace&active=true", 3},
	} {
		r := fhirDo(h, "GET", "/fhir/Patient?"+tc.query, f.patientTok, nil, "")
		if r.code != 200 {
			t.Fatalf("%s: %d %s", tc.query, r.code, r.body)
		}
		validFHIR(t, r.body)
		if got := len(decode(t, r.body).patients()); got != tc.want {
			t.Errorf("%s: %d patients, want %d\n%s", tc.query, got, tc.want, r.body)
		}
	}
}

// Rate limits and the scan log are those of /v1/.
func TestFHIR_RateLimitAndScanLog(t *testing.T) {
	f := newFHIRFixture(t)
	srv := scanapi.New(f.store, scanapi.Config{PerToken: 0.001, TokenBurst: 3}, nil)
	h := srv.Handler()
	sys := f.system
	for _, target := range []string{
		"/fhir/Patient?identifier=" + url.QueryEscape(sys+"|"+f.active),
		"/fhir/Patient?identifier=" + url.QueryEscape(sys+"|"+f.voided),
		"/fhir/Patient/$ihe-pix?sourceIdentifier=" + url.QueryEscape(sys+"|"+f.active),
	} {
		if r := fhirDo(h, "GET", target, f.verifyTok, nil, ""); r.code >= 300 {
			t.Fatalf("%s: %d %s", target, r.code, r.body)
		}
	}
	r := fhirDo(h, "GET", "/fhir/Patient?identifier="+f.active, f.verifyTok, nil, "")
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("want 429 with Retry-After, got %d %v", r.code, r.header)
	}
	validFHIR(t, r.body)
	if decode(t, r.body)["resourceType"] != "OperationOutcome" {
		t.Errorf("429 is not an OperationOutcome: %s", r.body)
	}
	srv.Close() // flushes the scan log
	var got []string
	err := f.store.EachScan(f.ctx, registry.ScanFilter{Token: "ward3"}, func(rec registry.ScanRecord) error {
		got = append(got, rec.Code+" "+string(rec.Status))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{f.active + " active", f.active + " active", f.voided + " voided"}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("scan log %v, want %v", got, want)
	}
}

// The IHE profiles' example resources pass our schema check, and our
// answers have their shape: PIXm's Parameters and not-found
// OperationOutcome use exactly the elements ours use; PDQm's search
// Bundle's elements are all in ours; and the PDQm example patient (MOHR
// ALICE), registered here and found with ITI-78's own example query,
// comes back with the example's name, gender and birth date.
func TestFHIR_IHEExamples(t *testing.T) {
	f := newFHIRFixture(t)
	s, ctx := f.store, f.ctx
	ex := map[string]resource{}
	for _, name := range []string{"pdqm-Patient-MohrAlice.json", "pdqm-Bundle-search-response.json", "pixm-Parameters-mohralice-red-all.json", "pixm-OperationOutcome-not-found.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "fhir", "ihe", name))
		if err != nil {
			t.Fatal(err)
		}
		validFHIR(t, string(raw))
		ex[name] = decode(t, string(raw))
	}
	alice := ex["pdqm-Patient-MohrAlice.json"]
	_, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "ALICE", FamilyName: "MOHR", Sex: idcards.SexFemale, BirthDate: alice["birthDate"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	h := newServer(t, f.fixture, scanapi.Config{}).Handler()

	r := fhirDo(h, "GET", "/fhir/Patient?family=MOHR&given=ALICE&active=true&gender=female", f.patientTok, map[string]string{"Accept": "application/fhir+json; fhirVersion=4.0"}, "")
	if r.code != 200 {
		t.Fatalf("ITI-78 example query: %d %s", r.code, r.body)
	}
	bundle := decode(t, r.body)
	if missing := missingPaths(ex["pdqm-Bundle-search-response.json"], bundle, "entry.resource."); len(missing) > 0 {
		t.Errorf("our Bundle lacks elements of PDQm's example: %v", missing)
	}
	ps := bundle.patients()
	if len(ps) != 1 {
		t.Fatalf("want MOHR ALICE once: %s", r.body)
	}
	for _, k := range []string{"gender", "birthDate", "active"} {
		if ps[0][k] != alice[k] {
			t.Errorf("%s = %v, PDQm example has %v", k, ps[0][k], alice[k])
		}
	}
	name, exName := ps[0].list("name")[0].(map[string]any), alice.list("name")[0].(map[string]any)
	for _, k := range []string{"use", "family"} {
		if name[k] != exName[k] {
			t.Errorf("name.%s = %v, PDQm example has %v", k, name[k], exName[k])
		}
	}
	if mustJSON(name["given"]) != mustJSON(exName["given"]) {
		t.Errorf("name.given = %v, PDQm example has %v", name["given"], exName["given"])
	}

	r = fhirDo(h, "GET", "/fhir/Patient/$ihe-pix?sourceIdentifier="+url.QueryEscape(f.system+"|"+mrn)+"&targetSystem="+url.QueryEscape("http://example.com/fhir"), f.verifyTok, nil, "")
	pixRef := decode(t, r.body)
	r = fhirDo(h, "GET", "/fhir/Patient/$ihe-pix?sourceIdentifier="+url.QueryEscape(registry.OpenMRSSystem+"|"+registry.OpenMRSValuePrefix+f.aminaUUID), f.verifyTok, nil, "")
	pixIDs := decode(t, r.body)
	got := paths(pixRef, "")
	for p := range paths(pixIDs, "") {
		got[p] = true
	}
	exPIX := paths(ex["pixm-Parameters-mohralice-red-all.json"], "")
	delete(exPIX, "id")
	delete(exPIX, "meta.profile")
	if !mapsEqual(got, exPIX, "parameter.valueIdentifier.use", "parameter.valueIdentifier.type.coding.system", "parameter.valueIdentifier.type.coding.code",
		"parameter.valueIdentifier.type.coding.display", "parameter.valueIdentifier.type.text", "parameter.valueIdentifier.assigner.display") {
		t.Errorf("PIXm Parameters elements %v, IHE example %v", keys(got), keys(exPIX))
	}

	r = fhirDo(h, "GET", "/fhir/Patient/$ihe-pix?sourceIdentifier="+url.QueryEscape(f.system+"|"+f.voided), f.verifyTok, nil, "")
	nf := decode(t, r.body)
	exNF := ex["pixm-OperationOutcome-not-found.json"]
	if missing := missingPaths(exNF, nf, "text."); len(missing) > 0 {
		t.Errorf("not-found OperationOutcome lacks %v", missing)
	}
	issue, exIssue := nf.list("issue")[0].(map[string]any), exNF.list("issue")[0].(map[string]any)
	for _, k := range []string{"severity", "code", "diagnostics"} {
		if issue[k] != exIssue[k] {
			t.Errorf("issue.%s = %v, PIXm example has %v", k, issue[k], exIssue[k])
		}
	}
}

// paths is the set of element paths in a resource ("entry.resource.name.given").
func paths(v any, prefix string) map[string]bool {
	out := map[string]bool{}
	var walk func(v any, p string)
	walk = func(v any, p string) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				walk(y, strings.TrimPrefix(p+"."+k, "."))
			}
		case resource:
			walk(map[string]any(x), p)
		case []any:
			for _, y := range x {
				walk(y, p)
			}
		default:
			out[p] = true
		}
	}
	walk(v, prefix)
	return out
}

// missingPaths lists the example's element paths ours lacks, leaving out
// those under skip (e.g. the example's own embedded patient).
func missingPaths(example, ours any, skip string) []string {
	have := paths(ours, "")
	var out []string
	for p := range paths(example, "") {
		if !have[p] && !strings.HasPrefix(p, skip) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func mapsEqual(a, b map[string]bool, extraInA ...string) bool {
	for _, e := range extraInA {
		delete(a, e)
	}
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// /v1/openapi.json describes every /fhir/ route.
func TestFHIR_OpenAPI(t *testing.T) {
	f := newFixture(t)
	h := newServer(t, f, scanapi.Config{}).Handler()
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(do(h, "GET", "/v1/openapi.json", "", "", "").body), &doc); err != nil {
		t.Fatal(err)
	}
	for path, method := range map[string]string{"/fhir/metadata": "get", "/fhir/Patient": "get", "/fhir/Patient/_search": "post", "/fhir/Patient/{id}": "get", "/fhir/Patient/$ihe-pix": "get"} {
		if doc.Paths[path][method] == nil {
			t.Errorf("openapi.json lacks %s %s", method, path)
		}
	}
}

// TestScan_CardSerialOnlyFromThe2DCode: the answer names a card serial only
// when the scanned code carried one, and a replaced card's answer does not
// name its successor: with them, whoever holds a replaced card and any
// scanner token could make the current card's 2D content.
func TestScan_CardSerialOnlyFromThe2DCode(t *testing.T) {
	f := newFixture(t)
	first, err := f.store.RecordCards(f.ctx, []string{f.active}, "cr80", "", "first")
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.store.RecordCards(f.ctx, []string{f.active}, "cr80", "", "lost card")
	if err != nil {
		t.Fatal(err)
	}
	h := newServer(t, f, scanapi.Config{}).Handler()
	bare := fhirDo(h, "GET", "/v1/ids/"+f.active, f.verifyTok, nil, "")
	if bare.code != 200 || strings.Contains(bare.body, "card_serial") || strings.Contains(bare.body, second[0].Serial) {
		t.Fatalf("a bare MRN's answer names a card: %d %s", bare.code, bare.body)
	}
	old := fhirDo(h, "POST", "/v1/scans", f.verifyTok, map[string]string{"Content-Type": "application/json"}, `{"code":"`+f.active+` `+first[0].Serial+`"}`)
	if old.code != 200 || !strings.Contains(old.body, `"replaced"`) || strings.Contains(old.body, second[0].Serial) {
		t.Fatalf("the replaced card's answer: %d %s", old.code, old.body)
	}
	cur := fhirDo(h, "POST", "/v1/scans", f.verifyTok, map[string]string{"Content-Type": "application/json"}, `{"code":"`+f.active+` `+second[0].Serial+`"}`)
	if cur.code != 200 || !strings.Contains(cur.body, `"card_serial":"`+second[0].Serial+`"`) {
		t.Fatalf("the current card's 2D code: %d %s", cur.code, cur.body)
	}
	// The replacement spoiled and voided: the old card is still replaced,
	// and the answer says there is no valid card rather than sending the
	// desk to ask for one the patient never had.
	if err := f.store.VoidCard(f.ctx, second[0].Serial, "ribbon jam"); err != nil {
		t.Fatal(err)
	}
	old = fhirDo(h, "POST", "/v1/scans", f.verifyTok, map[string]string{"Content-Type": "application/json"}, `{"code":"`+f.active+` `+first[0].Serial+`"}`)
	if old.code != 200 || !strings.Contains(old.body, `"replaced"`) || !strings.Contains(old.body, registry.DetailReplacementVoided) || strings.Contains(old.body, second[0].Serial) {
		t.Fatalf("the replaced card's answer once its replacement was voided: %d %s", old.code, old.body)
	}
}
