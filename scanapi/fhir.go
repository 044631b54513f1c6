package scanapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// The FHIR R4 face of the endpoint (docs/fhir.md), for software that
// speaks IHE PDQm and PIXm rather than our /v1/ JSON:
//
//	GET  /fhir/metadata                    CapabilityStatement (no token)
//	GET  /fhir/Patient?identifier=S|V&…    PDQm ITI-78 search: a searchset Bundle
//	POST /fhir/Patient/_search             the same, parameters form-encoded in the body
//	GET  /fhir/Patient/{id}                read; id is the patient's UUID
//	GET  /fhir/Patient/$ihe-pix?sourceIdentifier=S|V[&targetSystem=U]   PIXm ITI-83
//
// Same tokens, rate limits, TLS rules and scan log as /v1/: routes go
// through authed, identifiers through the one verification path
// (VerifyScan, so voided IDs are not found and a replaced card's MRN
// still is), patient details through disclose, demographic searches
// through the desk's duplicate check (Candidates). Errors are
// OperationOutcome resources.

// FHIRRegistry is what /fhir/ needs beyond Registry. New serves /fhir/
// when its Registry also has these methods (*registry.Store has them).
type FHIRRegistry interface {
	// Candidates is the desk's duplicate-aware patient search.
	Candidates(ctx context.Context, np registry.NewPatient, limit int) ([]idcards.Candidate, error)
	// SearchNames lists every patient the name words fit (part of a name
	// or sounding alike), newest first: the namesakes Candidates leaves
	// out because none of them alone is likely to be the person.
	SearchNames(ctx context.Context, given, family string, limit int) ([]idcards.Patient, error)
	// PatientRecord and PatientRecordByUUID read a patient's record;
	// details (names, sex, birth date, phone) only when asked for.
	PatientRecord(ctx context.Context, patientID int64, details bool) (registry.PatientRecord, error)
	PatientRecordByUUID(ctx context.Context, uuid string, details bool) (registry.PatientRecord, error)
	// FHIRSystem is the URI of our MRNs (Identifier.system).
	FHIRSystem(ctx context.Context) (string, error)
}

// fhirAPI is the /fhir/ state: the registry and a short-lived copy of the
// identifier system (a setting: read at most every systemTTL, not per
// request).
type fhirAPI struct {
	reg      FHIRRegistry
	mu       sync.RWMutex
	system   string
	systemAt time.Time
}

const systemTTL = 5 * time.Second

// Route names (metrics labels, rate-limit and error handling).
const (
	routeFHIRMeta   = "fhir-metadata"
	routeFHIRSearch = "fhir-search"
	routeFHIRRead   = "fhir-read"
	routeFHIRPIX    = "fhir-pix"
	routeFHIROther  = "fhir-other"
)

// fhirRoutes registers /fhir/ if the registry supports it.
func (s *Server) fhirRoutes() {
	fr, ok := s.reg.(FHIRRegistry)
	if !ok {
		return
	}
	s.fhir = &fhirAPI{reg: fr}
	s.mux.Handle("GET /fhir/metadata", s.timed(routeFHIRMeta, http.HandlerFunc(s.fhirMetadata)))
	s.mux.Handle("GET /fhir/Patient", s.timed(routeFHIRSearch, s.authed(s.fhirSearch)))
	s.mux.Handle("POST /fhir/Patient/_search", s.timed(routeFHIRSearch, s.authed(s.fhirSearch)))
	s.mux.Handle("GET /fhir/Patient/{id}", s.timed(routeFHIRRead, s.authed(s.fhirRead)))
	s.mux.Handle("GET /fhir/Patient/$ihe-pix", s.timed(routeFHIRPIX, s.authed(s.fhirPIX)))
}

// fhirRoute names the route of a /fhir/ path ("" for other paths); the
// access log shows it instead of the path.
func fhirRoute(p string) (route, pattern string) {
	switch {
	case !strings.HasPrefix(p, "/fhir/"):
		return "", ""
	case p == "/fhir/metadata":
		return routeFHIRMeta, p
	case p == "/fhir/Patient", p == "/fhir/Patient/_search":
		return routeFHIRSearch, p
	case p == "/fhir/Patient/$ihe-pix":
		return routeFHIRPIX, p
	case strings.HasPrefix(p, "/fhir/Patient/") && !strings.Contains(p[len("/fhir/Patient/"):], "/"):
		return routeFHIRRead, "/fhir/Patient/{id}"
	}
	return routeFHIROther, "other"
}

func isFHIRRoute(route string) bool { return strings.HasPrefix(route, "fhir-") }

func (f *fhirAPI) systemOf(ctx context.Context) (string, error) {
	f.mu.RLock()
	sys, at := f.system, f.systemAt
	f.mu.RUnlock()
	if sys != "" && time.Since(at) < systemTTL {
		return sys, nil
	}
	sys, err := f.reg.FHIRSystem(ctx)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	f.system, f.systemAt = sys, time.Now()
	f.mu.Unlock()
	return sys, nil
}

// issueCode is the OperationOutcome issue type for an HTTP error status.
func issueCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "login"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not-found"
	case http.StatusTooManyRequests:
		return "throttled"
	case http.StatusRequestEntityTooLarge, http.StatusRequestURITooLong:
		return "too-long"
	case http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusUnsupportedMediaType:
		return "not-supported"
	case http.StatusServiceUnavailable:
		return "transient"
	}
	if status >= 500 {
		return "exception"
	}
	return "invalid"
}

// fhirFail answers with an OperationOutcome.
func (s *Server) fhirFail(w http.ResponseWriter, route string, status int, code, msg string) {
	s.requests.WithLabelValues(route, fmt.Sprint(status)).Inc()
	if code == "" {
		code = issueCode(status)
	}
	severity := "error"
	if status == http.StatusNotFound && code == "not-found" && strings.Contains(msg, "targetSystem not found") {
		severity = "warning" // PDQm ITI-78 case 4
	}
	writeFHIR(w, status, OperationOutcome{ResourceType: "OperationOutcome", Issue: []OutcomeIssue{{Severity: severity, Code: code, Diagnostics: msg}}})
}

func writeFHIR(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", fhirJSON)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// acceptsJSON reports whether the client takes FHIR JSON: _format (which
// wins) or Accept. XML is not served (docs/fhir.md).
func acceptsJSON(r *http.Request, vals url.Values) bool {
	if f := vals.Get("_format"); f != "" {
		mt, _, _ := mime.ParseMediaType(f)
		switch mt {
		case "json", "application/json", "application/fhir+json", "application/json+fhir":
			return true
		}
		return false
	}
	acc := r.Header.Get("Accept")
	if acc == "" {
		return true
	}
	for _, part := range strings.Split(acc, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", "application/json", "application/fhir+json", "application/json+fhir":
			return true
		}
	}
	return false
}

// fhirBase is the base URL the client used (links and fullUrls name it).
func fhirBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// preferStrict reports Prefer: handling=strict (unknown parameters are
// then refused rather than ignored).
func preferStrict(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ";") {
			if strings.EqualFold(strings.ReplaceAll(strings.TrimSpace(p), " ", ""), "handling=strict") {
				return true
			}
		}
	}
	return false
}

// logScan queues one scan log row (as /v1/ does for every answer).
func (s *Server) logScan(r *http.Request, at time.Time, code string, st idcards.Status) {
	if len(code) > 256 {
		code = code[:256]
	}
	s.enqueueAudit(registry.ScanRecord{At: at, Token: tokenFrom(r.Context()).Name, Code: code, Status: st, Addr: clientAddr(r)})
}

func (s *Server) registryDown(w http.ResponseWriter, route string, err error) {
	s.log.Error("fhir", "route", route, "err", err)
	s.fhirFail(w, route, http.StatusServiceUnavailable, "transient", "registry unavailable, try again")
}

// fhirMetadata is the CapabilityStatement; like /v1/openapi.json it needs
// no token (it holds no patient data) but counts against the address's
// rate limit.
func (s *Server) fhirMetadata(w http.ResponseWriter, r *http.Request) {
	if !s.byAddr.allow(clientAddr(r)) {
		s.tooMany(w, routeFHIRMeta, s.cfg.PerAddr)
		return
	}
	if !acceptsJSON(r, r.URL.Query()) {
		s.fhirFail(w, routeFHIRMeta, http.StatusNotAcceptable, "not-supported", "only FHIR JSON is served (_format=json, Accept: application/fhir+json)")
		return
	}
	sys, err := s.fhir.systemOf(r.Context())
	if err != nil {
		s.registryDown(w, routeFHIRMeta, err)
		return
	}
	s.requests.WithLabelValues(routeFHIRMeta, "200").Inc()
	writeFHIR(w, http.StatusOK, capabilityStatement(fhirBase(r), sys))
}

// searchValues reads the search parameters: the query string, plus a
// form-encoded body for POST _search (FHIR allows both at once).
func (s *Server) searchValues(w http.ResponseWriter, r *http.Request) (url.Values, *paramError) {
	if len(r.URL.RawQuery) > maxQueryLen {
		return nil, &paramError{Status: http.StatusRequestURITooLong, Code: "too-long", Msg: fmt.Sprintf("query string over %d bytes", maxQueryLen)}
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &paramError{Status: http.StatusBadRequest, Code: "invalid", Msg: "query string is not URL-encoded: " + err.Error()}
	}
	if r.Method != http.MethodPost {
		return vals, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &paramError{Status: http.StatusUnsupportedMediaType, Code: "not-supported", Msg: "POST _search takes Content-Type: application/x-www-form-urlencoded"}
	}
	buf, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &paramError{Status: http.StatusRequestEntityTooLarge, Code: "too-long", Msg: fmt.Sprintf("body over %d bytes", s.cfg.MaxBody)}
		}
		return nil, &paramError{Status: http.StatusBadRequest, Code: "invalid", Msg: "body could not be read"}
	}
	form, err := url.ParseQuery(string(buf))
	if err != nil {
		return nil, &paramError{Status: http.StatusBadRequest, Code: "invalid", Msg: "body is not URL-encoded: " + err.Error()}
	}
	for k, v := range form {
		vals[k] = append(vals[k], v...)
	}
	return vals, nil
}

// fhirHit is one Patient in a search result.
type fhirHit struct {
	id    int64
	p     idcards.Patient         // for the filters
	rec   *registry.PatientRecord // loaded for the page (or earlier)
	score float64
	grade string // match-grade: certain, probable, possible
	// named: found by the name search alone, not scored by the matcher
	// (no search.score; birthdate and gender filter it exactly).
	named bool
}

// fhirSearch is PDQm ITI-78: GET /fhir/Patient and POST /fhir/Patient/_search.
func (s *Server) fhirSearch(w http.ResponseWriter, r *http.Request) {
	const route = routeFHIRSearch
	ctx := r.Context()
	vals, perr := s.searchValues(w, r)
	if perr == nil && !acceptsJSON(r, vals) {
		perr = &paramError{Status: http.StatusNotAcceptable, Code: "not-supported", Msg: "only FHIR JSON is served (_format=json, Accept: application/fhir+json)"}
	}
	var q searchQuery
	if perr == nil {
		q, perr = parseSearch(vals, preferStrict(r))
	}
	if perr == nil && q.Demographic() && !mayReadPatient(ctx) {
		perr = &paramError{Status: http.StatusForbidden, Code: "forbidden", Msg: "searching by family, given, birthdate or gender needs a token with the read:patient scope; this token may search by identifier or _id"}
	}
	if perr == nil && len(q.Identifiers) == 0 && len(q.IDs) == 0 && q.Family == nil && q.Given == nil {
		perr = &paramError{Status: http.StatusBadRequest, Code: "required", Msg: "search by identifier (SYSTEM|VALUE), _id, family or given; birthdate, gender and active narrow such a search"}
	}
	if perr != nil {
		s.fhirFail(w, route, perr.Status, perr.Code, perr.Msg)
		return
	}
	sys, err := s.fhir.systemOf(ctx)
	if err != nil {
		s.registryDown(w, route, err)
		return
	}
	for _, d := range q.Domains {
		if d != sys && d != registry.OpenMRSSystem {
			s.fhirFail(w, route, http.StatusNotFound, "not-found", fmt.Sprintf("targetSystem not found: identifier domain %s is not known here (known: %s, %s)", d, sys, registry.OpenMRSSystem))
			return
		}
	}
	var warnings []OutcomeIssue
	hits, status, msg, err := s.fhirFind(r, &q, sys, &warnings)
	switch {
	case err != nil:
		s.registryDown(w, route, err)
		return
	case status != 0:
		s.fhirFail(w, route, status, "", msg)
		return
	}
	total := len(hits)
	page := hits[min(q.Offset, total):min(q.Offset+q.Count, total)]
	now := time.Now().UTC()
	base := fhirBase(r)
	stamp := now.Format(time.RFC3339)
	b := Bundle{ResourceType: "Bundle", Meta: &Meta{LastUpdated: stamp}, Type: "searchset", Timestamp: stamp, Total: &total}
	b.Link = append(b.Link, BundleLink{"self", pageURL(base, q, q.Offset)})
	if q.Count > 0 && q.Offset+q.Count < total {
		b.Link = append(b.Link, BundleLink{"next", pageURL(base, q, q.Offset+q.Count)})
	}
	if q.Count > 0 && q.Offset > 0 {
		b.Link = append(b.Link, BundleLink{"previous", pageURL(base, q, max(0, q.Offset-q.Count))})
	}
	for _, h := range page {
		if h.rec == nil {
			rec, err := s.fhir.reg.PatientRecord(ctx, h.id, mayReadPatient(ctx))
			if err != nil {
				if idcards.ErrorKind(err) == idcards.NotFound {
					continue // gone since it was ranked
				}
				s.registryDown(w, route, err)
				return
			}
			h.rec = &rec
		}
		score := h.score
		search := &EntrySearch{Mode: "match", Score: &score, Extension: []Extension{{URL: "http://hl7.org/fhir/StructureDefinition/match-grade", ValueCode: h.grade}}}
		if h.named {
			search = &EntrySearch{Mode: "match"} // the names fit; not weighed as one person
		}
		b.Entry = append(b.Entry, BundleEntry{
			FullURL:  base + "/Patient/" + h.rec.Patient.UUID,
			Resource: fhirPatient(ctx, *h.rec, sys, q.Domains),
			Search:   search,
		})
		if q.Demographic() || len(q.Identifiers) == 0 {
			// Who was shown to whom: the record's MRN (no patient data).
			code := "Patient/" + h.rec.Patient.UUID
			if len(h.rec.MRNs) > 0 {
				code = h.rec.MRNs[0]
			}
			s.logScan(r, now, code, idcards.StatusActive)
		}
	}
	if len(page) == 0 && (q.Demographic() || len(q.Identifiers) == 0) {
		s.logScan(r, now, "Patient?"+strings.Join(sortedKeys(q.Used), "&"), idcards.StatusUnknown)
	}
	if len(q.Ignored) > 0 {
		warnings = append(warnings, OutcomeIssue{Severity: "warning", Code: "not-supported", Diagnostics: "ignored unsupported search parameters: " + strings.Join(q.Ignored, ", ") + " (send Prefer: handling=strict to have them refused)"})
	}
	if len(warnings) > 0 {
		b.Entry = append(b.Entry, BundleEntry{Resource: OperationOutcome{ResourceType: "OperationOutcome", Issue: warnings}, Search: &EntrySearch{Mode: "outcome"}})
	}
	s.requests.WithLabelValues(route, "200").Inc()
	writeFHIR(w, http.StatusOK, b)
}

// fhirFind runs a parsed search. A non-zero status is a refusal (with msg).
func (s *Server) fhirFind(r *http.Request, q *searchQuery, sys string, warnings *[]OutcomeIssue) (hits []*fhirHit, status int, msg string, err error) {
	ctx := r.Context()
	byID := map[int64]*fhirHit{}
	var order []int64
	restricted := false
	// intersect keeps the hits found in this AND group.
	intersect := func(found []*fhirHit) {
		next := map[int64]*fhirHit{}
		var nextOrder []int64
		for _, h := range found {
			if _, dup := next[h.id]; dup {
				continue
			}
			if restricted && byID[h.id] == nil {
				continue
			}
			next[h.id] = h
			nextOrder = append(nextOrder, h.id)
		}
		byID, order, restricted = next, nextOrder, true
	}
	for _, group := range q.Identifiers {
		var found []*fhirHit
		for _, t := range group {
			rec, st, m, err := s.resolveIdentifier(r, t, sys, warnings)
			if err != nil || st != 0 {
				return nil, st, m, err
			}
			if rec != nil {
				found = append(found, &fhirHit{id: rec.Patient.ID, p: rec.Patient, rec: rec, score: 1, grade: "certain"})
			}
		}
		intersect(found)
	}
	for _, group := range q.IDs {
		var found []*fhirHit
		for _, id := range group {
			rec, err := s.fhir.reg.PatientRecordByUUID(ctx, id, mayReadPatient(ctx))
			switch {
			case idcards.ErrorKind(err) == idcards.NotFound:
				continue // logged with the (empty) page
			case err != nil:
				return nil, 0, "", err
			}
			found = append(found, &fhirHit{id: rec.Patient.ID, p: rec.Patient, rec: &rec, score: 1, grade: "certain"})
		}
		intersect(found)
	}
	filterEq := true // birthdate=eq… and gender filter unless the matcher weighed them
	if q.Family != nil || q.Given != nil {
		filterEq = false
		np := registry.NewPatient{Sex: q.Gender}
		if q.Family != nil {
			np.FamilyName = q.Family.Value
		}
		if q.Given != nil {
			np.GivenName = q.Given.Value
		}
		for _, d := range q.Birthdate {
			if d.Prefix == "eq" {
				switch len(d.Raw) {
				case 10:
					np.BirthDate = d.Raw
				case 7:
					np.BirthDate, np.BirthDateEstimated = d.Raw+"-15", true
				default:
					np.BirthDate, np.BirthDateEstimated = d.Raw+"-07-01", true
				}
				break
			}
		}
		cands, err := s.fhir.reg.Candidates(ctx, np, maxMatches)
		if err != nil {
			if idcards.ErrorKind(err) == idcards.Invalid {
				return nil, http.StatusBadRequest, err.Error(), nil
			}
			return nil, 0, "", err
		}
		found := make([]*fhirHit, 0, len(cands))
		for _, c := range cands {
			h := &fhirHit{id: c.Patient.ID, p: c.Patient, score: c.Score, grade: string(c.Level)}
			if prev := byID[c.Patient.ID]; prev != nil {
				h.rec = prev.rec // found by identifier too: keep the record, take the match score
			}
			found = append(found, h)
		}
		// FHIR lists matches from the most likely down (search.score);
		// the desk shows the best-fitting of several probable records of
		// one person first, which may hold the lower score.
		sort.SliceStable(found, func(i, j int) bool { return found[i].score > found[j].score })
		// Then every other patient the names fit: a search must list a
		// common name's namesakes, each too unlikely alone for the
		// duplicate check to show. Merged records only when asked for
		// (active=false), as the duplicate check never lists them.
		if len(found) < maxMatches {
			var given, family string
			if q.Given != nil {
				given = q.Given.Value
			}
			if q.Family != nil {
				family = q.Family.Value
			}
			named, err := s.fhir.reg.SearchNames(ctx, given, family, maxMatches)
			if err != nil {
				return nil, 0, "", err
			}
			seen := make(map[int64]bool, len(found))
			for _, h := range found {
				seen[h.id] = true
			}
			for _, p := range named {
				if seen[p.ID] || (p.MergedInto != 0 && q.Active == nil) || !keep(p, q, true) {
					continue
				}
				h := &fhirHit{id: p.ID, p: p, named: true}
				if prev := byID[p.ID]; prev != nil {
					h.rec = prev.rec
				}
				found = append(found, h)
				if len(found) == maxMatches {
					break
				}
			}
		}
		intersect(found)
	}
	for _, id := range order {
		h := byID[id]
		if keep(h.p, q, filterEq || h.named) {
			hits = append(hits, h)
		}
	}
	return hits, 0, "", nil
}

// keep applies the filters the matcher does not: active, birthdate ranges
// (and eq and gender when no name was searched), :exact names.
func keep(p idcards.Patient, q *searchQuery, filterEq bool) bool {
	if q.Active != nil && *q.Active != (p.MergedInto == 0) {
		return false
	}
	if filterEq && q.Gender != "" && p.Sex != q.Gender {
		return false
	}
	for _, d := range q.Birthdate {
		if d.Prefix == "eq" && !filterEq {
			continue
		}
		lo, hi, ok := birthInterval(p.BirthDate, p.BirthDateEstimated)
		if !ok || !d.matches(lo, hi) {
			return false
		}
	}
	if q.Family != nil && q.Family.Exact && p.FamilyName != q.Family.Value {
		return false
	}
	if q.Given != nil && q.Given.Exact && p.GivenName != q.Given.Value && !contains(strings.Fields(p.GivenName), q.Given.Value) {
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resolveIdentifier finds the patient holding an identifier. A nil record
// with status 0 is "no such patient" (the search goes on); a status is a
// refusal.
func (s *Server) resolveIdentifier(r *http.Request, t token, sys string, warnings *[]OutcomeIssue) (*registry.PatientRecord, int, string, error) {
	switch {
	case t.HasSystem && t.System == "":
		return nil, 0, "", nil // "|value": an identifier without a system; ours all have one
	case !t.HasSystem && strings.HasPrefix(t.Value, registry.OpenMRSValuePrefix):
		return s.resolveOpenMRS(r, t.Value)
	case !t.HasSystem, t.System == sys:
		return s.resolveMRN(r, t.Value, warnings)
	case t.System == registry.OpenMRSSystem:
		return s.resolveOpenMRS(r, t.Value)
	}
	return nil, http.StatusNotFound, fmt.Sprintf("targetSystem not found: identifier system %s is not known here (known: %s, %s)", t.System, sys, registry.OpenMRSSystem), nil
}

// resolveMRN looks an MRN up through the one verification path and logs
// the answer in the scan log, as /v1/ids does.
func (s *Server) resolveMRN(r *http.Request, value string, warnings *[]OutcomeIssue) (*registry.PatientRecord, int, string, error) {
	if msg := checkCode(value); msg != "" {
		return nil, http.StatusBadRequest, "identifier value: " + msg, nil
	}
	ctx := r.Context()
	var v idcards.Verification
	var rec *registry.PatientRecord
	var err error
	// Without read:patient, the record shows no details: a registry that
	// answers both at once (registry.Mirror: from memory) is asked so.
	both, lean := s.reg.(recordVerifier)
	lean = lean && !mayReadPatient(ctx)
	if lean {
		v, rec, err = both.VerifyRecord(ctx, value)
	} else {
		v, err = s.reg.VerifyScan(ctx, value, false)
	}
	if err != nil {
		return nil, 0, "", err
	}
	logged := v.Code
	if logged == "" {
		logged = value
	}
	s.logScan(r, v.CheckedAt, logged, v.Status)
	switch v.Status {
	case idcards.StatusInvalidCheck, idcards.StatusMalformed:
		*warnings = append(*warnings, OutcomeIssue{Severity: "warning", Code: "value", Diagnostics: fmt.Sprintf("identifier %s: %s: %s", value, v.Status, v.Detail)})
		return nil, 0, "", nil
	case idcards.StatusActive, idcards.StatusReplaced:
	default: // unassigned, voided, unknown: no patient holds it
		return nil, 0, "", nil
	}
	if v.Identifier == nil || v.Identifier.State != idcards.IDActive || v.Identifier.PatientID == 0 {
		return nil, 0, "", nil
	}
	if lean {
		return rec, 0, "", nil // nil: the patient is gone
	}
	got, err := s.fhir.reg.PatientRecord(ctx, v.Identifier.PatientID, mayReadPatient(ctx))
	if idcards.ErrorKind(err) == idcards.NotFound {
		return nil, 0, "", nil
	}
	if err != nil {
		return nil, 0, "", err
	}
	return &got, 0, "", nil
}

// recordVerifier is a Registry that answers an identifier lookup and the
// record of the patient holding it (without details) in one call:
// registry.Mirror from memory, registry.Store from the file.
type recordVerifier interface {
	VerifyRecord(ctx context.Context, raw string) (idcards.Verification, *registry.PatientRecord, error)
}

// resolveOpenMRS finds the patient OpenMRS knows by this UUID
// (urn:uuid:UUID): sync must have confirmed the record is there.
func (s *Server) resolveOpenMRS(r *http.Request, value string) (*registry.PatientRecord, int, string, error) {
	uuid, ok := strings.CutPrefix(value, registry.OpenMRSValuePrefix)
	if !ok || !validID(uuid) {
		return nil, http.StatusBadRequest, fmt.Sprintf("identifier value %q: OpenMRS UUIDs are written urn:uuid:UUID", value), nil
	}
	now := time.Now().UTC()
	rec, err := s.fhir.reg.PatientRecordByUUID(r.Context(), uuid, mayReadPatient(r.Context()))
	if err == nil && strings.EqualFold(rec.OpenMRSUUID, uuid) {
		s.logScan(r, now, value, idcards.StatusActive)
		return &rec, 0, "", nil
	}
	if err != nil && idcards.ErrorKind(err) != idcards.NotFound {
		return nil, 0, "", err
	}
	s.logScan(r, now, value, idcards.StatusUnknown)
	return nil, 0, "", nil
}

// fhirPatient is the Patient resource for rec, as the request's token may
// see it (disclose). domains, when given, limits the identifiers shown to
// those systems (PDQm's identifier=SYSTEM|).
func fhirPatient(ctx context.Context, rec registry.PatientRecord, sys string, domains []string) FHIRPatient {
	p, full := disclose(ctx, rec.Patient)
	out := FHIRPatient{ResourceType: "Patient", ID: p.UUID, Active: p.MergedInto == 0}
	want := func(system string) bool { return len(domains) == 0 || contains(domains, system) }
	if want(sys) {
		for _, m := range rec.MRNs {
			out.Identifier = append(out.Identifier, mrnIdentifier(sys, m))
		}
	}
	if rec.OpenMRSUUID != "" && want(registry.OpenMRSSystem) {
		out.Identifier = append(out.Identifier, openMRSIdentifier(rec.OpenMRSUUID))
	}
	if rec.MergedIntoUUID != "" {
		out.Link = []PatientLink{{Other: Reference{Reference: "Patient/" + rec.MergedIntoUUID}, Type: "replaced-by"}}
	}
	if !full {
		return out
	}
	name := HumanName{Use: "official", Text: p.DisplayName(), Family: p.FamilyName, Given: strings.Fields(p.GivenName)}
	if name.Text != "" {
		out.Name = []HumanName{name}
	}
	if p.Phone != "" {
		out.Telecom = []ContactPoint{{System: "phone", Value: p.Phone}}
	}
	out.Gender = sexGender[p.Sex]
	switch {
	case len(p.BirthDate) < 10:
	case p.BirthDateEstimated:
		out.BirthDate = p.BirthDate[:4] // only the year is known
	default:
		out.BirthDate = p.BirthDate
	}
	if p.Village != "" {
		out.Address = []Address{{Use: "home", City: p.Village}}
	}
	return out
}

var sexGender = map[idcards.Sex]string{idcards.SexMale: "male", idcards.SexFemale: "female", idcards.SexOther: "other", idcards.SexUnknown: "unknown"}

// The identifier types and assigner, shared by every answer (never
// modified).
var (
	mrType      = &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/v2-0203", Code: "MR", Display: "Medical record number"}}, Text: "MRN"}
	openMRSType = &CodeableConcept{Text: "OpenMRS patient UUID"}
	openMRSRef  = &Reference{Display: "OpenMRS"}
)

func mrnIdentifier(sys, mrn string) Identifier {
	return Identifier{Use: "official", Type: mrType, System: sys, Value: mrn}
}

func openMRSIdentifier(uuid string) Identifier {
	return Identifier{Use: "secondary", Type: openMRSType, System: registry.OpenMRSSystem, Value: registry.OpenMRSValuePrefix + uuid, Assigner: openMRSRef}
}

// pageURL is the search link for a page: the honoured parameters, _count
// and _offset.
func pageURL(base string, q searchQuery, offset int) string {
	v := url.Values{}
	for k, x := range q.Used {
		v[k] = x
	}
	v.Set("_count", fmt.Sprint(q.Count))
	if offset > 0 {
		v.Set("_offset", fmt.Sprint(offset))
	}
	return base + "/Patient?" + v.Encode()
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		if k != "_count" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// fhirRead is GET /fhir/Patient/{id}. A merged-away record is returned
// with active false and a replaced-by link (PDQm ITI-78 case 3).
func (s *Server) fhirRead(w http.ResponseWriter, r *http.Request) {
	const route = routeFHIRRead
	id := r.PathValue("id")
	if !acceptsJSON(r, r.URL.Query()) {
		s.fhirFail(w, route, http.StatusNotAcceptable, "not-supported", "only FHIR JSON is served (_format=json, Accept: application/fhir+json)")
		return
	}
	if id == "_search" {
		w.Header().Set("Allow", "POST")
		s.fhirFail(w, route, http.StatusMethodNotAllowed, "not-supported", "_search takes POST with a form-encoded body; or GET /fhir/Patient?…")
		return
	}
	if !validID(id) {
		s.fhirFail(w, route, http.StatusNotFound, "not-found", "Patient ids here are UUIDs; this is not one")
		return
	}
	now := time.Now().UTC()
	rec, err := s.fhir.reg.PatientRecordByUUID(r.Context(), id, mayReadPatient(r.Context()))
	if idcards.ErrorKind(err) == idcards.NotFound {
		s.logScan(r, now, "Patient/"+id, idcards.StatusUnknown)
		s.fhirFail(w, route, http.StatusNotFound, "not-found", "Patient/"+id+" is not known here")
		return
	}
	if err != nil {
		s.registryDown(w, route, err)
		return
	}
	sys, err := s.fhir.systemOf(r.Context())
	if err != nil {
		s.registryDown(w, route, err)
		return
	}
	code := "Patient/" + rec.Patient.UUID
	if len(rec.MRNs) > 0 {
		code = rec.MRNs[0]
	}
	s.logScan(r, now, code, idcards.StatusActive)
	s.requests.WithLabelValues(route, "200").Inc()
	writeFHIR(w, http.StatusOK, fhirPatient(r.Context(), rec, sys, nil))
}

// fhirPIX is PIXm ITI-83, GET /fhir/Patient/$ihe-pix: the other
// identifiers of the patient holding sourceIdentifier, as Parameters.
func (s *Server) fhirPIX(w http.ResponseWriter, r *http.Request) {
	const route = routeFHIRPIX
	ctx := r.Context()
	if len(r.URL.RawQuery) > maxQueryLen {
		s.fhirFail(w, route, http.StatusRequestURITooLong, "too-long", fmt.Sprintf("query string over %d bytes", maxQueryLen))
		return
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.fhirFail(w, route, http.StatusBadRequest, "invalid", "query string is not URL-encoded: "+err.Error())
		return
	}
	if !acceptsJSON(r, vals) {
		s.fhirFail(w, route, http.StatusNotAcceptable, "not-supported", "only FHIR JSON is served (_format=json, Accept: application/fhir+json)")
		return
	}
	src := vals["sourceIdentifier"]
	if len(src) != 1 {
		s.fhirFail(w, route, http.StatusBadRequest, "required", "give exactly one sourceIdentifier=SYSTEM|VALUE")
		return
	}
	if len(src[0]) > maxValueLen {
		s.fhirFail(w, route, http.StatusBadRequest, "too-long", fmt.Sprintf("sourceIdentifier over %d bytes", maxValueLen))
		return
	}
	t := parseToken(src[0])
	if !t.HasSystem || t.System == "" || t.Value == "" {
		s.fhirFail(w, route, http.StatusBadRequest, "required", "sourceIdentifier needs both parts: SYSTEM|VALUE")
		return
	}
	sys, err := s.fhir.systemOf(ctx)
	if err != nil {
		s.registryDown(w, route, err)
		return
	}
	base := fhirBase(r)
	var targets []string
	for _, v := range vals["targetSystem"] {
		for _, u := range strings.Split(v, ",") {
			if u != sys && u != registry.OpenMRSSystem && u != base {
				s.fhirFail(w, route, http.StatusForbidden, "code-invalid", "targetSystem not found: "+u+" (known: "+sys+", "+registry.OpenMRSSystem+", "+base+")")
				return
			}
			targets = append(targets, u)
		}
	}
	var rec *registry.PatientRecord
	var status int
	var msg string
	var warnings []OutcomeIssue
	switch t.System {
	case sys:
		rec, status, msg, err = s.resolveMRN(r, t.Value, &warnings)
	case registry.OpenMRSSystem:
		rec, status, msg, err = s.resolveOpenMRS(r, t.Value)
	case base:
		// The logical id form: SYSTEM is our FHIR base, VALUE Patient/{id}.
		id, ok := strings.CutPrefix(t.Value, "Patient/")
		if !ok || !validID(id) {
			status, msg = http.StatusBadRequest, "sourceIdentifier with our base URL as system takes Patient/{id} as value"
			break
		}
		got, e := s.fhir.reg.PatientRecordByUUID(ctx, id, mayReadPatient(ctx))
		switch {
		case idcards.ErrorKind(e) == idcards.NotFound:
			s.logScan(r, time.Now().UTC(), t.Value, idcards.StatusUnknown)
		case e != nil:
			err = e
		default:
			s.logScan(r, time.Now().UTC(), t.Value, idcards.StatusActive)
			rec = &got
		}
	default:
		s.fhirFail(w, route, http.StatusBadRequest, "code-invalid", "sourceIdentifier Assigning Authority not found: "+t.System+" (known: "+sys+", "+registry.OpenMRSSystem+", "+base+")")
		return
	}
	switch {
	case err != nil:
		s.registryDown(w, route, err)
		return
	case status != 0:
		s.fhirFail(w, route, status, "", msg)
		return
	case rec == nil:
		s.fhirFail(w, route, http.StatusNotFound, "not-found", "sourceIdentifier Patient Identifier not found")
		return
	case rec.MergedIntoUUID != "":
		s.fhirFail(w, route, http.StatusNotFound, "not-found", "sourceIdentifier Patient Identifier not found: the record was merged into Patient/"+rec.MergedIntoUUID)
		return
	}
	want := func(system string) bool { return len(targets) == 0 || contains(targets, system) }
	out := Parameters{ResourceType: "Parameters"}
	source := func(system, value string) bool { return system == t.System && value == t.Value }
	if want(sys) {
		for _, m := range rec.MRNs {
			if !source(sys, m) && !(t.System == sys && barcode.Normalize(t.Value) == m) {
				id := mrnIdentifier(sys, m)
				out.Parameter = append(out.Parameter, Parameter{Name: "targetIdentifier", ValueIdentifier: &id})
			}
		}
	}
	if rec.OpenMRSUUID != "" && want(registry.OpenMRSSystem) && !source(registry.OpenMRSSystem, registry.OpenMRSValuePrefix+rec.OpenMRSUUID) {
		id := openMRSIdentifier(rec.OpenMRSUUID)
		out.Parameter = append(out.Parameter, Parameter{Name: "targetIdentifier", ValueIdentifier: &id})
	}
	if want(base) {
		out.Parameter = append(out.Parameter, Parameter{Name: "targetId", ValueReference: &Reference{Reference: "Patient/" + rec.Patient.UUID}})
	}
	s.requests.WithLabelValues(route, "200").Inc()
	writeFHIR(w, http.StatusOK, out)
}
