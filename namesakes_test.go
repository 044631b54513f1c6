package idcards_test

import (
	"math"
	"testing"

	"github.com/idcards/idcards"
)

// TestNamesakes: a crowd is two or more records, none probable, together
// at least half likely and well above the best alone; together comes from
// the odds against a new person, not the (rival-shared) scores.
func TestNamesakes(t *testing.T) {
	c := func(level idcards.MatchLevel, score, weight float64) idcards.Candidate {
		return idcards.Candidate{Level: level, Score: score, Weight: weight}
	}
	p, q := idcards.MatchPossible, idcards.MatchProbable
	for _, tc := range []struct {
		name     string
		cs       []idcards.Candidate
		together float64
		crowd    bool
	}{
		{"none", nil, 0, false},
		{"four at even odds", []idcards.Candidate{c(p, 0.2, 0), c(p, 0.2, 0), c(p, 0.2, 0), c(p, 0.2, 0)}, 0.8, true},
		{"two at 2:1", []idcards.Candidate{c(p, 0.4, 1), c(p, 0.4, 1)}, 0.8, true},
		{"alone", []idcards.Candidate{c(p, 0.8, 2)}, 0.8, false},
		{"one stands out", []idcards.Candidate{c(p, 0.85, 3), c(p, 0.1, 0)}, 0.9, false},
		{"unlikely", []idcards.Candidate{c(p, 0.2, -2), c(p, 0.2, -2)}, 1.0 / 3, false},
		{"a probable one", []idcards.Candidate{c(q, 0.97, 6), c(p, 0.3, 1)}, 0, false},
		{"two that fit equally well, capped", []idcards.Candidate{c(p, 0.5, 20), c(p, 0.5, 20)}, 0.999, true},
	} {
		got, crowd := idcards.Namesakes(tc.cs)
		if math.Abs(got-tc.together) > 1e-9 || crowd != tc.crowd {
			t.Errorf("%s: together %.4f crowd %v, want %.4f %v", tc.name, got, crowd, tc.together, tc.crowd)
		}
	}
	if got := idcards.NamesakesAdvice(3, 0.999); got[:40] != "These 3 records together are 99% likely " {
		t.Errorf("advice %q", got)
	}
}
