package openmrstest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// searchPatients is GET /patient: ?identifier= (exact, or prefix with
// searchType=start) or ?q= (README §3.4); neither → getAll, which the
// patient resource does not support.
func (s *Server) searchPatients(q *request) *apiError {
	qv := q.r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []*patientRec
	switch {
	case qv.Has("identifier"):
		if qv.Get("searchType") == "start" && !s.noStartSearch {
			recs = s.startingWith(qv.Get("identifier"))
		} else {
			recs = s.exact(qv.Get("identifier"))
		}
	case qv.Has("q"):
		if len([]rune(strings.TrimSpace(qv.Get("q")))) >= 2 { // minSearchCharacters
			recs = s.byQuery(qv.Get("q"))
		}
	default:
		return errUnsupported("")
	}
	return s.page(q, len(recs), func(i int) object { return q.rd.patient(recs[i]) })
}

func (s *Server) getPatient(q *request, uuid string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.byUUID[uuid]
	if p == nil {
		return errNotFound()
	}
	return s.single(q, q.rd.patient(p), http.StatusOK)
}

// allowed reports the first property of m not in names.
func notAllowed(m map[string]any, names ...string) *apiError {
	var bad []string
	for k := range m {
		ok := false
		for _, n := range names {
			if k == n {
				ok = true
			}
		}
		if !ok {
			bad = append(bad, k)
		}
	}
	if bad != nil {
		sort.Strings(bad)
		return errConversion("Some properties are not allowed to be set: " + strings.Join(bad, ", "))
	}
	return nil
}

func str(m map[string]any, k string) (string, *apiError) {
	v, ok := m[k]
	if !ok || v == nil {
		return "", nil
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", errConversion("property " + k + " must be a string")
}

func boolean(m map[string]any, k string) (bool, *apiError) {
	v, ok := m[k]
	if !ok || v == nil {
		return false, nil
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p, nil
		}
	}
	return false, errConversion("property " + k + " must be a boolean")
}

// refUUID reads a reference given as "uuid" or {"uuid": ...}.
func refUUID(m map[string]any, k string) (string, *apiError) {
	switch v := m[k].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case map[string]any:
		if u, ok := v["uuid"].(string); ok {
			return u, nil
		}
	}
	return "", errConversion("property " + k + " must be a uuid")
}

// parseIdentifier converts one posted identifier (PatientIdentifierResource
// creatable properties). Callers hold s.mu.
func (s *Server) parseIdentifier(v any) (Identifier, *apiError) {
	m, ok := v.(map[string]any)
	if !ok {
		return Identifier{}, errConversion("an identifier must be an object")
	}
	if e := notAllowed(m, "identifier", "identifierType", "location", "preferred", "uuid"); e != nil {
		return Identifier{}, e
	}
	var id Identifier
	var e *apiError
	if id.Identifier, e = str(m, "identifier"); e != nil {
		return id, e
	}
	if id.UUID, e = str(m, "uuid"); e != nil {
		return id, e
	}
	if id.TypeUUID, e = refUUID(m, "identifierType"); e != nil {
		return id, e
	}
	if id.TypeUUID != "" && s.typeByID[id.TypeUUID] == nil {
		return id, errConversion("Object with given uuid doesn't exist: patientidentifiertype " + id.TypeUUID)
	}
	if id.LocationUUID, e = refUUID(m, "location"); e != nil {
		return id, e
	}
	if id.LocationUUID != "" && s.locByID[id.LocationUUID] == nil {
		return id, errConversion("Object with given uuid doesn't exist: location " + id.LocationUUID)
	}
	if id.Preferred, e = boolean(m, "preferred"); e != nil {
		return id, e
	}
	return id, nil
}

// parseBirthdate takes "YYYY-MM-DD" or an OpenMRS/ISO timestamp and keeps
// the date as written.
func parseBirthdate(v string) (string, bool) {
	if len(v) < 10 {
		return "", false
	}
	if _, err := time.Parse("2006-01-02", v[:10]); err != nil {
		return "", false
	}
	if len(v) > 10 && v[10] != 'T' && v[10] != ' ' {
		return "", false
	}
	return v[:10], true
}

// createPatient is POST /patient (README §3.5).
func (s *Server) createPatient(q *request) *apiError {
	body, e := readBody(q.r)
	if e != nil {
		return e
	}
	if e := notAllowed(body, "person", "identifiers", "uuid"); e != nil {
		return e
	}
	var missing []string
	for _, k := range []string{"person", "identifiers"} {
		if _, ok := body[k]; !ok {
			missing = append(missing, k)
		}
	}
	if missing != nil {
		return errConversion("Some required properties are missing: " + strings.Join(missing, ", "))
	}
	pm, ok := body["person"].(map[string]any)
	if !ok {
		if _, isStr := body["person"].(string); isStr {
			return errNotModelled("creating a patient from an existing person")
		}
		return errConversion("person must be an object")
	}
	if e := notAllowed(pm, "uuid", "names", "gender", "birthdate", "birthdateEstimated", "age", "dead", "deathDate",
		"causeOfDeath", "addresses", "attributes", "birthtime", "deathdateEstimated", "causeOfDeathNonCoded"); e != nil {
		return e
	}
	var p Patient
	uuid, e := str(body, "uuid")
	if e != nil {
		return e
	}
	puuid, e := str(pm, "uuid")
	if e != nil {
		return e
	}
	if uuid != "" && puuid != "" && uuid != puuid {
		return errConversion("Some properties are not allowed to be set: uuid")
	}
	p.UUID = uuid
	if p.UUID == "" {
		p.UUID = puuid
	}
	if p.Gender, e = str(pm, "gender"); e != nil {
		return e
	}
	bd, e := str(pm, "birthdate")
	if e != nil {
		return e
	}
	if bd != "" {
		d, ok := parseBirthdate(bd)
		if !ok {
			return errConversion("invalid birthdate " + bd)
		}
		p.Birthdate = d
	}
	if p.BirthdateEstimated, e = boolean(pm, "birthdateEstimated"); e != nil {
		return e
	}
	if a, ok := pm["age"]; ok && a != nil && p.Birthdate == "" {
		n, err := strconv.Atoi(strings.TrimSpace(string(jsonText(a))))
		if err != nil || n < 0 {
			return errConversion("invalid age")
		}
		p.Birthdate = strconv.Itoa(time.Now().Year()-n) + "-01-01"
		p.BirthdateEstimated = true
	}
	var addr map[string]string
	if names, ok := pm["names"].([]any); ok && len(names) > 0 {
		nm, ok := names[0].(map[string]any)
		if !ok {
			return errConversion("a name must be an object")
		}
		if e := notAllowed(nm, "givenName", "middleName", "familyName", "familyName2", "prefix", "familyNamePrefix",
			"familyNameSuffix", "degree", "preferred", "uuid"); e != nil {
			return e
		}
		for k, dst := range map[string]*string{"givenName": &p.GivenName, "middleName": &p.MiddleName, "familyName": &p.FamilyName} {
			if *dst, e = str(nm, k); e != nil {
				return e
			}
		}
	} else if v, present := pm["names"]; present && v != nil && !ok {
		return errConversion("names must be a list")
	}
	if as, ok := pm["addresses"].([]any); ok && len(as) > 0 {
		am, ok := as[0].(map[string]any)
		if !ok {
			return errConversion("an address must be an object")
		}
		addr = map[string]string{}
		for k, v := range am {
			if sv, ok := v.(string); ok {
				addr[k] = sv
			}
		}
	}
	ids, ok := body["identifiers"].([]any)
	if !ok && body["identifiers"] != nil {
		return errConversion("identifiers must be a list")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range ids {
		id, e := s.parseIdentifier(v)
		if e != nil {
			return e
		}
		if id.UUID == "" {
			id.UUID = s.newUUID()
		}
		p.Identifiers = append(p.Identifiers, id)
	}
	if len(p.Identifiers) == 1 {
		p.Identifiers[0].Preferred = true
	}
	if v := s.validatePatient(p); v != nil {
		return v
	}
	if p.UUID == "" {
		p.UUID = s.newUUID()
	} else if s.byUUID[p.UUID] != nil {
		return errServer("could not execute statement; SQL [n/a]; constraint [uuid]; Duplicate entry '" + p.UUID + "' for key 'person.uuid'")
	}
	r := s.add(p, s.newUUID())
	if addr != nil {
		r.address, r.addrUUID = addr, s.newUUID()
	}
	q.w.Header().Set("Location", q.rd.base+"/patient/"+p.UUID)
	return s.single(q, q.rd.patient(r), http.StatusCreated)
}

func jsonText(v any) []byte {
	b, _ := json.Marshal(v)
	return []byte(strings.Trim(string(b), `"`))
}

// validatePatient is PatientValidator + checkPatientIdentifiers for a new
// patient, in README §3.5's order. Callers hold s.mu.
func (s *Server) validatePatient(p Patient) *apiError {
	e := invalid()
	var active []Identifier
	for _, id := range p.Identifiers {
		if !id.Voided {
			active = append(active, id)
		}
	}
	if len(active) == 0 {
		e.global = append(e.global, "At least one nonvoided Patient Identifier is required")
	}
	var missing []string
	for _, t := range s.types {
		if !t.Required {
			continue
		}
		found := false
		for _, id := range active {
			if id.TypeUUID == t.UUID {
				found = true
			}
		}
		if !found {
			missing = append(missing, t.Name)
		}
	}
	if missing != nil {
		e.global = append(e.global, "Patient is missing the following required identifier(s): "+strings.Join(missing, ", "))
	}
	if len(active) > 1 {
		pref := false
		for _, id := range active {
			pref = pref || id.Preferred
		}
		if !pref {
			e.global = append(e.global, "Select a preferred identifier")
		}
	}
	if strings.TrimSpace(p.Gender) == "" {
		e.fields["gender"] = append(e.fields["gender"], [2]string{"Person.gender.required", "Please select a gender"})
	}
	for _, id := range active {
		if msg := s.checkIdentifier(id, nil, active); msg != "" {
			e.global = append(e.global, msg)
		}
	}
	if len(e.global) == 0 && len(e.fields) == 0 {
		return nil
	}
	return e
}

func (s *Server) listIdentifiers(q *request, puuid string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.byUUID[puuid]
	if p == nil {
		return errNotFound()
	}
	rp, e := repParam(q.r, dflt) // sub-resource lists default to DEFAULT (fixture patient-identifier-list.json)
	if e != nil {
		return e
	}
	results := []any{}
	for _, id := range p.activeIdentifiers() {
		results = append(results, q.rd.render(q.rd.identifier(p, id), rp))
	}
	if q.rd.err != nil {
		return errConversion(q.rd.err.Error())
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"results": results})
	return nil
}

func (s *Server) findIdentifier(puuid, iuuid string) (*patientRec, *Identifier) {
	p := s.byUUID[puuid]
	if p == nil {
		return nil, nil
	}
	for i := range p.Identifiers {
		if p.Identifiers[i].UUID == iuuid {
			return p, &p.Identifiers[i]
		}
	}
	return p, nil
}

func (s *Server) getIdentifier(q *request, puuid, iuuid string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, id := s.findIdentifier(puuid, iuuid)
	if id == nil {
		return errNotFound()
	}
	return s.single(q, q.rd.identifier(p, id), http.StatusOK)
}

// addIdentifier is POST /patient/{uuid}/identifier: the same per-identifier
// checks as a new patient's, "already in use by this patient" included.
func (s *Server) addIdentifier(q *request, puuid string) *apiError {
	body, e := readBody(q.r)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.byUUID[puuid]
	if p == nil {
		return errNotFound()
	}
	id, e := s.parseIdentifier(body)
	if e != nil {
		return e
	}
	if id.UUID == "" {
		id.UUID = s.newUUID()
	} else if _, dup := s.findIdentifier(puuid, id.UUID); dup != nil {
		return errServer("could not execute statement; Duplicate entry '" + id.UUID + "' for key 'patient_identifier.uuid'")
	}
	if id.TypeUUID == "" {
		return invalid("Identifier type cannot be null for " + id.Identifier)
	}
	if msg := s.checkIdentifier(id, p, p.Identifiers); msg != "" {
		return invalid(msg)
	}
	if id.Preferred {
		for i := range p.Identifiers {
			p.Identifiers[i].Preferred = false
		}
	}
	p.Identifiers = append(p.Identifiers, id)
	s.index(id.Identifier, p)
	s.touch()
	q.w.Header().Set("Location", q.rd.base+"/patient/"+puuid+"/identifier/"+id.UUID)
	return s.single(q, q.rd.identifier(p, &p.Identifiers[len(p.Identifiers)-1]), http.StatusCreated)
}

// deleteIdentifier voids the identifier, or removes it with ?purge.
func (s *Server) deleteIdentifier(q *request, puuid, iuuid string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, id := s.findIdentifier(puuid, iuuid)
	if id == nil {
		return errNotFound()
	}
	qv := q.r.URL.Query()
	if qv.Has("purge") && qv.Get("purge") != "false" {
		value := id.Identifier
		for i := range p.Identifiers {
			if p.Identifiers[i].UUID == iuuid {
				p.Identifiers = append(p.Identifiers[:i:i], p.Identifiers[i+1:]...)
				break
			}
		}
		s.unindex(value, p)
	} else {
		id.Voided = true
	}
	s.touch()
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTypes(q *request) *apiError {
	return s.page(q, len(s.types), func(i int) object { return q.rd.idType(&s.types[i]) })
}

func (s *Server) listLocations(q *request) *apiError {
	needle := strings.ToLower(q.r.URL.Query().Get("q"))
	var ls []*Location
	for i := range s.locations {
		if needle == "" || strings.Contains(strings.ToLower(s.locations[i].Name), needle) {
			ls = append(ls, &s.locations[i])
		}
	}
	return s.page(q, len(ls), func(i int) object { return q.rd.location(ls[i]) })
}

func (s *Server) listSources(q *request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := q.r.URL.Query().Get("identifierType")
	var srcs []*source
	for _, src := range s.sources {
		if typ == "" || src.IdentifierTypeUUID == typ {
			srcs = append(srcs, src)
		}
	}
	return s.page(q, len(srcs), func(i int) object { return q.rd.source(srcs[i]) })
}

// postSources is POST /idgen/identifiersource: the batch export
// (generateIdentifiers: true); creating sources is not modelled.
func (s *Server) postSources(q *request) *apiError {
	body, e := readBody(q.r)
	if e != nil {
		return e
	}
	gen, e := boolean(body, "generateIdentifiers")
	if e != nil {
		return e
	}
	if !gen {
		return errNotModelled("creating identifier sources")
	}
	uuid, e := str(body, "sourceUuid")
	if e != nil {
		return e
	}
	n, err := strconv.Atoi(string(jsonText(body["numberToGenerate"])))
	if err != nil || n < 1 {
		return errServer("numberToGenerate must be a positive integer")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.srcByID[uuid]
	if src == nil {
		// IdentifierSourceResource.create: an unknown sourceUuid falls
		// through to "create a source", whose checks then fail.
		return invalid("The values of the following inputs are missing or invalid: [source type, name, patient identifier type]")
	}
	ids, ae := s.generate(src, n)
	if ae != nil {
		return ae
	}
	writeJSON(q.w, http.StatusCreated, map[string]any{"identifiers": ids})
	return nil
}

// updateSource is POST /idgen/identifiersource/{uuid}; only
// reservedIdentifiers ("A,B,C") is modelled.
func (s *Server) updateSource(q *request, uuid string) *apiError {
	body, e := readBody(q.r)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.srcByID[uuid]
	if src == nil {
		return errNotFound()
	}
	if e := notAllowed(body, "reservedIdentifiers"); e != nil {
		return errNotModelled("updating identifier sources other than reservedIdentifiers")
	}
	list, e := str(body, "reservedIdentifiers")
	if e != nil {
		return e
	}
	for _, id := range strings.Split(list, ",") {
		if id = strings.TrimSpace(id); id != "" {
			src.reserved[id] = true
		}
	}
	return s.single(q, q.rd.source(src), http.StatusOK)
}

// generateOne is POST /idgen/identifiersource/{uuid}/identifier.
func (s *Server) generateOne(q *request, uuid string) *apiError {
	body, e := readBody(q.r)
	if e != nil {
		return e
	}
	if e := notAllowed(body, "comment"); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.srcByID[uuid]
	if src == nil {
		return errServer("java.lang.NullPointerException")
	}
	ids, ae := s.generate(src, 1)
	if ae != nil {
		return ae
	}
	writeJSON(q.w, http.StatusCreated, map[string]any{"identifier": ids[0]})
	return nil
}
