package match

import (
	"fmt"
	"strings"

	"github.com/idcards/idcards"
)

// BuiltinVariants are spellings of one name that desks write
// interchangeably, each group folded (see Fold). Matching compares a name
// by its group's first member, so "Muhammad Ali" and "Mohammed Ali" agree
// at the "variant" level and share blocking keys; a few are the nicknames
// desks write for the full name ("Betty" for Elizabeth, "Prossy" for
// Proscovia), and a few are one name's forms in the region's languages,
// which a patient gives at one desk or the other (Yohana for John, Yusuf
// or Yosefu for Joseph, Musa for Moses, Yakobo for James, Petero for
// Peter, Daudi for David), and Swahili's forms of Arabic names (Hamisi
// for Khamis). Kept small on purpose:
// a variant pair that is in fact two names makes different people look
// alike. Sites add their own with the setting match_variants.
var BuiltinVariants = [][]string{
	{"muhammad", "mohammed", "mohamed", "mohammad", "muhammed", "mohamad", "mohamud", "mahamat", "mamadou"},
	{"ahmed", "ahmad", "ahmet"},
	{"fatima", "fatuma", "fatimah", "fatma", "fatoumata", "fatumata"},
	{"aisha", "ayesha", "aysha", "aicha", "aishah", "ayisha"},
	{"abdul", "abdoul", "abdu"},
	{"abdullah", "abdallah", "abdulla", "abdalla"},
	{"ibrahim", "ibrahima", "ebrahim", "ibrahimu"},
	{"hussein", "husein", "hussain", "husain"},
	{"hassan", "hasan", "hassani"},
	{"mariam", "maryam", "mariamu", "miriam"},
	{"khadija", "khadijah", "hadija", "kadija"},
	{"zainab", "zaynab", "zainabu"},
	{"amina", "aminah", "aminata"},
	{"halima", "halimah", "halimatou"},
	{"moses", "musa", "moussa", "mussa"},
	{"issa", "isa", "issah"},
	{"omar", "umar", "omari"},
	// Swahili writes these Arabic names with a final vowel (Hamisi for
	// Khamis, Rashidi, Saidi, Salimu, Athumani for Othman).
	{"khamis", "hamisi", "khamisi", "hamis"},
	{"rashid", "rashidi", "rasheed"},
	{"said", "saidi", "saeed", "sayid"},
	{"salim", "salimu", "saleem"},
	{"othman", "osman", "uthman", "usman", "athumani", "athuman"},
	{"ali", "aly"},
	{"mary", "maria", "marie", "mariya"},
	{"joseph", "josef", "yosef", "yosefu", "yusuf", "yusuph", "yousef", "yousuf", "yusufu"},
	{"john", "jon", "johnny", "yohana", "yohane", "yohanna"},
	{"james", "yakobo"},
	{"peter", "petero", "petro"},
	{"paul", "paulo"},
	{"david", "daudi", "dawud"},
	{"elizabeth", "elisabeth", "elizabet", "betty"},
	{"proscovia", "prossy"},
	{"margaret", "margret", "magret", "maggie"},
	{"frederick", "fredrick", "fred"},
	{"samuel", "samwel", "samweli"},
	{"stephen", "steven", "stephano", "stefano"},
	{"jennifer", "jeniffer", "jenifer"},
	{"catherine", "katherine", "kathryn", "catherina", "katarina", "katrina"},
	{"christine", "kristine", "christina", "kristina"},
	{"sarah", "sara"},
	{"esther", "ester"},
	{"hannah", "hanna"},
	{"priya", "pria"},
	{"lakshmi", "laxmi", "lakshmy"},
	{"mohan", "mohun"},
	{"chowdhury", "choudhury", "chaudhry", "chaudhary", "choudhary"},
	{"hossain", "hussain", "hosain"},
}

// Variants maps a folded name token to the canonical spelling of its group.
// The zero value knows no variants. Build with NewVariants.
type Variants struct {
	canon   map[string]string
	members map[string][]string // canonical spelling -> every spelling of its group
	fp      string              // Fingerprint, computed once: a table is read-only once built
}

// NewVariants builds a table from the built-in groups plus extra, the site
// setting match_variants: groups separated by ";" or new lines, names
// within a group by "=" or ",", e.g. "Nakato=Nakatto; Wasswa=Waswa". A
// name already in a group joins the groups.
func NewVariants(extra string) (*Variants, error) {
	groups := append([][]string{}, BuiltinVariants...)
	more, err := ParseVariants(extra)
	if err != nil {
		return nil, err
	}
	groups = append(groups, more...)
	v := &Variants{canon: map[string]string{}}
	for _, g := range groups {
		// A name already in a group brings that group's canonical form.
		c := ""
		for _, n := range g {
			if x, ok := v.canon[n]; ok {
				c = x
				break
			}
		}
		if c == "" {
			c = g[0]
		}
		for _, n := range g {
			if old, ok := v.canon[n]; ok && old != c {
				for k, x := range v.canon { // merge the two groups
					if x == old {
						v.canon[k] = c
					}
				}
			}
			v.canon[n] = c
		}
	}
	v.members = map[string][]string{}
	for n, c := range v.canon {
		v.members[c] = append(v.members[c], n)
	}
	for _, m := range v.members {
		sortStrings(m)
	}
	v.fp = v.fingerprint()
	return v, nil
}

// Spellings returns every spelling of the group whose canonical spelling
// is canon, or nil when canon heads no group. Read-only.
func (v *Variants) Spellings(canon string) []string {
	if v == nil {
		return nil
	}
	return v.members[canon]
}

// ParseVariants reads the match_variants setting (see NewVariants).
func ParseVariants(s string) ([][]string, error) {
	var out [][]string
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		var g []string
		for _, n := range strings.FieldsFunc(line, func(r rune) bool { return r == '=' || r == ',' }) {
			f := Fold(n)
			if f == "" {
				continue
			}
			if strings.Contains(f, " ") {
				return nil, idcards.Errorf(idcards.Invalid, "name variants: %q is several words; list single names, e.g. Mohammed=Muhammad", strings.TrimSpace(n))
			}
			g = append(g, f)
		}
		if len(g) == 1 {
			return nil, idcards.Errorf(idcards.Invalid, "name variants: group %q has one name; write at least two, e.g. Fatuma=Fatima", strings.TrimSpace(line))
		}
		if len(g) > 1 {
			out = append(out, g)
		}
	}
	return out, nil
}

// Canon returns the canonical spelling of a folded token.
func (v *Variants) Canon(tok string) string {
	if v == nil || v.canon == nil {
		return tok
	}
	if c, ok := v.canon[tok]; ok {
		return c
	}
	return tok
}

// Len is the number of spellings the table knows.
func (v *Variants) Len() int {
	if v == nil {
		return 0
	}
	return len(v.canon)
}

// Fingerprint identifies the table's content, so a registry can tell that
// blocking keys were made with another table.
func (v *Variants) Fingerprint() string {
	if v == nil {
		return fmt.Sprintf("k%d-none", IndexVersion)
	}
	if v.fp != "" {
		return v.fp
	}
	return v.fingerprint()
}

func (v *Variants) fingerprint() string { return TableFingerprint(v.canon) }

// Table returns a copy of every spelling the table knows mapped to its
// group's canonical spelling, so a registry can store the table its keys
// were made with and later tell which names another table changes
// (Changed).
func (v *Variants) Table() map[string]string {
	out := map[string]string{}
	if v != nil {
		for k, c := range v.canon {
			out[k] = c
		}
	}
	return out
}

// TableFingerprint is Fingerprint of a table read back from storage
// (spelling -> canonical spelling); it embeds IndexVersion, so a table
// stored by a version whose keys were made another way never matches.
func TableFingerprint(canon map[string]string) string {
	var h uint64 = 14695981039346656037
	keys := make([]string, 0, len(canon))
	for k := range canon {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		for _, b := range []byte(k + "=" + canon[k] + ";") {
			h ^= uint64(b)
			h *= 1099511628211
		}
	}
	return fmt.Sprintf("k%d-%016x", IndexVersion, h)
}

// Changed returns the spellings whose canonical form differs between two
// tables (a name added to, removed from or moved between groups): a
// record's blocking keys and term frequencies change with another table
// only if one of its name words is among them.
func Changed(old, new map[string]string) map[string]bool {
	canon := func(t map[string]string, w string) string {
		if c, ok := t[w]; ok {
			return c
		}
		return w
	}
	out := map[string]bool{}
	for _, t := range []map[string]string{old, new} {
		for w := range t {
			if canon(old, w) != canon(new, w) {
				out[w] = true
			}
		}
	}
	return out
}
