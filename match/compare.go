package match

import (
	"fmt"
	"slices"
	"strings"
)

// Field names one compared field.
type Field int

// The compared fields, in the order of Model.Fields.
const (
	FGiven Field = iota
	FFamily
	FBirth
	FSex
	FPhone
	FVillage
	NumFields
)

// Word fields have term frequencies only: how many records hold a word
// (canonical spelling) among their given or family names, each record
// counting a word once. They weigh the part level ("Mary" of "Mary Jane").
// FFullName counts the whole name, given and family together (see
// FullName): names are not chosen independently (families of one origin
// share a stock of given names), so two exact names weigh by how common
// the pair is, not only by the product of the two.
const (
	FGivenWord Field = NumFields + iota
	FFamilyWord
	FFullName
	// NumTFFields bounds the fields with term frequencies.
	NumTFFields
)

var fieldNames = [NumTFFields]string{"given", "family", "birth_date", "sex", "phone", "village", "given_word", "family_word", "full_name"}

// FullName is the value a record's FFullName frequency is counted under
// ("" when a name is missing).
func FullName(r *Record) string {
	if r.Given == "" || r.Family == "" {
		return ""
	}
	return r.Given + "|" + r.Family
}

func (f Field) String() string {
	if f < 0 || f >= NumTFFields {
		return fmt.Sprintf("field%d", int(f))
	}
	return fieldNames[f]
}

// Words are a record's distinct canonical words of one name field
// (FGiven or FFamily), the values its word term frequency is counted under.
func Words(r *Record, f Field) []string {
	toks := r.GivenToks
	if f == FFamily {
		toks = r.FamilyToks
	}
	out := make([]string, 0, len(toks))
	for i, t := range toks {
		if t != "" && !slices.Contains(toks[:i], t) {
			out = append(out, t)
		}
	}
	return out
}

// Null is the level of a field missing on either side: no evidence.
const Null int8 = -1

// Name levels (given and family name alike).
const (
	NameExact   int8 = iota // same name (term-frequency adjusted)
	NameVariant             // same after variants, word order or joined words ("Abdul Rahman" = "Abdulrahman")
	NameClose               // Jaro–Winkler >= 0.94: a one-letter slip
	NamePart                // one of several names agrees ("Mary" vs "Mary Jane")
	NameSimilar             // Jaro–Winkler >= 0.85, or sounds alike
	NameOther               // different names
	nameLevels
)

// Birth date levels.
const (
	BirthExact      int8 = iota // same date (term-frequency adjusted: 1 July of a year is common)
	BirthTypo                   // day and month swapped, or one of year, month, day differs by a slip
	BirthEstYear                // one date is an estimate, same year
	BirthEstNear                // one date is an estimate, years within the tolerance for the age
	BirthClose                  // exact dates a year apart
	BirthEstFar                 // one date is an estimate, years beyond the tolerance but within both ages' tolerances added
	BirthEstFarOff              // one date is an estimate, years beyond both ages' tolerances, closer than a generation
	BirthGeneration             // years a generation apart (generationGap or more): a parent and child of one name
	BirthOther                  // dates written in full that differ by years, closer than a generation
	birthLevels
)

// Levels of sex, phone and village.
const (
	Agree    int8 = 0
	Disagree int8 = 1
	// VillageClose is a village spelled alike (Jaro–Winkler >= 0.9).
	VillageClose    int8 = 1
	VillageDisagree int8 = 2
)

// LevelNames names every level of every field, for models and reports.
var LevelNames = [NumFields][]string{
	{"exact", "variant", "close", "part", "similar", "other"},
	{"exact", "variant", "close", "part", "similar", "other"},
	{"exact", "typo", "estimate same year", "estimate within tolerance", "a year apart", "estimate beyond tolerance", "estimate far off", "a generation apart", "other"},
	{"agree", "disagree"},
	{"agree", "disagree"},
	{"exact", "close", "disagree"},
}

// Comparison is the level of each field for one pair, plus whether the
// names compared best swapped (given against family).
type Comparison struct {
	L       [NumFields]int8
	Sim     [2]float64 // Jaro–Winkler of given and family (in the order used)
	Swapped bool
	Tol     int // birth-year tolerance used for an estimate
}

// generationGap is how many years apart two birth years must be for the
// records to be a parent and a child of the same name (a junior), the
// level BirthGeneration: a father is rarely under about 15 at his son's
// birth, and two estimated ages may each miss by a few years. One person's
// dates almost never disagree by that much, while most random pairs'
// do, so that level weighs far more against identity than a closer
// disagreement (BirthEstFarOff, BirthOther), which is most often one
// person's age estimated afresh far off (an adult's may miss by ten
// years) or a date written wrong: their shared phone and village count.
// A household may also hold two of one common name (two wives of one
// family both named Mary), so such a pair is listed, never probable
// (Scorer.Score, grade).
const generationGap = 12

// CompareNames grades one name field. a and b are folded; at and bt the
// canonical words. A slip is also looked for in the words as written:
// the variants table maps "Aminata" to its canonical word, and "Amtnata"
// is a slip of the written word, not of the canonical one.
func compareName(a, b string, at, bt []string, ak, bk []string) (int8, float64) {
	l, sim := compareWords(a, b, at, bt, ak, bk)
	if l > NameClose && (!writtenAs(a, at) || !writtenAs(b, bt)) {
		if l2, s2 := compareWords(a, b, strings.Fields(a), strings.Fields(b), ak, bk); l2 < l {
			return l2, s2
		}
	}
	return l, sim
}

// writtenAs reports whether toks are the words of folded as written (the
// variants table changed none of them), without allocating.
func writtenAs(folded string, toks []string) bool {
	rest := folded
	for i, t := range toks {
		if i > 0 {
			if len(rest) == 0 || rest[0] != ' ' {
				return false
			}
			rest = rest[1:]
		}
		if len(rest) < len(t) || rest[:len(t)] != t {
			return false
		}
		rest = rest[len(t):]
	}
	return rest == ""
}

func compareWords(a, b string, at, bt []string, ak, bk []string) (int8, float64) {
	if a == "" || b == "" {
		return Null, 0
	}
	if a == b {
		return NameExact, 1
	}
	ja, jb := strings.Join(at, ""), strings.Join(bt, "")
	if sameWords(at, bt) || ja == jb {
		return NameVariant, 1
	}
	sim := jaroWinkler(ja, jb)
	short, long := at, bt
	if len(short) > len(long) {
		short, long = long, short
	}
	if len(long) > 1 {
		// Each word of the shorter name against its best word of the
		// longer, each word used once ("Aminata Aminata" is not
		// "Aminata Moussa").
		tot := 0.0
		used := make([]bool, len(long))
		for _, x := range short {
			best, at := 0.0, -1
			for k, y := range long {
				if s := jaroWinkler(x, y); !used[k] && s > best {
					best, at = s, k
				}
			}
			if at >= 0 {
				used[at] = true
			}
			tot += best
		}
		if len(short) == len(long) {
			if s := tot / float64(len(short)); s > sim {
				sim = s
			}
		} else if s := tot / float64(len(short)); s*0.93 > sim {
			sim = s * 0.93 // extra words cost a little
		}
	}
	// One slip of the keyboard (a letter added, dropped, changed or two
	// swapped) in a short name, which Jaro–Winkler punishes ("Kka" /
	// "Kaka" is 0.83), is at least similar — not close: short names one
	// letter apart are often two names (Kato, Kito).
	if sim < 0.85 && oneEdit(ja, jb) {
		return NameSimilar, sim
	}
	switch {
	case sim >= 0.94:
		return NameClose, sim
	case len(short) < len(long) && subset(short, long):
		return NamePart, sim
	case sim >= 0.85:
		return NameSimilar, sim
	case sim >= 0.72 && len(ak) > 0 && len(bk) > 0 && ak[0] == bk[0]:
		return NameSimilar, sim
	case len(short) < len(long) && closeSubset(short, long):
		// A word added or dropped and a slip in another ("Omuha Mary" /
		// "Otuha"): each word of the shorter name is a slip of one in
		// the longer. Two desk errors at once, so only similar.
		return NameSimilar, sim
	}
	return NameOther, sim
}

// closeSubset reports whether every word of short is one keyboard slip
// from, or Jaro–Winkler close to, a word of long.
func closeSubset(short, long []string) bool {
	for _, x := range short {
		found := false
		for _, y := range long {
			// A slip seldom hits the first letter; checking it first
			// spares the whole-registry scan most comparisons.
			if x == y || (x[0] == y[0] && (oneEdit(x, y) || (len(x) > 3 && jaroWinkler(x, y) >= 0.9))) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return len(short) > 0
}

// spellingLevel grades two names as compareName does but without the
// variants table (words as written): a variant spelling is never weaker
// evidence than the same pair read as a slip would be.
func spellingLevel(a, b string, ak, bk []string) int8 {
	l, _ := compareName(a, b, strings.Fields(a), strings.Fields(b), ak, bk)
	return l
}

// sameWords reports whether a and b hold the same words, in any order
// (as a multiset: "Aminata Aminata" is not "Aminata Moussa").
func sameWords(a, b []string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	count := func(s []string, w string) int {
		n := 0
		for _, x := range s {
			if x == w {
				n++
			}
		}
		return n
	}
	for _, x := range a {
		if count(a, x) != count(b, x) {
			return false
		}
	}
	return true
}

func subset(short, long []string) bool {
	for _, x := range short {
		found := false
		for _, y := range long {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Tolerance is how many years apart two birth dates may be when one is an
// estimated age: estimates widen with age (a toddler's age is known within
// a year, an old man's within five).
func Tolerance(age int) int {
	switch {
	case age <= 5:
		return 1
	case age <= 18:
		return 2
	case age <= 45:
		return 3
	case age <= 65:
		return 4
	}
	return 5
}

func compareBirth(q, c *Record, year int) (int8, int) {
	if q.Y == 0 || c.Y == 0 {
		return Null, 0
	}
	dy := q.Y - c.Y
	if dy < 0 {
		dy = -dy
	}
	if q.Y == c.Y && q.M == c.M && q.D == c.D {
		return BirthExact, 0
	}
	if q.Est || c.Est {
		y := min(q.Y, c.Y)
		age := year - y
		tol := Tolerance(age)
		switch {
		case dy == 0:
			return BirthEstYear, tol
		case dy <= tol:
			return BirthEstNear, tol
		case dy <= tol+Tolerance(year-max(q.Y, c.Y)):
			// Two estimates of one age (or an estimate against the
			// true date) miss by more than the tolerance often enough —
			// an adult's age is often guessed to the nearest five years —
			// that a gap up to the tolerances of both ages added (twice
			// it for two adults; less for a child: a 2-year-old is not
			// taken for 6) is weak evidence against, not the
			// disagreement of a parent and child a generation apart.
			return BirthEstFar, tol
		case dy < generationGap:
			return BirthEstFarOff, tol
		}
		return BirthGeneration, tol
	}
	if q.M == 0 || c.M == 0 || q.D == 0 || c.D == 0 {
		// Only a year (or year and month) on one side.
		if dy == 0 {
			return BirthEstYear, 1
		}
		if dy == 1 {
			return BirthClose, 1
		}
		return otherBirth(dy), 0
	}
	sameMD := q.M == c.M && q.D == c.D
	switch {
	case q.Y == c.Y && q.M == c.D && q.D == c.M:
		return BirthTypo, 0
	case q.Y == c.Y && q.D == c.D, q.Y == c.Y && q.M == c.M && oneDigitOrSwap(q.D, c.D):
		// A slip in the month, or in one digit of the day (17 / 18, 12 /
		// 21); another day of the same month is no slip (BirthClose).
		return BirthTypo, 0
	case sameMD && (dy == 1 || oneDigitOrSwap(q.Y, c.Y)):
		return BirthTypo, 0
	case dy <= 1:
		return BirthClose, 0
	}
	return otherBirth(dy), 0
}

// otherBirth is the level of dates that disagree dy years apart.
func otherBirth(dy int) int8 {
	if dy >= generationGap {
		return BirthGeneration
	}
	return BirthOther
}

// oneDigitOrSwap: 1985 vs 1958 or 1985 vs 1975 — a slip of the pen.
func oneDigitOrSwap(a, b int) bool {
	var x, y [4]int
	for i := 3; i >= 0; i-- {
		x[i], y[i] = a%10, b%10
		a, b = a/10, b/10
	}
	diff := 0
	var at [4]int
	for i := range 4 {
		if x[i] != y[i] {
			at[diff] = i
			diff++
		}
	}
	if diff == 1 {
		return true
	}
	return diff == 2 && at[1] == at[0]+1 && x[at[0]] == y[at[1]] && x[at[1]] == y[at[0]]
}

func compareVillage(a, b string) int8 {
	switch {
	case a == "" || b == "":
		return Null
	case a == b:
		return Agree
	case jaroWinkler(a, b) >= 0.9:
		return VillageClose
	}
	return VillageDisagree
}

// Compare grades every field of a pair. year is the current year (for the
// age-dependent birth-date tolerance).
func Compare(q, c *Record, year int) Comparison {
	var cmp Comparison
	cmp.L[FGiven], cmp.Sim[0] = compareName(q.Given, c.Given, q.GivenToks, c.GivenToks, q.GivenKeys, c.GivenKeys)
	cmp.L[FFamily], cmp.Sim[1] = compareName(q.Family, c.Family, q.FamilyToks, c.FamilyToks, q.FamilyKeys, c.FamilyKeys)
	cmp.L[FBirth], cmp.Tol = compareBirth(q, c, year)
	switch {
	case q.Sex == 0 || c.Sex == 0:
		cmp.L[FSex] = Null
	case q.Sex == c.Sex:
		cmp.L[FSex] = Agree
	default:
		cmp.L[FSex] = Disagree
	}
	switch {
	case q.Phone == "" || c.Phone == "":
		cmp.L[FPhone] = Null
	case q.Phone == c.Phone:
		cmp.L[FPhone] = Agree
	default:
		cmp.L[FPhone] = Disagree
	}
	cmp.L[FVillage] = compareVillage(q.Village, c.Village)
	return cmp
}

// compareSwapped grades the names with given against family.
func compareSwapped(q, c *Record) (g, f int8, gs, fs float64) {
	g, gs = compareName(q.Given, c.Family, q.GivenToks, c.FamilyToks, q.GivenKeys, c.FamilyKeys)
	f, fs = compareName(q.Family, c.Given, q.FamilyToks, c.GivenToks, q.FamilyKeys, c.GivenKeys)
	return
}

// oneEdit reports whether a and b differ by exactly one insertion,
// deletion, substitution or transposition of adjacent letters.
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	if isASCII(a) && isASCII(b) {
		return oneEditBytes(a, b)
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	switch len(ra) - len(rb) {
	case 0:
		i := 0
		for i < len(ra) && ra[i] == rb[i] {
			i++
		}
		if string(ra[i+1:]) == string(rb[i+1:]) {
			return true // substitution
		}
		return i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
	case 1:
		i := 0
		for i < len(rb) && ra[i] == rb[i] {
			i++
		}
		return string(ra[i+1:]) == string(rb[i:])
	}
	return false
}

// oneEditBytes is oneEdit for ASCII names, without allocating.
func oneEditBytes(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	switch len(a) - len(b) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		i := 0
		for i < len(b) && a[i] == b[i] {
			i++
		}
		return a[i+1:] == b[i:]
	}
	return false
}
