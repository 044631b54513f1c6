package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// TestDiagnoseLevels prints the level shares of true pairs (returning
// queries against their record) and of random pairs on the generator, next
// to DefaultModel: MATCH_DIAG=1 go test ./match -run DiagnoseLevels -v
func TestDiagnoseLevels(t *testing.T) {
	if os.Getenv("MATCH_DIAG") == "" {
		t.Skip("diagnostic; set MATCH_DIAG=1")
	}
	cfg := DefaultSynth(1, 50_000)
	cfg.DupRate = 0.03
	recs := Synthesize(cfg)
	qs, want := Queries(2, recs, 20000)
	v, _ := NewVariants("")
	prep := func(p Person) Record { return Prepare(p, PrepareOptions{Variants: v}) }
	s := NewScorer(DefaultModel(), nil, 100000, 2026, DefaultThresholds)
	var m [NumFields][]float64
	for f := range NumFields {
		m[f] = make([]float64, len(LevelNames[f]))
	}
	for i, q := range qs {
		if want[i] < 0 {
			continue
		}
		a, b := prep(q), prep(recs[want[i]].Person)
		r := s.Score(&a, &b)
		for f := range NumFields {
			if r.L[f] != Null {
				m[f][r.L[f]]++
			}
		}
	}
	pr := make([]Record, len(recs))
	for i := range recs {
		pr[i] = prep(recs[i].Person)
	}
	u := EstimateU(pr, 2_000_000, 2026, rand.New(rand.NewPCG(1, 2)))
	m = normalise(m)
	d := DefaultModel()
	for f := range NumFields {
		for l := range m[f] {
			fmt.Printf("%-10s %-26s m=%.4f (default %.4f)  u=%.5f (default %.5f)  w=%+.1f (default %+.1f)\n", Field(f), LevelNames[f][l], m[f][l], d.Fields[f].M[l], u[f][l], d.Fields[f].U[l],
				math.Log2(m[f][l]/u[f][l]), math.Log2(d.Fields[f].M[l]/d.Fields[f].U[l]))
		}
	}
}
