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
