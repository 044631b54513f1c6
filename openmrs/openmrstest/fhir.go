package openmrstest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The FHIR2 module's Patient search, as far as a pull needs it:
// GET /ws/fhir2/R4/Patient?_lastUpdated=gt…&_count=N, answered with a HAPI
// FHIR searchset Bundle (fixture fhir-patient-search-bundle.json) whose
// link relation=next pages through a stored search:
// GET /ws/fhir2/R4?_getpages=ID&_getpagesoffset=N&_count=N&_bundletype=searchset.
// Voided patients and voided identifiers are left out, as FHIR2's
// DAOs do (BaseDao.handleVoidable). _lastUpdated is the patient's
// dateChanged, or its dateCreated while dateChanged is null
// (BaseDao.handleLastUpdatedMutable, openmrs-module-fhir2); the fake has
// no patient edits, so it is the creation time. Adding or voiding an
// identifier through the REST sub-resource saves only the identifier row
// and does not move it, which is why idcards keeps a nightly full pull.

const fhirPrefix = "/openmrs/ws/fhir2/R4"

// fhir paging defaults: GP fhir2.paging.default and fhir2.paging.maximum.
const (
	fhirPageDefault = 10
	fhirPageMax     = 100
)

// fhirSearch is a stored search result (HAPI's search cache).
type fhirSearch struct {
	recs []*patientRec
}

func (s *Server) serveFHIR(w http.ResponseWriter, r *http.Request, rest string) {
	if s.noFHIR {
		http.NotFound(w, r) // Tomcat's page: the module is not there
		return
	}
	user, cookie, e := s.authenticate(r)
	if cookie != "" {
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: cookie, Path: "/openmrs", HttpOnly: true})
	}
	if e != nil || user == "" {
		fhirError(w, http.StatusUnauthorized, "security", "User is not logged in")
		return
	}
	if r.Method != http.MethodGet {
		fhirError(w, http.StatusMethodNotAllowed, "not-supported", "only searches are modelled")
		return
	}
	q := r.URL.Query()
	base := "http://" + r.Host + fhirPrefix
	switch rest {
	case "", "/":
		id := q.Get("_getpages")
		if id == "" {
			fhirError(w, http.StatusBadRequest, "processing", "Invalid request: no resource type")
			return
		}
		s.mu.Lock()
		srch := s.fhirSearches[id]
		s.mu.Unlock()
		if srch == nil {
			fhirError(w, http.StatusGone, "processing", "Search ID \""+id+"\" does not exist and may have expired")
			return
		}
		off, err1 := strconv.Atoi(q.Get("_getpagesoffset"))
		count, err2 := strconv.Atoi(q.Get("_count"))
		if err1 != nil || err2 != nil || off < 0 || count < 1 {
			fhirError(w, http.StatusBadRequest, "processing", "Invalid _getpagesoffset or _count")
			return
		}
		s.fhirPage(w, base, id, srch, off, min(count, fhirPageMax), "http://"+r.Host+r.URL.RequestURI())
	case "/Patient":
		var since, until time.Time
		var sinceIncl, untilIncl bool
		for k, vs := range q {
			switch k {
			case "_lastUpdated":
				for _, v := range vs {
					t, op, err := parseFHIRDate(v)
					if err != nil {
						fhirError(w, http.StatusBadRequest, "processing", "Invalid date/time format: \""+v+"\"")
						return
					}
					switch op {
					case "gt", "ge":
						since, sinceIncl = t, op == "ge"
					case "lt", "le":
						until, untilIncl = t, op == "le"
					default:
						fhirError(w, http.StatusBadRequest, "processing", "prefix "+op+" is not modelled")
						return
					}
				}
			case "_count":
			default:
				fhirError(w, http.StatusBadRequest, "processing", "Invalid request: The FHIR endpoint on this server does not know how to handle GET operation[Patient] with parameters [["+k+"]]")
				return
			}
		}
		count := fhirPageDefault
		if v := q.Get("_count"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				fhirError(w, http.StatusBadRequest, "processing", "Invalid _count")
				return
			}
			count = min(n, fhirPageMax)
		}
		s.mu.Lock()
		var recs []*patientRec
		for _, p := range s.patients {
			if p.Voided {
				continue
			}
			if !since.IsZero() && (p.updated.Before(since) || p.updated.Equal(since) && !sinceIncl) {
				continue
			}
			if !until.IsZero() && (p.updated.After(until) || p.updated.Equal(until) && !untilIncl) {
				continue
			}
			recs = append(recs, p)
		}
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].updated.Before(recs[j].updated) })
		s.nextID++
		id := fmt.Sprintf("%08x-fa4e-4000-8000-%012x", s.nextID, s.nextID)
		srch := &fhirSearch{recs: recs}
		s.fhirSearches[id] = srch
		s.mu.Unlock()
		s.fhirPage(w, base, id, srch, 0, count, "http://"+r.Host+r.URL.RequestURI())
	default:
		fhirError(w, http.StatusNotFound, "not-found", "Unknown resource type '"+strings.Trim(rest, "/")+"' - Server knows how to handle: [Patient]")
	}
}

// fhirPage writes one page of a stored search.
func (s *Server) fhirPage(w http.ResponseWriter, base, id string, srch *fhirSearch, off, count int, self string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := len(srch.recs)
	links := []any{map[string]any{"relation": "self", "url": self}}
	pageURL := func(o int) string {
		return base + "?" + url.Values{"_getpages": {id}, "_getpagesoffset": {strconv.Itoa(o)}, "_count": {strconv.Itoa(count)}, "_bundletype": {"searchset"}}.Encode()
	}
	if count > 0 && off+count < total { // _count=0 asks for the total only
		links = append(links, map[string]any{"relation": "next", "url": pageURL(off + count)})
	}
	if off > 0 {
		links = append(links, map[string]any{"relation": "previous", "url": pageURL(max(0, off-count))})
	}
	entries := []any{}
	for i := off; i < total && i < off+count; i++ {
		p := srch.recs[i]
		entries = append(entries, map[string]any{"fullUrl": base + "/Patient/" + p.UUID, "resource": s.fhirPatient(p), "search": map[string]any{"mode": "match"}})
	}
	out := map[string]any{
		"resourceType": "Bundle",
		"id":           id,
		"meta":         map[string]any{"lastUpdated": fhirTime(s.now())},
		"type":         "searchset",
		"total":        total,
		"link":         links,
	}
	if len(entries) > 0 {
		out["entry"] = entries
	}
	w.Header().Set("Content-Type", "application/fhir+json;charset=UTF-8")
	writeJSON(w, http.StatusOK, out)
}

// fhirPatient is PatientTranslatorImpl's output (fixture fhir-patient.json).
func (s *Server) fhirPatient(p *patientRec) map[string]any {
	var ids []any
	for _, id := range p.activeIdentifiers() {
		m := map[string]any{"id": id.UUID, "use": "usual", "value": id.Identifier}
		if id.Preferred {
			m["use"] = "official"
		}
		if t := s.typeByID[id.TypeUUID]; t != nil {
			m["type"] = map[string]any{"coding": []any{map[string]any{"code": t.UUID}}, "text": t.Name}
		}
		if l := s.locByID[id.LocationUUID]; l != nil {
			m["extension"] = []any{map[string]any{"url": "http://fhir.openmrs.org/ext/patient/identifier#location",
				"valueReference": map[string]any{"reference": "Location/" + l.UUID, "display": l.Name}}}
		}
		ids = append(ids, m)
	}
	out := map[string]any{
		"resourceType": "Patient",
		"id":           p.UUID,
		"meta":         map[string]any{"versionId": strconv.FormatInt(p.updated.UnixMilli(), 10), "lastUpdated": fhirTime(p.updated)},
		"active":       true,
		"name": []any{map[string]any{"id": p.nameUUID, "text": strings.TrimSpace(p.GivenName + " " + p.FamilyName),
			"family": p.FamilyName, "given": []any{p.GivenName}}},
		"gender": map[string]string{"M": "male", "F": "female", "O": "other", "U": "unknown"}[p.Gender],
	}
	if ids != nil {
		out["identifier"] = ids
	}
	if p.Birthdate != "" {
		out["birthDate"] = p.Birthdate
	}
	return out
}

func fhirTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-07:00") }

// parseFHIRDate reads a date search value: an optional two-letter prefix,
// then a date or dateTime (seconds and zone optional, as FHIR allows).
func parseFHIRDate(v string) (time.Time, string, error) {
	op := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		op, v = v[:2], v[2:]
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, op, nil
		}
	}
	return time.Time{}, op, fmt.Errorf("bad date %q", v)
}

func fhirError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/fhir+json;charset=UTF-8")
	writeJSON(w, status, map[string]any{"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{"severity": "error", "code": code, "diagnostics": msg}}})
}
