package openmrs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedBodies adds every real payload in testdata as a seed.
func seedBodies(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		f.Fatal("no testdata payloads to seed from")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(400, b)
	}
	f.Add(500, []byte("<html><body>Proxy Error</body></html>"))
	f.Add(401, []byte(`{"error":{"message":"User is not logged in"}}`))
	f.Add(400, []byte(`{"error":{"globalErrors":[{"message":"Identifier \"X\" does not match : \"[0-9]+\""}]}}`))
	f.Add(200, []byte(`{"results":[{"uuid":"x"}],"links":[{"rel":"next","uri":"http://h/ws/rest/v1/patient?startIndex=-1"}]}`))
	f.Add(200, []byte("\xff\xfe{\"error\":"))
}

// FuzzResponse feeds arbitrary bodies, as a misbehaving server or proxy
// could send them, through everything that reads an OpenMRS answer: the
// error parser and classifier, the DTO decoders and converters, and the
// paging link follower. Nothing may panic; error texts stay bounded and
// printable; a next link is only followed forwards.
func FuzzResponse(f *testing.F) {
	seedBodies(f)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := ParseErrorBody(status, body)
		if len(e.Body) > maxErrorSnippet || !utf8.ValidString(e.Body) {
			t.Fatalf("Body snippet: %d bytes, valid UTF-8 %v", len(e.Body), utf8.ValidString(e.Body))
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "openmrs: ") {
			t.Fatalf("Error() = %q", msg)
		}
		_ = Classify(e)
		for _, m := range e.Messages() {
			_ = ClassifyMessage(m)
		}

		var page pageDTO[patientDTO]
		if json.Unmarshal(body, &page) == nil {
			for _, p := range page.Results {
				pt := patientFromDTO(p)
				if len(pt.Birthdate) != 0 && len(pt.Birthdate) != 10 {
					t.Fatalf("birthdate %q", pt.Birthdate)
				}
			}
			for _, seen := range []int{-1, 0, 100} {
				start, more, err := nextStartIndex(page.Links, seen)
				if more && (err != nil || start <= seen || start < 0) {
					t.Fatalf("next link followed backwards: start %d after %d (%v)", start, seen, err)
				}
				if err != nil && len(err.Error()) > 400 {
					t.Fatalf("error text of %d bytes", len(err.Error()))
				}
			}
		}
		var ids pageDTO[identifierDTO]
		if json.Unmarshal(body, &ids) == nil {
			for _, d := range ids.Results {
				_ = identifierFromDTO(d)
			}
		}
		var s sessionDTO
		if json.Unmarshal(body, &s) == nil {
			_ = sessionFromDTO(s)
		}
	})
}

// FuzzFHIRBundle feeds arbitrary bodies through what reads a FHIR2 Patient
// search answer: the Bundle decoder, the identifier filter and the next
// link reader. Nothing may panic; a next link is only followed within the
// Patient search below /ws/fhir2/R4.
func FuzzFHIRBundle(f *testing.F) {
	b, err := os.ReadFile("testdata/fhir-patient-search-bundle.inferred.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"resourceType":"Bundle","link":[{"relation":"next","url":"http://x/openmrs/ws/fhir2/R4?_getpages=a&_getpagesoffset=100"}],"entry":[{"resource":{"resourceType":"Patient","id":"p","identifier":[{"value":"1","type":{"coding":[{"code":"t"}]}}]}}]}`))
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error"}]}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b fhirBundleDTO
		if json.Unmarshal(body, &b) != nil {
			return
		}
		for _, r := range identifiersFromBundle(nil, &b, "05a29f94-c0ed-11e2-94be-8c13b969e334") {
			if r.Identifier == "" || r.PatientUUID == "" {
				t.Fatalf("empty record %+v", r)
			}
		}
		for _, l := range b.Link {
			p, q, err := fhirNext(l.URL)
			if err != nil {
				continue
			}
			if !strings.HasPrefix(p, fhirPrefix) || strings.Contains(p, "..") && p != fhirPrefix {
				t.Fatalf("next link %q leads to %q", l.URL, p)
			}
			_ = q
		}
	})
}
