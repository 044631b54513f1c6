package openmrstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcards/idcards/barcode"
)

const (
	typ = StockIdentifierTypeUUID
	loc = StockLocationUUID
)

func TestAuth(t *testing.T) {
	s := New(t, Options{Users: map[string]string{"admin": "Admin123", "clerk": "pw:with:colons"}})
	login := do(t, s, call{path: "/session"})
	var cookie string
	for _, c := range (&http.Response{Header: login.header}).Cookies() {
		if c.Name == "JSESSIONID" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatal("GET /session with good credentials set no JSESSIONID cookie")
	}
	gone := do(t, s, call{path: "/session"})
	goneCookie := (&http.Response{Header: gone.header}).Cookies()[0].Value
	do(t, s, call{method: "DELETE", path: "/session", cookie: goneCookie, user: "-"})

	tests := []struct {
		name       string
		c          call
		status     int
		authHeader bool   // WWW-Authenticate expected
		message    string // error.message expected
	}{
		{"good basic", call{path: "/patient/" + loc}, 404, false, "Object with given uuid doesn't exist"},
		{"wrong password", call{path: "/patient?q=ab", user: "admin", pw: "nope"}, 401, true, "User is not logged in [Privileges required: Get Patients]"},
		{"unknown user", call{path: "/patient?q=ab", user: "root", pw: "Admin123"}, 401, true, "User is not logged in [Privileges required: Get Patients]"},
		{"no credentials", call{path: "/patient?q=ab", user: "-"}, 401, true, "User is not logged in [Privileges required: Get Patients]"},
		{"no credentials, Disable-WWW-Authenticate", call{path: "/patient?q=ab", user: "-", header: map[string]string{"Disable-WWW-Authenticate": "true"}}, 401, false, "User is not logged in [Privileges required: Get Patients]"},
		{"cookie without basic", call{path: "/patient?q=ab", user: "-", cookie: cookie}, 200, false, ""},
		{"logged-out cookie", call{path: "/patient?q=ab", user: "-", cookie: goneCookie}, 401, false, "Session timed out"},
		{"unknown cookie even with good basic", call{path: "/patient?q=ab", cookie: "DEADBEEF"}, 401, false, "Session timed out"},
		{"undecodable basic", call{path: "/patient?q=ab", user: "-", header: map[string]string{"Authorization": "Basic !!!"}}, 400, false, "Invalid credentials provided"},
		{"password cut at its first colon, as OpenMRS does", call{path: "/patient?q=ab", user: "clerk", pw: "pw:with:colons"}, 401, true, ""},
		{"create unauthenticated", call{method: "POST", path: "/patient", user: "-", body: "{}"}, 401, true, "User is not logged in [Privileges required: Add Patients]"},
		{"login location list is public", call{path: "/location?tag=Login+Location", user: "-"}, 200, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, s, tc.c)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			if got := a.header.Get("WWW-Authenticate") != ""; got != tc.authHeader {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tc.authHeader)
			}
			if tc.message != "" {
				if got := get(a.body, "error", "message"); got != tc.message {
					t.Errorf("message %q, want %q", got, tc.message)
				}
			}
			if tc.status == 401 && tc.message != "Session timed out" {
				checkShape(t, "error-unauthorized.inferred.json", a.body)
			}
		})
	}

	t.Run("session JSON", func(t *testing.T) {
		a := do(t, s, call{path: "/session"})
		want := fixture(t, "session.json")
		delete(want, "sessionId") // RESTWS-903
		delete(get(want, "user", "userProperties").(map[string]any), "emrapi.lastViewedPatientIds")
		checkShapeOf(t, "session.json", want, a.body)
		if _, ok := a.body["sessionId"]; ok {
			t.Error("session answer holds sessionId, removed by RESTWS-903")
		}
		if a.body["authenticated"] != true || get(a.body, "user", "username") != "admin" {
			t.Errorf("session = %s", a.raw)
		}
		u := do(t, s, call{path: "/session", user: "admin", pw: "bad"})
		if u.status != 200 || u.body["authenticated"] != false || u.body["user"] != nil {
			t.Errorf("unauthenticated session = %d %s", u.status, u.raw)
		}
	})
	t.Run("SetPassword", func(t *testing.T) {
		s.SetPassword("admin", "changed")
		if a := do(t, s, call{path: "/patient?q=ab"}); a.status != 401 {
			t.Errorf("old password: status %d, want 401", a.status)
		}
		if a := do(t, s, call{path: "/patient?q=ab", user: "admin", pw: "changed"}); a.status != 200 {
			t.Errorf("new password: status %d, want 200", a.status)
		}
		if a := do(t, s, call{path: "/patient?q=ab", user: "-", cookie: cookie}); a.status != 200 {
			t.Errorf("open session after password change: status %d, want 200", a.status)
		}
	})
}

// TestValidation posts bad patients and compares each 400 with the
// fixture of the same cause, value for value.
func TestValidation(t *testing.T) {
	optional := IdentifierType{UUID: "a5d38e09-efcb-4d91-a526-50ce1ba5011a", Name: "Old ID", Format: `\d{3}-\d`, LocationBehavior: "NOT_USED"}
	nonUnique := IdentifierType{UUID: "b5d38e09-efcb-4d91-a526-50ce1ba5011a", Name: "Family ID", UniquenessBehavior: "NON_UNIQUE", LocationBehavior: "NOT_USED"}
	verhoeff := IdentifierType{UUID: "c5d38e09-efcb-4d91-a526-50ce1ba5011a", Name: "Legacy", Validator: ValidatorCoreVerhoef}
	s := New(t, Options{IdentifierTypes: []IdentifierType{StockIdentifierType(), optional, nonUnique, verhoeff}})
	s.AddPatient(Patient{GivenName: "Sarah", FamilyName: "Lewis", Gender: "F", Identifiers: []Identifier{
		{Identifier: "1003EY", TypeUUID: typ, LocationUUID: loc, Preferred: true},
		{Identifier: "F-1", TypeUUID: nonUnique.UUID},
	}})
	s.AddPatient(Patient{GivenName: "Old", FamilyName: "Voided", Gender: "F", Voided: true, Identifiers: []Identifier{
		{Identifier: "1001W2", TypeUUID: typ, LocationUUID: loc, Preferred: true},
	}})
	two := func(a, b map[string]any) string {
		body := map[string]any{"person": map[string]any{"gender": "F", "names": []any{map[string]any{"givenName": "A", "familyName": "B"}}},
			"identifiers": []any{a, b}}
		j, _ := json.Marshal(body)
		return string(j)
	}
	id := func(v, typ, loc string, pref bool) map[string]any {
		m := map[string]any{"identifier": v, "identifierType": typ, "preferred": pref}
		if loc != "" {
			m["location"] = loc
		}
		return m
	}
	tests := []struct {
		name    string
		body    string
		fixture string   // when set, the whole body must equal it
		global  []string // else the global errors expected
		field   string   // and a field error on this field
	}{
		{"duplicate identifier", createBody("", "1003EY", typ, loc, "F"), "error-duplicate-identifier.inferred.json", nil, ""},
		{"wrong check digit", createBody("", "1003EX", typ, loc, "F"), "error-invalid-check-digit.inferred.json", nil, ""},
		{"character outside the alphabet", createBody("", "1003-EY", typ, loc, "F"), "error-unallowed-identifier.inferred.json", nil, ""},
		{"no location", createBody("", "1003EY", typ, "", "F"), "error-identifier-location-required.inferred.json", nil, ""},
		{"no gender", createBody("", "10000X", typ, loc, ""), "", nil, "gender"},
		{"no identifiers", `{"person":{"gender":"F"},"identifiers":[]}`, "", []string{
			"At least one nonvoided Patient Identifier is required",
			"Patient is missing the following required identifier(s): OpenMRS ID"}, ""},
		{"required type missing", createBody("", "123-4", optional.UUID, "", "F"), "", []string{
			"Patient is missing the following required identifier(s): OpenMRS ID"}, ""},
		{"no preferred among two", two(id("10000X", typ, loc, false), id("123-4", optional.UUID, "", false)), "", []string{
			"Select a preferred identifier"}, ""},
		{"format regex", two(id("10000X", typ, loc, true), id("1234", optional.UUID, "", false)), "", []string{
			`Identifier "1234" does not match : "\d{3}-\d"`}, ""},
		{"same identifier twice in one patient", two(id("10000X", typ, loc, true), id("10000X", typ, loc, false)), "", []string{
			"Identifier 10000X already in use by this patient", "Identifier 10000X already in use by this patient"}, ""},
		{"core verhoeff numeric check is unallowed", two(id("10000X", typ, loc, true), id("12345678-6", verhoeff.UUID, loc, false)), "", []string{
			"Identifier 12345678-6 is not appropriate for validation scheme Verhoeff Check Digit Validator."}, ""},
		{"core verhoeff wrong letter", two(id("10000X", typ, loc, true), id("12345678-C", verhoeff.UUID, loc, false)), "", []string{
			"Invalid check digit for identifier: 12345678-C"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, s, call{method: "POST", path: "/patient", body: tc.body})
			if a.status != 400 {
				t.Fatalf("status %d, want 400: %s", a.status, a.raw)
			}
			if tc.fixture != "" {
				if want := fixture(t, tc.fixture); !reflect.DeepEqual(a.body, want) {
					t.Errorf("body\n%s\nwant %s", a.raw, tc.fixture)
				}
				return
			}
			checkShape(t, "error-duplicate-identifier.inferred.json", a.body)
			var got []string
			for _, g := range get(a.body, "error", "globalErrors").([]any) {
				m := g.(map[string]any)
				if m["code"] != m["message"] {
					t.Errorf("global error code %q != message %q", m["code"], m["message"])
				}
				got = append(got, m["message"].(string))
			}
			if !reflect.DeepEqual(got, tc.global) {
				t.Errorf("global errors %q, want %q", got, tc.global)
			}
			if tc.field != "" && get(a.body, "error", "fieldErrors", tc.field, 0, "message") != "Please select a gender" {
				t.Errorf("no field error on %s: %s", tc.field, a.raw)
			}
		})
	}
	okTests := []struct{ name, body string }{
		{"identifier of a voided patient is free", createBody("", "1001W2", typ, loc, "F")},
		{"lower-case check character validates", createBody("", "10001v", typ, loc, "F")},
		{"non-unique type may repeat", two(id("10002T", typ, loc, true), id("F-1", nonUnique.UUID, "", false))},
		{"core verhoeff", two(id("10003P", typ, loc, true), id("12345678-G", verhoeff.UUID, loc, false))},
	}
	for _, tc := range okTests {
		t.Run(tc.name, func(t *testing.T) {
			if a := do(t, s, call{method: "POST", path: "/patient", body: tc.body}); a.status != 201 {
				t.Fatalf("status %d, want 201: %s", a.status, a.raw)
			}
		})
	}
	if n := len(s.PatientsWithIdentifier("F-1")); n != 2 {
		t.Errorf("PatientsWithIdentifier(F-1) = %d patients, want 2", n)
	}
}

func TestCreate(t *testing.T) {
	s := New(t, Options{})
	const uuid = "b52ec6f9-0e26-424c-a4a1-c64f9d571eb3"
	a := do(t, s, call{method: "POST", path: "/patient", body: createBody(uuid, "1003EY", typ, loc, "F")})
	if a.status != 201 {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	if want := s.URL() + "/ws/rest/v1/patient/" + uuid; a.header.Get("Location") != want {
		t.Errorf("Location %q, want %q", a.header.Get("Location"), want)
	}
	checkShape(t, "patient-create-response.inferred.json", a.body)
	if a.body["display"] != "1003EY - Sarah Lewis" || get(a.body, "identifiers", 0, "display") != "OpenMRS ID = 1003EY" ||
		get(a.body, "person", "birthdate") != "1936-12-04T00:00:00.000+0000" || get(a.body, "person", "uuid") != uuid {
		t.Errorf("create answer %s", a.raw)
	}
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"uuid already used (DB constraint)", createBody(uuid, "10000X", typ, loc, "F"), 500},
		{"patient and person uuid differ", strings.Replace(createBody(uuid, "10000X", typ, loc, "F"), `"uuid":"`+uuid+`"}`, `"uuid":"other"}`, 1), 400},
		{"missing person", `{"identifiers":[]}`, 400},
		{"unknown property", `{"person":{"gender":"F"},"identifiers":[],"foo":1}`, 400},
		{"unknown identifier type", createBody("", "10000X", "nope", loc, "F"), 400},
		{"malformed JSON", `{"person":`, 400},
		{"bad birthdate", strings.Replace(createBody("", "10000X", typ, loc, "F"), "1936-12-04", "04/12/1936", 1), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, s, call{method: "POST", path: "/patient", body: tc.body})
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			if _, ok := a.body["error"].(map[string]any)["message"]; !ok {
				t.Errorf("no error.message: %s", a.raw)
			}
		})
	}
	g := do(t, s, call{path: "/patient/" + uuid})
	checkShape(t, "patient-create-response.inferred.json", g.body)
	if n := len(s.Patients()); n != 1 {
		t.Errorf("%d patients stored, want 1", n)
	}
}

func TestRoutes(t *testing.T) {
	s := New(t, Options{})
	tests := []struct {
		name, method, path string
		status             int
		message            string
	}{
		{"unknown resource", "GET", "/nosuch", 404, "Resource does not exist. Please check documentation for implemented resources and their paths"},
		{"unknown patient", "GET", "/patient/nope", 404, "Object with given uuid doesn't exist"},
		{"patient getAll", "GET", "/patient", 400, "The Resource Does not Support the Requested Operation"},
		{"wrong method", "PUT", "/patient", 405, "Request method 'PUT' not supported"},
		{"empty v", "GET", "/patient?q=ab&v=", 400, ""},
		{"bad custom rep", "GET", "/patient?q=ab&v=custom:(uuid", 400, ""},
		{"unknown custom property", "GET", "/patientidentifiertype?v=custom:(uuid,nosuch)", 400, ""},
		{"unknown idgen source", "POST", "/idgen/identifiersource/nope/identifier", 500, ""},
		{"not modelled", "POST", "/patient/x", 501, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, s, call{method: tc.method, path: tc.path, body: "{}"})
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			for _, k := range []string{"message", "code", "detail", "rawMessage", "translatedMessage"} {
				if _, ok := a.body["error"].(map[string]any)[k]; !ok {
					t.Errorf("error.%s missing: %s", k, a.raw)
				}
			}
			if tc.message != "" && get(a.body, "error", "message") != tc.message {
				t.Errorf("message %q, want %q", get(a.body, "error", "message"), tc.message)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	s := New(t, Options{})
	types := do(t, s, call{path: "/patientidentifiertype?v=default"})
	checkShapeOf(t, "patientidentifiertype-list.json", withoutLinks(t, "patientidentifiertype-list.json"), types.body)
	if get(types.body, "results", 0, "validator") != ValidatorLuhnMod30 || get(types.body, "results", 0, "locationBehavior") != nil {
		t.Errorf("types %s", types.raw)
	}
	if r := do(t, s, call{path: "/patientidentifiertype"}); len(get(r.body, "results", 0).(map[string]any)) != 3 {
		t.Errorf("REF rep should be uuid, display, links: %s", r.raw)
	}
	one := do(t, s, call{path: "/patientidentifiertype/" + typ})
	if one.body["required"] != true {
		t.Errorf("single GET should default to DEFAULT rep: %s", one.raw)
	}
	locs := do(t, s, call{path: "/location?q=amani&v=default"})
	checkShape(t, "location-search-q-default.json", locs.body)
	if n := len(get(locs.body, "results").([]any)); n != 1 {
		t.Errorf("%d locations for q=amani", n)
	}
	srcs := do(t, s, call{path: "/idgen/identifiersource?v=default"})
	checkShape(t, "idgen-identifiersource-list.json", srcs.body)
	if get(srcs.body, "results", 0, "firstIdentifierBase") != "10000" {
		t.Errorf("sources %s", srcs.raw)
	}
}

func TestIdgen(t *testing.T) {
	t.Run("stock source starts at 10000X", func(t *testing.T) {
		s := New(t, Options{})
		a := do(t, s, call{method: "POST", path: "/idgen/identifiersource/" + StockSourceUUID + "/identifier", body: "{}"})
		if a.status != 201 || a.body["identifier"] != "10000X" {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		b := do(t, s, call{method: "POST", path: "/idgen/identifiersource/" + StockSourceUUID + "/identifier", body: `{"comment":"foo"}`})
		if b.body["identifier"] != "10001V" { // idgen-generate-response.json
			t.Fatalf("second identifier %s, want 10001V", b.raw)
		}
	})
	t.Run("export reproduces the fixture batch", func(t *testing.T) {
		src := StockSource()
		src.FirstIdentifierBase = "1018P"
		s := New(t, Options{Sources: []IdentifierSource{src}})
		body, _ := json.Marshal(fixture(t, "idgen-export-identifiers-request.json"))
		a := do(t, s, call{method: "POST", path: "/idgen/identifiersource", body: string(body)})
		if a.status != 201 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		if want := fixture(t, "idgen-export-identifiers-response.json"); !reflect.DeepEqual(a.body, want) {
			t.Errorf("got %s", a.raw)
		}
	})
	t.Run("every generated identifier validates, reserved ones are skipped, patients are not looked at", func(t *testing.T) {
		src := StockSource()
		src.Reserved = []string{"10001V"}
		s := New(t, Options{Sources: []IdentifierSource{src}})
		s.AddPatient(Patient{Gender: "F", Identifiers: []Identifier{{Identifier: "10002T", TypeUUID: typ, LocationUUID: loc, Preferred: true}}})
		do(t, s, call{method: "POST", path: "/idgen/identifiersource/" + src.UUID, body: `{"reservedIdentifiers":"10003P, 10004M"}`})
		a := do(t, s, call{method: "POST", path: "/idgen/identifiersource", body: `{"generateIdentifiers":true,"sourceUuid":"` + src.UUID + `","numberToGenerate":"2000"}`})
		ids := get(a.body, "identifiers").([]any)
		if len(ids) != 2000 {
			t.Fatalf("%d identifiers", len(ids))
		}
		sc, _ := barcode.Lookup("luhn-mod-30")
		seen := map[string]bool{}
		for _, v := range ids {
			id := v.(string)
			if err := sc.Validate(id); err != nil {
				t.Errorf("%s: %v", id, err)
			}
			if seen[id] || id == "10001V" || id == "10003P" || id == "10004M" {
				t.Errorf("%s issued twice or although reserved", id)
			}
			seen[id] = true
		}
		if ids[0] != "10000X" || ids[1] != "10002T" {
			t.Errorf("first identifiers %v, want 10000X then 10002T (held by a patient: idgen does not check)", ids[:2])
		}
	})
}

func TestSearchAndPaging(t *testing.T) {
	s := New(t, Options{})
	sc, _ := barcode.Lookup("luhn-mod-30")
	var all []string
	for i := 0; i < 5; i++ {
		id, _ := barcode.Generate(sc, fmt.Sprintf("1%04d", 4-i)) // created in descending order
		all = append(all, id)
		s.AddPatient(Patient{GivenName: "Sarah", FamilyName: fmt.Sprintf("Lewis%d", i), Gender: "F",
			Identifiers: []Identifier{{Identifier: id, TypeUUID: typ, LocationUUID: loc, Preferred: true}}})
	}
	s.AddPatient(Patient{GivenName: "Gone", Gender: "F", Voided: true, Identifiers: []Identifier{{Identifier: all[0], TypeUUID: typ, Preferred: true}}})

	exact := do(t, s, call{path: "/patient?identifier=" + all[2] + "&v=default"})
	checkShapeOf(t, "patient-search-q-default.json", withoutLinks(t, "patient-search-q-default.json"), exact.body)
	if n := len(exact.body["results"].([]any)); n != 1 {
		t.Errorf("exact search: %d results", n)
	}
	if _, ok := exact.body["links"]; ok {
		t.Error("links present with a single page")
	}
	if a := do(t, s, call{path: "/patient?identifier=1000"}); len(a.body["results"].([]any)) != 0 {
		t.Errorf("exact search matched a prefix: %s", a.raw)
	}

	type pg struct {
		start      int
		n          int
		next, prev string // expected startIndex in link uri, "" = absent
	}
	for _, tc := range []pg{{0, 2, "2", ""}, {2, 2, "4", "0"}, {4, 1, "", "2"}, {9, 0, "", "7"}} {
		t.Run(fmt.Sprintf("startIndex=%d", tc.start), func(t *testing.T) {
			a := do(t, s, call{path: fmt.Sprintf("/patient?identifier=1000&searchType=start&limit=2&startIndex=%d&totalCount=true", tc.start)})
			res := a.body["results"].([]any)
			if len(res) != tc.n {
				t.Fatalf("%d results, want %d", len(res), tc.n)
			}
			if a.body["totalCount"] != float64(5) {
				t.Errorf("totalCount %v", a.body["totalCount"])
			}
			rels := map[string]string{}
			for _, l := range get(a.body, "links").([]any) {
				m := l.(map[string]any)
				uri := m["uri"].(string)
				if !strings.HasPrefix(uri, s.URL()+"/ws/rest/v1/patient?identifier=1000&searchType=start&limit=2&totalCount=true&startIndex=") {
					t.Errorf("link uri %s", uri)
				}
				rels[m["rel"].(string)] = uri[strings.LastIndex(uri, "=")+1:]
			}
			if rels["next"] != tc.next || rels["prev"] != tc.prev {
				t.Errorf("links %v, want next %q prev %q", rels, tc.next, tc.prev)
			}
			for i, r := range res { // ordered by identifier value
				if want := all[4-tc.start-i]; !strings.HasPrefix(get(r, "display").(string), want) {
					t.Errorf("result %d %v, want %s", i, get(r, "display"), want)
				}
			}
		})
	}
	for _, tc := range []struct {
		name, query string
		status, n   int
	}{
		{"default limit", "/patient?q=sarah", 200, 5},
		{"name and family name", "/patient?q=sar+lewis3", 200, 1},
		{"identifier via q", "/patient?q=" + all[1], 200, 1},
		{"one character is too short", "/patient?q=s", 200, 0},
		{"limit at the absolute maximum", "/patient?q=sarah&limit=100", 200, 5},
		{"limit over the absolute maximum", "/patient?q=sarah&limit=101", 500, 0},
		{"limit zero", "/patient?q=sarah&limit=0", 400, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, s, call{path: tc.query})
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			if tc.status == 500 && get(a.body, "error", "message") != "Administrator has set absolute limit at 100" {
				t.Errorf("message %v", get(a.body, "error", "message"))
			}
			if tc.status == 200 && len(a.body["results"].([]any)) != tc.n {
				t.Errorf("%d results, want %d", len(a.body["results"].([]any)), tc.n)
			}
		})
	}
	t.Run("custom representation", func(t *testing.T) {
		a := do(t, s, call{path: "/patient?identifier=" + all[0] + "&v=custom:(uuid,identifiers:(uuid,identifier,identifierType:(uuid),voided))"})
		r := get(a.body, "results", 0).(map[string]any)
		if len(r) != 2 || get(r, "identifiers", 0, "identifier") != all[0] || len(get(r, "identifiers", 0).(map[string]any)) != 4 ||
			len(get(r, "identifiers", 0, "identifierType").(map[string]any)) != 1 {
			t.Errorf("custom rep %s", a.raw)
		}
	})
}

func TestIdentifierSubresource(t *testing.T) {
	s := New(t, Options{})
	p := s.AddPatient(Patient{GivenName: "A", Gender: "F", Identifiers: []Identifier{{Identifier: "10000X", TypeUUID: typ, LocationUUID: loc, Preferred: true}}})
	q := s.AddPatient(Patient{GivenName: "B", Gender: "F", Identifiers: []Identifier{{Identifier: "10001V", TypeUUID: typ, LocationUUID: loc, Preferred: true}}})
	list := do(t, s, call{path: "/patient/" + p + "/identifier"})
	checkShape(t, "patient-identifier-list.json", list.body)
	add := func(id string) answer {
		return do(t, s, call{method: "POST", path: "/patient/" + p + "/identifier",
			body: `{"identifier":"` + id + `","identifierType":"` + typ + `","location":"` + loc + `","preferred":true}`})
	}
	for _, tc := range []struct {
		id, message string
		status      int
	}{
		{"10002T", "", 201},
		{"10000X", "Identifier 10000X already in use by this patient", 400},
		{"10001V", "Identifier 10001V already in use by another patient", 400},
		{"10003X", "Invalid check digit for identifier: 10003X", 400},
	} {
		t.Run(tc.id, func(t *testing.T) {
			a := add(tc.id)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			if tc.message != "" && get(a.body, "error", "globalErrors", 0, "message") != tc.message {
				t.Errorf("got %s", a.raw)
			}
		})
	}
	got := s.Patients()[0]
	if len(got.Identifiers) != 2 || got.Identifiers[0].Preferred || !got.Identifiers[1].Preferred {
		t.Errorf("after adding a preferred identifier: %+v", got.Identifiers)
	}
	idUUID := got.Identifiers[1].UUID
	if a := do(t, s, call{method: "DELETE", path: "/patient/" + p + "/identifier/" + idUUID}); a.status != 204 {
		t.Fatalf("void: %d %s", a.status, a.raw)
	}
	if len(s.PatientsWithIdentifier("10002T")) != 0 || !s.Patients()[0].Identifiers[1].Voided {
		t.Error("voided identifier still found")
	}
	if a := do(t, s, call{method: "DELETE", path: "/patient/" + q + "/identifier/" + s.Patients()[1].Identifiers[0].UUID + "?purge"}); a.status != 204 {
		t.Fatalf("purge: %d", a.status)
	}
	if n := len(s.Patients()[1].Identifiers); n != 0 {
		t.Errorf("%d identifiers after purge", n)
	}
	if a := add("10001V"); a.status != 201 {
		t.Errorf("purged identifier should be free again: %d %s", a.status, a.raw)
	}
	if a := do(t, s, call{method: "DELETE", path: "/patient/" + p + "/identifier/nope"}); a.status != 404 {
		t.Errorf("unknown identifier: %d", a.status)
	}
}

func TestFaults(t *testing.T) {
	create := func(s *Server, uuid, id string, timeout time.Duration) (answer, error) {
		return try(s, call{method: "POST", path: "/patient", body: createBody(uuid, id, typ, loc, "F")}, timeout)
	}
	t.Run("down", func(t *testing.T) {
		s := New(t, Options{})
		s.SetFaults(Faults{Down: true})
		if _, err := try(s, call{path: "/session"}, 0); err == nil {
			t.Error("request to a down server succeeded")
		}
		s.SetFaults(Faults{})
		if a := do(t, s, call{path: "/session"}); a.status != 200 {
			t.Errorf("after recovery: %d", a.status)
		}
		if s.Requests() != 2 || s.RequestsTo("GET", "/session") != 2 {
			t.Errorf("Requests %d, RequestsTo %d", s.Requests(), s.RequestsTo("GET", "/session"))
		}
	})
	t.Run("fail", func(t *testing.T) {
		s := New(t, Options{})
		s.SetFaults(Faults{FailRate: 1})
		a, err := create(s, "", "10000X", 0)
		if err != nil || a.status != 500 || get(a.body, "error", "message") == nil {
			t.Fatalf("%v %d %s", err, a.status, a.raw)
		}
		if len(s.Patients()) != 0 {
			t.Error("failed request was applied")
		}
	})
	t.Run("drop after commit", func(t *testing.T) {
		s := New(t, Options{})
		s.SetFaults(Faults{DropAfterCommitRate: 1})
		if _, err := create(s, "11111111-1111-4111-8111-111111111111", "10000X", 0); err == nil {
			t.Fatal("client got an answer")
		}
		if len(s.PatientsWithIdentifier("10000X")) != 1 {
			t.Fatal("patient not stored")
		}
		if a := do(t, s, call{path: "/patient/11111111-1111-4111-8111-111111111111"}); a.status != 200 {
			t.Errorf("GET after drop: %d (reads are not faulted)", a.status)
		}
	})
	t.Run("hang after commit", func(t *testing.T) {
		s := New(t, Options{})
		s.SetFaults(Faults{HangAfterCommitRate: 1})
		if _, err := create(s, "", "10000X", 200*time.Millisecond); err == nil {
			t.Fatal("client got an answer")
		}
		if len(s.PatientsWithIdentifier("10000X")) != 1 {
			t.Fatal("patient not stored")
		}
	})
	t.Run("only", func(t *testing.T) {
		s := New(t, Options{})
		s.SetFaults(Faults{FailRate: 1, Only: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/identifier") }})
		if a := do(t, s, call{method: "POST", path: "/idgen/identifiersource/" + StockSourceUUID + "/identifier", body: "{}"}); a.status != 500 {
			t.Errorf("faulted path: %d", a.status)
		}
		if a, _ := create(s, "", "10000X", 0); a.status != 201 {
			t.Errorf("other path: %d %s", a.status, a.raw)
		}
	})
	t.Run("rate is deterministic per seed", func(t *testing.T) {
		run := func() []int {
			s := New(t, Options{Seed: 42})
			s.SetFaults(Faults{FailRate: 0.5})
			var st []int
			for i := 0; i < 20; i++ {
				st = append(st, do(t, s, call{path: "/session"}).status)
			}
			return st
		}
		a, b := run(), run()
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%v != %v", a, b)
		}
		n := 0
		for _, v := range a {
			if v == 500 {
				n++
			}
		}
		if n == 0 || n == 20 {
			t.Errorf("%d of 20 failed at rate 0.5", n)
		}
	})
}

// seed stores n patients with consecutive LuhnMod30 identifiers.
func seed(s *Server, n int) {
	sc, _ := barcode.Lookup("luhn-mod-30")
	for i := 0; i < n; i++ {
		id, _ := barcode.Generate(sc, toBase(int64(i)+fromBase("10000", StockSource().BaseCharacterSet), StockSource().BaseCharacterSet, 5))
		s.AddPatient(Patient{GivenName: "P", FamilyName: "Q", Gender: "U", Identifiers: []Identifier{{Identifier: id, TypeUUID: typ, LocationUUID: loc, Preferred: true}}})
	}
}

func pullAll(t testing.TB, s *Server, limit int) map[string]bool {
	seen := map[string]bool{}
	next := s.URL() + fmt.Sprintf("/ws/rest/v1/patient?identifier=&searchType=start&v=custom:(uuid,identifiers:(identifier))&limit=%d", limit)
	for next != "" {
		req, _ := http.NewRequest("GET", next, nil)
		req.SetBasicAuth("admin", "Admin123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Results []struct {
				UUID        string
				Identifiers []struct{ Identifier string }
			}
			Links []struct{ Rel, URI string }
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Results {
			if seen[r.UUID] {
				t.Fatalf("patient %s on two pages", r.UUID)
			}
			seen[r.UUID] = true
		}
		next = ""
		for _, l := range page.Links {
			if l.Rel == "next" {
				next = l.URI
			}
		}
	}
	return seen
}

func TestPaging100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100k patients")
	}
	s := New(t, Options{})
	seed(s, 100_000)
	if n := len(pullAll(t, s, 100)); n != 100_000 {
		t.Errorf("pulled %d patients, want 100000", n)
	}
}

func BenchmarkPull100k(b *testing.B) {
	s := New(b, Options{})
	seed(s, 100_000)
	b.ResetTimer()
	for range b.N {
		pullAll(b, s, 100)
	}
}

func FuzzParseRep(f *testing.F) {
	for _, v := range []string{"ref", "default", "full", "custom:(uuid)", "custom:(uuid,identifiers:(uuid,identifierType:(uuid,name)),person:default)", "custom:(", "custom:()"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r, err := parseRep(v)
		if err == nil && r.kind == repCustom && len(r.fields) == 0 {
			t.Errorf("%q: custom rep without fields", v)
		}
	})
}

// TestRealCreateRequest posts the documented request (patient-create-request.json)
// against a server holding its identifier type and location.
func TestRealCreateRequest(t *testing.T) {
	s := New(t, Options{
		IdentifierTypes: []IdentifierType{{UUID: "71075074-f02e-4270-89a3-f2dcda436f70", Name: "Old Identification Number"}},
		Locations:       []Location{{UUID: "9356400c-a5a2-4532-8f2b-2361b3446eb8", Name: "Bengaluru"}},
	})
	body, _ := json.Marshal(fixture(t, "patient-create-request.json"))
	a := do(t, s, call{method: "POST", path: "/patient", body: string(body)})
	if a.status != 201 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if a.body["display"] != "103VWY7 - Thomas Smith" || get(a.body, "person", "birthdate") != "1970-01-01T00:00:00.000+0000" ||
		get(a.body, "person", "preferredAddress", "display") != "30, Vivekananda Layout, Munnekolal,Marathahalli" {
		t.Errorf("answer %s", a.raw)
	}
}

// TestConcurrent creates patients and generates identifiers from many
// goroutines: every generated identifier is distinct and every create lands.
func TestConcurrent(t *testing.T) {
	s := New(t, Options{})
	const n = 40
	ids := make(chan string, n)
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := try(s, call{method: "POST", path: "/idgen/identifiersource/" + StockSourceUUID + "/identifier", body: "{}"}, 0)
			if err != nil || a.status != 201 {
				errs <- fmt.Errorf("generate: %v %d", err, a.status)
				ids <- ""
				return
			}
			id := a.body["identifier"].(string)
			ids <- id
			a, err = try(s, call{method: "POST", path: "/patient", body: createBody("", id, typ, loc, "F")}, 0)
			if err != nil || a.status != 201 {
				errs <- fmt.Errorf("create %s: %v %d %s", id, err, a.status, a.raw)
			}
		}()
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		id := <-ids
		if seen[id] {
			t.Errorf("%s generated twice", id)
		}
		seen[id] = true
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(s.Patients()); got != n {
		t.Errorf("%d patients, want %d", got, n)
	}
}
