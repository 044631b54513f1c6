package openmrstest

import (
	"fmt"
	"strings"
	"time"
)

type repKind int

const (
	repRef repKind = iota
	repDefault
	repFull
	repCustom
)

// rep is a representation: ref, default, full or custom:(...).
type rep struct {
	kind   repKind
	fields []field // custom only
}

type field struct {
	name string
	sub  rep
}

var (
	ref  = rep{kind: repRef}
	dflt = rep{kind: repDefault}
	full = rep{kind: repFull}
)

// parseRep parses the v= parameter (README §3.2).
func parseRep(v string) (rep, error) {
	switch strings.ToLower(v) {
	case "ref":
		return ref, nil
	case "default":
		return dflt, nil
	case "full":
		return full, nil
	}
	if rest, ok := strings.CutPrefix(v, "custom:"); ok {
		fs, tail, err := parseFields(rest)
		if err != nil {
			return rep{}, err
		}
		if tail != "" {
			return rep{}, fmt.Errorf("unexpected %q after custom representation", tail)
		}
		return rep{kind: repCustom, fields: fs}, nil
	}
	return rep{}, fmt.Errorf("unknown representation %q", v)
}

// parseFields parses "(a,b:(c,d),e)" and returns what follows it.
func parseFields(s string) ([]field, string, error) {
	if !strings.HasPrefix(s, "(") {
		return nil, "", fmt.Errorf("custom representation must start with '(' at %q", s)
	}
	s = s[1:]
	var fs []field
	for {
		i := strings.IndexAny(s, ",:()")
		if i < 0 {
			return nil, "", fmt.Errorf("unterminated custom representation")
		}
		name := strings.TrimSpace(s[:i])
		if name == "" || s[i] == '(' {
			return nil, "", fmt.Errorf("empty property name in custom representation")
		}
		f := field{name: name, sub: ref}
		s = s[i:]
		if s[0] == ':' {
			s = s[1:]
			switch {
			case strings.HasPrefix(s, "("):
				sub, tail, err := parseFields(s)
				if err != nil {
					return nil, "", err
				}
				f.sub = rep{kind: repCustom, fields: sub}
				s = tail
			case strings.HasPrefix(s, "ref"):
				s = s[3:]
			case strings.HasPrefix(s, "default"):
				f.sub, s = dflt, s[7:]
			case strings.HasPrefix(s, "full"):
				f.sub, s = full, s[4:]
			default:
				return nil, "", fmt.Errorf("bad representation for %s", name)
			}
		}
		fs = append(fs, f)
		if s == "" {
			return nil, "", fmt.Errorf("unterminated custom representation")
		}
		switch s[0] {
		case ',':
			s = s[1:]
		case ')':
			return fs, s[1:], nil
		default:
			return nil, "", fmt.Errorf("unexpected %q in custom representation", s[0])
		}
	}
}

// object is one resource instance ready to be rendered in any
// representation: get returns a property in the sub-representation asked.
type object struct {
	get             func(name string, sub rep) (any, bool)
	ref, def, fullF []field
}

// renderer builds representations; base is the REST root URL
// (…/openmrs/ws/rest/v1). The first unknown custom property is kept in err.
type renderer struct {
	s    *Server
	base string
	err  error
}

func (rd *renderer) render(o object, r rep) map[string]any {
	var fs []field
	switch r.kind {
	case repRef:
		fs = o.ref
	case repDefault:
		fs = o.def
	case repFull:
		fs = o.fullF
	default:
		fs = r.fields
	}
	m := make(map[string]any, len(fs))
	for _, f := range fs {
		sub := f.sub
		if f.name == "links" { // an object's links follow its own representation
			sub = r
		}
		v, ok := o.get(f.name, sub)
		if !ok {
			if rd.err == nil {
				rd.err = fmt.Errorf("unknown property %s", f.name)
			}
			continue
		}
		m[f.name] = v
	}
	return m
}

func fl(names ...string) []field {
	out := make([]field, len(names))
	for i, n := range names {
		out[i] = field{name: n, sub: ref}
	}
	return out
}

func with(fs []field, name string, sub rep) []field {
	out := append([]field(nil), fs...)
	for i := range out {
		if out[i].name == name {
			out[i].sub = sub
			return out
		}
	}
	return append(out, field{name: name, sub: sub})
}

func link(rel, uri, alias string) map[string]any {
	return map[string]any{"rel": rel, "uri": uri, "resourceAlias": alias}
}

func links(self, alias string, r rep) []any {
	if r.kind == repDefault {
		return []any{link("self", self, alias), link("full", self+"?v=full", alias)}
	}
	return []any{link("self", self, alias)}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// patient representation (PatientResource1_8; fixture patient-search-q-default.json).
func (rd *renderer) patient(p *patientRec) object {
	self := rd.base + "/patient/" + p.UUID
	base := fl("uuid", "display", "identifiers", "person", "voided", "links", "resourceVersion")
	return object{
		ref:   fl("uuid", "display", "links"),
		def:   with(base, "person", dflt),
		fullF: append(with(with(base, "person", full), "identifiers", dflt), field{name: "auditInfo"}),
		get: func(name string, sub rep) (any, bool) {
			switch name {
			case "uuid":
				return p.UUID, true
			case "display":
				d := personName(p)
				if act := p.activeIdentifiers(); len(act) > 0 {
					d = act[0].Identifier + " - " + d
				}
				return d, true
			case "identifiers":
				out := []any{}
				for _, id := range p.activeIdentifiers() {
					out = append(out, rd.render(rd.identifier(p, id), sub))
				}
				return out, true
			case "person":
				return rd.render(rd.person(p), sub), true
			case "voided":
				return p.Voided, true
			case "links":
				return links(self, "patient", sub), true
			case "resourceVersion":
				return "1.8", true
			case "auditInfo":
				return auditInfo(), true
			}
			return nil, false
		},
	}
}

func auditInfo() map[string]any {
	return map[string]any{"creator": nil, "dateCreated": "2024-01-01T00:00:00.000+0000", "changedBy": nil, "dateChanged": nil}
}

func personName(p *patientRec) string {
	var parts []string
	for _, n := range []string{p.GivenName, p.MiddleName, p.FamilyName} {
		if n != "" {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, " ")
}

func openmrsDate(d string) any {
	if d == "" {
		return nil
	}
	return d + "T00:00:00.000+0000"
}

func age(birth string) any {
	b, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return nil
	}
	now := time.Now()
	a := now.Year() - b.Year()
	if now.YearDay() < b.YearDay() {
		a--
	}
	return a
}

// person representation (PersonResource1_8, resourceVersion 1.11).
func (rd *renderer) person(p *patientRec) object {
	self := rd.base + "/person/" + p.UUID
	def := fl("uuid", "display", "gender", "age", "birthdate", "birthdateEstimated", "dead", "deathDate",
		"causeOfDeath", "preferredName", "preferredAddress", "attributes", "voided", "birthtime",
		"deathdateEstimated", "links", "resourceVersion")
	return object{
		ref: fl("uuid", "display", "links"),
		def: def,
		fullF: append(with(with(def, "preferredName", dflt), "preferredAddress", dflt),
			field{name: "names", sub: dflt}, field{name: "addresses", sub: dflt}, field{name: "auditInfo"}),
		get: func(name string, sub rep) (any, bool) {
			switch name {
			case "uuid":
				return p.UUID, true
			case "display":
				return personName(p), true
			case "gender":
				return nullable(p.Gender), true
			case "age":
				return age(p.Birthdate), true
			case "birthdate":
				return openmrsDate(p.Birthdate), true
			case "birthdateEstimated":
				return p.BirthdateEstimated, true
			case "dead", "deathdateEstimated":
				return false, true
			case "deathDate", "causeOfDeath", "birthtime":
				return nil, true
			case "preferredName":
				return rd.render(rd.name(p), sub), true
			case "names":
				return []any{rd.render(rd.name(p), sub)}, true
			case "preferredAddress":
				if p.address == nil {
					return nil, true
				}
				return rd.render(rd.address(p), sub), true
			case "addresses":
				if p.address == nil {
					return []any{}, true
				}
				return []any{rd.render(rd.address(p), sub)}, true
			case "attributes":
				return []any{}, true
			case "voided":
				return p.Voided, true
			case "links":
				return links(self, "person", sub), true
			case "resourceVersion":
				return "1.11", true
			case "auditInfo":
				return auditInfo(), true
			}
			return nil, false
		},
	}
}

func (rd *renderer) name(p *patientRec) object {
	self := rd.base + "/person/" + p.UUID + "/name/" + p.nameUUID
	def := fl("display", "uuid", "givenName", "middleName", "familyName", "familyName2", "voided", "links", "resourceVersion")
	return object{
		ref: fl("uuid", "display", "links"), def: def, fullF: def,
		get: func(name string, sub rep) (any, bool) {
			switch name {
			case "uuid":
				return p.nameUUID, true
			case "display":
				return personName(p), true
			case "givenName":
				return nullable(p.GivenName), true
			case "middleName":
				return nullable(p.MiddleName), true
			case "familyName":
				return nullable(p.FamilyName), true
			case "familyName2":
				return nil, true
			case "preferred":
				return true, true
			case "voided":
				return false, true
			case "links":
				return links(self, "name", sub), true
			case "resourceVersion":
				return "1.8", true
			}
			return nil, false
		},
	}
}

func (rd *renderer) address(p *patientRec) object {
	self := rd.base + "/person/" + p.UUID + "/address/" + p.addrUUID
	keys := []string{"address1", "address2", "cityVillage", "stateProvince", "country", "postalCode", "countyDistrict"}
	def := append(fl("display", "uuid", "preferred"), fl(keys...)...)
	def = append(def, fl("voided", "links", "resourceVersion")...)
	return object{
		ref: fl("uuid", "display", "links"), def: def, fullF: def,
		get: func(name string, sub rep) (any, bool) {
			switch name {
			case "uuid":
				return p.addrUUID, true
			case "display":
				return nullable(p.address["address1"]), true
			case "preferred":
				return true, true
			case "voided":
				return false, true
			case "links":
				return links(self, "address", sub), true
			case "resourceVersion":
				return "2.0", true
			}
			for _, k := range keys {
				if k == name {
					return nullable(p.address[k]), true
				}
			}
			return nil, false
		},
	}
}

// identifier representation (PatientIdentifierResource1_8; fixture
// patient-identifier-list.json).
func (rd *renderer) identifier(p *patientRec, id *Identifier) object {
	self := rd.base + "/patient/" + p.UUID + "/identifier/" + id.UUID
	def := fl("display", "uuid", "identifier", "identifierType", "location", "preferred", "voided", "links", "resourceVersion")
	return object{
		ref:   fl("uuid", "display", "links"),
		def:   def,
		fullF: append(def, field{name: "auditInfo"}),
		get: func(name string, sub rep) (any, bool) {
			switch name {
			case "uuid":
				return id.UUID, true
			case "display":
				tn := ""
				if t := rd.s.typeByID[id.TypeUUID]; t != nil {
					tn = t.Name
				}
				return tn + " = " + id.Identifier, true
			case "identifier":
				return id.Identifier, true
			case "identifierType":
				t := rd.s.typeByID[id.TypeUUID]
				if t == nil {
					return nil, true
				}
				return rd.render(rd.idType(t), sub), true
			case "location":
				l := rd.s.locByID[id.LocationUUID]
				if l == nil {
					return nil, true
				}
				return rd.render(rd.location(l), sub), true
			case "preferred":
				return id.Preferred, true
			case "voided":
				return id.Voided, true
			case "links":
				return links(self, "identifier", sub), true
			case "resourceVersion":
				return "1.8", true
			case "auditInfo":
				return auditInfo(), true
			}
			return nil, false
		},
	}
}

const stockTypeDescription = "OpenMRS patient identifier, with check-digit"

// idType representation (PatientIdentifierTypeResource2_0; fixture
// patientidentifiertype-list.json).
func (rd *renderer) idType(t *IdentifierType) object {
	self := rd.base + "/patientidentifiertype/" + t.UUID
	def := fl("uuid", "display", "name", "description", "format", "formatDescription", "required", "validator",
		"locationBehavior", "uniquenessBehavior", "retired", "links", "resourceVersion")
	return object{
		ref: fl("uuid", "display", "links"), def: def, fullF: append(def, field{name: "auditInfo"}),
		get: func(name string, sub rep) (any, bool) {
			switch name {
			case "uuid":
				return t.UUID, true
			case "display", "name":
				return t.Name, true
			case "description":
				if t.UUID == StockIdentifierTypeUUID {
					return stockTypeDescription, true
				}
				return nil, true
			case "format":
				return nullable(t.Format), true
			case "formatDescription":
				return nil, true
			case "required":
				return t.Required, true
			case "validator":
				return nullable(t.Validator), true
			case "locationBehavior":
				return nullable(t.LocationBehavior), true
			case "uniquenessBehavior":
				return nullable(t.UniquenessBehavior), true
			case "retired":
				return false, true
			case "links":
				return links(self, "patientidentifiertype", sub), true
			case "resourceVersion":
				return "2.0", true
			case "auditInfo":
				return auditInfo(), true
			}
			return nil, false
		},
	}
}

// location representation (LocationResource2_0; fixture location-search-q-default.json).
func (rd *renderer) location(l *Location) object {
	self := rd.base + "/location/" + l.UUID
	def := fl("uuid", "display", "name", "description", "address1", "address2", "cityVillage", "stateProvince",
		"country", "postalCode", "latitude", "longitude", "countyDistrict", "tags", "parentLocation",
		"childLocations", "retired", "attributes", "links", "resourceVersion")
	return object{
		ref: fl("uuid", "display", "links"), def: def, fullF: append(def, field{name: "auditInfo"}),
		get: func(name string, sub rep) (any, bool) {
			switch name {
			case "uuid":
				return l.UUID, true
			case "display", "name":
				return l.Name, true
			case "description", "address1", "address2", "cityVillage", "stateProvince", "country", "postalCode",
				"latitude", "longitude", "countyDistrict", "parentLocation":
				return nil, true
			case "tags", "childLocations", "attributes":
				return []any{}, true
			case "retired":
				return false, true
			case "links":
				return links(self, "location", sub), true
			case "resourceVersion":
				return "2.0", true
			case "auditInfo":
				return auditInfo(), true
			}
			return nil, false
		},
	}
}
