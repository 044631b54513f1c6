package openmrs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrNoFHIR means the server has no FHIR2 module (its /ws/fhir2/R4 answers
// 404 or is not FHIR): incremental pulls are not possible there.
var ErrNoFHIR = errors.New("openmrs: the FHIR2 module is not installed (no /ws/fhir2/R4)")

// fhirBundleDTO: GET /ws/fhir2/R4/Patient?… (HAPI FHIR searchset Bundle,
// testdata/fhir-patient-search-bundle.json). Only what a pull needs.
type fhirBundleDTO struct {
	ResourceType string `json:"resourceType"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		Resource fhirPatientDTO `json:"resource"`
	} `json:"entry"`
}

// fhirPatientDTO is a FHIR2 Patient (PatientTranslatorImpl): the id is
// the OpenMRS patient uuid; identifier[].type.coding[].code is the
// identifier type's uuid; only active (non-voided) identifiers appear.
type fhirPatientDTO struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	Active     *bool `json:"active"`
	Identifier []struct {
		Value string `json:"value"`
		Type  *struct {
			Coding []struct {
				System string `json:"system"`
				Code   string `json:"code"`
			} `json:"coding"`
		} `json:"type"`
	} `json:"identifier"`
}

// FHIRPageSize is the _count asked for: FHIR2's maximum page size (GP
// fhir2.paging.maximum, default 100).
const FHIRPageSize = 100

// ChangedIdentifiers streams the identifiers of identifier type typeUUID
// held by patients that changed after since, by the server's clock
// (FHIR2 GET /ws/fhir2/R4/Patient?_lastUpdated=gt…&_count=100, following
// the Bundle's link relation=next). fn gets one page's identifiers at a
// time. It returns the number of pages read; ErrNoFHIR (wrapped) when the
// server has no FHIR2.
//
// FHIR2 leaves voided patients out, and a change to an identifier alone
// may not move its patient's lastUpdated: a periodic full pull is the
// safety net.
func (c *Client) ChangedIdentifiers(ctx context.Context, typeUUID string, since time.Time, fn func([]IdentifierRecord) error) (int, error) {
	q := url.Values{"_lastUpdated": {"gt" + since.UTC().Format("2006-01-02T15:04:05Z")}, "_count": {strconv.Itoa(FHIRPageSize)}}
	path := fhirPrefix + "/Patient"
	read := 0
	seen := map[string]bool{}
	var batch []IdentifierRecord
	for read < maxPages {
		var b fhirBundleDTO
		err := c.do(ctx, request{method: http.MethodGet, path: path, query: q}, &b)
		if read == 0 && (isStatus(err, http.StatusNotFound) || errors.Is(err, ErrNotREST)) {
			return 0, fmt.Errorf("%w on %s: %w", ErrNoFHIR, c.root, err)
		}
		if err != nil {
			return read, err
		}
		if b.ResourceType != "Bundle" {
			if read == 0 {
				return 0, fmt.Errorf("%w on %s: GET %s answered a %q, not a Bundle", ErrNoFHIR, c.root, path, b.ResourceType)
			}
			return read, fmt.Errorf("openmrs: GET %s: answered a %q, not a FHIR Bundle", path, b.ResourceType)
		}
		read++
		batch = identifiersFromBundle(batch[:0], &b, typeUUID)
		if err := fn(batch); err != nil {
			return read, err
		}
		next := ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		if next == "" || len(b.Entry) == 0 {
			return read, nil
		}
		np, nq, err := fhirNext(next)
		if err != nil {
			return read, fmt.Errorf("openmrs: GET %s: %w", path, err)
		}
		key := np + "?" + nq.Encode()
		if seen[key] {
			return read, fmt.Errorf("openmrs: GET %s: next link %q repeats a page", path, truncate(next, 200))
		}
		seen[key] = true
		path, q = np, nq
	}
	return read, fmt.Errorf("openmrs: GET %s: more than %d pages", fhirPrefix+"/Patient", maxPages)
}

// fhirNext turns a Bundle's next link into a path below the web app root
// and its query. Only the part from /ws/fhir2/R4 on is used: the link's
// host is whatever the server thinks it is called (behind a proxy often
// not the address we reached it by).
func fhirNext(link string) (string, url.Values, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", nil, fmt.Errorf("next link %q: %w", truncate(link, 200), err)
	}
	i := strings.Index(u.Path, fhirPrefix)
	if i < 0 {
		return "", nil, fmt.Errorf("next link %q is not below %s", truncate(link, 200), fhirPrefix)
	}
	rest := u.Path[i:]
	if rest != fhirPrefix && rest != fhirPrefix+"/" && rest != fhirPrefix+"/Patient" {
		return "", nil, fmt.Errorf("next link %q leaves the Patient search", truncate(link, 200))
	}
	return strings.TrimSuffix(rest, "/"), u.Query(), nil
}

// identifiersFromBundle appends the identifiers of type typeUUID of the
// Bundle's active patients to out.
func identifiersFromBundle(out []IdentifierRecord, b *fhirBundleDTO, typeUUID string) []IdentifierRecord {
	for _, e := range b.Entry {
		p := e.Resource
		if p.ResourceType != "Patient" || p.ID == "" || (p.Active != nil && !*p.Active) {
			continue
		}
		for _, id := range p.Identifier {
			if id.Value == "" || id.Type == nil {
				continue
			}
			for _, cd := range id.Type.Coding {
				if cd.Code == typeUUID {
					out = append(out, IdentifierRecord{Identifier: id.Value, PatientUUID: p.ID})
					break
				}
			}
		}
	}
	return out
}
