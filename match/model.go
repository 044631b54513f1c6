package match

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/idcards/idcards"
)

// FieldModel holds one field's m and u probabilities, one per level (see
// LevelNames). m[l] is the share of true duplicate pairs at level l, u[l]
// the share of pairs of different people; missing values are not counted.
type FieldModel struct {
	Field  string    `json:"field"`
	Levels []string  `json:"levels"`
	M      []float64 `json:"m"`
	U      []float64 `json:"u"`
}

// Model is a Fellegi–Sunter model: m and u per level of each field, and the
// share of queries expected to be returning patients (the prior).
type Model struct {
	Version int                   `json:"version"`
	Fields  [NumFields]FieldModel `json:"fields"`
	// ReturnRate is the prior share of queries that are already
	// registered; with N records the prior that one given record is the
	// query's is ReturnRate/N, so evidence needed grows with the registry.
	ReturnRate float64 `json:"return_rate"`
	// Provenance.
	// Source: "default" (built-in m and u), "u" (built-in m, u measured
	// on this registry) or "em" (m by EM as well).
	Source    string `json:"source"`
	TrainedAt string `json:"trained_at,omitempty"`
	Records   int    `json:"records,omitempty"` // registry size when trained
	Pairs     int    `json:"pairs,omitempty"`   // blocked pairs EM saw
	Matches   int    `json:"matches,omitempty"` // pairs EM judged duplicates
	// Upgraded: read from an older version's model (its u should be
	// measured again).
	Upgraded bool `json:"-"`
}

// ModelVersion changes when levels change. ParseModel upgrades a stored
// model of an older version (its u is then measured again); one of another
// version is ignored (DefaultModel is used until match-train runs again).
const ModelVersion = 3 // 2: the birth date's "estimate beyond tolerance" level; 3: "estimate far off" and "a generation apart" out of "other"

// DefaultModel returns the priors used until the registry is trained:
// values typical of registration desks (names mistyped in about one record
// in eight, ages estimated for about a third, phones changed in a third).
func DefaultModel() *Model {
	m := &Model{Version: ModelVersion, ReturnRate: 0.5, Source: "default"}
	set := func(f Field, mm, uu []float64) {
		m.Fields[f] = FieldModel{Field: f.String(), Levels: append([]string(nil), LevelNames[f]...), M: mm, U: uu}
	}
	name := func() ([]float64, []float64) {
		// u: a registry's own random pairs replace these (refreshU);
		// these are typical of folded first names.
		return []float64{0.78, 0.03, 0.09, 0.04, 0.05, 0.01}, []float64{0.01, 0.0005, 0.0005, 0.005, 0.005, 0.979}
	}
	gm, gu := name()
	set(FGiven, gm, gu)
	fm, fu := name()
	set(FFamily, fm, fu)
	// Birth: m of "estimate beyond tolerance" (within both ages' tolerances added) and
	// "estimate far off" (beyond, under a generation) are the shares of
	// returning patients whose age is estimated again far from the first
	// estimate (match.AgeQueries' error model gives about 6 to 1); of "a
	// generation apart" the rare gross error (a relative's date on the
	// form); of "other" two dates written in full years apart. u is a
	// registry's own (most random pairs are a generation apart).
	set(FBirth, []float64{0.534, 0.06, 0.16, 0.18, 0.02, 0.03, 0.01, 0.003, 0.003}, []float64{0.0001, 0.0005, 0.004, 0.03, 0.015, 0.04, 0.12, 0.6, 0.1904})
	set(FSex, []float64{0.98, 0.02}, []float64{0.5, 0.5})
	set(FPhone, []float64{0.6, 0.4}, []float64{0.0005, 0.9995})
	set(FVillage, []float64{0.8, 0.05, 0.15}, []float64{0.1, 0.01, 0.89})
	return m
}

// Check reports a model that cannot be used (wrong version, levels or
// probabilities outside (0,1]).
func (m *Model) Check() error {
	if m.Version != ModelVersion {
		return fmt.Errorf("match model version %d, want %d", m.Version, ModelVersion)
	}
	for f := range NumFields {
		fm := m.Fields[f]
		n := len(LevelNames[f])
		if len(fm.M) != n || len(fm.U) != n {
			return fmt.Errorf("match model: field %s has %d/%d levels, want %d", Field(f), len(fm.M), len(fm.U), n)
		}
		for l := range n {
			if !(fm.M[l] > 0 && fm.M[l] <= 1 && fm.U[l] > 0 && fm.U[l] <= 1) {
				return fmt.Errorf("match model: field %s level %s: m=%v u=%v", Field(f), LevelNames[f][l], fm.M[l], fm.U[l])
			}
		}
	}
	if !(m.ReturnRate > 0 && m.ReturnRate < 1) {
		return fmt.Errorf("match model: return rate %v", m.ReturnRate)
	}
	return nil
}

// ParseModel reads a stored model.
func ParseModel(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("match model: %w", err)
	}
	if m.Version == 1 {
		m.upgradeV1()
	}
	if m.Version == 2 {
		m.upgradeV2()
	}
	if m.Upgraded {
		m.Fields[FBirth].Levels = slices.Clone(LevelNames[FBirth])
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// upgradeV1 brings a version 1 model (a registry's measured u, perhaps
// EM's m) to version 2: the birth date's "estimate beyond tolerance" level
// is inserted before "other" with the defaults' m and u, taken out of
// "other". Upgraded tells the registry to measure u again.
func (m *Model) upgradeV1() {
	if m.insertBirthLevel(6, BirthEstFar, 0.03, 0.04) { // version 2's defaults
		m.Version = 2
	}
}

// upgradeV2 brings a version 2 model to this version: "estimate far off"
// and "a generation apart" are taken out of "other" the same way.
func (m *Model) upgradeV2() {
	d := DefaultModel().Fields[FBirth]
	if m.insertBirthLevel(7, BirthEstFarOff, d.M[BirthEstFarOff], d.U[BirthEstFarOff]) &&
		m.insertBirthLevel(8, BirthGeneration, d.M[BirthGeneration], d.U[BirthGeneration]) {
		m.Version = 3
	}
}

// insertBirthLevel inserts a birth-date level at index at of a model whose
// birth field has n levels, the last "other": its m and u (mm, uu) are
// taken out of "other" (which keeps at least a quarter of its share), and
// the rest keep their proportions. False if the field does not have n
// levels (Check then refuses the model). ParseModel names the levels.
func (m *Model) insertBirthLevel(n int, at int8, mm, uu float64) bool {
	fm := &m.Fields[FBirth]
	if len(fm.M) != n || len(fm.U) != n {
		return false
	}
	ins := func(v []float64, x float64) []float64 {
		other := v[n-1]
		out := append(slices.Clone(v[:at]), x)
		out = append(out, v[at:n-1]...)
		out = append(out, max(other-x, other/4))
		t := 0.0
		for _, y := range out {
			t += y
		}
		for i := range out {
			out[i] /= t
		}
		return out
	}
	fm.M, fm.U = ins(fm.M, mm), ins(fm.U, uu)
	m.Upgraded = true
	return true
}

// Frequencies gives term frequencies: the share of registry records whose
// field has this value (folded names and village, YYYY-MM-DD, phone key).
// 0 means the value is not known to the registry.
type Frequencies interface {
	Freq(f Field, value string) float64
}

// Thresholds grade a match probability.
type Thresholds struct {
	Probable float64 `json:"probable"`
	Possible float64 `json:"possible"`
}

// DefaultThresholds: probable = at least 95 % likely the same person (the
// desk then refuses a second ID without a reason); possible = at least 25 %.
var DefaultThresholds = Thresholds{Probable: 0.95, Possible: 0.25}

// Level grades a probability; "" means not a candidate.
func (t Thresholds) Level(p float64) idcards.MatchLevel {
	switch {
	case p >= t.Probable:
		return idcards.MatchProbable
	case p >= t.Possible:
		return idcards.MatchPossible
	}
	return ""
}

// Scorer scores pairs with one model. Build it with NewScorer; it is safe
// for concurrent use.
type Scorer struct {
	Model      *Model
	TF         Frequencies // nil: no term-frequency adjustment
	N          int         // registry size (for the prior and TF floors)
	Year       int         // current year, for the age of an estimate
	Thresholds Thresholds
	// Variants, if set, lets a slip of one spelling of a name be weighed
	// by the group's commonest spelling (fuzzyWeight).
	Variants *Variants
	w        [NumFields][]float64
	m0       [NumFields]float64 // m of each exact level, for TF weights
	prior    float64
}

// swapPenalty is the weight of reading given and family names the other
// way round: log2 of the share of true duplicates written swapped (about
// one in eleven), the price of trying two readings and keeping the better.
const swapPenalty = -3.5

// NewScorer precomputes weights. n is the registry size (at least 1).
func NewScorer(m *Model, tf Frequencies, n, year int, t Thresholds) *Scorer {
	if m == nil {
		m = DefaultModel()
	}
	s := &Scorer{Model: m, TF: tf, N: max(n, 1), Year: year, Thresholds: t}
	for f := range NumFields {
		fm := m.Fields[f]
		s.w[f] = make([]float64, len(fm.M))
		for l := range fm.M {
			s.w[f][l] = math.Log2(fm.M[l] / fm.U[l])
		}
		s.m0[f] = fm.M[0]
	}
	lambda := m.ReturnRate / float64(max(s.N, priorFloor))
	s.prior = math.Log2(lambda / (1 - lambda))
	return s
}

// Result is one scored pair.
type Result struct {
	Comparison
	W           [NumFields]float64 // weight of each field in bits (0 = missing)
	Prior       float64            // prior weight in bits
	Weight      float64            // total: prior + fields
	Probability float64
	Level       idcards.MatchLevel
	// Guard says why a pair above the probable threshold is held at
	// possible ("" when it is not).
	Guard string
	// Household: phone or village agreement was discounted (see Score).
	Household bool
	// Rivals is the summed odds of the other candidates that could be the
	// person instead (see Posterior); 0 for a pair scored alone.
	Rivals float64
	// NearRivals counts the rivals whose odds are within 4 bits of this
	// candidate's either way (they fit about as well).
	NearRivals int
}

// tfWeight is the weight of exact agreement on value: log2(m / u), u the
// share of the other records holding the value (the candidate itself is
// not evidence of how common its name is), smoothed towards the model's u
// with tfPseudo pseudo-records so a small registry's counts do not
// overrule the model (one other Amina among three patients is no proof
// that Amina is a common name).
func (s *Scorer) tfWeight(f Field, value string) float64 {
	if s.TF == nil || value == "" {
		return s.w[f][0]
	}
	return math.Log2(s.m0[f] / s.tfU(f, value))
}

// tfU is the smoothed share of other records holding value (see tfWeight).
func (s *Scorer) tfU(f Field, value string) float64 {
	n := float64(s.N)
	others := math.Max(0, s.TF.Freq(f, value)*n-1)
	u := (others + tfPseudo*s.Model.Fields[f].U[0]) / (n + tfPseudo)
	return math.Max(u, 1e-9)
}

// fullNameWeights corrects two exact names for their correlation: the
// product of the two frequencies assumes a given name is chosen
// independently of the family name, but names travel together (a family
// of one origin draws from one stock of given names), so a common pair
// can be several times commoner than the product says. When the registry
// shows the pair itself (other records with this very given and family
// name) commoner than the product, the weights drop by the (shrunk)
// ratio, taken from both names in proportion. Never more evidence than
// the product: a pair rarer than predicted is just rare.
func (s *Scorer) fullNameWeights(q *Record, wg, wf float64) (float64, float64) {
	if s.TF == nil {
		return wg, wf
	}
	fn := FullName(q)
	if fn == "" {
		return wg, wf
	}
	others := math.Max(0, s.TF.Freq(FFullName, fn)*float64(s.N)-1)
	if others == 0 {
		return wg, wf
	}
	// How much commoner the pair is than the product predicts, shrunk
	// toward "not at all" by fullNamePseudo pairs: one other record of a
	// rare name (often the person's own second record, or a parent of
	// the same name) says little about how names travel together.
	prod := s.tfU(FGiven, q.Given) * s.tfU(FFamily, q.Family)
	expected := prod * float64(s.N)
	if others <= expected {
		return wg, wf
	}
	excess := math.Log2((others + fullNamePseudo) / (expected + fullNamePseudo)) // bits the product overstated
	tot := wg + wf
	if tot <= 0 {
		return wg, wf
	}
	return wg - excess*wg/tot, wf - excess*wf/tot
}

// fullNamePseudo is the weight, in name pairs, of independence against a
// registry's count of one full name (see fullNameWeights).
const fullNamePseudo = 5

// tfPseudo is the weight of the model's u against the registry's counts.
const tfPseudo = 100

// priorFloor is the smallest registry size the prior assumes: a registry
// of three patients is about to grow, and three is no reason to call two
// Aminas born the same year one person.
const priorFloor = 1000

func (s *Scorer) fieldWeight(f Field, l int8) float64 {
	if l == Null {
		return 0
	}
	return s.w[f][l]
}

func birthValue(r *Record) string {
	if r.Y == 0 {
		return ""
	}
	b := make([]byte, 0, 10)
	b = strconv.AppendInt(b, int64(r.Y), 10)
	b = append(b, '-', byte('0'+r.M/10), byte('0'+r.M%10), '-', byte('0'+r.D/10), byte('0'+r.D%10))
	return string(b)
}

// Score compares a query with a candidate record.
func (s *Scorer) Score(q, c *Record) Result {
	r := Result{Comparison: Compare(q, c, s.Year)}
	r.L[FGiven] = s.knownApart(r.L[FGiven], q.GivenToks, c.GivenToks)
	r.L[FFamily] = s.knownApart(r.L[FFamily], q.FamilyToks, c.FamilyToks)
	// Names: straight, or swapped if that fits better.
	wg := s.nameWeight(FGiven, r.L[FGiven], q.Given)
	wf := s.nameWeight(FFamily, r.L[FFamily], q.Family)
	if r.L[FGiven] == NameExact && r.L[FFamily] == NameExact {
		wg, wf = s.fullNameWeights(q, wg, wf)
	}
	wg = s.spelledWeight(FGiven, r.L[FGiven], wg, q, c, false)
	wf = s.spelledWeight(FFamily, r.L[FFamily], wf, q, c, false)
	if r.L[FGiven] != NameExact || r.L[FFamily] != NameExact {
		sg, sf, sgs, sfs := compareSwapped(q, c)
		sg, sf = s.knownApart(sg, q.GivenToks, c.FamilyToks), s.knownApart(sf, q.FamilyToks, c.GivenToks)
		// Exact agreement counts by how common the value is as either
		// kind of name: one of the two records was written the other way
		// round, so "Sharma" is as common as family names make it even
		// where it stands in the given-name field. So does a shared word.
		wsg := s.spelledWeight(FGiven, sg, s.swappedNameWeight(FGiven, sg, q.Given), q, c, true)
		wsf := s.spelledWeight(FFamily, sf, s.swappedNameWeight(FFamily, sf, q.Family), q, c, true)
		if sg != Null && sf != Null && wsg+wsf+swapPenalty > wg+wf {
			r.L[FGiven], r.L[FFamily], r.Sim = sg, sf, [2]float64{sgs, sfs}
			wg, wf, r.Swapped = wsg, wsf, true
		}
	}
	r.W[FGiven], r.W[FFamily] = wg, wf
	if r.L[FBirth] == BirthExact {
		r.W[FBirth] = s.tfWeight(FBirth, birthValue(q))
	} else {
		r.W[FBirth] = s.fieldWeight(FBirth, r.L[FBirth])
	}
	r.W[FSex] = s.fieldWeight(FSex, r.L[FSex])
	if r.L[FPhone] == Agree {
		r.W[FPhone] = s.tfWeight(FPhone, q.Phone)
	} else {
		r.W[FPhone] = s.fieldWeight(FPhone, r.L[FPhone])
	}
	if r.L[FVillage] == Agree {
		r.W[FVillage] = s.tfWeight(FVillage, q.Village)
	} else {
		r.W[FVillage] = s.fieldWeight(FVillage, r.L[FVillage])
	}
	// Household correction: relatives share a phone and a village. When
	// the given names differ entirely (a twin or sibling) or the birth
	// dates are a generation apart (a parent or child of the same name),
	// agreeing on them is what a relative would show too, so it is no
	// evidence of identity. (Either name field: after a swap the family
	// slot may hold the given names; see familyApart for a family name
	// that differs while the given name agrees.) Dates closer than a generation that
	// disagree weigh against identity on their own, but the phone and
	// village still count: that is most often one person whose age was
	// estimated afresh, ten years off (generationGap; grade keeps such a
	// pair from probable).
	if r.givenApart() || r.familyApart() || r.generationApart() {
		for _, f := range []Field{FPhone, FVillage} {
			if r.W[f] > 0 {
				r.W[f] = 0
				r.Household = true
			}
		}
	}
	// Twins: the same family name and birth date with entirely different
	// given names is what a twin shows, and a registry holds more twins
	// than people whose given name the desk wrote as another name. The
	// shared birth date is no evidence of identity then either. A given
	// name mangled past the slip levels but still spelled much alike
	// ("Psae" for "Peace", "Mikhaeb" for "Michael") is not a twin's
	// (givenApart): the shared date, phone and village keep their weight,
	// and the guard still holds the pair at possible, for the clerk to ask.
	if r.givenApart() && r.L[FFamily] != NameOther && r.L[FFamily] != Null && r.W[FBirth] > 0 {
		r.W[FBirth] = 0
		r.Household = true
	}
	r.Prior = s.prior
	r.Weight = s.prior
	for _, w := range r.W {
		r.Weight += w
	}
	if r.Swapped {
		r.Weight += swapPenalty
	}
	o, rel := math.Exp2(r.Weight), relativeShare(&r)
	r.Probability = o / (1 + o*(1+rel))
	if math.IsInf(o, 1) {
		r.Probability = 1 / (1 + rel)
	}
	s.grade(&r)
	return r
}

// sameNameRelative is the share of patients with a relative of the same
// name (a junior, a senior) who is not registered; generator and desks
// alike: about one in 33.
const sameNameRelative = 0.03

// relativeShare is the odds, relative to the record itself, that the
// person at the desk is instead a relative who shares the record's name:
// without a birth date on one side nothing tells a father from his son of
// the same name (a shared phone or village is what a household shares),
// so even overwhelming name evidence leaves that much doubt — the
// probability stays below 1/(1+0.03) ≈ 97 %. With both dates known, a
// generation apart is BirthGeneration and its guard.
func relativeShare(r *Result) float64 {
	if r.L[FBirth] == Null {
		return sameNameRelative
	}
	return 0
}

// givenApart: the given names are another person's, a relative's (the
// household and twin corrections apply). A given name of the "other"
// level still spelled much alike (twinNameSim) with the same birth date
// is one name mistyped, not a twin's: parents do not give twins one name
// twice. With different birth dates it may be a sibling's ("Kato" and
// "Nakato"), and stays apart.
func (r *Result) givenApart() bool {
	return r.L[FGiven] == NameOther && !(r.Sim[0] >= twinNameSim && r.L[FBirth] == BirthExact)
}

// familyApart: the family names differ entirely in a way that marks a
// relative (the household correction applies). Two members of one
// household differ in the given name, not the family name; with the
// given name agreeing (exactly or as a variant: "Betty Akeng" / "Betty
// Achieng", "Mary Khamis" / "Mary Hamisi") an entirely different family
// name is far more often one misspelt, or a married name, and the shared
// phone and village count (the "family names differ" guard still holds
// the pair at possible). Read swapped, the family slot compares a given
// name with a given name, so it is a relative's mark again; and with no
// given name to agree there is nothing to tell the two apart.
func (r *Result) familyApart() bool {
	if r.L[FFamily] != NameOther {
		return false
	}
	return r.Swapped || (r.L[FGiven] != NameExact && r.L[FGiven] != NameVariant)
}

// twinNameSim is the Jaro–Winkler similarity at or above which two given
// names of the "other" level sharing a birth date are taken for one name
// badly mistyped rather than twins': of 1,600 twin pairs in the
// independent check's registries none reached it, while most returning
// patients whose given name fell to "other" with the same birth date and
// family name did ("Joyxw" / "Joyce" 0.81, "Mikhaeb" / "Michael" 0.85).
// Twins named alike ("Opio" / "Apio", 0.83) are then shown as possible,
// for the clerk to ask.
const twinNameSim = 0.8

// generationApart: the birth dates disagree by a generation or more
// (generationGap), as a parent's and a child's of the same name do.
func (r *Result) generationApart() bool {
	return r.L[FBirth] == BirthGeneration
}

// grade sets the level from the probability and applies the guards.
func (s *Scorer) grade(r *Result) {
	r.Guard = ""
	r.Level = s.Thresholds.Level(r.Probability)
	if r.Level == idcards.MatchProbable {
		switch {
		case r.L[FGiven] == NameOther && !r.givenApart():
			// One name mangled, or twins named alike ("Opio" / "Apio").
			r.Guard = "given names differ, though alike (mistyped, or a twin?)"
		case r.L[FGiven] == NameOther:
			// Twins share family name, birth date, phone and village.
			r.Guard = "given names differ (twins share everything else)"
		case r.generationApart():
			// A parent and child may share the whole name.
			r.Guard = "birth dates too far apart (a parent and child may share the name)"
		case r.L[FBirth] == BirthOther || r.L[FBirth] == BirthEstFarOff:
			// Closer than a generation: one person's date written or
			// estimated wrong, or a relative of the same name in the
			// household (two wives of one family both named Mary): the
			// clerk asks.
			r.Guard = "birth dates differ (ask which is right)"
		case r.L[FFamily] == NameOther:
			r.Guard = "family names differ"
		case r.L[FGiven] == Null && r.L[FFamily] != NameExact:
			r.Guard = "only one name to compare"
		case r.L[FSex] == Disagree && r.L[FGiven] != NameExact && r.L[FGiven] != NameVariant:
			// A sex recorded wrong is rare, and so is a given name
			// mistyped with it; a brother and sister of alike names
			// ("Amani" / "Imani") show both.
			r.Guard = "sex and given name both differ (a brother or sister?)"
		}
		if r.Guard != "" {
			r.Level = idcards.MatchPossible
		}
	}
}

// wordWeight is the weight of the part level ("Mary" against "Mary
// Jane") and the variant level ("Muhammad" against "Mohammed"),
// term-frequency adjusted like an exact name on the words the two names
// share (canonical spellings): for part the shorter name's words, all in
// the longer; for a variant all of them. u is the share of other records
// holding the rarest of those words (m is the level's): sharing a rare
// "Totuto" is strong, sharing "Mary" or a spelling of "Mohammed" weak. In
// a swapped reading a word counts by its commoner use, given or family
// name. Without term frequencies (or for joined words, "Abdulrahman")
// the level's weight, never above an exact name's: a rare level's u
// measured on random pairs says little about the word at hand (family
// names are seldom several words, so the part level's u is tiny, though
// "Nakato" of "Nakato Tumbi" is common).
func (s *Scorer) wordWeight(f Field, level int8, qw, cw []string, swapped bool) float64 {
	fallback := min(s.w[f][level], s.w[f][NameExact])
	if s.TF == nil {
		return fallback
	}
	short := qw
	if len(cw) < len(short) {
		short = cw
	}
	if level == NameVariant && !slices.Equal(sortedCopy(qw), sortedCopy(cw)) {
		return fallback // joined or split words: no shared word to count
	}
	wf := FGivenWord
	if f == FFamily {
		wf = FFamilyWord
	}
	rarest := math.Inf(1)
	for _, w := range short {
		fr := s.TF.Freq(wf, w)
		if swapped {
			fr = math.Max(s.TF.Freq(FGivenWord, w), s.TF.Freq(FFamilyWord, w))
		}
		rarest = math.Min(rarest, fr)
	}
	if len(short) == 0 || math.IsInf(rarest, 1) || rarest == 0 {
		return fallback
	}
	n := float64(s.N)
	others := math.Max(0, rarest*n-1)
	u := (others + tfPseudo*s.Model.Fields[f].U[level]) / (n + tfPseudo)
	return math.Log2(s.Model.Fields[f].M[level] / math.Max(u, 1e-9))
}

// spelledWeight is the weight of a name field that does not agree
// exactly (w: the level's weight): a shared word or a variant spelling by
// the words' frequencies (wordWeight); a slip (close, similar) never more
// than agreeing on the commoner of the two names would be (fuzzyWeight);
// and a variant never less than the same two names read as a slip: the
// variants table adds evidence ("Pria" / "Priya"), it does not take it
// away. swapped: q's field f against c's other field.
func (s *Scorer) spelledWeight(f Field, l int8, w float64, q, c *Record, swapped bool) float64 {
	cf := f
	if swapped {
		cf = FGiven + FFamily - f
	}
	qv, cv := nameOf(q, f), nameOf(c, cf)
	switch l {
	case NamePart:
		return s.wordWeight(f, l, Words(q, f), Words(c, cf), swapped)
	case NameVariant:
		w = s.wordWeight(f, l, Words(q, f), Words(c, cf), swapped)
		if alt := spellingLevel(qv, cv, keysOf(q, f), keysOf(c, cf)); alt == NameClose || alt == NameSimilar {
			w = max(w, s.fuzzyWeight(f, alt, qv, cf, cv, Words(q, f), Words(c, cf)))
		}
		return w
	case NameClose, NameSimilar:
		return s.fuzzyWeight(f, l, qv, cf, cv, Words(q, f), Words(c, cf))
	}
	return w
}

// knownApart turns a slip (close or similar) between two one-word names
// into "other" when the variants table knows both as different names:
// Hassan and Hussein are a letter or two apart but are two names, not a
// slip of one (a clerk who hears one writes it; a typo seldom lands on
// another known name). Names the table does not know keep their level.
func (s *Scorer) knownApart(l int8, qt, ct []string) int8 {
	if (l != NameClose && l != NameSimilar) || len(qt) != 1 || len(ct) != 1 || qt[0] == ct[0] {
		return l
	}
	if s.Variants.Spellings(qt[0]) != nil && s.Variants.Spellings(ct[0]) != nil {
		return NameOther
	}
	return l
}

// fuzzyWeight is the weight of a slip (close or similar names): the
// level's weight, but never more than exact agreement on the commoner of
// the two names is worth. The level's weight is measured on random pairs,
// where two names a slip apart are rare; but "a record one slip from
// Amna" is at least as common as Aminas are, so a slip of a common name
// is weak evidence — never stronger than the name spelt right (compare
// Splink's term-frequency adjustment of fuzzy levels). A one-word name in
// the variants table counts as its group's commonest spelling: a slip
// towards a rare spelling of a common name ("Aisa" / "Aishah") is no
// stronger evidence than one towards its common spelling ("Aisa" /
// "Aisha"), both being the same many records away. A value the
// frequencies do not hold leaves the level's weight.
func (s *Scorer) fuzzyWeight(f Field, l int8, qv string, cf Field, cv string, qw, cw []string) float64 {
	w := s.fieldWeight(f, l)
	if s.TF == nil {
		return w
	}
	n := float64(s.N)
	count := max(s.TF.Freq(f, qv)*n, s.TF.Freq(cf, cv)*n-1) // the candidate is not "another record"
	if len(cw) == 1 {
		for _, sp := range s.Variants.Spellings(cw[0]) {
			if sp != cv {
				count = max(count, s.TF.Freq(cf, sp)*n)
			}
		}
	}
	if len(qw) == 1 {
		for _, sp := range s.Variants.Spellings(qw[0]) {
			c := s.TF.Freq(f, sp) * n
			if sp == cv && f == cf {
				c-- // the candidate is not "another record"
			}
			count = max(count, c)
		}
	}
	if count <= 0 {
		return w
	}
	u := (count + tfPseudo*s.Model.Fields[f].U[0]) / (n + tfPseudo)
	return min(w, math.Log2(s.m0[f]/u))
}

func nameOf(r *Record, f Field) string {
	if f == FFamily {
		return r.Family
	}
	return r.Given
}

func keysOf(r *Record, f Field) []string {
	if f == FFamily {
		return r.FamilyKeys
	}
	return r.GivenKeys
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func (s *Scorer) swappedNameWeight(f Field, l int8, qv string) float64 {
	if l != NameExact || s.TF == nil {
		return s.nameWeight(f, l, qv)
	}
	// Never more than 4 bits above a typical exact name: a value rare in
	// both fields is often just a rare spelling of the swap itself.
	return min(s.tfWeight(FGiven, qv), s.tfWeight(FFamily, qv), s.w[f][0]+4)
}

func (s *Scorer) nameWeight(f Field, l int8, qv string) float64 {
	if l == NameExact {
		return s.tfWeight(f, qv)
	}
	return s.fieldWeight(f, l)
}

// BirthValue is a record's birth date as YYYY-MM-DD ("" when unknown), the
// value its birth-date term frequency is counted under.
func BirthValue(r *Record) string { return birthValue(r) }
