package match_test

import (
	"math"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// TestPosterior: the probability that a candidate is the person at the
// desk, given every candidate scored for the query.
func TestPosterior(t *testing.T) {
	s := match.NewScorer(match.DefaultModel(), nil, 100_000, 2026, match.DefaultThresholds)
	q := prep(amina)
	typo := amina
	typo.Family = "Nakatto"
	namesake := amina
	namesake.BirthDate, namesake.Phone, namesake.Village = "1990-04-12", "0701999999", ""
	twin := amina
	twin.Given = "Babirye"
	odds := func(r match.Result) float64 { return r.Probability / (1 - r.Probability) }
	for _, tc := range []struct {
		name  string
		cands []match.Person
		same  map[[2]int]float64
		check func(t *testing.T, pair, post []match.Result)
	}{
		{"a lone candidate: only 'a new person' competes, one bit more than the pairwise odds", []match.Person{namesake}, nil,
			func(t *testing.T, pair, post []match.Result) {
				if got := math.Log2(odds(post[0])) - math.Log2(odds(pair[0])); math.Abs(got-1) > 0.01 {
					t.Errorf("posterior odds %+.2f bits over pairwise, want +1", got)
				}
			}},
		{"two namesakes who fit equally share the probability", []match.Person{namesake, namesake}, nil,
			func(t *testing.T, pair, post []match.Result) {
				lone := 2 * odds(pair[0]) // what either would have alone
				want := lone / (1 + 2*lone)
				for i := range post {
					if math.Abs(post[i].Probability-want) > 1e-6 || post[i].NearRivals != 1 {
						t.Errorf("candidate %d: p=%.4f near rivals %d, want p=%.4f and 1", i, post[i].Probability, post[i].NearRivals, want)
					}
				}
			}},
		{"two records of one person are not rivals", []match.Person{amina, typo}, map[[2]int]float64{{0, 1}: 1},
			func(t *testing.T, pair, post []match.Result) {
				for i := range post {
					if post[i].Level != idcards.MatchProbable || post[i].Rivals != 0 {
						t.Errorf("candidate %d: level %q rivals %.3g, want probable without rivals", i, post[i].Level, post[i].Rivals)
					}
				}
			}},
		{"a much weaker rival hardly matters", []match.Person{amina, namesake}, nil,
			func(t *testing.T, pair, post []match.Result) {
				if post[0].Level != idcards.MatchProbable || post[0].NearRivals != 0 || post[0].Probability < 0.999 {
					t.Errorf("p=%.5f level %q near rivals %d", post[0].Probability, post[0].Level, post[0].NearRivals)
				}
			}},
		{"six namesakes who fit alike are all listed possible, each below the threshold", []match.Person{namesake, namesake, namesake, namesake, namesake, namesake}, nil,
			func(t *testing.T, pair, post []match.Result) {
				for i := range post {
					if post[i].Level != idcards.MatchPossible || post[i].Probability >= match.DefaultThresholds.Possible || post[i].NearRivals != 5 {
						t.Errorf("candidate %d: level %q p=%.3f near rivals %d, want possible below %.2f with 5", i, post[i].Level, post[i].Probability, post[i].NearRivals, match.DefaultThresholds.Possible)
					}
				}
			}},
		{"a namesake far behind the right record drops off the list", []match.Person{amina, namesake}, nil,
			func(t *testing.T, pair, post []match.Result) {
				if post[1].Level != "" {
					t.Errorf("namesake level %q p=%.4f, want none beside a record 4+ bits better", post[1].Level, post[1].Probability)
				}
			}},
		{"guards still hold after the posterior", []match.Person{twin}, nil,
			func(t *testing.T, pair, post []match.Result) {
				if post[0].Level == idcards.MatchProbable {
					t.Errorf("twin probable: p=%.4f guard %q", post[0].Probability, post[0].Guard)
				}
			}},
		{"itself", []match.Person{amina}, nil,
			func(t *testing.T, pair, post []match.Result) {
				if post[0].Level != idcards.MatchProbable {
					t.Errorf("a record is not probable against itself: p=%.4f", post[0].Probability)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := make([]match.Record, len(tc.cands))
			pair := make([]match.Result, len(tc.cands))
			for i, c := range tc.cands {
				recs[i] = prep(c)
				pair[i] = s.Score(&q, &recs[i])
			}
			post := append([]match.Result(nil), pair...)
			s.Posterior(post, func(i, j int) float64 { return tc.same[[2]int{min(i, j), max(i, j)}] })
			tc.check(t, pair, post)
		})
	}
}

func TestPosterior_ExplainsRivals(t *testing.T) {
	s := match.NewScorer(match.DefaultModel(), nil, 100_000, 2026, match.DefaultThresholds)
	q := prep(amina)
	namesake := amina
	namesake.Phone, namesake.Village = "0701999999", ""
	recs := []match.Record{prep(namesake), prep(namesake), prep(namesake)}
	rs := make([]match.Result, len(recs))
	for i := range recs {
		rs[i] = s.Score(&q, &recs[i])
	}
	s.Posterior(rs, nil)
	got := strings.Join(match.Reasons(s.Explain(&q, &recs[0], rs[0])), "; ")
	if !strings.Contains(got, "2 other records fit nearly as well") {
		t.Errorf("reasons %q do not name the rivals", got)
	}
}

// wordTF: "mary" is a common given word (1 in 50), "totuto" rare (1 in
// 50,000); every full value is rare.
type wordTF struct{}

func (wordTF) Freq(f match.Field, v string) float64 {
	if f == match.FGivenWord {
		switch v {
		case "mary":
			return 0.02
		case "totuto":
			return 2e-5
		}
	}
	return 1e-5
}

// TestScore_PartWeighsTheSharedWord: the part level is term-frequency
// adjusted by the rarest word the shorter name shares.
func TestScore_PartWeighsTheSharedWord(t *testing.T) {
	s := match.NewScorer(match.DefaultModel(), wordTF{}, 100_000, 2026, match.DefaultThresholds)
	plain := match.NewScorer(match.DefaultModel(), nil, 100_000, 2026, match.DefaultThresholds)
	weigh := func(sc *match.Scorer, a, b string) match.Result {
		qa, qb := amina, amina
		qa.Given, qb.Given = a, b
		x, y := prep(qa), prep(qb)
		return sc.Score(&x, &y)
	}
	for _, tc := range []struct {
		name     string
		a, b     string
		min, max float64 // bits
	}{
		{"rare word kept, other dropped", "Totuto John", "Totuto", 10, 13},
		{"common word kept", "Mary Jane", "Mary", 0, 2},
		{"rarest of two shared words counts", "Totuto Mary Grace", "Mary Totuto", 10, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := weigh(s, tc.a, tc.b)
			if r.L[match.FGiven] != match.NamePart {
				t.Fatalf("level %d, want part", r.L[match.FGiven])
			}
			if w := r.W[match.FGiven]; w < tc.min || w > tc.max {
				t.Errorf("part weight %.1f bits, want %.0f..%.0f", w, tc.min, tc.max)
			}
			if r2 := weigh(s, tc.b, tc.a); math.Abs(r2.W[match.FGiven]-r.W[match.FGiven]) > 1e-9 {
				t.Errorf("not symmetric: %.2f / %.2f", r.W[match.FGiven], r2.W[match.FGiven])
			}
		})
	}
	if r := weigh(plain, "Totuto John", "Totuto"); math.Abs(r.W[match.FGiven]-math.Log2(0.04/0.005)) > 1e-9 {
		t.Errorf("without term frequencies the part level weighs %.2f, want the model's", r.W[match.FGiven])
	}
}

// pairTF: Amina and Nakato are each 1 in 20, and the pair "amina|nakato"
// 1 in 100 — five times what independent names would give.
type pairTF struct{ pair, names float64 }

func (p pairTF) Freq(f match.Field, v string) float64 {
	switch f {
	case match.FGiven, match.FFamily:
		if p.names > 0 {
			return p.names
		}
		return 0.05
	case match.FFullName:
		return p.pair
	}
	return 1e-5
}

// TestScore_FullNameCorrelation: two exact names weigh by the pair's own
// frequency when the registry shows it commoner than the product.
func TestScore_FullNameCorrelation(t *testing.T) {
	names := func(tf match.Frequencies) float64 {
		s := match.NewScorer(match.DefaultModel(), tf, 100_000, 2026, match.DefaultThresholds)
		a, b := prep(amina), prep(amina)
		r := s.Score(&a, &b)
		return r.W[match.FGiven] + r.W[match.FFamily]
	}
	for _, tc := range []struct {
		name        string
		pair, names float64
		want        float64 // bits below the independent product
	}{
		{"pair as common as the product", 0.0025, 0, 0},
		{"pair rarer than the product: no extra evidence", 0.0001, 0, 0},
		{"only the record itself", 1e-5, 0, 0},
		{"pair five times the product", 0.0125, 0, math.Log2((1249 + 5) / (249.75 + 5))},
		{"one other record of a rare pair says little", 2e-5, 2e-5, math.Log2(6 / (5 + 100_000*math.Pow((1+100*0.01)/100_100, 2)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			indep := names(pairTF{1e-9, tc.names})
			if got := indep - names(pairTF{tc.pair, tc.names}); math.Abs(got-tc.want) > 0.01 {
				t.Errorf("names weigh %.2f bits less than independent, want %.2f", got, tc.want)
			}
		})
	}
}

// canonTF: every word is rare except Mohammed, which one record in 30
// holds as a given or family name (the canonical word, and each of the
// two spellings as a whole name).
type canonTF struct{ common string }

func (c canonTF) Freq(f match.Field, v string) float64 {
	if v == c.common || v == "muhammad" || v == "mohammed" {
		return 1.0 / 30
	}
	return 1e-5
}

// TestScore_VariantWeighsTheCanonicalWord: a variant spelling of a common
// name is weak evidence, straight or swapped, and without term
// frequencies a level never outweighs an exact name.
func TestScore_VariantWeighsTheCanonicalWord(t *testing.T) {
	v, _ := match.NewVariants("")
	tf := canonTF{v.Canon("muhammad")}
	s := match.NewScorer(match.DefaultModel(), tf, 100_000, 2026, match.DefaultThresholds)
	a, b := amina, amina
	a.Given, b.Given = "Muhammad", "Mohammed"
	x, y := prep(a), prep(b)
	r := s.Score(&x, &y)
	// Never more than the name spelt the same way: log2(m/u) of exact
	// agreement on a name one record in 30 holds.
	exactCommon := math.Log2(match.DefaultModel().Fields[match.FGiven].M[0] * 30)
	if r.L[match.FGiven] != match.NameVariant || r.W[match.FGiven] > exactCommon {
		t.Errorf("variant of a common name: level %d weight %.1f, want variant at most %.1f bits", r.L[match.FGiven], r.W[match.FGiven], exactCommon)
	}
	// Swapped: "Khan Muhammad" against "Mohammed Khan".
	a.Given, a.Family, b.Given, b.Family = "Khan", "Muhammad", "Mohammed", "Khan"
	x, y = prep(a), prep(b)
	r = s.Score(&x, &y)
	if !r.Swapped || r.W[match.FFamily] > exactCommon {
		t.Errorf("swapped variant of a common name: swapped=%v weight %.1f, want at most %.1f bits", r.Swapped, r.W[match.FFamily], exactCommon)
	}
	m := match.DefaultModel()
	m.Fields[match.FFamily].U[match.NameVariant] = 1e-6 // a level random pairs never showed
	plain := match.NewScorer(m, nil, 100_000, 2026, match.DefaultThresholds)
	r = plain.Score(&x, &y)
	if exact := math.Log2(m.Fields[match.FFamily].M[0] / m.Fields[match.FFamily].U[0]); r.W[match.FFamily] > exact+1e-9 {
		t.Errorf("without term frequencies the variant weighs %.1f bits, above an exact family name's %.1f", r.W[match.FFamily], exact)
	}
}
