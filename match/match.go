// Package match decides whether two patient records may be the same person.
// It is pure (no database): the registry stores the blocking keys and term
// frequencies it computes and asks it to score the few records a blocked
// query returns.
//
// The model is Fellegi–Sunter probabilistic record linkage, as in Splink:
// each field (given name, family name, birth date, sex, phone, village) is
// compared at one of a few levels (exact, variant, Jaro–Winkler bands,
// phonetic, disagree, or missing = no evidence); each level carries a match
// weight log2(m/u), where m is how often true duplicates land on that
// level and u how often two different people do. Exact agreement is
// term-frequency adjusted: sharing a rare family name is strong evidence,
// sharing the commonest one weak (also for a shared word of a longer name,
// a variant's canonical word, and the full name, since given and family
// names are not independent). For a query, Posterior turns the weights of
// every candidate blocking found into the probability that each is the
// person, against "a new person" and against the other candidates (a
// prior that shrinks with the registry's size); levels (probable,
// possible) are probability thresholds plus guards (twins, parent and
// child, names alone). u is measured on the registry's own random pairs
// and stored with it; m comes from DefaultModel's priors unless EM
// (experimental) re-estimates it.
//
// See docs/matching.md for the levels, the settings and how to check them.
package match

import (
	"strings"

	"github.com/idcards/idcards"
)

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
