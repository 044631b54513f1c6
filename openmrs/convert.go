package openmrs

import (
	"strings"

	"github.com/idcards/idcards"
)

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func sessionFromDTO(d sessionDTO) Session {
	s := Session{Authenticated: d.Authenticated, Locale: d.Locale}
	if d.User != nil {
		s.User = User{UUID: d.User.UUID, Display: d.User.Display, Username: d.User.Username, SystemID: d.User.SystemID}
		for _, r := range d.User.Roles {
			s.User.Roles = append(s.User.Roles, firstNonEmpty(r.Name, r.Display))
		}
		for _, p := range d.User.Privileges {
			s.User.Privileges = append(s.User.Privileges, firstNonEmpty(p.Name, p.Display))
		}
	}
	if d.SessionLocation != nil {
		s.SessionLocation = &Ref{UUID: d.SessionLocation.UUID, Display: d.SessionLocation.Display}
	}
	return s
}

// birthdateDay keeps the date part of OpenMRS's timestamp
// ("1936-12-04T00:00:00.000+0000"). The server writes a birthdate as
// local midnight with its own offset, so the written date is the intended
// day; converting to UTC could move it to the day before.
func birthdateDay(s *string) string {
	if s == nil || len(*s) < 10 {
		return ""
	}
	return (*s)[:10]
}

func patientFromDTO(d patientDTO) Patient {
	p := Patient{UUID: d.UUID, Display: d.Display, Voided: d.Voided}
	for _, id := range d.Identifiers {
		p.Identifiers = append(p.Identifiers, identifierFromDTO(id))
	}
	if d.Person != nil {
		p.Gender = d.Person.Gender
		p.Birthdate = birthdateDay(d.Person.Birthdate)
		p.BirthdateEstimated = d.Person.BirthdateEstimated
		if a := d.Person.PreferredAddress; a != nil {
			p.Village = a.CityVillage
		}
		if n := d.Person.PreferredName; n != nil {
			p.GivenName, p.MiddleName, p.FamilyName = n.GivenName, n.MiddleName, n.FamilyName
			if p.GivenName == "" && p.FamilyName == "" {
				p.GivenName = firstNonEmpty(n.Display, d.Person.Display)
			}
		}
	}
	return p
}

func patientCreateToDTO(p PatientCreate) patientCreateDTO {
	d := patientCreateDTO{
		UUID:        p.UUID,
		Identifiers: make([]identifierCreateDTO, 0, len(p.Identifiers)),
		Person: personCreateDTO{
			UUID:               p.UUID, // O3 sends the same uuid on patient and person
			Gender:             p.Person.Gender,
			Age:                p.Person.Age,
			Birthdate:          p.Person.Birthdate,
			BirthdateEstimated: p.Person.BirthdateEstimated,
			Names:              make([]nameDTO, 0, len(p.Person.Names)),
		},
	}
	for _, id := range p.Identifiers {
		d.Identifiers = append(d.Identifiers, identifierCreateDTO{
			Identifier: id.Identifier, IdentifierType: id.TypeUUID, Location: id.LocationUUID, Preferred: id.Preferred,
		})
	}
	for _, n := range p.Person.Names {
		d.Person.Names = append(d.Person.Names, nameDTO{GivenName: n.GivenName, MiddleName: n.MiddleName, FamilyName: n.FamilyName})
	}
	for _, a := range p.Person.Addresses {
		d.Person.Addresses = append(d.Person.Addresses, addressCreateDTO(a))
	}
	return d
}

func identifierTypeFromDTO(d identifierTypeDTO) IdentifierType {
	return IdentifierType{
		UUID: d.UUID, Name: firstNonEmpty(d.Name, d.Display), Description: deref(d.Description),
		Format: deref(d.Format), FormatDescription: deref(d.FormatDescription), Required: d.Required,
		Validator: deref(d.Validator), LocationBehavior: deref(d.LocationBehavior),
		UniquenessBehavior: deref(d.UniquenessBehavior), Retired: d.Retired,
	}
}

func locationFromDTO(d locationDTO) Location {
	l := Location{UUID: d.UUID, Name: firstNonEmpty(d.Name, d.Display), Description: deref(d.Description), Retired: d.Retired}
	for _, t := range d.Tags {
		l.Tags = append(l.Tags, t.Display)
	}
	if d.ParentLocation != nil {
		l.ParentUUID = d.ParentLocation.UUID
	}
	return l
}

func identifierSourceFromDTO(d identifierSourceDTO) IdentifierSource {
	s := IdentifierSource{
		UUID: d.UUID, Name: d.Name, Type: d.Type, Prefix: deref(d.Prefix), Suffix: deref(d.Suffix),
		BaseCharacterSet: deref(d.BaseCharacterSet), FirstIdentifierBase: deref(d.FirstIdentifierBase),
		MinLength: derefInt(d.MinLength), MaxLength: derefInt(d.MaxLength),
	}
	if d.IdentifierType != nil {
		s.IdentifierTypeUUID = d.IdentifierType.UUID
		s.Validator = deref(d.IdentifierType.Validator)
	}
	return s
}

// NewPatientCreate builds the OpenMRS request for a registry patient and
// its MRN. The MRN is the only identifier and therefore preferred.
func NewPatientCreate(p idcards.Patient, mrn, identifierTypeUUID, locationUUID string) PatientCreate {
	pc := PatientCreate{
		UUID: p.UUID,
		Person: PersonCreate{
			Names:              []PersonName{{GivenName: p.GivenName, FamilyName: p.FamilyName}},
			Gender:             string(p.Sex),
			Birthdate:          p.BirthDate,
			BirthdateEstimated: p.BirthDateEstimated,
		},
		Identifiers: []IdentifierCreate{{Identifier: mrn, TypeUUID: identifierTypeUUID, LocationUUID: locationUUID, Preferred: true}},
	}
	if pc.Person.Gender == "" {
		pc.Person.Gender = string(idcards.SexUnknown)
	}
	if p.Village != "" {
		pc.Person.Addresses = []PersonAddress{{CityVillage: p.Village}}
	}
	return pc
}

// Domain converts an OpenMRS patient to the registry's type. ID, phone,
// audit fields and the MRN are the registry's business and stay empty.
func (p Patient) Domain() idcards.Patient {
	sex, err := idcards.ParseSex(p.Gender)
	if err != nil {
		sex = idcards.SexUnknown
	}
	return idcards.Patient{
		UUID: p.UUID, GivenName: p.GivenName, FamilyName: p.FamilyName, Sex: sex,
		BirthDate: p.Birthdate, BirthDateEstimated: p.BirthdateEstimated,
	}
}

func identifierFromDTO(id identifierDTO) PatientIdentifier {
	pi := PatientIdentifier{UUID: id.UUID, Identifier: id.Identifier, Preferred: id.Preferred, Voided: id.Voided}
	if id.IdentifierType != nil {
		pi.TypeUUID, pi.TypeName = id.IdentifierType.UUID, id.IdentifierType.Display
	}
	if id.Location != nil {
		pi.LocationUUID = id.Location.UUID
	}
	if pi.Identifier == "" {
		// REF representation: display is "<type name> = <identifier>"
		// (PatientIdentifierResource display). The type name may hold
		// " = " itself, so split at the last one.
		if i := strings.LastIndex(id.Display, " = "); i >= 0 {
			pi.TypeName = firstNonEmpty(pi.TypeName, id.Display[:i])
			pi.Identifier = id.Display[i+3:]
		}
	}
	return pi
}
