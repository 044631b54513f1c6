package scanapi

import "github.com/idcards/idcards/registry"

// capabilityDate is when capabilityStatement last changed.
const capabilityDate = "2026-12-01"

// capabilityStatement names exactly what /fhir/ does (docs/fhir.md):
// Patient read and search (the PDQm ITI-78 parameters listed), and the
// PIXm ITI-83 $ihe-pix operation; JSON only.
func capabilityStatement(base, sys string) CapabilityStatement {
	sp := func(name, typ, def, doc string) CSSearchParam {
		return CSSearchParam{Name: name, Type: typ, Definition: def, Documentation: doc}
	}
	return CapabilityStatement{
		ResourceType: "CapabilityStatement",
		Status:       "active",
		Date:         capabilityDate,
		Publisher:    "idcards",
		Kind:         "instance",
		Software:     &CSSoftware{Name: "idcards serve"},
		Implementation: &CSImpl{
			Description: "idcards patient registry: PDQm Patient Demographics Supplier (ITI-78, JSON, subset) and PIXm Patient Identifier Cross-reference Manager (ITI-83 query only). MRNs carry the system " + sys + "; OpenMRS patient UUIDs " + registry.OpenMRSSystem + " with urn:uuid: values.",
			URL:         base,
		},
		FHIRVersion: "4.0.1",
		Format:      []string{"application/fhir+json", "json"},
		Rest: []CSRest{{
			Mode:          "server",
			Documentation: "Every request but this one needs Authorization: Bearer TOKEN (idcards tokens add). Patient names, gender, birth dates, phones and villages are shown only to tokens with the read:patient scope; other tokens see identifiers, active and links.",
			Security: &CSSecurity{
				Service:     []CodeableConcept{{Text: "Bearer token (static, from idcards tokens add; not issued by OAuth or SMART)"}},
				Description: "Bearer tokens with scope verify (identifiers only) or read:patient (also demographics). Rate-limited per token and per client address (HTTP 429 with Retry-After). TLS 1.2+ unless on loopback or behind a TLS proxy.",
			},
			Resource: []CSResource{{
				Type:          "Patient",
				Documentation: "id is the patient's UUID (stable). Voided MRNs are not found; a replaced card does not change its MRN. A record merged into another is returned with active false and a replaced-by link.",
				Interaction: []CSInteraction{
					{Code: "read"},
					{Code: "search-type", Documentation: "GET [base]/Patient?… or POST [base]/Patient/_search (form-encoded). Unknown parameters are ignored (listed in an OperationOutcome entry) unless Prefer: handling=strict. At most 100 matches are ranked; _count (default 20, at most 100) and the next/previous links page through them."},
				},
				SearchParam: []CSSearchParam{
					sp("identifier", "token", "http://hl7.org/fhir/SearchParameter/Patient-identifier", "SYSTEM|VALUE with SYSTEM "+sys+" (MRN, check character verified) or "+registry.OpenMRSSystem+" (urn:uuid:UUID); a bare VALUE is taken as an MRN. Repeats AND, commas OR. SYSTEM| alone limits which identifiers are returned."),
					sp("_id", "token", "http://hl7.org/fhir/SearchParameter/Resource-id", "The patient's UUID."),
					sp("family", "string", "http://hl7.org/fhir/SearchParameter/individual-family", "Needs read:patient. Matched as the registration desk's duplicate check matches names (phonetic, spelling variants, swapped names); :exact for an exact match. One value."),
					sp("given", "string", "http://hl7.org/fhir/SearchParameter/individual-given", "As family."),
					sp("birthdate", "date", "http://hl7.org/fhir/SearchParameter/individual-birthdate", "Needs read:patient. YYYY, YYYY-MM or YYYY-MM-DD. With family or given, an eq date is weighed by the duplicate check (near dates still match, scored lower); ne, gt, lt, ge and le filter exactly."),
					sp("gender", "token", "http://hl7.org/fhir/SearchParameter/individual-gender", "Needs read:patient. male, female, other or unknown; weighed by the duplicate check with family or given."),
					sp("active", "token", "http://hl7.org/fhir/SearchParameter/Patient-active", "false: records merged into another."),
				},
				Operation: []CSOperation{{
					Name:          "ihe-pix",
					Definition:    "https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix",
					Documentation: "GET [base]/Patient/$ihe-pix?sourceIdentifier=SYSTEM|VALUE[&targetSystem=URI]: the patient's other MRNs, OpenMRS UUID and Patient reference as Parameters. SYSTEM may also be [base] with VALUE Patient/{id}.",
				}},
			}},
		}},
	}
}
