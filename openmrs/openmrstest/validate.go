package openmrstest

import (
	"errors"
	"regexp"
	"strings"

	"github.com/idcards/idcards/barcode"
)

// validator is one of the check-digit validators OpenMRS knows
// (README §1.5), computed with package barcode's schemes.
type validator struct {
	name   string // getName(), used in "not appropriate for validation scheme {1}"
	scheme string // barcode scheme name
	hyphen bool   // core validators: BASE-C
}

var validators = map[string]validator{
	ValidatorLuhnMod30:   {"Luhn Mod-30 Check-Digit Validator", "luhn-mod-30", false},
	ValidatorLuhnMod25:   {"Luhn Mod-25 Check-Digit Validator", "luhn-mod-25", false},
	ValidatorLuhnMod10:   {"Luhn Mod-10 Check-Digit Validator", "luhn", false},
	ValidatorCoreLuhn:    {"Luhn CheckDigit Validator", "openmrs-luhn", true},
	ValidatorCoreVerhoef: {"Verhoeff Check Digit Validator.", "openmrs-verhoeff", true},
}

var errUnallowed = errors.New("unallowed identifier")

// valid reports whether id passes the validator: (true, nil), (false, nil)
// for a wrong check character, or errUnallowed when the validator would
// throw UnallowedIdentifierException.
func (v validator) valid(id string) (bool, error) {
	sc, err := barcode.Lookup(v.scheme)
	if err != nil {
		return false, err
	}
	id = strings.ToUpper(strings.TrimSpace(id))
	var payload, check string
	if v.hyphen {
		p, c, ok := strings.Cut(id, "-")
		if !ok || p == "" || len(c) != 1 {
			return false, errUnallowed
		}
		payload, check = p, c
		if v.scheme == "openmrs-verhoeff" {
			if c < "A" || c > "J" {
				return false, errUnallowed
			}
		} else if !(c >= "0" && c <= "9" || c >= "A" && c <= "J") {
			return false, errUnallowed
		}
	} else {
		if len(id) < 2 {
			return false, errUnallowed
		}
		payload, check = id[:len(id)-1], id[len(id)-1:]
	}
	want, err := sc.Check(payload)
	if err != nil {
		return false, errUnallowed
	}
	if v.hyphen && v.scheme == "openmrs-luhn" && check >= "A" && check <= "J" {
		check = string(rune('0' + check[0] - 'A'))
	}
	return want == check, nil
}

// generate returns base with its check character(s), as getValidIdentifier does.
func (v validator) generate(base string) (string, error) {
	sc, err := barcode.Lookup(v.scheme)
	if err != nil {
		return "", err
	}
	return barcode.Generate(sc, strings.ToUpper(strings.TrimSpace(base)))
}

// checkIdentifier runs PatientIdentifierValidator.validateIdentifier on one
// identifier of patient owner (nil for a new patient): format, check digit,
// location, uniqueness, in that order (README §3.5). It returns the
// message, or "" when the identifier is acceptable. Callers hold s.mu.
func (s *Server) checkIdentifier(id Identifier, owner *patientRec, siblings []Identifier) string {
	t := s.typeByID[id.TypeUUID]
	if t == nil {
		return "Identifier type cannot be null for " + id.Identifier
	}
	if strings.TrimSpace(id.Identifier) == "" {
		return "Identifier cannot be null or blank"
	}
	if t.Format != "" {
		re, err := regexp.Compile(`^(?:` + t.Format + `)$`)
		if err == nil && !re.MatchString(id.Identifier) {
			return `Identifier "` + id.Identifier + `" does not match : "` + t.Format + `"`
		}
	}
	if v, ok := validators[t.Validator]; ok {
		good, err := v.valid(id.Identifier)
		if err != nil {
			return "Identifier " + id.Identifier + " is not appropriate for validation scheme " + v.name
		}
		if !good {
			return "Invalid check digit for identifier: " + id.Identifier
		}
	}
	if id.LocationUUID == "" && t.LocationBehavior != "NOT_USED" {
		return "Identifier Location cannot be null for " + id.Identifier
	}
	if t.UniquenessBehavior != "NON_UNIQUE" {
		for _, r := range s.byValue[id.Identifier] {
			if r == owner || r.Voided {
				continue
			}
			for _, o := range r.Identifiers {
				if o.Voided || o.Identifier != id.Identifier || o.TypeUUID != id.TypeUUID {
					continue
				}
				if t.UniquenessBehavior == "LOCATION" && o.LocationUUID != id.LocationUUID {
					continue
				}
				return "Identifier " + id.Identifier + " already in use by another patient"
			}
		}
		for _, o := range siblings {
			if o.UUID != id.UUID && !o.Voided && o.Identifier == id.Identifier && o.TypeUUID == id.TypeUUID {
				return "Identifier " + id.Identifier + " already in use by this patient"
			}
		}
	}
	return ""
}
