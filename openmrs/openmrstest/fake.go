// Package openmrstest is a fake OpenMRS server for tests: an in-memory
// implementation of the parts of the webservices.rest v1 API (and the idgen
// module's REST resources) that idcards talks to, speaking the wire format
// documented in /work/shared/openmrs/README.md §0 and §3 and its fixture
// files. It is written independently of package openmrs so that it checks
// the client instead of mirroring it.
package openmrstest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Options configures a fake server. Zero values mean the stock OpenMRS
// Reference Application metadata (see the README of this package).
type Options struct {
	Users              map[string]string // username → password; nil means {"admin": "Admin123"}
	IdentifierTypes    []IdentifierType  // nil means the stock "OpenMRS ID" type
	Locations          []Location        // nil means the location of location-search-q-default.json
	Sources            []IdentifierSource
	MaxResultsDefault  int   // 0 means 50
	MaxResultsAbsolute int   // 0 means 100
	Seed               int64 // for fault injection; 0 means 1
}

// IdentifierType is a patient identifier type. Validator is the Java class
// name OpenMRS stores; LocationBehavior is "", "REQUIRED" or "NOT_USED";
// UniquenessBehavior is "", "UNIQUE", "NON_UNIQUE" or "LOCATION".
type IdentifierType struct {
	UUID, Name, Validator, Format, LocationBehavior, UniquenessBehavior string
	Required                                                            bool
}

// Location is a location (only what identifiers need).
type Location struct{ UUID, Name string }

// IdentifierSource is an idgen sequential identifier generator.
type IdentifierSource struct {
	UUID, Name, IdentifierTypeUUID, Prefix, BaseCharacterSet, FirstIdentifierBase string
	MinLength, MaxLength                                                          int
}

// Patient is a patient as stored by the fake. UUID is both the person's and
// the patient's uuid, as in OpenMRS.
type Patient struct {
	UUID                              string
	GivenName, MiddleName, FamilyName string
	Gender                            string // M F O U
	Birthdate                         string // YYYY-MM-DD or ""
	BirthdateEstimated                bool
	Voided                            bool
	Identifiers                       []Identifier
}

// Identifier is one patient identifier.
type Identifier struct {
	UUID, Identifier, TypeUUID, LocationUUID string
	Preferred, Voided                        bool
}

// Faults makes the fake misbehave; see SetFaults.
type Faults struct {
	Down                bool    // every request: connection closed without an answer
	FailRate            float64 // share of requests answered 500 before doing anything
	DropAfterCommitRate float64 // share of writes applied, then the connection closed without an answer
	HangAfterCommitRate float64 // share of writes applied, then the handler blocks until the client gives up
	Only                func(r *http.Request) bool
}

// Server is a running fake.
type Server struct {
	ts *httptest.Server
}

// New starts a fake on a loopback httptest.Server; t.Cleanup closes it.
func New(t testing.TB, opts Options) *Server {
	s := &Server{}
	s.ts = httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(s.ts.Close)
	return s
}

// URL is the web application root, e.g. http://127.0.0.1:PORT/openmrs.
func (s *Server) URL() string { return s.ts.URL + "/openmrs" }
