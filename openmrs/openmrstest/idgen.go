package openmrstest

import (
	"fmt"
	"strings"
)

// source is a sequential identifier generator with its state.
type source struct {
	IdentifierSource
	next     int64 // next seed (idgen_seq_id_gen.next_sequence_value)
	reserved map[string]bool
}

func newSource(c IdentifierSource) *source {
	src := &source{IdentifierSource: c, reserved: map[string]bool{}}
	src.next = fromBase(c.FirstIdentifierBase, c.BaseCharacterSet)
	for _, r := range c.Reserved {
		src.reserved[r] = true
	}
	return src
}

// fromBase is IdgenUtil.convertFromBase.
func fromBase(s, charset string) int64 {
	var n int64
	for _, c := range s {
		n = n*int64(len(charset)) + int64(strings.IndexRune(charset, c))
	}
	return n
}

// toBase is IdgenUtil.convertToBase, left-padded to padTo with charset[0].
func toBase(n int64, charset string, padTo int) string {
	b := int64(len(charset))
	var out []byte
	for n > 0 {
		out = append([]byte{charset[n%b]}, out...)
		n /= b
	}
	for len(out) < padTo {
		out = append([]byte{charset[0]}, out...)
	}
	return string(out)
}

// generate issues n identifiers (SequentialIdentifierGenerator): prefix +
// base, then the type's validator's check character, skipping reserved
// values only — never looking at existing patients (README §0 fact 2).
// Callers hold s.mu.
func (s *Server) generate(src *source, n int) ([]string, *apiError) {
	if len(src.BaseCharacterSet) < 2 {
		return nil, errServer("Invalid configuration for IdentifierSource: base character set")
	}
	var v *validator
	if t := s.typeByID[src.IdentifierTypeUUID]; t != nil {
		if vv, ok := validators[t.Validator]; ok {
			v = &vv
		}
	}
	var out []string
	seed := src.next
	for len(out) < n {
		id := src.Prefix + toBase(seed, src.BaseCharacterSet, len(src.FirstIdentifierBase))
		seed++
		if v != nil {
			g, err := v.generate(id)
			if err != nil {
				return nil, errServer("Error generating check digit with " + s.typeByID[src.IdentifierTypeUUID].Validator)
			}
			id = g
		}
		if src.MinLength > 0 && len(id) < src.MinLength || src.MaxLength > 0 && len(id) > src.MaxLength {
			return nil, errServer(fmt.Sprintf("Invalid configuration for IdentifierSource. Length minimum set to %d and maximum set to %d, but generated %s",
				src.MinLength, src.MaxLength, id))
		}
		if src.reserved[id] {
			continue
		}
		out = append(out, id)
	}
	src.next = seed
	return out, nil
}

// sourceObject is the SequentialIdentifierGenerator representation
// (fixture idgen-identifiersource-list.json).
func (rd *renderer) source(src *source) object {
	self := rd.base + "/idgen/identifiersource/" + src.UUID
	def := fl("uuid", "name", "description", "baseCharacterSet", "prefix", "suffix", "firstIdentifierBase",
		"minLength", "maxLength", "identifierType", "links", "type", "resourceVersion")
	def = with(def, "identifierType", dflt)
	return object{
		ref:   fl("uuid", "display", "links", "type"),
		def:   def,
		fullF: append(def, field{name: "nextSequenceValue"}, field{name: "reservedIdentifiers"}),
		get: func(name string, sub rep) (any, bool) {
			switch name {
			case "uuid":
				return src.UUID, true
			case "name", "display":
				return src.Name, true
			case "description", "suffix":
				return nil, true
			case "baseCharacterSet":
				return src.BaseCharacterSet, true
			case "prefix":
				return nullable(src.Prefix), true
			case "firstIdentifierBase":
				return src.FirstIdentifierBase, true
			case "minLength":
				if src.MinLength == 0 {
					return nil, true
				}
				return src.MinLength, true
			case "maxLength":
				if src.MaxLength == 0 {
					return nil, true
				}
				return src.MaxLength, true
			case "identifierType":
				t := rd.s.typeByID[src.IdentifierTypeUUID]
				if t == nil {
					return nil, true
				}
				return rd.render(rd.idType(t), sub), true
			case "links":
				return []any{link("self", self, "identifiersource")}, true
			case "type":
				return "sequentialidentifiergenerator", true
			case "resourceVersion":
				return "1.8", true
			case "nextSequenceValue":
				return src.next, true
			case "reservedIdentifiers":
				return sortedKeys(src.reserved), true
			}
			return nil, false
		},
	}
}
