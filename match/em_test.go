package match_test

import (
	"math/rand/v2"
	"testing"

	"github.com/idcards/idcards/match"
)

// TestEM_RelativesAreNotDuplicates: pairs sharing a birth date hold
// duplicates, strangers and twins (the same family name, phone and
// village, another given name). EM must put the twins in the relatives'
// class and recover the duplicates' m — without that class it learnt
// that duplicates mostly have "another given name".
func TestEM_RelativesAreNotDuplicates(t *testing.T) {
	def := match.DefaultModel()
	var mTrue, rTrue, u [match.NumFields][]float64
	for f := range match.NumFields {
		u[f] = def.Fields[f].U
	}
	mTrue[match.FGiven] = []float64{0.7, 0.03, 0.15, 0.04, 0.06, 0.02}
	mTrue[match.FFamily] = []float64{0.72, 0.01, 0.16, 0.02, 0.07, 0.02}
	mTrue[match.FBirth] = def.Fields[match.FBirth].M
	mTrue[match.FSex] = []float64{0.98, 0.02}
	mTrue[match.FPhone] = []float64{0.6, 0.4}
	mTrue[match.FVillage] = []float64{0.85, 0.03, 0.12}
	rTrue[match.FGiven] = []float64{0.02, 0.005, 0.005, 0.02, 0.05, 0.9}
	rTrue[match.FFamily] = []float64{0.95, 0.005, 0.01, 0.01, 0.01, 0.015}
	rTrue[match.FBirth] = def.Fields[match.FBirth].M
	rTrue[match.FSex] = []float64{0.5, 0.5}
	rTrue[match.FPhone] = []float64{0.75, 0.25}
	rTrue[match.FVillage] = []float64{0.9, 0.01, 0.09}
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(p []float64) int8 {
		x := rng.Float64()
		for l, q := range p {
			if x -= q; x <= 0 {
				return int8(l)
			}
		}
		return int8(len(p) - 1)
	}
	counts := map[match.Pattern]float64{}
	for i := range 200_000 {
		cls := u
		switch {
		case i%100 == 0: // 1 % duplicates
			cls = mTrue
		case i%100 < 4: // 3 % twins
			cls = rTrue
		}
		var c match.Comparison
		for f := range match.NumFields {
			c.L[f] = draw(cls[f])
		}
		c.L[match.FBirth] = match.BirthExact // the blocking rule
		counts[match.PatternOf(c)]++
	}
	var prior [match.NumFields][]float64
	for f := range match.NumFields {
		prior[f] = def.Fields[f].M
	}
	m, share := match.EM(counts, prior, u, [match.NumFields]bool{match.FBirth: true}, 500, 0.05, 40)
	for _, f := range []match.Field{match.FGiven, match.FFamily, match.FPhone, match.FVillage} {
		for l := range m[f] {
			if d := m[f][l] - mTrue[f][l]; d > 0.06 || d < -0.06 {
				t.Errorf("%s %s: m = %.3f, want %.3f", f, match.LevelNames[f][l], m[f][l], mTrue[f][l])
			}
		}
	}
	if m[match.FGiven][match.NameOther] > 0.05 {
		t.Errorf("twins taken for duplicates: m(given other) = %.3f", m[match.FGiven][match.NameOther])
	}
	if share < 0.005 || share > 0.02 {
		t.Errorf("share judged duplicates %.4f, want about 0.01", share)
	}
}
