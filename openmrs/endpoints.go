package openmrs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Representations this client asks for. Lists and searches default to the
// REF representation (uuid, display, links) unless v= says otherwise
// (webservices.rest MainResourceController.get); custom representations
// keep pages small: a 100-patient page of patientIdentifiersRep is a few
// kilobytes where v=full is hundreds.
const (
	patientRep = "custom:(uuid,display,voided," +
		"identifiers:(uuid,identifier,identifierType:(uuid,display),location:(uuid,display),preferred,voided)," +
		"person:(uuid,display,gender,birthdate,birthdateEstimated,preferredName:(givenName,middleName,familyName),preferredAddress:(cityVillage)))"
	patientIdentifiersRep = "custom:(uuid,identifiers:(identifier,identifierType:(uuid),voided))"
	identifierRep         = "custom:(uuid,identifier,identifierType:(uuid,display),location:(uuid,display),preferred,voided)"
	// PageSize is the page size of every list this client reads: OpenMRS's
	// absolute maximum (GP webservices.rest.maxResultsAbsolute, default
	// 100; larger limits are refused).
	PageSize = 100
)

// Session checks the base URL and the credentials. OpenMRS answers wrong
// credentials with 200 {"authenticated": false}, which Session turns into
// ErrUnauthenticated. The JSESSIONID cookie the server sets is kept for
// later calls (newer servers no longer put the session id in the JSON).
func (c *Client) Session(ctx context.Context) (Session, error) {
	var d sessionDTO
	if err := c.do(ctx, request{method: http.MethodGet, path: restPrefix + "/session"}, &d); err != nil {
		return Session{}, err
	}
	s := sessionFromDTO(d)
	if !s.Authenticated {
		return s, fmt.Errorf("openmrs: %s as %q: %w", c.root, c.username, ErrUnauthenticated)
	}
	return s, nil
}

// FindPatientsByIdentifier returns the non-voided patients holding an
// identifier exactly equal to id, of any type
// (PatientByIdentifierSearchHandler: getPatients(null, id, null, true)).
// The Syncer calls it before and after every push: OpenMRS has no unique
// index on identifiers, so only looking tells.
func (c *Client) FindPatientsByIdentifier(ctx context.Context, id string) ([]Patient, error) {
	q := url.Values{"identifier": {id}, "v": {patientRep}, "limit": {strconv.Itoa(PageSize)}}
	var out []Patient
	err := pages(ctx, c, restPrefix+"/patient", q, func(raw []patientDTO) error {
		for _, d := range raw {
			out = append(out, patientFromDTO(d))
		}
		return nil
	})
	return out, err
}

// SearchPatients is OpenMRS's patient search GET /patient?q= (names or an
// identifier: every word of q must begin one of a patient's names, in
// the default patientSearch.matchMode START; fewer than
// minSearchCharacters, default 2, finds nothing), first page only: at
// most PageSize patients, and more reports that OpenMRS has others (the
// query is too common to read them all). Voided patients are left out.
func (c *Client) SearchPatients(ctx context.Context, q string) (ps []Patient, more bool, err error) {
	v := url.Values{"q": {q}, "v": {patientRep}, "limit": {strconv.Itoa(PageSize)}}
	var page pageDTO[patientDTO]
	if err := c.do(ctx, request{method: http.MethodGet, path: restPrefix + "/patient", query: v}, &page); err != nil {
		return nil, false, err
	}
	for _, d := range page.Results {
		if !d.Voided {
			ps = append(ps, patientFromDTO(d))
		}
	}
	for _, l := range page.Links {
		more = more || l.Rel == "next"
	}
	return ps, more, nil
}

// GetPatient fetches one patient by uuid; found is false on 404.
func (c *Client) GetPatient(ctx context.Context, uuid string) (p Patient, found bool, err error) {
	if err := checkUUID(uuid); err != nil {
		return Patient{}, false, err
	}
	var d patientDTO
	err = c.do(ctx, request{method: http.MethodGet, path: restPrefix + "/patient/" + uuid, query: url.Values{"v": {patientRep}}}, &d)
	if isStatus(err, http.StatusNotFound) {
		return Patient{}, false, nil
	}
	if err != nil {
		return Patient{}, false, err
	}
	return patientFromDTO(d), true, nil
}

// CreatePatient posts a new patient with a new person. It is never
// retried behind the caller's back once the request may have reached the
// server: a *TransportError with Timeout set means the patient may exist,
// and the caller must look (GetPatient with the chosen UUID, or
// FindPatientsByIdentifier) before posting again.
func (c *Client) CreatePatient(ctx context.Context, p PatientCreate) (Patient, error) {
	if p.UUID != "" {
		if err := checkUUID(p.UUID); err != nil {
			return Patient{}, err
		}
	}
	var d patientDTO
	if err := c.do(ctx, request{method: http.MethodPost, path: restPrefix + "/patient", body: patientCreateToDTO(p)}, &d); err != nil {
		return Patient{}, err
	}
	return patientFromDTO(d), nil
}

// AddIdentifier adds an identifier to an existing patient
// (POST /patient/{uuid}/identifier). Like CreatePatient it is not retried
// once sent. Servers before webservices.rest 2.45 (O3-3586) could keep a
// duplicate identifier even while answering an error, so callers re-read
// after any failure.
func (c *Client) AddIdentifier(ctx context.Context, patientUUID string, id IdentifierCreate) (PatientIdentifier, error) {
	if err := checkUUID(patientUUID); err != nil {
		return PatientIdentifier{}, err
	}
	body := identifierCreateDTO{Identifier: id.Identifier, IdentifierType: id.TypeUUID, Location: id.LocationUUID, Preferred: id.Preferred}
	var d identifierDTO
	if err := c.do(ctx, request{method: http.MethodPost, path: restPrefix + "/patient/" + patientUUID + "/identifier", body: body}, &d); err != nil {
		return PatientIdentifier{}, err
	}
	return identifierFromDTO(d), nil
}

// PatientIdentifiers lists a patient's identifiers with their types.
func (c *Client) PatientIdentifiers(ctx context.Context, patientUUID string) ([]PatientIdentifier, error) {
	if err := checkUUID(patientUUID); err != nil {
		return nil, err
	}
	var out []PatientIdentifier
	err := pages(ctx, c, restPrefix+"/patient/"+patientUUID+"/identifier", url.Values{"v": {identifierRep}}, func(raw []identifierDTO) error {
		for _, d := range raw {
			out = append(out, identifierFromDTO(d))
		}
		return nil
	})
	return out, err
}

// VoidIdentifier voids one identifier of a patient (DELETE without
// ?purge). Deleting is idempotent, so the client may retry it.
func (c *Client) VoidIdentifier(ctx context.Context, patientUUID, identifierUUID, reason string) error {
	if err := checkUUID(patientUUID); err != nil {
		return err
	}
	if err := checkUUID(identifierUUID); err != nil {
		return err
	}
	q := url.Values{}
	if reason != "" {
		q.Set("reason", reason)
	}
	err := c.do(ctx, request{method: http.MethodDelete, path: restPrefix + "/patient/" + patientUUID + "/identifier/" + identifierUUID, query: q,
		opts: callOpts{allowRetry: true}}, nil)
	if isStatus(err, http.StatusNotFound) {
		return nil // already gone
	}
	return err
}

// IdentifierType fetches one patient identifier type (validator, format,
// location and uniqueness behaviour).
func (c *Client) IdentifierType(ctx context.Context, uuid string) (IdentifierType, error) {
	if err := checkUUID(uuid); err != nil {
		return IdentifierType{}, err
	}
	var d identifierTypeDTO
	if err := c.do(ctx, request{method: http.MethodGet, path: restPrefix + "/patientidentifiertype/" + uuid, query: url.Values{"v": {"full"}}}, &d); err != nil {
		return IdentifierType{}, err
	}
	return identifierTypeFromDTO(d), nil
}

// IdentifierTypes lists every patient identifier type.
func (c *Client) IdentifierTypes(ctx context.Context) ([]IdentifierType, error) {
	var out []IdentifierType
	err := pages(ctx, c, restPrefix+"/patientidentifiertype", url.Values{"v": {"default"}}, func(raw []identifierTypeDTO) error {
		for _, d := range raw {
			out = append(out, identifierTypeFromDTO(d))
		}
		return nil
	})
	return out, err
}

// Location fetches one location.
func (c *Client) Location(ctx context.Context, uuid string) (Location, error) {
	if err := checkUUID(uuid); err != nil {
		return Location{}, err
	}
	var d locationDTO
	if err := c.do(ctx, request{method: http.MethodGet, path: restPrefix + "/location/" + uuid, query: url.Values{"v": {"default"}}}, &d); err != nil {
		return Location{}, err
	}
	return locationFromDTO(d), nil
}

// Locations lists locations whose name matches q (all when q is empty).
func (c *Client) Locations(ctx context.Context, q string) ([]Location, error) {
	qv := url.Values{"v": {"default"}}
	if q != "" {
		qv.Set("q", q)
	}
	var out []Location
	err := pages(ctx, c, restPrefix+"/location", qv, func(raw []locationDTO) error {
		for _, d := range raw {
			out = append(out, locationFromDTO(d))
		}
		return nil
	})
	return out, err
}

// IdentifierSources lists the idgen module's identifier sources; a 404
// means the idgen module is not installed.
func (c *Client) IdentifierSources(ctx context.Context) ([]IdentifierSource, error) {
	var out []IdentifierSource
	err := pages(ctx, c, restPrefix+"/idgen/identifiersource", url.Values{"v": {"default"}}, func(raw []identifierSourceDTO) error {
		for _, d := range raw {
			out = append(out, identifierSourceFromDTO(d))
		}
		return nil
	})
	if isStatus(err, http.StatusNotFound) {
		return nil, fmt.Errorf("openmrs: the idgen module is not installed on %s: %w", c.root, err)
	}
	return out, err
}

// ExportIdentifiers takes a block of n identifiers from an idgen source
// (POST /idgen/identifiersource with generateIdentifiers=true). idgen logs
// them as used when it answers; a lost answer wastes the block, which is
// harmless, so the call is retried.
func (c *Client) ExportIdentifiers(ctx context.Context, sourceUUID string, n int, comment string) ([]string, error) {
	if err := checkUUID(sourceUUID); err != nil {
		return nil, err
	}
	if n < 1 || n > 10000 {
		return nil, fmt.Errorf("openmrs: export identifiers: count %d: want 1 to 10000", n)
	}
	var d exportResponseDTO
	err := c.do(ctx, request{method: http.MethodPost, path: restPrefix + "/idgen/identifiersource",
		body: exportRequestDTO{GenerateIdentifiers: true, SourceUUID: sourceUUID, NumberToGenerate: n, Comment: comment},
		opts: callOpts{allowRetry: true}}, &d)
	if err != nil {
		return nil, err
	}
	if len(d.Identifiers) != n {
		return d.Identifiers, fmt.Errorf("openmrs: export identifiers: asked for %d, got %d", n, len(d.Identifiers))
	}
	return d.Identifiers, nil
}

// GenerateIdentifier takes one identifier from an idgen source.
func (c *Client) GenerateIdentifier(ctx context.Context, sourceUUID, comment string) (string, error) {
	if err := checkUUID(sourceUUID); err != nil {
		return "", err
	}
	var d generateResponseDTO
	err := c.do(ctx, request{method: http.MethodPost, path: restPrefix + "/idgen/identifiersource/" + sourceUUID + "/identifier",
		body: generateRequestDTO{Comment: comment}, opts: callOpts{allowRetry: true}}, &d)
	if err != nil {
		return "", err
	}
	if d.Identifier == "" {
		return "", errors.New("openmrs: generate identifier: empty answer")
	}
	return d.Identifier, nil
}

// IdentifiersWithPrefix streams every identifier of identifier type
// typeUUID on non-voided patients whose value starts with prefix
// (GET /patient?identifier=PREFIX&searchType=start, 100 patients a page,
// following links rel=next). fn gets one page's identifiers at a time;
// memory stays one page whatever the total. It returns the number of HTTP
// pages read.
func (c *Client) IdentifiersWithPrefix(ctx context.Context, typeUUID, prefix string, fn func([]IdentifierRecord) error) (int, error) {
	if prefix == "" {
		return 0, errors.New("openmrs: identifier prefix search needs a non-empty prefix")
	}
	q := url.Values{"identifier": {prefix}, "searchType": {"start"}, "v": {patientIdentifiersRep}, "limit": {strconv.Itoa(PageSize)}}
	read := 0
	var batch []IdentifierRecord
	err := pages(ctx, c, restPrefix+"/patient", q, func(raw []patientDTO) error {
		read++
		batch = batch[:0]
		for _, p := range raw {
			if p.Voided {
				continue
			}
			for _, id := range p.Identifiers {
				if id.Voided || id.IdentifierType == nil || id.IdentifierType.UUID != typeUUID || !strings.HasPrefix(id.Identifier, prefix) {
					continue
				}
				batch = append(batch, IdentifierRecord{Identifier: id.Identifier, PatientUUID: p.UUID})
			}
		}
		return fn(batch)
	})
	return read, err
}

// maxPages bounds how many pages one list call follows, against a server
// whose next links loop.
const maxPages = 1_000_000

// pages reads a paged list: it sends q, hands each page's results to fn,
// and follows the links rel=next that OpenMRS adds while more results
// remain. Only the startIndex of a next link is used: the link's host is
// whatever the server thinks it is called (behind a proxy often not the
// address we reached it by).
func pages[T any](ctx context.Context, c *Client, path string, q url.Values, fn func([]T) error) error {
	q = cloneValues(q)
	seen := -1
	for n := 0; n < maxPages; n++ {
		var page pageDTO[T]
		if err := c.do(ctx, request{method: http.MethodGet, path: path, query: q}, &page); err != nil {
			return err
		}
		if err := fn(page.Results); err != nil {
			return err
		}
		if len(page.Results) == 0 {
			return nil
		}
		start, more, err := nextStartIndex(page.Links, seen)
		if err != nil {
			return fmt.Errorf("openmrs: GET %s: %w", path, err)
		}
		if !more {
			return nil
		}
		seen = start
		q.Set("startIndex", strconv.Itoa(start))
	}
	return fmt.Errorf("openmrs: GET %s: more than %d pages", path, maxPages)
}

// nextStartIndex reads the startIndex of a page's rel=next link; more is
// false without one. A link whose startIndex is missing, negative or not
// beyond the last one followed (seen) is an error: following it could
// loop for ever.
func nextStartIndex(links []linkDTO, seen int) (start int, more bool, err error) {
	next := ""
	for _, l := range links {
		if l.Rel == "next" {
			next = l.URI
		}
	}
	if next == "" {
		return 0, false, nil
	}
	u, err := url.Parse(next)
	if err != nil {
		return 0, false, fmt.Errorf("next link %q: %w", truncate(next, 200), err)
	}
	start, err = strconv.Atoi(u.Query().Get("startIndex"))
	if err != nil || start < 0 || start <= seen {
		return 0, false, fmt.Errorf("next link %q has no usable startIndex", truncate(next, 200))
	}
	return start, true, nil
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q)+1)
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func isStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// checkUUID refuses anything that could change the request path: OpenMRS
// uuids are 36 characters of hex and dashes (older metadata uses other
// lengths, so only the characters are checked).
func checkUUID(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("openmrs: uuid %q: want 1 to 64 characters", s)
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return fmt.Errorf("openmrs: uuid %q: only letters, digits and '-' allowed", s)
		}
	}
	return nil
}
