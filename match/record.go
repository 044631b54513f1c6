package match

import (
	"sort"
	"strings"

	"github.com/idcards/idcards"
)

// Record is a Person prepared for comparison: names folded, split into
// words and mapped through the variants table, the birth date parsed, the
// phone reduced to the digits that are compared. Prepare once, compare
// many times.
type Record struct {
	ID int64
	// Given and Family are the folded names; GivenToks and FamilyToks their
	// words with variants replaced by their canonical spelling.
	Given, Family         string
	GivenToks, FamilyToks []string
	// GivenKeys and FamilyKeys are the skeleton phonetic keys of the words.
	GivenKeys, FamilyKeys []string
	Sex                   byte // 'F', 'M', 'O' or 0 (unknown)
	Y, M, D               int  // 0 when unknown
	Est                   bool // the birth date is an estimate (flagged, or shaped like one)
	Flagged               bool // the estimate flag itself was set
	Phone                 string
	Village               string
}

// PrepareOptions say how Prepare normalises.
type PrepareOptions struct {
	// Region is the default country for phones without a country code
	// ("UG"); "" skips the libphonenumber parse and compares the last nine
	// digits as written (the same answer for numbers with a trunk 0 or a
	// country code; stored records in bulk use it for speed).
	Region   string
	Variants *Variants
}

// Prepare turns a Person into a Record.
func Prepare(p Person, o PrepareOptions) Record {
	r := Record{Given: Fold(p.Given), Family: Fold(p.Family)}
	r.GivenToks = canonToks(r.Given, o.Variants)
	r.FamilyToks = canonToks(r.Family, o.Variants)
	r.GivenKeys = phonKeys(r.GivenToks)
	r.FamilyKeys = phonKeys(r.FamilyToks)
	switch p.Sex {
	case idcards.SexFemale:
		r.Sex = 'F'
	case idcards.SexMale:
		r.Sex = 'M'
	case idcards.SexOther:
		r.Sex = 'O'
	}
	r.Y, r.M, r.D = parseDate(p.BirthDate)
	r.Flagged = p.BirthDateEstimated && r.Y != 0
	// A date on 1 January or 1 July is how desks and older systems store
	// an age: treat it as an estimate even when the flag was lost.
	r.Est = r.Flagged || (r.Y != 0 && r.D == 1 && (r.M == 1 || r.M == 7))
	if o.Region != "" {
		r.Phone = phoneKey(p.Phone, o.Region)
	} else {
		r.Phone = phoneKeyFast(p.Phone)
	}
	r.Village = Fold(p.Village)
	return r
}

func canonToks(folded string, v *Variants) []string {
	if folded == "" {
		return nil
	}
	toks := strings.Fields(folded)
	for i, t := range toks {
		toks[i] = v.Canon(t)
	}
	return toks
}

func phonKeys(toks []string) []string {
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		if k := (Skeleton{}).Key(t); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// parseDate reads YYYY-MM-DD (or YYYY, YYYY-MM) without allocating.
func parseDate(s string) (y, m, d int) {
	num := func(a, b int) int {
		if len(s) < b {
			return 0
		}
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y = num(0, 4)
	if y == 0 {
		return 0, 0, 0
	}
	if len(s) >= 7 && s[4] == '-' {
		m = num(5, 7)
	}
	if len(s) >= 10 && s[7] == '-' {
		d = num(8, 10)
	}
	if m < 1 || m > 12 {
		m, d = 0, 0
	}
	if d < 1 || d > 31 {
		d = 0
	}
	return y, m, d
}

func sortStrings(s []string) { sort.Strings(s) }

// Preparer is Prepare for many records at once (a whole registry): the
// words and phonetic keys of each distinct name and each village are
// computed and stored once and shared by every record holding them (a
// million patients carry a few tens of thousands of distinct names).
// Records it returns share those slices: treat them as read-only. Not safe
// for concurrent use.
type Preparer struct {
	Options PrepareOptions
	names   map[string]preparedName
	strs    map[string]string
}

type preparedName struct {
	folded     string
	toks, keys []string
}

// NewPreparer returns an empty Preparer.
func NewPreparer(o PrepareOptions) *Preparer {
	return &Preparer{Options: o, names: map[string]preparedName{}, strs: map[string]string{}}
}

func (p *Preparer) name(raw string) preparedName {
	if n, ok := p.names[raw]; ok {
		return n
	}
	f := Fold(raw)
	n := preparedName{folded: f}
	n.toks = canonToks(f, p.Options.Variants)
	n.keys = phonKeys(n.toks)
	p.names[raw] = n
	return n
}

func (p *Preparer) intern(s string) string {
	if x, ok := p.strs[s]; ok {
		return x
	}
	p.strs[s] = s
	return s
}

// Prepare is match.Prepare with shared name and village data.
func (p *Preparer) Prepare(x Person) Record {
	g, f := p.name(x.Given), p.name(x.Family)
	r := Prepare(Person{Sex: x.Sex, BirthDate: x.BirthDate, BirthDateEstimated: x.BirthDateEstimated, Phone: x.Phone}, p.Options)
	r.Given, r.GivenToks, r.GivenKeys = g.folded, g.toks, g.keys
	r.Family, r.FamilyToks, r.FamilyKeys = f.folded, f.toks, f.keys
	r.Village = p.intern(Fold(x.Village))
	return r
}
