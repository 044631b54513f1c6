package openmrs

// Session is the answer of GET /session.
type Session struct {
	Authenticated   bool
	User            User
	Locale          string
	SessionLocation *Ref
}

// User is the logged-in OpenMRS user.
type User struct {
	UUID       string
	Display    string
	Username   string
	SystemID   string
	Roles      []string
	Privileges []string
}

// Ref names an OpenMRS object.
type Ref struct {
	UUID    string
	Display string
}

// Patient is an OpenMRS patient as this client reads it.
type Patient struct {
	UUID               string
	Display            string
	Identifiers        []PatientIdentifier
	GivenName          string
	MiddleName         string
	FamilyName         string
	Gender             string // M, F, O, U
	Birthdate          string // YYYY-MM-DD, "" when unknown
	BirthdateEstimated bool
	Village            string // the preferred address's cityVillage
	Voided             bool
}

// PatientIdentifier is one identifier of a patient. In the default
// representation OpenMRS gives only UUID and Display ("OpenMRS ID =
// 1003EY"); Identifier is then taken from Display.
type PatientIdentifier struct {
	UUID         string
	Identifier   string
	TypeUUID     string
	TypeName     string
	LocationUUID string
	Preferred    bool
	Voided       bool
}

// Identifier returns the patient's non-voided identifier of the given
// type, preferring the preferred one.
func (p Patient) Identifier(typeUUID string) (string, bool) {
	found := ""
	for _, id := range p.Identifiers {
		if id.Voided || id.TypeUUID != typeUUID {
			continue
		}
		if id.Preferred {
			return id.Identifier, true
		}
		if found == "" {
			found = id.Identifier
		}
	}
	return found, found != ""
}

// PatientCreate is a new patient with a new person, for CreatePatient.
type PatientCreate struct {
	// UUID optionally fixes the new patient's (and person's) uuid, so that
	// after a lost answer GET /patient/{uuid} tells whether it was created.
	UUID        string
	Person      PersonCreate
	Identifiers []IdentifierCreate
}

// PersonCreate is the person part of PatientCreate.
type PersonCreate struct {
	Names              []PersonName
	Gender             string // M, F, O or U; required by OpenMRS
	Age                *int   // only when Birthdate is unknown
	Birthdate          string // "YYYY-MM-DD" or an OpenMRS timestamp
	BirthdateEstimated bool
	Addresses          []PersonAddress
}

// PersonName is one name of a person.
type PersonName struct {
	GivenName  string
	MiddleName string
	FamilyName string
}

// PersonAddress is one address of a person (OpenMRS's standard fields).
type PersonAddress struct {
	Address1      string
	Address2      string
	CityVillage   string
	StateProvince string
	Country       string
	PostalCode    string
}

// IdentifierCreate is one identifier of a new patient.
type IdentifierCreate struct {
	Identifier   string
	TypeUUID     string
	LocationUUID string // required unless the type's LocationBehavior is NOT_USED
	Preferred    bool
}

// IdentifierType is a patient identifier type with the fields that decide
// whether our MRN format fits it.
type IdentifierType struct {
	UUID               string
	Name               string
	Description        string
	Format             string // regex, "" for none
	FormatDescription  string
	Required           bool
	Validator          string // Java class name, "" for none
	LocationBehavior   string // "", "REQUIRED" or "NOT_USED"; "" behaves as REQUIRED
	UniquenessBehavior string // "", "UNIQUE", "NON_UNIQUE" or "LOCATION"; "" behaves as UNIQUE
	Retired            bool
}

// LocationRequired reports whether OpenMRS demands a location on
// identifiers of this type: core's PatientIdentifierValidator requires one
// unless locationBehavior is NOT_USED (null counts as REQUIRED).
func (t IdentifierType) LocationRequired() bool { return t.LocationBehavior != "NOT_USED" }

// Location is an OpenMRS location.
type Location struct {
	UUID        string
	Name        string
	Description string
	Tags        []string
	ParentUUID  string
	Retired     bool
}

// IdentifierSource is an idgen identifier source.
type IdentifierSource struct {
	UUID                string
	Name                string
	Type                string // sequentialidentifiergenerator, identifierpool, remoteidentifiersource
	IdentifierTypeUUID  string
	Validator           string // the identifier type's validator class, when the server included it
	Prefix              string
	Suffix              string
	BaseCharacterSet    string
	FirstIdentifierBase string
	MinLength           int
	MaxLength           int
}

// IdentifierRecord is one identifier value found by IdentifiersOfType.
type IdentifierRecord struct {
	Identifier  string
	PatientUUID string
}
