package openmrs

// Wire DTOs: the JSON OpenMRS sends and expects, field for field. Shapes
// follow the payloads in testdata/ (copied from shared/openmrs, see its
// PROVENANCE.md). Only convert.go turns them into exported types.

type linkDTO struct {
	Rel           string  `json:"rel"`
	URI           string  `json:"uri"`
	ResourceAlias *string `json:"resourceAlias,omitempty"`
}

type refDTO struct {
	UUID    string    `json:"uuid"`
	Display string    `json:"display"`
	Links   []linkDTO `json:"links,omitempty"`
}

// pageDTO is the envelope of every list and search. "links" is present only
// when there is a next or previous page, next first
// (webservices.rest omod-common/.../resource/impl/BasePageableResult.java
// toSimpleObject); "totalCount" only with ?totalCount=true.
type pageDTO[T any] struct {
	Results    []T       `json:"results"`
	Links      []linkDTO `json:"links,omitempty"`
	TotalCount *int64    `json:"totalCount,omitempty"`
}

// sessionDTO: GET /session (testdata/session.json). sessionId was removed
// by RESTWS-903 (2022); the JSESSIONID cookie is what counts.
type sessionDTO struct {
	SessionID       string   `json:"sessionId,omitempty"`
	Authenticated   bool     `json:"authenticated"`
	User            *userDTO `json:"user,omitempty"`
	Locale          string   `json:"locale,omitempty"`
	AllowedLocales  []string `json:"allowedLocales,omitempty"`
	SessionLocation *refDTO  `json:"sessionLocation,omitempty"`
}

type userDTO struct {
	UUID       string `json:"uuid"`
	Display    string `json:"display"`
	Username   string `json:"username"`
	SystemID   string `json:"systemId"`
	Privileges []struct {
		UUID    string `json:"uuid"`
		Name    string `json:"name"`
		Display string `json:"display"`
	} `json:"privileges"`
	Roles []struct {
		UUID    string `json:"uuid"`
		Name    string `json:"name"`
		Display string `json:"display"`
	} `json:"roles"`
}

// patientDTO covers the default representation (identifiers as REF:
// uuid, display "OpenMRS ID = 1003EY", links) and our custom
// representation (identifiers with value, type and location).
type patientDTO struct {
	UUID        string          `json:"uuid"`
	Display     string          `json:"display"`
	Identifiers []identifierDTO `json:"identifiers"`
	Person      *personDTO      `json:"person"`
	Voided      bool            `json:"voided"`
	Links       []linkDTO       `json:"links,omitempty"`
}

type identifierDTO struct {
	UUID           string  `json:"uuid"`
	Display        string  `json:"display"`
	Identifier     string  `json:"identifier"`
	IdentifierType *refDTO `json:"identifierType"`
	Location       *refDTO `json:"location"`
	Preferred      bool    `json:"preferred"`
	Voided         bool    `json:"voided"`
}

type personDTO struct {
	UUID               string   `json:"uuid"`
	Display            string   `json:"display"`
	Gender             string   `json:"gender"`
	Age                *int     `json:"age"`
	Birthdate          *string  `json:"birthdate"`
	BirthdateEstimated bool     `json:"birthdateEstimated"`
	Dead               bool     `json:"dead"`
	PreferredName      *nameDTO `json:"preferredName"`
	PreferredAddress   *struct {
		CityVillage string `json:"cityVillage"`
	} `json:"preferredAddress"`
	Voided bool `json:"voided"`
}

type nameDTO struct {
	UUID       string `json:"uuid,omitempty"`
	Display    string `json:"display,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
	MiddleName string `json:"middleName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

// patientCreateDTO is POST /patient with a new person, key for key as
// testdata/patient-create-request.json (docs patients.md): "person" and
// "identifiers" are the creatable properties of PatientResource1_8.
// "uuid" is optional: O3 sends a client-chosen uuid on patient and person
// (esm-patient-registration form-manager.ts), which lets a client that lost
// the answer check GET /patient/{uuid} (inferred, not observed).
type patientCreateDTO struct {
	UUID        string                `json:"uuid,omitempty"`
	Identifiers []identifierCreateDTO `json:"identifiers"`
	Person      personCreateDTO       `json:"person"`
}

type identifierCreateDTO struct {
	Identifier     string `json:"identifier"`
	IdentifierType string `json:"identifierType"`
	Location       string `json:"location,omitempty"`
	Preferred      bool   `json:"preferred"`
}

type personCreateDTO struct {
	UUID               string             `json:"uuid,omitempty"`
	Gender             string             `json:"gender"`
	Age                *int               `json:"age,omitempty"`
	Birthdate          string             `json:"birthdate,omitempty"`
	BirthdateEstimated bool               `json:"birthdateEstimated"`
	Dead               bool               `json:"dead"`
	DeathDate          *string            `json:"deathDate"`
	CauseOfDeath       *string            `json:"causeOfDeath"`
	Names              []nameDTO          `json:"names"`
	Addresses          []addressCreateDTO `json:"addresses,omitempty"`
}

type addressCreateDTO struct {
	Address1      string `json:"address1,omitempty"`
	Address2      string `json:"address2,omitempty"`
	CityVillage   string `json:"cityVillage,omitempty"`
	StateProvince string `json:"stateProvince,omitempty"`
	Country       string `json:"country,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
}

// identifierTypeDTO: GET /patientidentifiertype?v=default|full
// (testdata/patientidentifiertype-list.json). checkDigit was dropped in the
// 2.0 resource; validator is the class name.
type identifierTypeDTO struct {
	UUID               string  `json:"uuid"`
	Display            string  `json:"display"`
	Name               string  `json:"name"`
	Description        *string `json:"description"`
	Format             *string `json:"format"`
	FormatDescription  *string `json:"formatDescription"`
	Required           bool    `json:"required"`
	Validator          *string `json:"validator"`
	LocationBehavior   *string `json:"locationBehavior"`
	UniquenessBehavior *string `json:"uniquenessBehavior"`
	Retired            bool    `json:"retired"`
}

// locationDTO: GET /location?q=&v=default (testdata/location-search-q-default.json).
type locationDTO struct {
	UUID           string   `json:"uuid"`
	Display        string   `json:"display"`
	Name           string   `json:"name"`
	Description    *string  `json:"description"`
	Tags           []refDTO `json:"tags"`
	ParentLocation *refDTO  `json:"parentLocation"`
	Retired        bool     `json:"retired"`
}

// identifierSourceDTO: GET /idgen/identifiersource?v=default
// (testdata/idgen-identifiersource-list.json); "type" discriminates
// sequentialidentifiergenerator / identifierpool / remoteidentifiersource.
type identifierSourceDTO struct {
	UUID                string             `json:"uuid"`
	Name                string             `json:"name"`
	Description         *string            `json:"description"`
	Type                string             `json:"type"`
	BaseCharacterSet    *string            `json:"baseCharacterSet"`
	Prefix              *string            `json:"prefix"`
	Suffix              *string            `json:"suffix"`
	FirstIdentifierBase *string            `json:"firstIdentifierBase"`
	MinLength           *int               `json:"minLength"`
	MaxLength           *int               `json:"maxLength"`
	IdentifierType      *identifierTypeDTO `json:"identifierType"`
}

// exportRequestDTO: POST /idgen/identifiersource batch export
// (testdata/idgen-export-identifiers-request.json).
type exportRequestDTO struct {
	GenerateIdentifiers bool   `json:"generateIdentifiers"`
	SourceUUID          string `json:"sourceUuid"`
	NumberToGenerate    int    `json:"numberToGenerate"`
	Comment             string `json:"comment,omitempty"`
}

type exportResponseDTO struct {
	Identifiers []string `json:"identifiers"`
}

// generateRequestDTO / generateResponseDTO: POST
// /idgen/identifiersource/{uuid}/identifier (IdentifierResource.create
// returns a SimpleObject with the single key "identifier").
type generateRequestDTO struct {
	Comment string `json:"comment,omitempty"`
}

type generateResponseDTO struct {
	Identifier string `json:"identifier"`
}
