package registry

import (
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// TestPlausibleEM: an EM estimate saying duplicates often carry another
// name is refused with the figure; the defaults pass.
func TestPlausibleEM(t *testing.T) {
	if err := plausibleEM(match.DefaultModel()); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	m := match.DefaultModel()
	m.Fields[match.FGiven].M = []float64{0.24, 0.01, 0.05, 0.03, 0.03, 0.64} // measured before the relatives' class
	err := plausibleEM(m)
	if idcards.ErrorKind(err) != idcards.Invalid || !strings.Contains(err.Error(), "64% of duplicates have an entirely different given name") || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("got %v", err)
	}
}

// TestCandidateLess: probable before possible (a guarded possible may
// carry a higher probability); among probable records, one person
// registered twice, the better fit first even with the lower posterior;
// among the rest by probability, then weight, then the older record.
func TestCandidateLess(t *testing.T) {
	mk := func(id int64, level idcards.MatchLevel, p, w float64) scoredPatient {
		return scoredPatient{p: idcards.Patient{ID: id}, r: match.Result{Level: level, Probability: p, Weight: w}}
	}
	for _, tc := range []struct {
		name string
		a, b scoredPatient // a should come first
	}{
		{"probable before a guarded possible", mk(2, idcards.MatchProbable, 0.96, 5), mk(1, idcards.MatchPossible, 0.99, 8)},
		{"among probable, the better fit", mk(2, idcards.MatchProbable, 0.986, 20), mk(1, idcards.MatchProbable, 0.999, 15)},
		{"among possible, the likelier", mk(2, idcards.MatchPossible, 0.6, 1), mk(1, idcards.MatchPossible, 0.4, 3)},
		{"equal probability: more weight", mk(2, idcards.MatchPossible, 0.5, 2), mk(1, idcards.MatchPossible, 0.5, 1)},
		{"all equal: the older record", mk(1, idcards.MatchPossible, 0.5, 1), mk(2, idcards.MatchPossible, 0.5, 1)},
	} {
		if !candidateLess(&tc.a, &tc.b) || candidateLess(&tc.b, &tc.a) {
			t.Errorf("%s: wrong order", tc.name)
		}
	}
}
