package openmrstest

import (
	"net/http"
	"strings"
)

// The person resource and its name and address sub-resources
// (webservices.rest PersonResource1_8, PersonNameResource1_8,
// PersonAddressResource1_8): what a client needs to correct a registered
// patient's demographics. A patient's person has the patient's uuid. The
// fake keeps one name and at most one address per person, as it does at
// creation.
//
//	GET  /person/{uuid}                     the person (DEFAULT, or v=)
//	POST /person/{uuid}                     update gender, birthdate, birthdateEstimated
//	GET  /person/{uuid}/name[/{nameUuid}]   the name(s)
//	POST /person/{uuid}/name/{nameUuid}     update givenName, middleName, familyName
//	GET  /person/{uuid}/address[/{uuid}]    the address(es)
//	POST /person/{uuid}/address             add the first address
//	POST /person/{uuid}/address/{addrUuid}  update address fields
//
// Updatable properties the fake does not model (names, addresses and
// attributes as lists on the person, preferredName, dead, causeOfDeath,
// deathDate, age) answer 501; unknown ones 400, as OpenMRS does.

// personFields are PersonResource1_8.getUpdatableProperties.
var personFields = []string{"age", "gender", "birthdate", "birthdateEstimated", "preferredName", "preferredAddress",
	"addresses", "attributes", "names", "causeOfDeath", "dead", "deathDate"}

// nameFields are PersonNameResource1_8's creatable = updatable properties.
var nameFields = []string{"givenName", "familyName", "middleName", "familyName2", "preferred", "prefix",
	"familyNamePrefix", "familyNameSuffix", "degree"}

// addressFields are PersonAddressResource1_8's fields the fake stores.
var addressFields = []string{"preferred", "address1", "address2", "cityVillage", "stateProvince", "country", "postalCode", "countyDistrict"}

func (s *Server) routePerson(q *request, seg []string) *apiError {
	m := q.r.Method
	if len(seg) < 2 || len(seg) > 4 {
		return errUnknownResource()
	}
	uuid := seg[1]
	switch {
	case len(seg) == 2 && m == http.MethodGet:
		return s.need(q, "Get People", func(q *request) *apiError {
			return s.withPerson(uuid, func(r *patientRec) *apiError { return s.single(q, q.rd.person(r), http.StatusOK) })
		})
	case len(seg) == 2 && m == http.MethodPost:
		return s.need(q, "Edit People", func(q *request) *apiError { return s.updatePerson(q, uuid) })
	case len(seg) == 2:
		return errMethod(m)
	case seg[2] == "name":
		return s.routeName(q, uuid, seg)
	case seg[2] == "address":
		return s.routeAddress(q, uuid, seg)
	}
	return errUnknownResource()
}

// withPerson runs fn on the person with this uuid under s.mu.
func (s *Server) withPerson(uuid string, fn func(*patientRec) *apiError) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byUUID[uuid]
	if r == nil {
		return errNotFound()
	}
	return fn(r)
}

func (s *Server) updatePerson(q *request, uuid string) *apiError {
	body, e := readBody(q.r)
	if e != nil {
		return e
	}
	if e := notAllowed(body, personFields...); e != nil {
		return e
	}
	for _, k := range []string{"preferredName", "preferredAddress", "addresses", "attributes", "names", "causeOfDeath", "dead", "deathDate", "age"} {
		if _, ok := body[k]; ok {
			return errNotModelled("updating a person's " + k)
		}
	}
	gender, hasGender := body["gender"]
	g, e := str(body, "gender")
	if e != nil {
		return e
	}
	bd, e := str(body, "birthdate")
	if e != nil {
		return e
	}
	if bd != "" {
		d, ok := parseBirthdate(bd)
		if !ok {
			return errConversion("invalid birthdate " + bd)
		}
		bd = d
	}
	est, e := boolean(body, "birthdateEstimated")
	if e != nil {
		return e
	}
	return s.withPerson(uuid, func(r *patientRec) *apiError {
		if hasGender && (gender == nil || strings.TrimSpace(g) == "") {
			v := invalid()
			v.fields["gender"] = append(v.fields["gender"], [2]string{"Person.gender.required", "Please select a gender"})
			return v
		}
		if hasGender {
			r.Gender = g
		}
		if _, ok := body["birthdate"]; ok {
			r.Birthdate = bd
		}
		if _, ok := body["birthdateEstimated"]; ok {
			r.BirthdateEstimated = est
		}
		s.countWrite(uuid, "person")
		return s.single(q, q.rd.person(r), http.StatusOK)
	})
}

func (s *Server) routeName(q *request, uuid string, seg []string) *apiError {
	m := q.r.Method
	switch {
	case len(seg) == 3 && m == http.MethodGet:
		return s.need(q, "Get People", func(q *request) *apiError {
			return s.withPerson(uuid, func(r *patientRec) *apiError { return s.page(q, 1, func(int) object { return q.rd.name(r) }) })
		})
	case len(seg) == 3 && m == http.MethodPost:
		return s.need(q, "Edit People", func(*request) *apiError { return errNotModelled("a second name") })
	case len(seg) == 4 && m == http.MethodGet:
		return s.need(q, "Get People", func(q *request) *apiError {
			return s.withPerson(uuid, func(r *patientRec) *apiError {
				if seg[3] != r.nameUUID {
					return errNotFound()
				}
				return s.single(q, q.rd.name(r), http.StatusOK)
			})
		})
	case len(seg) == 4 && m == http.MethodPost:
		return s.need(q, "Edit People", func(q *request) *apiError { return s.updateName(q, uuid, seg[3]) })
	}
	return errMethod(m)
}

func (s *Server) updateName(q *request, uuid, nameUUID string) *apiError {
	body, e := readBody(q.r)
	if e != nil {
		return e
	}
	if e := notAllowed(body, nameFields...); e != nil {
		return e
	}
	vals := map[string]string{}
	for _, k := range []string{"givenName", "middleName", "familyName"} {
		v, e := str(body, k)
		if e != nil {
			return e
		}
		vals[k] = v
	}
	return s.withPerson(uuid, func(r *patientRec) *apiError {
		if nameUUID != r.nameUUID {
			return errNotFound()
		}
		for k, dst := range map[string]*string{"givenName": &r.GivenName, "middleName": &r.MiddleName, "familyName": &r.FamilyName} {
			if _, ok := body[k]; ok {
				*dst = vals[k]
			}
		}
		s.countWrite(uuid, "name")
		return s.single(q, q.rd.name(r), http.StatusOK)
	})
}

func (s *Server) routeAddress(q *request, uuid string, seg []string) *apiError {
	m := q.r.Method
	switch {
	case len(seg) == 3 && m == http.MethodGet:
		return s.need(q, "Get People", func(q *request) *apiError {
			return s.withPerson(uuid, func(r *patientRec) *apiError {
				n := 0
				if r.address != nil {
					n = 1
				}
				return s.page(q, n, func(int) object { return q.rd.address(r) })
			})
		})
	case len(seg) == 3 && m == http.MethodPost:
		return s.need(q, "Edit People", func(q *request) *apiError { return s.writeAddress(q, uuid, "") })
	case len(seg) == 4 && m == http.MethodGet:
		return s.need(q, "Get People", func(q *request) *apiError {
			return s.withPerson(uuid, func(r *patientRec) *apiError {
				if r.address == nil || seg[3] != r.addrUUID {
					return errNotFound()
				}
				return s.single(q, q.rd.address(r), http.StatusOK)
			})
		})
	case len(seg) == 4 && m == http.MethodPost:
		return s.need(q, "Edit People", func(q *request) *apiError { return s.writeAddress(q, uuid, seg[3]) })
	}
	return errMethod(m)
}

// writeAddress creates the first address (addrUUID "") or updates it.
func (s *Server) writeAddress(q *request, uuid, addrUUID string) *apiError {
	body, e := readBody(q.r)
	if e != nil {
		return e
	}
	if e := notAllowed(body, addressFields...); e != nil {
		return e
	}
	vals := map[string]string{}
	for _, k := range addressFields[1:] {
		v, e := str(body, k)
		if e != nil {
			return e
		}
		if _, ok := body[k]; ok {
			vals[k] = v
		}
	}
	return s.withPerson(uuid, func(r *patientRec) *apiError {
		status := http.StatusOK
		switch {
		case addrUUID == "" && r.address != nil:
			return errNotModelled("a second address")
		case addrUUID == "":
			r.address, r.addrUUID, status = map[string]string{}, s.newUUID(), http.StatusCreated
			q.w.Header().Set("Location", q.rd.base+"/person/"+uuid+"/address/"+r.addrUUID)
		case r.address == nil || addrUUID != r.addrUUID:
			return errNotFound()
		}
		for k, v := range vals {
			r.address[k] = v
		}
		s.countWrite(uuid, "address")
		return s.single(q, q.rd.address(r), status)
	})
}

// countWrite records one applied write to a person's part ("person",
// "name", "address"). Callers hold s.mu.
func (s *Server) countWrite(uuid, part string) {
	if s.personWrites == nil {
		s.personWrites = map[string]int{}
	}
	s.personWrites[part+" "+uuid]++
}

// PersonWrites is how many writes to a person's part ("person", "name" or
// "address") were applied, answered or not: the measure of "exactly once"
// (RequestsTo also counts requests refused before anything was done).
func (s *Server) PersonWrites(uuid, part string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.personWrites[part+" "+uuid]
}

// Address returns a copy of the person's address as stored (nil when it
// has none), for tests.
func (s *Server) Address(uuid string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byUUID[uuid]
	if r == nil || r.address == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range r.address {
		out[k] = v
	}
	return out
}
