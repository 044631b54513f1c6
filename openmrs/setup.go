package openmrs

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// validatorSchemes maps an identifier type's validator class to the
// barcode scheme that computes the same check character. Every pair is
// proven on OpenMRS's own vectors in barcode/testdata/check-digit-vectors.json.
var validatorSchemes = map[string]string{
	"org.openmrs.module.idgen.validator.LuhnMod30IdentifierValidator": "luhn-mod-30",
	"org.openmrs.module.idgen.validator.LuhnMod25IdentifierValidator": "luhn-mod-25",
	"org.openmrs.module.idgen.validator.LuhnMod10IdentifierValidator": "luhn",
	"org.openmrs.patient.impl.LuhnIdentifierValidator":                "openmrs-luhn",
	"org.openmrs.patient.impl.VerhoeffIdentifierValidator":            "openmrs-verhoeff",
}

// SchemeForValidator returns the check scheme matching an OpenMRS
// validator class; ok is false for a class idcards does not know.
func SchemeForValidator(class string) (scheme string, ok bool) {
	scheme, ok = validatorSchemes[strings.TrimSpace(class)]
	return scheme, ok
}

// Setup is what `idcards sync configure` checks against the server.
type Setup struct {
	IdentifierType string
	Location       string
	IdgenSource    string
	// Formats are the registry's series (prefix, width, scheme): every one
	// must produce identifiers OpenMRS accepts under IdentifierType.
	Formats []idcards.Format
	// Pool means new MRNs will come from IdgenSource, not the series:
	// idgen's namespace is then ours, not a risk to warn about.
	Pool bool
}

// SetupReport is what the server told us.
type SetupReport struct {
	Session        Session
	IdentifierType IdentifierType
	Location       Location
	Source         *IdentifierSource
	Warnings       []string
}

// CheckSetup refuses a configuration OpenMRS would reject or that would
// let numbers collide: wrong credentials, an identifier type whose
// validator computes a different check character than our scheme, a
// format regex our MRNs do not match, a missing location where the type
// needs one, an idgen source for another type. Softer risks (no validator
// at all, an idgen source issuing in our namespace) come back as warnings.
func CheckSetup(ctx context.Context, c *Client, s Setup) (SetupReport, error) {
	var rep SetupReport
	var err error
	if rep.Session, err = c.Session(ctx); err != nil {
		return rep, err
	}
	if rep.IdentifierType, err = c.IdentifierType(ctx, s.IdentifierType); err != nil {
		// Tell "no such type" from a call that failed for another reason
		// (a proxy, a privilege, a representation this server refuses):
		// the list `sync types` shows is the judge.
		types, lerr := c.IdentifierTypes(ctx)
		if lerr != nil {
			return rep, fmt.Errorf("openmrs: read identifier type %s: %w", s.IdentifierType, err)
		}
		found := false
		for _, t := range types {
			if strings.EqualFold(t.UUID, strings.TrimSpace(s.IdentifierType)) {
				rep.IdentifierType, found = t, true
			}
		}
		if !found {
			return rep, idcards.Errorf(idcards.NotFound, "OpenMRS has no patient identifier type %s (list them with `idcards sync types`)", s.IdentifierType)
		}
		if rep.IdentifierType.Validator == "" && !isStatus(err, 404) {
			// The list may leave out the validator: without it nothing can be checked.
			return rep, fmt.Errorf("openmrs: identifier type %s is listed, but reading it failed: %w", s.IdentifierType, err)
		}
	}
	t := rep.IdentifierType
	if t.Retired {
		return rep, idcards.Errorf(idcards.Invalid, "identifier type %q (%s) is retired in OpenMRS", t.Name, t.UUID)
	}
	var format *regexp.Regexp
	if t.Format != "" {
		// OpenMRS tests identifier.matches(format): the whole string.
		if format, err = regexp.Compile(`^(?:` + t.Format + `)$`); err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("identifier type %q has format %q, which idcards cannot check (%v); OpenMRS will", t.Name, t.Format, err))
		}
	}
	for _, f := range s.Formats {
		if t.Validator == "" {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("identifier type %q has no validator: OpenMRS will accept any check character, so only idcards checks them", t.Name))
		} else {
			want, ok := SchemeForValidator(t.Validator)
			if !ok {
				return rep, idcards.Errorf(idcards.Invalid, "identifier type %q uses validator %s, which idcards does not know; choose a type whose validator matches scheme %s",
					t.Name, t.Validator, f.Scheme)
			}
			if want != f.Scheme {
				return rep, idcards.Errorf(idcards.Invalid, "scheme mismatch: identifier type %q validates with %s (scheme %s) but this registry's series %q uses %s; every MRN would be refused (\"Invalid check digit\"). Choose a type with a matching validator, or `idcards series add` a series with scheme %s",
					t.Name, shortClass(t.Validator), want, f.Prefix, f.Scheme, want)
			}
		}
		codec, err := barcode.NewCodec(f)
		if err != nil {
			return rep, err
		}
		sample, err := codec.Make(1)
		if err != nil {
			return rep, err
		}
		if format != nil && !format.MatchString(sample) {
			return rep, idcards.Errorf(idcards.Invalid, "identifier type %q demands format %q (%s); this registry's MRNs look like %s and would be refused",
				t.Name, t.Format, t.FormatDescription, sample)
		}
	}
	if t.LocationRequired() && s.Location == "" {
		return rep, idcards.Errorf(idcards.Invalid, "identifier type %q needs a location on every identifier: give --location (list them with `idcards sync locations`)", t.Name)
	}
	if s.Location != "" {
		if rep.Location, err = c.Location(ctx, s.Location); err != nil {
			if isStatus(err, 404) {
				return rep, idcards.Errorf(idcards.NotFound, "OpenMRS has no location %s (list them with `idcards sync locations`)", s.Location)
			}
			return rep, err
		}
		if rep.Location.Retired {
			return rep, idcards.Errorf(idcards.Invalid, "location %q is retired in OpenMRS", rep.Location.Name)
		}
	}
	if s.IdgenSource != "" {
		srcs, err := c.IdentifierSources(ctx)
		if err != nil {
			return rep, err
		}
		for i := range srcs {
			if srcs[i].UUID == s.IdgenSource {
				rep.Source = &srcs[i]
			}
		}
		if rep.Source == nil {
			return rep, idcards.Errorf(idcards.NotFound, "OpenMRS has no idgen identifier source %s", s.IdgenSource)
		}
		if rep.Source.IdentifierTypeUUID != "" && rep.Source.IdentifierTypeUUID != t.UUID {
			return rep, idcards.Errorf(idcards.Invalid, "idgen source %q issues identifiers of another type (%s), not %q", rep.Source.Name, rep.Source.IdentifierTypeUUID, t.Name)
		}
		for _, f := range s.Formats {
			if s.Pool {
				break
			}
			if strings.HasPrefix(rep.Source.Prefix, f.Prefix) || strings.HasPrefix(f.Prefix, rep.Source.Prefix) {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("idgen source %q (prefix %q) issues numbers in the same namespace as series %q: idgen never looks at existing patients, so the two can collide. Sync pulls OpenMRS's numbers so idcards skips them, but give the desk its own prefix if you can",
					rep.Source.Name, rep.Source.Prefix, f.Prefix))
			}
		}
	}
	return rep, nil
}

func shortClass(c string) string {
	if i := strings.LastIndex(c, "."); i >= 0 {
		return c[i+1:]
	}
	return c
}
