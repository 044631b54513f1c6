// Package match decides whether two patient records may be the same person.
// It is pure (no database): the registry stores the blocking keys it
// computes and asks it to score the few records a blocked query returns.
//
// The pipeline is the classic record-linkage one: normalise names (fold
// case and diacritics), compute phonetic blocking keys, then score a
// candidate field by field — names by Jaro-Winkler (github.com/adrg/strutil)
// in both orders, so swapped given and family names still match; birth
// date exact, day/month swapped, or year within one or two (estimated ages);
// sex; the last digits of the phone; the village — and grade the total as
// probable or possible. Every score comes with reasons the clerk can read.
package match

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/adrg/strutil/metrics"
	"github.com/idcards/idcards"
	"golang.org/x/text/unicode/norm"
)

// Fold lower-cases, strips diacritics and keeps letters, digits and single
// spaces: "  Zoë  N'Diaye" -> "zoe ndiaye".
func Fold(s string) string {
	if f, ok := foldASCII(s); ok {
		return f
	}
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-':
			space = true
		}
	}
	return b.String()
}

// foldASCII is Fold's fast path for plain ASCII letters and spaces, the
// common case, without Unicode normalisation.
func foldASCII(s string) (string, bool) {
	buf := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == ' ' || c == '-' || c == '\t':
			space = true
			continue
		default:
			return "", false
		}
		if space && len(buf) > 0 {
			buf = append(buf, ' ')
		}
		space = false
		buf = append(buf, c)
	}
	return string(buf), true
}

// Phonetic computes a blocking key for one name. Keys that collide group
// names that sound alike; the choice is pluggable because Soundex and
// Metaphone are built for English names.
type Phonetic interface {
	Name() string
	Key(name string) string
}

// Skeleton is the default phonetic key, built for East African and other
// Bantu/Nilotic names written in Latin script, which are spelled by ear:
// vowels vary (Ochieng/Achieng, Nakato/Nakatto), c/k/q, ph/f, z/s, y/i,
// w/u, l/r interchange, h is often silent, and letters double. The key is
// the first sound (any vowel = "A") plus up to three following consonant
// classes, after those spellings are merged.
type Skeleton struct{}

func (Skeleton) Name() string { return "skeleton" }

var skeletonRules = strings.NewReplacer(
	"ph", "f", "ck", "k", "kh", "k", "gh", "g", "th", "t", "sh", "s", "ch", "s", "dh", "d",
	"c", "k", "q", "k", "x", "ks", "z", "s", "y", "i", "w", "u", "v", "f", "l", "r", "j", "g", "h", "",
)

// Key returns the skeleton of the first word of name, or "" if none.
func (Skeleton) Key(name string) string {
	f := Fold(name)
	if i := strings.IndexByte(f, ' '); i >= 0 {
		f = f[:i]
	}
	f = skeletonRules.Replace(f)
	var out []byte
	var last byte
	for i := 0; i < len(f) && len(out) < 4; i++ {
		c := f[i]
		vowel := strings.IndexByte("aeiou", c) >= 0
		switch {
		case len(out) == 0 && vowel:
			out = append(out, 'A')
			last = 'A'
		case vowel:
			last = 0
		case c == last:
		case c < 'a' || c > 'z':
		default:
			out = append(out, c-'a'+'A')
			last = c
		}
	}
	return string(out)
}

// Soundex is American Soundex, for registries of English names.
type Soundex struct{}

func (Soundex) Name() string { return "soundex" }

func (Soundex) Key(name string) string {
	f := Fold(name)
	if i := strings.IndexByte(f, ' '); i >= 0 {
		f = f[:i]
	}
	code := func(c byte) byte {
		switch c {
		case 'b', 'f', 'p', 'v':
			return '1'
		case 'c', 'g', 'j', 'k', 'q', 's', 'x', 'z':
			return '2'
		case 'd', 't':
			return '3'
		case 'l':
			return '4'
		case 'm', 'n':
			return '5'
		case 'r':
			return '6'
		}
		return 0
	}
	var out []byte
	var last byte
	for i := 0; i < len(f) && len(out) < 4; i++ {
		c := f[i]
		if c < 'a' || c > 'z' {
			continue
		}
		d := code(c)
		if len(out) == 0 {
			out = append(out, c-'a'+'A')
			last = d
			continue
		}
		if d != 0 && d != last {
			out = append(out, d)
		}
		if c != 'h' && c != 'w' {
			last = d
		}
	}
	return string(out)
}

// PhoneticByName returns a phonetic key by its configuration name.
func PhoneticByName(name string) (Phonetic, error) {
	switch name {
	case "", "skeleton":
		return Skeleton{}, nil
	case "soundex":
		return Soundex{}, nil
	}
	return nil, idcards.Errorf(idcards.Invalid, "phonetic key %q: use skeleton (default, for names spelled by ear) or soundex (English names)", name)
}

// Person is what matching looks at.
type Person struct {
	Given, Family      string
	Sex                idcards.Sex
	BirthDate          string // YYYY-MM-DD or ""
	BirthDateEstimated bool
	Phone              string
	Village            string
}

// Thresholds grade a score.
type Thresholds struct {
	Probable float64 `json:"probable"`
	Possible float64 `json:"possible"`
}

// DefaultThresholds were chosen on the synthetic data set (see synth.go
// and docs/patients.md): probable keeps precision above 90%.
var DefaultThresholds = Thresholds{Probable: 0.85, Possible: 0.70}

// Level grades a score; "" means not a candidate.
func (t Thresholds) Level(score float64) idcards.MatchLevel {
	switch {
	case score >= t.Probable:
		return idcards.MatchProbable
	case score >= t.Possible:
		return idcards.MatchPossible
	}
	return ""
}

// Matcher scores pairs. The zero value is not usable; use New.
type Matcher struct {
	jw         *metrics.JaroWinkler
	Phonetic   Phonetic
	Thresholds Thresholds
}

// New returns a Matcher with the given phonetic key (nil = Skeleton) and
// default thresholds.
func New(p Phonetic) *Matcher {
	if p == nil {
		p = Skeleton{}
	}
	jw := metrics.NewJaroWinkler()
	jw.CaseSensitive = false
	return &Matcher{jw: jw, Phonetic: p, Thresholds: DefaultThresholds}
}

// Keys are the blocking keys of a name: the phonetic key of the given and
// of the family name.
func (m *Matcher) Keys(given, family string) (string, string) {
	return m.Phonetic.Key(given), m.Phonetic.Key(family)
}

// nameSim compares two names word-set-wise: the best Jaro-Winkler of each
// word of a against the words of b, averaged, so "Mary Jane" ~ "Mary".
func (m *Matcher) nameSim(a, b string) float64 {
	if a == "" || b == "" {
		return 0
	}
	if a == b {
		return 1
	}
	whole := m.jw.Compare(strings.ReplaceAll(a, " ", ""), strings.ReplaceAll(b, " ", ""))
	wa, wb := strings.Fields(a), strings.Fields(b)
	if len(wa) == 1 && len(wb) == 1 {
		return whole
	}
	best := 0.0
	for _, x := range wa {
		for _, y := range wb {
			best = math.Max(best, m.jw.Compare(x, y))
		}
	}
	return math.Max(whole, best*0.95)
}

// Score compares a new person with an existing record. The score is in
// [0, 1]; reasons say which fields matched how.
func (m *Matcher) Score(q, c Person) (float64, []string) {
	var reasons []string
	// Names: straight and swapped; the better order wins.
	qg, qf, cg, cf := Fold(q.Given), Fold(q.Family), Fold(c.Given), Fold(c.Family)
	gs, fs := m.nameSim(qg, cg), m.nameSim(qf, cf)
	sgs, sfs := m.nameSim(qg, cf), m.nameSim(qf, cg)
	name := (gs + fs) / 2
	swapped := false
	if alt := (sgs + sfs) / 2; alt > name+0.01 {
		name, gs, fs, swapped = alt, sgs, sfs, true
	}
	// One name missing on either side: judge on the one present.
	if qg == "" || cg == "" || qf == "" || cf == "" {
		name = math.Max(gs, fs) * 0.9
	}
	switch {
	case name >= 0.999:
		reasons = append(reasons, "same name")
	case name >= 0.9:
		reasons = append(reasons, fmt.Sprintf("similar name (%.0f%%)", name*100))
	default:
		reasons = append(reasons, fmt.Sprintf("name %.0f%% alike", name*100))
	}
	if swapped {
		reasons[len(reasons)-1] += ", given and family names swapped"
	}
	score := name * 0.55

	// Birth date: up to 0.25.
	dob, why := dateSim(q, c)
	score += dob * 0.25
	if why != "" {
		reasons = append(reasons, why)
	}
	// Sex: 0.05, and a clear mismatch costs.
	switch {
	case q.Sex == "" || c.Sex == "" || q.Sex == idcards.SexUnknown || c.Sex == idcards.SexUnknown:
		score += 0.025
	case q.Sex == c.Sex:
		score += 0.05
		reasons = append(reasons, "same sex")
	default:
		score -= 0.15
		reasons = append(reasons, "different sex")
	}
	// Phone and village: up to 0.15 together; unknown is neutral-ish.
	qp, cp := lastDigits(q.Phone, 7), lastDigits(c.Phone, 7)
	switch {
	case qp == "" || cp == "":
		score += 0.04
	case qp == cp:
		score += 0.1
		reasons = append(reasons, "same phone")
	case qp[len(qp)-4:] == cp[len(cp)-4:]:
		score += 0.07
		reasons = append(reasons, "phone ends alike")
	default:
		reasons = append(reasons, "different phone")
	}
	qv, cv := Fold(q.Village), Fold(c.Village)
	switch {
	case qv == "" || cv == "":
		score += 0.02
	case m.jw.Compare(qv, cv) >= 0.9:
		score += 0.05
		reasons = append(reasons, "same village")
	}
	return math.Max(0, math.Min(1, score)), reasons
}

func dateSim(q, c Person) (float64, string) {
	if len(q.BirthDate) < 10 || len(c.BirthDate) < 10 {
		return 0.4, ""
	}
	var qy, cy int
	fmt.Sscan(q.BirthDate[:4], &qy)
	fmt.Sscan(c.BirthDate[:4], &cy)
	dy := qy - cy
	if dy < 0 {
		dy = -dy
	}
	est := q.BirthDateEstimated || c.BirthDateEstimated
	switch {
	case q.BirthDate == c.BirthDate:
		return 1, "same birth date"
	case dy == 0 && q.BirthDate[5:7] == c.BirthDate[8:10] && q.BirthDate[8:10] == c.BirthDate[5:7]:
		return 0.9, "birth date with day and month swapped"
	case est && dy == 0:
		return 0.85, "same birth year (estimated)"
	case est && dy <= 2:
		return 0.7, fmt.Sprintf("birth year %d apart (estimated)", dy)
	case dy == 0:
		return 0.6, "same birth year, different day"
	case dy == 1 && q.BirthDate[5:] == c.BirthDate[5:]:
		return 0.75, "birth year off by one"
	case dy <= 2:
		return 0.3, fmt.Sprintf("born %d years apart", dy)
	}
	return 0, fmt.Sprintf("born %d years apart", dy)
}

func lastDigits(s string, n int) string {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) < 4 {
		return ""
	}
	if len(d) > n {
		d = d[len(d)-n:]
	}
	return string(d)
}
