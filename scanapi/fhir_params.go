package scanapi

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// The FHIR search-parameter parser for GET /fhir/Patient (and POST
// /fhir/Patient/_search): outside input, so it is pure, bounded and
// fuzzed (FuzzParseSearch). FHIR's rules (http://hl7.org/fhir/R4/search.html):
// repeated parameters are ANDed, comma-separated values ORed, and "\,",
// "\|", "\$", "\\" escape those characters inside a value.

// Limits on a search. maxMatches bounds the candidates a demographic search
// ranks (and so paging: _offset + _count ≤ maxMatches).
const (
	defaultCount = 20
	maxCount     = 100
	maxMatches   = 100
	maxValues    = 10  // values of one parameter (repeats and OR lists together)
	maxValueLen  = 256 // bytes of one value
	maxQueryLen  = 4096
)

// token is one value of a token parameter: [system|]value.
type token struct {
	System    string
	HasSystem bool // "system|value" or "|value"; false for a bare "value"
	Value     string
}

func (t token) String() string {
	if !t.HasSystem {
		return escapeValue(t.Value)
	}
	return escapeValue(t.System) + "|" + escapeValue(t.Value)
}

// nameParam is family or given: matched as the desk matches names, or
// exactly (:exact, case and accents included).
type nameParam struct {
	Value string
	Exact bool
}

// dateParam is one birthdate value: a prefix and the interval [Lo, Hi] of
// days its precision covers (YYYY, YYYY-MM or YYYY-MM-DD), as YYYY-MM-DD
// text, so that string order is date order.
type dateParam struct {
	Prefix string // eq, ne, gt, lt, ge, le
	Lo, Hi string
	Raw    string // the date as given
}

// searchQuery is a parsed Patient search.
type searchQuery struct {
	Identifiers [][]token // AND of OR lists of identifier values
	Domains     []string  // identifier=SYSTEM| : the identifier systems to return
	IDs         [][]string
	Family      *nameParam
	Given       *nameParam
	Birthdate   []dateParam
	Gender      idcards.Sex // "" when not given
	Active      *bool
	Count       int
	Offset      int
	// Used is the honoured parameters in canonical form (for the Bundle's
	// self link, which FHIR uses to say what was searched on); Ignored the
	// names of parameters that were not.
	Used    url.Values
	Ignored []string
}

// Demographic reports whether the search asks about who the person is
// (needs a read:patient token).
func (q *searchQuery) Demographic() bool {
	return q.Family != nil || q.Given != nil || len(q.Birthdate) > 0 || q.Gender != ""
}

// paramError is a search the server refuses, with the HTTP status and the
// OperationOutcome issue code to answer with.
type paramError struct {
	Status int
	Code   string
	Msg    string
	Param  string
}

func (e *paramError) Error() string { return e.Msg }

func badParam(param, code, format string, args ...any) *paramError {
	return &paramError{Status: http.StatusBadRequest, Code: code, Msg: fmt.Sprintf(format, args...), Param: param}
}

// ignoredParams are FHIR result parameters a client may send that change
// nothing here; they are accepted silently.
var ignoredParams = map[string]bool{"_format": true, "_pretty": true}

// parseSearch parses Patient search parameters. With strict (the client
// sent Prefer: handling=strict), an unknown parameter is an error;
// otherwise it is ignored (and left out of Used), as FHIR and PDQm say.
func parseSearch(vals url.Values, strict bool) (searchQuery, *paramError) {
	q := searchQuery{Count: defaultCount, Used: url.Values{}}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names) // deterministic errors and links
	for _, key := range names {
		raw := vals[key]
		name, mod, _ := strings.Cut(key, ":")
		if len(raw) > maxValues {
			return q, badParam(key, "too-costly", "parameter %s given %d times; at most %d", key, len(raw), maxValues)
		}
		for _, v := range raw {
			if len(v) > maxValueLen {
				return q, badParam(key, "too-long", "parameter %s: value over %d bytes", key, maxValueLen)
			}
		}
		if ignoredParams[name] {
			continue
		}
		supportsExact := name == "family" || name == "given"
		if mod != "" && !(supportsExact && mod == "exact") {
			if _, known := knownSearchParams[name]; known {
				return q, &paramError{Status: http.StatusBadRequest, Code: "not-supported", Param: key,
					Msg: fmt.Sprintf("modifier :%s is not supported on %s (only family:exact and given:exact)", mod, name)}
			}
		}
		var err *paramError
		switch name {
		case "identifier":
			err = q.parseIdentifiers(key, raw)
		case "_id":
			for _, v := range raw {
				ids := splitUnescaped(v, ',')
				if len(ids) > maxValues {
					return q, badParam(key, "too-costly", "_id: at most %d values", maxValues)
				}
				for i := range ids {
					ids[i] = unescapeValue(ids[i])
					if !validID(ids[i]) {
						return q, badParam(key, "value", "_id %q is not a FHIR id", ids[i])
					}
				}
				q.IDs = append(q.IDs, ids)
			}
			q.Used[key] = raw
		case "family", "given":
			if len(raw) > 1 || len(splitUnescaped(raw[0], ',')) > 1 {
				return q, &paramError{Status: http.StatusBadRequest, Code: "not-supported", Param: key,
					Msg: fmt.Sprintf("%s: one value per search (no repeats or comma lists)", name)}
			}
			v := strings.TrimSpace(unescapeValue(raw[0]))
			if v == "" {
				return q, badParam(key, "value", "%s is empty", name)
			}
			p := &nameParam{Value: v, Exact: mod == "exact"}
			if name == "family" {
				if q.Family != nil {
					return q, &paramError{Status: http.StatusBadRequest, Code: "not-supported", Param: key, Msg: "family given twice (with and without :exact)"}
				}
				q.Family = p
			} else {
				if q.Given != nil {
					return q, &paramError{Status: http.StatusBadRequest, Code: "not-supported", Param: key, Msg: "given given twice (with and without :exact)"}
				}
				q.Given = p
			}
			q.Used[key] = raw
		case "birthdate":
			for _, v := range raw {
				if len(splitUnescaped(v, ',')) > 1 {
					return q, &paramError{Status: http.StatusBadRequest, Code: "not-supported", Param: key, Msg: "birthdate: no comma lists (repeat the parameter for a range: ge1990&birthdate=le1995)"}
				}
				d, err := parseDateParam(v)
				if err != nil {
					err.Param = key
					return q, err
				}
				q.Birthdate = append(q.Birthdate, d)
			}
			q.Used[key] = raw
		case "gender":
			if len(raw) > 1 || len(splitUnescaped(raw[0], ',')) > 1 {
				return q, &paramError{Status: http.StatusBadRequest, Code: "not-supported", Param: key, Msg: "gender: one value per search"}
			}
			t := parseToken(raw[0])
			if t.HasSystem && t.System != "" && t.System != "http://hl7.org/fhir/administrative-gender" {
				return q, badParam(key, "code-invalid", "gender system %q: use http://hl7.org/fhir/administrative-gender", t.System)
			}
			sex, ok := genderSex[t.Value]
			if !ok {
				return q, badParam(key, "code-invalid", "gender %q: use male, female, other or unknown", t.Value)
			}
			q.Gender = sex
			q.Used[key] = raw
		case "active":
			if len(raw) > 1 {
				return q, badParam(key, "not-supported", "active given twice")
			}
			switch raw[0] {
			case "true":
				q.Active = new(true)
			case "false":
				q.Active = new(false)
			default:
				return q, badParam(key, "value", "active %q: use true or false", raw[0])
			}
			q.Used[key] = raw
		case "_count", "_offset":
			if len(raw) > 1 {
				return q, badParam(key, "value", "%s given twice", name)
			}
			n, err := strconv.Atoi(raw[0])
			if err != nil || n < 0 {
				return q, badParam(key, "value", "%s %q: a whole number, 0 or more", name, raw[0])
			}
			if name == "_count" {
				q.Count = min(n, maxCount)
				q.Used[key] = []string{strconv.Itoa(q.Count)}
			} else {
				if n > maxMatches {
					return q, badParam(key, "value", "_offset %d: at most %d results are ranked", n, maxMatches)
				}
				q.Offset = n
			}
		default:
			if strict {
				return q, &paramError{Status: http.StatusBadRequest, Code: "not-supported", Param: key,
					Msg: fmt.Sprintf("search parameter %s is not supported (see /fhir/metadata)", key)}
			}
			q.Ignored = append(q.Ignored, key)
		}
		if err != nil {
			return q, err
		}
	}
	return q, nil
}

// knownSearchParams are the parameters parseSearch understands.
var knownSearchParams = map[string]struct{}{"identifier": {}, "_id": {}, "family": {}, "given": {}, "birthdate": {}, "gender": {}, "active": {}, "_count": {}, "_offset": {}}

func (q *searchQuery) parseIdentifiers(key string, raw []string) *paramError {
	for _, v := range raw {
		parts := splitUnescaped(v, ',')
		if len(parts) > maxValues {
			return badParam(key, "too-costly", "identifier: at most %d values", maxValues)
		}
		var group []token
		var domains []string
		for _, p := range parts {
			t := parseToken(p)
			switch {
			case t.HasSystem && t.System != "" && t.Value == "":
				domains = append(domains, t.System)
			case t.Value == "":
				return badParam(key, "value", "identifier %q has no value", v)
			default:
				group = append(group, t)
			}
		}
		switch {
		case len(group) > 0 && len(domains) > 0:
			return badParam(key, "not-supported", "identifier %q mixes values and domains (SYSTEM|) in one list", v)
		case len(domains) > 0:
			if q.Domains != nil {
				return badParam(key, "not-supported", "identifier: give the domains to return (SYSTEM|) in one comma list")
			}
			q.Domains = domains
		default:
			q.Identifiers = append(q.Identifiers, group)
		}
	}
	q.Used[key] = raw
	return nil
}

// parseToken splits [system|]value (the first unescaped "|") and unescapes both.
func parseToken(s string) token {
	parts := splitUnescapedN(s, '|', 2)
	if len(parts) == 1 {
		return token{Value: unescapeValue(parts[0])}
	}
	return token{System: unescapeValue(parts[0]), HasSystem: true, Value: unescapeValue(parts[1])}
}

// splitUnescaped splits s at each sep not preceded by a backslash,
// keeping the escapes (unescapeValue removes them).
func splitUnescaped(s string, sep byte) []string { return splitUnescapedN(s, sep, -1) }

func splitUnescapedN(s string, sep byte, n int) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped byte
		case sep:
			if n > 0 && len(out) == n-1 {
				return append(out, s[start:])
			}
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescapeValue undoes FHIR's \, \| \$ \\ escapes; any other backslash
// stays as it is.
func unescapeValue(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`,|$\`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escapeValue is unescapeValue's inverse, for links.
func escapeValue(s string) string {
	if !strings.ContainsAny(s, `,|$\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`,|$\`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var genderSex = map[string]idcards.Sex{"male": idcards.SexMale, "female": idcards.SexFemale, "other": idcards.SexOther, "unknown": idcards.SexUnknown}

// parseDateParam reads [prefix]YYYY[-MM[-DD]].
func parseDateParam(v string) (dateParam, *paramError) {
	d := dateParam{Prefix: "eq", Raw: v}
	if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
		d.Prefix, d.Raw = v[:2], v[2:]
		switch d.Prefix {
		case "eq", "ne", "gt", "lt", "ge", "le":
		default:
			return d, &paramError{Status: http.StatusBadRequest, Code: "not-supported", Msg: fmt.Sprintf("birthdate prefix %q: use eq, ne, gt, lt, ge or le", d.Prefix)}
		}
	}
	var layout, lo, hi string
	switch len(d.Raw) {
	case 4:
		layout, lo, hi = "2006", d.Raw+"-01-01", d.Raw+"-12-31"
	case 7:
		layout, lo, hi = "2006-01", d.Raw+"-01", d.Raw+"-31"
	case 10:
		layout, lo, hi = "2006-01-02", d.Raw, d.Raw
	default:
		return d, &paramError{Status: http.StatusBadRequest, Code: "value", Msg: fmt.Sprintf("birthdate %q: use YYYY, YYYY-MM or YYYY-MM-DD, optionally after eq, ne, gt, lt, ge or le", v)}
	}
	if _, err := time.Parse(layout, d.Raw); err != nil {
		return d, &paramError{Status: http.StatusBadRequest, Code: "value", Msg: fmt.Sprintf("birthdate %q is not a date", v)}
	}
	d.Lo, d.Hi = lo, hi
	return d, nil
}

// birthInterval is the days a patient's recorded birth date covers: the
// day, or the whole year when it is estimated. ok is false when unknown.
func birthInterval(date string, estimated bool) (lo, hi string, ok bool) {
	switch {
	case len(date) < 10:
		return "", "", false
	case estimated:
		return date[:4] + "-01-01", date[:4] + "-12-31", true
	}
	return date, date, true
}

// matches applies the prefix to a patient's birth interval as FHIR
// defines ranges (search.html#prefix): eq is "within", the others compare
// the interval's ends. An unknown birth date matches nothing.
func (d dateParam) matches(lo, hi string) bool {
	switch d.Prefix {
	case "eq":
		return d.Lo <= lo && hi <= d.Hi
	case "ne":
		return !(d.Lo <= lo && hi <= d.Hi)
	case "gt":
		return hi > d.Hi
	case "lt":
		return lo < d.Lo
	case "ge":
		return hi >= d.Lo
	case "le":
		return lo <= d.Hi
	}
	return false
}

// validID is FHIR's id type: [A-Za-z0-9\-\.]{1,64}.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
