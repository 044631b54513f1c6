package scanapi

// Our own small FHIR R4 types: only the elements /fhir/ writes. They are
// value types with omitempty, marshalled in one pass by encoding/json.
//
// Why not a model package: github.com/samply/golang-fhir-models v0.3.2
// (every R4 resource, 379 files) costs a test binary of these five
// resources 147 KB more (stripped: 2,011,298 vs 1,863,842 bytes) and no
// measurable start-up time (GODEBUG=inittrace: 0.13 ms both), so size was
// not the decider; its pointer-per-field structs and Bundle entries held as
// json.RawMessage (each Patient marshalled twice) were, on the hot search
// path, for ~150 lines we own. Every response is validated against HL7's
// R4 JSON schema in the tests (fhir_schema_test.go), which is what a
// model package would have bought us.

const fhirJSON = "application/fhir+json; charset=utf-8"

// Coding, CodeableConcept, Identifier, Reference, HumanName, ContactPoint,
// Address, Extension are FHIR data types (http://hl7.org/fhir/R4/datatypes.html).
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type Identifier struct {
	Use      string           `json:"use,omitempty"`
	Type     *CodeableConcept `json:"type,omitempty"`
	System   string           `json:"system,omitempty"`
	Value    string           `json:"value,omitempty"`
	Assigner *Reference       `json:"assigner,omitempty"`
}

type Reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

type Address struct {
	Use  string `json:"use,omitempty"`
	City string `json:"city,omitempty"`
}

type Extension struct {
	URL       string `json:"url"`
	ValueCode string `json:"valueCode,omitempty"`
}

type Meta struct {
	LastUpdated string `json:"lastUpdated,omitempty"`
}

// PatientLink is Patient.link: a merged-away record points at the record
// that replaced it.
type PatientLink struct {
	Other Reference `json:"other"`
	Type  string    `json:"type"`
}

// FHIRPatient is the Patient resource.
type FHIRPatient struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Active       bool           `json:"active"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	Gender       string         `json:"gender,omitempty"`
	BirthDate    string         `json:"birthDate,omitempty"`
	Address      []Address      `json:"address,omitempty"`
	Link         []PatientLink  `json:"link,omitempty"`
}

// Bundle is a searchset Bundle.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type BundleEntry struct {
	FullURL  string       `json:"fullUrl,omitempty"`
	Resource any          `json:"resource"`
	Search   *EntrySearch `json:"search,omitempty"`
}

type EntrySearch struct {
	Extension []Extension `json:"extension,omitempty"`
	Mode      string      `json:"mode,omitempty"`
	Score     *float64    `json:"score,omitempty"`
}

// Parameters is the $ihe-pix answer.
type Parameters struct {
	ResourceType string      `json:"resourceType"`
	Parameter    []Parameter `json:"parameter,omitempty"`
}

type Parameter struct {
	Name            string      `json:"name"`
	ValueIdentifier *Identifier `json:"valueIdentifier,omitempty"`
	ValueReference  *Reference  `json:"valueReference,omitempty"`
}

// OperationOutcome is every /fhir/ error (and a search's warnings).
type OperationOutcome struct {
	ResourceType string         `json:"resourceType"`
	Issue        []OutcomeIssue `json:"issue"`
}

type OutcomeIssue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// CapabilityStatement is GET /fhir/metadata.
type CapabilityStatement struct {
	ResourceType   string      `json:"resourceType"`
	Status         string      `json:"status"`
	Date           string      `json:"date"`
	Publisher      string      `json:"publisher,omitempty"`
	Kind           string      `json:"kind"`
	Software       *CSSoftware `json:"software,omitempty"`
	Implementation *CSImpl     `json:"implementation,omitempty"`
	FHIRVersion    string      `json:"fhirVersion"`
	Format         []string    `json:"format"`
	Rest           []CSRest    `json:"rest"`
}

type CSSoftware struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type CSImpl struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

type CSRest struct {
	Mode          string       `json:"mode"`
	Documentation string       `json:"documentation,omitempty"`
	Security      *CSSecurity  `json:"security,omitempty"`
	Resource      []CSResource `json:"resource"`
}

type CSSecurity struct {
	Service     []CodeableConcept `json:"service,omitempty"`
	Description string            `json:"description,omitempty"`
}

type CSResource struct {
	Type          string          `json:"type"`
	Documentation string          `json:"documentation,omitempty"`
	Interaction   []CSInteraction `json:"interaction"`
	SearchParam   []CSSearchParam `json:"searchParam,omitempty"`
	Operation     []CSOperation   `json:"operation,omitempty"`
}

type CSInteraction struct {
	Code          string `json:"code"`
	Documentation string `json:"documentation,omitempty"`
}

type CSSearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

type CSOperation struct {
	Name          string `json:"name"`
	Definition    string `json:"definition"`
	Documentation string `json:"documentation,omitempty"`
}
