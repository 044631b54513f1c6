package openmrstest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

const restPrefix = "/openmrs/ws/rest/v1"

// serve counts the request, applies faults, then dispatches.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	s.mu.Lock()
	s.reqByPath[r.Method+" "+r.URL.Path]++
	s.mu.Unlock()

	s.fmu.Lock()
	f := s.faults
	s.fmu.Unlock()
	var fail, drop, hang bool
	if f.Only == nil || f.Only(r) {
		if f.Down {
			closeConn(w)
			return
		}
		write := r.Method == http.MethodPost || r.Method == http.MethodDelete
		s.fmu.Lock()
		fail = f.FailRate > 0 && s.rng.Float64() < f.FailRate
		if !fail && write {
			drop = f.DropAfterCommitRate > 0 && s.rng.Float64() < f.DropAfterCommitRate
			hang = !drop && f.HangAfterCommitRate > 0 && s.rng.Float64() < f.HangAfterCommitRate
		}
		s.fmu.Unlock()
	}
	if fail {
		_, _ = io.Copy(io.Discard, r.Body)
		writeErr(w, errServer("openmrstest: injected failure"))
		return
	}
	if !drop && !hang {
		s.dispatch(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.dispatch(rec, r) // fully applied; the answer is thrown away
	if hang {
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	}
	closeConn(w)
}

// closeConn closes the connection without writing a response.
func closeConn(w http.ResponseWriter) {
	if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = c.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// request is what a handler needs about one call.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	user string
	rd   *renderer
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, fhirPrefix); ok && (rest == "" || rest[0] == '/') {
		s.serveFHIR(w, r, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, restPrefix)
	if !ok || (rest != "" && rest[0] != '/') {
		http.NotFound(w, r)
		return
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	if len(seg) == 1 && seg[0] == "" {
		seg = nil
	}
	user, cookie, e := s.authenticate(r)
	if cookie != "" {
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: cookie, Path: "/openmrs", HttpOnly: true})
	}
	if e != nil {
		writeErr(w, e)
		return
	}
	q := &request{w: w, r: r, user: user, rd: &renderer{s: s, base: "http://" + r.Host + restPrefix}}
	if e := s.route(q, seg); e != nil {
		if e.status == http.StatusUnauthorized && !strings.EqualFold(r.Header.Get("Disable-WWW-Authenticate"), "true") {
			w.Header().Set("WWW-Authenticate", `Basic realm="OpenMRS at `+s.URL()+`"`)
		}
		writeErr(w, e)
	}
}

// authenticate is AuthorizationFilter plus the servlet session: a valid
// JSESSIONID authenticates; an unknown one is "Session timed out"; else
// Basic credentials are tried, and wrong ones leave the request
// unauthenticated (README §3.1, §0 fact 9). It returns the user ("" when
// unauthenticated) and a new session id to set as cookie, if any.
func (s *Server) authenticate(r *http.Request) (user, newSession string, e *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, err := r.Cookie("JSESSIONID"); err == nil {
		if u, ok := s.sessions[c.Value]; ok {
			return u, "", nil
		}
		return "", "", generic(http.StatusUnauthorized, "org.openmrs.module.webservices.rest.web.filter.AuthorizationFilter:0", "", "Session timed out")
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "", nil
	}
	enc, ok := strings.CutPrefix(h, "Basic ")
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if !ok || err != nil || strings.TrimSpace(string(dec)) == "" {
		return "", "", generic(http.StatusBadRequest, "org.openmrs.module.webservices.rest.web.filter.AuthorizationFilter:0", "", "Invalid credentials provided")
	}
	// Java's decoded.split(":"): the password ends at its first ':'.
	parts := strings.Split(string(dec), ":")
	if len(parts) < 2 {
		return "", "", nil
	}
	pw, known := s.users[parts[0]]
	if !known || pw != parts[1] {
		return "", "", nil
	}
	s.nextID++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d/%s/%d", s.nextID, parts[0], s.rng.Uint64())))
	id := strings.ToUpper(hex.EncodeToString(sum[:16]))
	s.sessions[id] = parts[0]
	return parts[0], id, nil
}

func (s *Server) route(q *request, seg []string) *apiError {
	if len(seg) == 0 {
		return errUnknownResource()
	}
	m := q.r.Method
	switch seg[0] {
	case "session":
		if len(seg) != 1 {
			return errUnknownResource()
		}
		return s.session(q)
	case "patient":
		switch {
		case len(seg) == 1 && m == http.MethodGet:
			return s.need(q, "Get Patients", s.searchPatients)
		case len(seg) == 1 && m == http.MethodPost:
			return s.need(q, "Add Patients", s.createPatient)
		case len(seg) == 1:
			return errMethod(m)
		case len(seg) == 2 && m == http.MethodGet:
			return s.need(q, "Get Patients", func(q *request) *apiError { return s.getPatient(q, seg[1]) })
		case len(seg) == 2 && (m == http.MethodPost || m == http.MethodDelete):
			return s.need(q, "Edit Patients", func(*request) *apiError { return errNotModelled(m + " /patient/{uuid}") })
		case len(seg) == 2:
			return errMethod(m)
		case seg[2] != "identifier" || len(seg) > 4:
			return errUnknownResource()
		case len(seg) == 3 && m == http.MethodGet:
			return s.need(q, "Get Patient Identifiers", func(q *request) *apiError { return s.listIdentifiers(q, seg[1]) })
		case len(seg) == 3 && m == http.MethodPost:
			return s.need(q, "Add Patient Identifiers", func(q *request) *apiError { return s.addIdentifier(q, seg[1]) })
		case len(seg) == 4 && m == http.MethodGet:
			return s.need(q, "Get Patient Identifiers", func(q *request) *apiError { return s.getIdentifier(q, seg[1], seg[3]) })
		case len(seg) == 4 && m == http.MethodDelete:
			return s.need(q, "Delete Patient Identifiers", func(q *request) *apiError { return s.deleteIdentifier(q, seg[1], seg[3]) })
		case len(seg) == 4 && m == http.MethodPost:
			return s.need(q, "Edit Patient Identifiers", func(*request) *apiError { return errNotModelled("updating an identifier") })
		default:
			return errMethod(m)
		}
	case "person":
		return s.routePerson(q, seg) // person.go
	case "patientidentifiertype":
		if m != http.MethodGet {
			return errMethod(m)
		}
		switch len(seg) {
		case 1:
			return s.need(q, "Get Identifier Types", s.listTypes)
		case 2:
			return s.need(q, "Get Identifier Types", func(q *request) *apiError {
				s.mu.Lock()
				t := s.typeByID[seg[1]]
				s.mu.Unlock()
				if t == nil {
					return errNotFound()
				}
				return s.single(q, q.rd.idType(t), http.StatusOK)
			})
		}
		return errUnknownResource()
	case "location":
		if m != http.MethodGet {
			return errMethod(m)
		}
		switch len(seg) {
		case 1:
			if q.r.URL.Query().Has("tag") { // the one call allowed before login (README §3.1)
				return s.listLocations(q)
			}
			return s.need(q, "Get Locations", s.listLocations)
		case 2:
			return s.need(q, "Get Locations", func(q *request) *apiError {
				l := s.locByID[seg[1]]
				if l == nil {
					return errNotFound()
				}
				return s.single(q, q.rd.location(l), http.StatusOK)
			})
		}
		return errUnknownResource()
	case "idgen":
		if len(seg) < 2 || seg[1] != "identifiersource" || len(seg) > 4 || len(seg) == 4 && seg[3] != "identifier" {
			return errUnknownResource()
		}
		switch {
		case len(seg) == 2 && m == http.MethodGet:
			return s.need(q, "View Identifier Sources", s.listSources)
		case len(seg) == 2 && m == http.MethodPost:
			return s.need(q, "Manage Identifier Sources", s.postSources)
		case len(seg) == 3 && m == http.MethodGet:
			return s.need(q, "View Identifier Sources", func(q *request) *apiError {
				s.mu.Lock()
				defer s.mu.Unlock()
				src := s.srcByID[seg[2]]
				if src == nil {
					return errNotFound()
				}
				return s.single(q, q.rd.source(src), http.StatusOK)
			})
		case len(seg) == 3 && m == http.MethodPost:
			return s.need(q, "Manage Identifier Sources", func(q *request) *apiError { return s.updateSource(q, seg[2]) })
		case len(seg) == 4 && m == http.MethodPost:
			return s.need(q, "Generate Batch of Identifiers", func(q *request) *apiError { return s.generateOne(q, seg[2]) })
		}
		return errMethod(m)
	}
	return errUnknownResource()
}

// need runs h when the caller is logged in, else answers 401.
func (s *Server) need(q *request, privilege string, h func(*request) *apiError) *apiError {
	if q.user == "" {
		return errUnauthenticated(privilege)
	}
	return h(q)
}

// session is GET/POST/DELETE /session (SessionController1_9).
func (s *Server) session(q *request) *apiError {
	switch q.r.Method {
	case http.MethodDelete:
		if c, err := q.r.Cookie("JSESSIONID"); err == nil {
			s.mu.Lock()
			delete(s.sessions, c.Value)
			s.mu.Unlock()
		}
		q.w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodGet, http.MethodPost:
	default:
		return errMethod(q.r.Method)
	}
	var sessionLocation any
	if q.r.Method == http.MethodPost {
		if q.user == "" {
			return errUnauthenticated("Get Users")
		}
		body, e := readBody(q.r)
		if e != nil {
			return e
		}
		if u, ok := body["sessionLocation"].(string); ok {
			l := s.locByID[u]
			if l == nil {
				return errNotFound()
			}
			sessionLocation = q.rd.render(q.rd.location(l), ref)
		}
	}
	out := map[string]any{
		"authenticated":  q.user != "",
		"locale":         "en_GB",
		"allowedLocales": []string{"en", "en_GB", "es", "fr", "it", "pt"},
	}
	if q.user != "" {
		sum := sha256.Sum256([]byte(q.user))
		h := hex.EncodeToString(sum[:])
		uuid := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		out["user"] = map[string]any{
			"uuid": uuid, "display": q.user, "username": q.user, "systemId": q.user,
			"userProperties": map[string]any{"loginAttempts": "0"},
			"person":         map[string]any{"uuid": h[32:40] + "-" + h[40:44] + "-" + h[44:48] + "-" + h[48:52] + "-" + h[52:64]},
			"privileges":     []any{},
			"roles": []any{
				map[string]any{"uuid": "8d94f852-c2cc-11de-8d13-0010c6dffd0f", "name": "System Developer"},
			},
			"links": []any{link("self", q.rd.base+"/user/"+uuid, "user")},
		}
		out["sessionLocation"] = sessionLocation
		out["currentProvider"] = nil
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// readBody decodes a JSON object body; an empty body is {}.
func readBody(r *http.Request) (map[string]any, *apiError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return nil, errBadRequest("could not read request body: " + err.Error())
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || dec.More() {
		if err == nil {
			err = fmt.Errorf("trailing data")
		}
		return nil, errBadRequest("Could not read JSON: " + err.Error())
	}
	if m == nil {
		return nil, errBadRequest("Could not read JSON: body is not an object")
	}
	return m, nil
}

// repParam reads v=, with def when absent (lists: REF; single objects: DEFAULT).
func repParam(r *http.Request, def rep) (rep, *apiError) {
	qv := r.URL.Query()
	if !qv.Has("v") {
		return def, nil
	}
	rp, err := parseRep(qv.Get("v"))
	if err != nil {
		return rep{}, errConversion(err.Error())
	}
	return rp, nil
}

// single answers one object in the representation asked (DEFAULT when none).
func (s *Server) single(q *request, o object, status int) *apiError {
	rp, e := repParam(q.r, dflt)
	if e != nil {
		return e
	}
	m := q.rd.render(o, rp)
	if q.rd.err != nil {
		return errConversion(q.rd.err.Error())
	}
	writeJSON(q.w, status, m)
	return nil
}

// page answers a paged list (BasePageableResult, README §3.3): item(i)
// returns element i of total, each in the representation asked (REF when
// none).
func (s *Server) page(q *request, total int, item func(i int) object) *apiError {
	qv := q.r.URL.Query()
	rp, e := repParam(q.r, ref)
	if e != nil {
		return e
	}
	limit, start := s.maxDefault, 0
	if qv.Has("limit") {
		n, err := strconv.Atoi(qv.Get("limit"))
		if err != nil || n <= 0 {
			return errBadRequest("limit must be a positive integer: " + qv.Get("limit"))
		}
		if n > s.maxAbsolute {
			return errServer(fmt.Sprintf("Administrator has set absolute limit at %d", s.maxAbsolute))
		}
		limit = n
	}
	if qv.Has("startIndex") {
		n, err := strconv.Atoi(qv.Get("startIndex"))
		if err != nil || n < 0 {
			return errBadRequest("startIndex must be a non-negative integer: " + qv.Get("startIndex"))
		}
		start = n
	}
	results := []any{}
	for i := start; i < total && i < start+limit; i++ {
		results = append(results, q.rd.render(item(i), rp))
	}
	if q.rd.err != nil {
		return errConversion(q.rd.err.Error())
	}
	out := map[string]any{"results": results}
	var ls []any
	if start+limit < total {
		ls = append(ls, link("next", pageURI(q.r, start+limit), ""))
	}
	if start > 0 {
		ls = append(ls, link("prev", pageURI(q.r, max(0, start-limit)), ""))
	}
	if ls != nil {
		for _, l := range ls {
			l.(map[string]any)["resourceAlias"] = nil
		}
		out["links"] = ls
	}
	if strings.EqualFold(qv.Get("totalCount"), "true") {
		out["totalCount"] = total
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// pageURI is the request's URL with startIndex replaced.
func pageURI(r *http.Request, start int) string {
	var keep []string
	for _, p := range strings.Split(r.URL.RawQuery, "&") {
		if p == "" || strings.HasPrefix(p, "startIndex=") || p == "startIndex" {
			continue
		}
		keep = append(keep, p)
	}
	keep = append(keep, "startIndex="+strconv.Itoa(start))
	return "http://" + r.Host + r.URL.Path + "?" + strings.Join(keep, "&")
}
