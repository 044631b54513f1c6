// Package openmrstest is a fake OpenMRS server for tests: an in-memory
// implementation of the parts of the webservices.rest v1 API (and the idgen
// module's REST resources) that idcards talks to, speaking the wire format
// documented in /work/shared/openmrs/README.md §0 and §3 and its fixture
// files. It is written independently of package openmrs so that it checks
// the client instead of mirroring it. See README.md in this directory for
// what it enforces and what it does not model.
package openmrstest

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options configures a fake server. Zero values mean the stock OpenMRS
// Reference Application metadata.
type Options struct {
	Users              map[string]string  // username → password; nil means {"admin": "Admin123"}
	IdentifierTypes    []IdentifierType   // nil means the stock "OpenMRS ID" type (StockIdentifierType)
	Locations          []Location         // nil means the location of location-search-q-default.json
	Sources            []IdentifierSource // nil means the stock sequential LuhnMod30 generator (StockSource)
	MaxResultsDefault  int                // 0 means 50
	MaxResultsAbsolute int                // 0 means 100
	Seed               int64              // for fault injection; 0 means 1
	// NoFHIR: the FHIR2 module is not installed (/ws/fhir2 answers 404).
	NoFHIR bool
	// NoStartSearch: an older webservices.rest whose identifier search
	// ignores searchType=start (always an exact match).
	NoStartSearch bool
	// Now is the server's clock (Date headers, FHIR lastUpdated); nil
	// means time.Now. Tests move it to tell "changed since" apart.
	Now func() time.Time
}

// IdentifierType is a patient identifier type. Validator is the Java class
// name OpenMRS stores ("" = none); Format is a Java regex the whole value
// must match ("" = none); LocationBehavior is "" (treated as REQUIRED),
// "REQUIRED" or "NOT_USED"; UniquenessBehavior is "" (treated as UNIQUE),
// "UNIQUE", "NON_UNIQUE" or "LOCATION".
type IdentifierType struct {
	UUID, Name, Validator, Format, LocationBehavior, UniquenessBehavior string
	Required                                                            bool
}

// Location is a location (only what identifiers need).
type Location struct{ UUID, Name string }

// IdentifierSource is an idgen sequential identifier generator
// (SequentialIdentifierGenerator). MaxLength 0 means no maximum. Reserved
// lists identifiers the source must skip (idgen's reserved identifiers).
type IdentifierSource struct {
	UUID, Name, IdentifierTypeUUID, Prefix, BaseCharacterSet, FirstIdentifierBase string
	MinLength, MaxLength                                                          int
	Reserved                                                                      []string
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
	// Down: every request's connection is closed without an answer.
	Down bool
	// FailRate is the share of requests answered 500 (OpenMRS's generic
	// error shape) before anything is done.
	FailRate float64
	// DropAfterCommitRate is the share of writes (POST, DELETE) that are
	// fully applied, after which the connection is closed without an answer.
	DropAfterCommitRate float64
	// HangAfterCommitRate is the share of writes that are fully applied,
	// after which the handler blocks until the client gives up (request
	// context cancelled) and answers nothing.
	HangAfterCommitRate float64
	// Only, if non-nil, restricts the faults to requests where it is true.
	Only func(r *http.Request) bool
}

// Stock metadata, from the fixtures in /work/shared/openmrs.
const (
	// StockIdentifierTypeUUID is "OpenMRS ID" of patientidentifiertype-list.json.
	StockIdentifierTypeUUID = "05a29f94-c0ed-11e2-94be-8c13b969e334"
	// StockLocationUUID is "Amani Hospital" of location-search-q-default.json.
	StockLocationUUID = "aff27d58-a15c-49a6-9beb-d30dcfc0c66e"
	// StockSourceUUID is "Generator for OpenMRS ID" of idgen-identifiersource-list.json.
	StockSourceUUID = "691eed12-c0f1-11e2-94be-8c13b969e334"
)

// StockIdentifierType is the RefApp "OpenMRS ID" type (LuhnMod30, required,
// location and uniqueness behaviour null).
func StockIdentifierType() IdentifierType {
	return IdentifierType{UUID: StockIdentifierTypeUUID, Name: "OpenMRS ID", Validator: ValidatorLuhnMod30, Required: true}
}

// StockLocation is the location of location-search-q-default.json.
func StockLocation() Location { return Location{UUID: StockLocationUUID, Name: "Amani Hospital"} }

// StockSource is the sequential generator of idgen-identifiersource-list.json:
// first identifier 10000 + LuhnMod30 check character = 10000X.
func StockSource() IdentifierSource {
	return IdentifierSource{
		UUID:                StockSourceUUID,
		Name:                "Generator for OpenMRS ID",
		IdentifierTypeUUID:  StockIdentifierTypeUUID,
		BaseCharacterSet:    "0123456789ACDEFGHJKLMNPRTUVWXY",
		FirstIdentifierBase: "10000",
		MinLength:           6,
	}
}

// Validator class names OpenMRS stores in patient_identifier_type.validator
// (README §1.5).
const (
	ValidatorLuhnMod30   = "org.openmrs.module.idgen.validator.LuhnMod30IdentifierValidator"
	ValidatorLuhnMod25   = "org.openmrs.module.idgen.validator.LuhnMod25IdentifierValidator"
	ValidatorLuhnMod10   = "org.openmrs.module.idgen.validator.LuhnMod10IdentifierValidator"
	ValidatorCoreLuhn    = "org.openmrs.patient.impl.LuhnIdentifierValidator"
	ValidatorCoreVerhoef = "org.openmrs.patient.impl.VerhoeffIdentifierValidator"
)

// Server is a running fake. All methods are safe for concurrent use.
type Server struct {
	ts   *httptest.Server
	done chan struct{} // closed at cleanup: releases hanging handlers

	maxDefault, maxAbsolute int

	requests atomic.Int64

	fmu    sync.Mutex // guards faults, rng
	faults Faults
	rng    *rand.Rand

	mu                    sync.Mutex // guards everything below
	reqByPath             map[string]int64
	users                 map[string]string
	sessions              map[string]string // JSESSIONID → username
	nextID                uint64            // for generated uuids and session ids
	types                 []IdentifierType
	typeByID              map[string]*IdentifierType
	locations             []Location
	locByID               map[string]*Location
	sources               []*source
	srcByID               map[string]*source
	noFHIR, noStartSearch bool
	fhirSearches          map[string]*fhirSearch

	personWrites map[string]int // person.go: applied person/name/address writes per person uuid (under mu)
	store
}

// New starts a fake on a loopback httptest.Server; t.Cleanup closes it.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		done:          make(chan struct{}),
		maxDefault:    opts.MaxResultsDefault,
		maxAbsolute:   opts.MaxResultsAbsolute,
		reqByPath:     map[string]int64{},
		users:         map[string]string{},
		sessions:      map[string]string{},
		typeByID:      map[string]*IdentifierType{},
		locByID:       map[string]*Location{},
		srcByID:       map[string]*source{},
		noFHIR:        opts.NoFHIR,
		noStartSearch: opts.NoStartSearch,
		fhirSearches:  map[string]*fhirSearch{},
	}
	s.store.now = opts.Now
	if s.store.now == nil {
		s.store.now = time.Now
	}
	if s.maxDefault <= 0 {
		s.maxDefault = 50
	}
	if s.maxAbsolute <= 0 {
		s.maxAbsolute = 100
	}
	seed := opts.Seed
	if seed == 0 {
		seed = 1
	}
	s.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	if opts.Users == nil {
		s.users["admin"] = "Admin123"
	}
	for u, p := range opts.Users {
		s.users[u] = p
	}
	s.types = append([]IdentifierType(nil), opts.IdentifierTypes...)
	if opts.IdentifierTypes == nil {
		s.types = []IdentifierType{StockIdentifierType()}
	}
	for i := range s.types {
		s.typeByID[s.types[i].UUID] = &s.types[i]
	}
	s.locations = append([]Location(nil), opts.Locations...)
	if opts.Locations == nil {
		s.locations = []Location{StockLocation()}
	}
	for i := range s.locations {
		s.locByID[s.locations[i].UUID] = &s.locations[i]
	}
	srcs := opts.Sources
	if srcs == nil {
		srcs = []IdentifierSource{StockSource()}
	}
	for _, c := range srcs {
		src := newSource(c)
		s.sources = append(s.sources, src)
		s.srcByID[c.UUID] = src
	}
	s.store.init()
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.done)
		s.ts.Close()
	})
	return s
}

// URL is the web application root, e.g. http://127.0.0.1:PORT/openmrs; the
// REST API is below URL()+"/ws/rest/v1".
func (s *Server) URL() string { return s.ts.URL + "/openmrs" }

// SetFaults replaces the fault settings; safe to call while serving.
func (s *Server) SetFaults(f Faults) {
	s.fmu.Lock()
	s.faults = f
	s.fmu.Unlock()
}

// SetPassword sets (or adds) a user's password. Sessions already open stay
// valid, as in OpenMRS.
func (s *Server) SetPassword(user, pw string) {
	s.mu.Lock()
	s.users[user] = pw
	s.mu.Unlock()
}

// Requests is the number of HTTP requests received, faulted ones included.
func (s *Server) Requests() int64 { return s.requests.Load() }

// RequestsTo is the number of requests with this method whose URL path
// (without query) ends with pathSuffix, e.g. ("POST", "/patient").
func (s *Server) RequestsTo(method, pathSuffix string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, c := range s.reqByPath {
		m, p, _ := strings.Cut(k, " ")
		if m == method && strings.HasSuffix(p, pathSuffix) {
			n += c
		}
	}
	return n
}

// AddPatient stores p as is (no validation), filling in missing uuids, and
// returns its uuid.
func (s *Server) AddPatient(p Patient) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.UUID == "" {
		p.UUID = s.newUUID()
	}
	p.Identifiers = append([]Identifier(nil), p.Identifiers...)
	for i := range p.Identifiers {
		if p.Identifiers[i].UUID == "" {
			p.Identifiers[i].UUID = s.newUUID()
		}
	}
	s.add(p, s.newUUID())
	return p.UUID
}

// Patients returns a copy of every patient, in creation order.
func (s *Server) Patients() []Patient {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Patient, 0, len(s.patients))
	for _, r := range s.patients {
		out = append(out, r.copy())
	}
	return out
}

// PatientsWithIdentifier returns the non-voided patients holding a
// non-voided identifier with exactly this value (any type), in creation order.
func (s *Server) PatientsWithIdentifier(id string) []Patient {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Patient
	for _, r := range s.exact(id) {
		out = append(out, r.copy())
	}
	return out
}

// newUUID returns a fresh version-4-shaped uuid, deterministic per server.
// Callers hold s.mu.
func (s *Server) newUUID() string {
	s.nextID++
	n := s.nextID
	const hex = "0123456789abcdef"
	b := []byte("00000000-0000-4000-8000-000000000000")
	// spread the counter over the last 12 hex digits and the first group
	for i := len(b) - 1; i >= 24 && n > 0; i-- {
		b[i] = hex[n&15]
		n >>= 4
	}
	// a fixed per-process-independent marker so fake uuids are recognisable
	copy(b[0:8], "fa4e0000")
	return string(b)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
