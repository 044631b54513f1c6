package openmrs

// Corrections of a registered patient's demographics (outbox kind
// update_patient, written by registry.Store.EditPatient).
//
// OpenMRS keeps them on the person (the patient's uuid), split over three
// resources of webservices.rest (PersonResource1_8 and its sub-resources):
//
//	POST /person/{uuid}                    {"gender", "birthdate", "birthdateEstimated"}
//	POST /person/{uuid}/name/{nameUuid}    {"givenName", "familyName"}
//	POST /person/{uuid}/address/{addrUuid} {"cityVillage"}   (POST …/address to add one)
//
// A push reads the person first and sends only the parts that differ, so
// it is exactly once even when an answer is lost: the next attempt finds
// the part already changed and does not send it again. A patient not yet
// in OpenMRS is created with its current values by its register_patient
// row; the update row is then settled without a request. The phone is not
// sent (the registration does not send it either).

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/idcards/idcards"
)

// personRep is what a push compares: the person's demographics with the
// uuids of its preferred name and address.
const personRep = "custom:(uuid,display,gender,birthdate,birthdateEstimated,voided," +
	"preferredName:(uuid,givenName,middleName,familyName),preferredAddress:(uuid,cityVillage))"

// Person is the part of an OpenMRS person the registry corrects.
type Person struct {
	UUID               string
	Gender             string
	Birthdate          string // YYYY-MM-DD, "" when unknown
	BirthdateEstimated bool
	Voided             bool
	NameUUID           string // preferred name; "" when the person has none
	GivenName          string
	MiddleName         string
	FamilyName         string
	AddressUUID        string // preferred address; "" when the person has none
	CityVillage        string
}

type personEditDTO struct {
	UUID               string   `json:"uuid"`
	Display            string   `json:"display"`
	Gender             string   `json:"gender"`
	Birthdate          *string  `json:"birthdate"`
	BirthdateEstimated bool     `json:"birthdateEstimated"`
	Voided             bool     `json:"voided"`
	PreferredName      *nameDTO `json:"preferredName"`
	PreferredAddress   *struct {
		UUID        string  `json:"uuid"`
		CityVillage *string `json:"cityVillage"`
	} `json:"preferredAddress"`
}

// personUpdateDTO is POST /person/{uuid}: only updatable properties.
type personUpdateDTO struct {
	Gender             string `json:"gender"`
	Birthdate          string `json:"birthdate,omitempty"`
	BirthdateEstimated bool   `json:"birthdateEstimated"`
}

// nameUpdateDTO is POST /person/{uuid}/name[/{uuid}]. Both names are sent
// (an empty one as ""), so clearing one clears it there too.
type nameUpdateDTO struct {
	GivenName  string  `json:"givenName"`
	MiddleName *string `json:"middleName,omitempty"`
	FamilyName string  `json:"familyName"`
	Preferred  *bool   `json:"preferred,omitempty"`
}

type addressUpdateDTO struct {
	CityVillage string `json:"cityVillage"`
	Preferred   *bool  `json:"preferred,omitempty"`
}

// GetPerson fetches the person with this uuid (a patient's person has the
// patient's uuid); found is false on 404.
func (c *Client) GetPerson(ctx context.Context, uuid string) (p Person, found bool, err error) {
	if err := checkUUID(uuid); err != nil {
		return Person{}, false, err
	}
	var d personEditDTO
	err = c.do(ctx, request{method: http.MethodGet, path: restPrefix + "/person/" + uuid, query: url.Values{"v": {personRep}}}, &d)
	if isStatus(err, http.StatusNotFound) {
		return Person{}, false, nil
	}
	if err != nil {
		return Person{}, false, err
	}
	p = Person{UUID: d.UUID, Gender: d.Gender, Birthdate: birthdateDay(d.Birthdate), BirthdateEstimated: d.BirthdateEstimated, Voided: d.Voided}
	if n := d.PreferredName; n != nil {
		p.NameUUID, p.GivenName, p.MiddleName, p.FamilyName = n.UUID, n.GivenName, n.MiddleName, n.FamilyName
	}
	if a := d.PreferredAddress; a != nil {
		p.AddressUUID, p.CityVillage = a.UUID, deref(a.CityVillage)
	}
	return p, true, nil
}

// UpdatePerson sets a person's gender and birth date (POST /person/{uuid}).
// Like every write it is not retried behind the caller's back; setting
// values is harmless to repeat, but the Syncer looks first instead.
func (c *Client) UpdatePerson(ctx context.Context, uuid, gender, birthdate string, estimated bool) error {
	if err := checkUUID(uuid); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodPost, path: restPrefix + "/person/" + uuid,
		body: personUpdateDTO{Gender: gender, Birthdate: birthdate, BirthdateEstimated: estimated}}, nil)
}

// SetPersonName sets the given and family name of a person's name
// nameUUID, or adds a preferred name when nameUUID is "". clearMiddle
// also empties the middle name (the given name sent includes it).
func (c *Client) SetPersonName(ctx context.Context, personUUID, nameUUID, given, family string, clearMiddle bool) error {
	if err := checkUUID(personUUID); err != nil {
		return err
	}
	path := restPrefix + "/person/" + personUUID + "/name"
	body := nameUpdateDTO{GivenName: given, FamilyName: family}
	if clearMiddle {
		empty := ""
		body.MiddleName = &empty
	}
	if nameUUID != "" {
		if err := checkUUID(nameUUID); err != nil {
			return err
		}
		path += "/" + nameUUID
	} else {
		t := true
		body.Preferred = &t
	}
	return c.do(ctx, request{method: http.MethodPost, path: path, body: body}, nil)
}

// SetPersonVillage sets the cityVillage of a person's address addrUUID, or
// adds a preferred address when addrUUID is "".
func (c *Client) SetPersonVillage(ctx context.Context, personUUID, addrUUID, village string) error {
	if err := checkUUID(personUUID); err != nil {
		return err
	}
	path := restPrefix + "/person/" + personUUID + "/address"
	body := addressUpdateDTO{CityVillage: village}
	if addrUUID != "" {
		if err := checkUUID(addrUUID); err != nil {
			return err
		}
		path += "/" + addrUUID
	} else {
		t := true
		body.Preferred = &t
	}
	return c.do(ctx, request{method: http.MethodPost, path: path, body: body}, nil)
}

// sentAs is the key, in Syncer.sent[patient], under which pushRegister
// notes (noteSent) the OpenMRS uuid and the demographics a patient was
// created with during one Push; no MRN has a space in it.
const sentAs = " demographics"

// noteSent records that p was created in OpenMRS as remoteUUID with its
// current demographics, so that an update_patient row queued before the
// registration went out is settled without a request.
func (s *Syncer) noteSent(p idcards.Patient, remoteUUID string) {
	if s.sent != nil && s.sent[p.ID] != nil {
		s.sent[p.ID][sentAs] = remoteUUID + "\n" + demographics(p)
	}
}

// sentWith reports whether p's current demographics are those it was
// created with in this Push, and as which OpenMRS patient.
func (s *Syncer) sentWith(p idcards.Patient) (remoteUUID string, ok bool) {
	v, found := s.sent[p.ID][sentAs]
	if !found {
		return "", false
	}
	remote, fp, _ := strings.Cut(v, "\n")
	return remote, fp == demographics(p)
}

// demographics is a fingerprint of what OpenMRS holds of a patient.
func demographics(p idcards.Patient) string {
	return fmt.Sprintf("%q %q %s %s %t %q", p.GivenName, p.FamilyName, sexOf(p), p.BirthDate, p.BirthDateEstimated, p.Village)
}

func sexOf(p idcards.Patient) string {
	if p.Sex == "" {
		return string(idcards.SexUnknown)
	}
	return string(p.Sex)
}

// pushUpdate sends a patient's corrected demographics: the parts of the
// OpenMRS person that differ from the registry's record, each once.
func (s *Syncer) pushUpdate(ctx context.Context, it idcards.OutboxItem, p idcards.Patient) (outcome, error) {
	if p.MergedInto != 0 {
		return s.settle(ctx, it, "", fmt.Sprintf("merged into patient %d; that record is the one kept up to date", p.MergedInto))
	}
	if remote, ok := s.sentWith(p); ok {
		return s.settle(ctx, it, remote, "sent with the registration")
	}
	person, found, err := s.c.GetPerson(ctx, p.UUID)
	if err != nil {
		return s.failed(ctx, it, err)
	}
	if !found {
		return s.wait(ctx, it, "waiting for the patient to reach OpenMRS")
	}
	if person.Voided {
		return s.conflict(ctx, it, p, person.UUID, fmt.Sprintf("OpenMRS has voided patient %s (%s); the correction of patient %d was not sent", person.UUID, p.DisplayName(), p.ID))
	}
	sent := 0
	// The registry writes a middle name as part of the given name (a
	// patient linked to an OpenMRS record that has one, AsPatient):
	// compared that way. A changed given name is sent whole, the middle
	// name cleared there; a change of the family name alone leaves
	// OpenMRS's given and middle name as they are.
	given := strings.Join(strings.Fields(person.GivenName+" "+person.MiddleName), " ")
	if !sameText(given, p.GivenName) || !sameText(person.FamilyName, p.FamilyName) {
		sendGiven, clearMiddle := p.GivenName, person.MiddleName != ""
		if sameText(given, p.GivenName) {
			sendGiven, clearMiddle = person.GivenName, false
		}
		if err := s.c.SetPersonName(ctx, person.UUID, person.NameUUID, sendGiven, p.FamilyName, clearMiddle); err != nil {
			return s.refused(ctx, it, p, nil, err)
		}
		sent++
	}
	if person.Gender != sexOf(p) || person.Birthdate != p.BirthDate || person.BirthdateEstimated != p.BirthDateEstimated {
		if err := s.c.UpdatePerson(ctx, person.UUID, sexOf(p), p.BirthDate, p.BirthDateEstimated); err != nil {
			return s.refused(ctx, it, p, nil, err)
		}
		sent++
	}
	if !sameText(person.CityVillage, p.Village) {
		if err := s.c.SetPersonVillage(ctx, person.UUID, person.AddressUUID, p.Village); err != nil {
			return s.refused(ctx, it, p, nil, err)
		}
		sent++
	}
	if sent == 0 {
		return s.doneAlready(ctx, it, person.UUID)
	}
	return s.done(ctx, it, person.UUID, "")
}

// sameText compares what OpenMRS keeps with the registry's value: OpenMRS
// trims names and may return null for an empty field.
func sameText(remote, local string) bool {
	return strings.TrimSpace(remote) == strings.TrimSpace(local)
}
