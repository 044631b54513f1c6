package match_test

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/idcards/idcards/match"
)

// A model stored by version 1 (six birth-date levels) still loads: its
// measured u and EM's m are kept, the new level is inserted before
// "other" and taken out of it, and Upgraded asks for u to be measured
// again.
func TestParseModel_UpgradesVersion1(t *testing.T) {
	m := match.DefaultModel()
	m.Version, m.Source = 1, "em"
	b := &m.Fields[match.FBirth]
	b.Levels = []string{"exact", "typo", "estimate same year", "estimate within tolerance", "a year apart", "other"}
	b.M = []float64{0.5, 0.05, 0.15, 0.2, 0.02, 0.08}
	b.U = []float64{0.0002, 0.0005, 0.005, 0.03, 0.0143, 0.95}
	m.Fields[match.FGiven].U = []float64{0.02, 0.001, 0.001, 0.006, 0.006, 0.966}
	js, _ := json.Marshal(m)
	got, err := match.ParseModel(js)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != match.ModelVersion || !got.Upgraded {
		t.Fatalf("version %d upgraded %v", got.Version, got.Upgraded)
	}
	gb := got.Fields[match.FBirth]
	if len(gb.M) != 9 || len(gb.U) != 9 || gb.Levels[match.BirthEstFar] != "estimate beyond tolerance" || gb.Levels[match.BirthEstFarOff] != "estimate far off" || gb.Levels[match.BirthGeneration] != "a generation apart" {
		t.Fatalf("birth levels %v m %v u %v", gb.Levels, gb.M, gb.U)
	}
	if err := got.Check(); err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]float64{gb.M, gb.U} {
		sum := 0.0
		for _, x := range v {
			sum += x
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("%v sums to %v", v, sum)
		}
	}
	// The measured values keep their proportions; "other" gave up the new level's share.
	if r := gb.U[match.BirthExact] / gb.U[match.BirthEstNear]; math.Abs(r-0.0002/0.03) > 1e-9 {
		t.Errorf("u proportions changed: %v", gb.U)
	}
	if gb.U[match.BirthOther] >= 0.95 || gb.M[match.BirthOther] >= 0.08 {
		t.Errorf("other kept its whole share: m %v u %v", gb.M, gb.U)
	}
	if got.Fields[match.FGiven].U[0] != 0.02 {
		t.Errorf("another field's u changed: %v", got.Fields[match.FGiven].U)
	}
	// Version 2 (seven levels): "estimate far off" and "a generation apart"
	// come out of "other"; "estimate beyond tolerance" keeps its measured
	// value.
	m2 := match.DefaultModel()
	m2.Version = 2
	b2 := &m2.Fields[match.FBirth]
	b2.Levels = slices.Delete(slices.Clone(match.LevelNames[match.FBirth]), int(match.BirthEstFarOff), int(match.BirthGeneration)+1)
	b2.M = []float64{0.5, 0.05, 0.15, 0.2, 0.02, 0.05, 0.03}
	b2.U = []float64{0.0002, 0.0005, 0.005, 0.03, 0.0143, 0.06, 0.89}
	js, _ = json.Marshal(m2)
	got, err = match.ParseModel(js)
	if err != nil || !got.Upgraded || got.Version != match.ModelVersion {
		t.Fatalf("version 2: %+v %v", got, err)
	}
	gb = got.Fields[match.FBirth]
	if len(gb.U) != 9 || math.Abs(gb.U[match.BirthEstFar]/gb.U[match.BirthEstNear]-2) > 1e-9 || gb.U[match.BirthGeneration] < 0.3 || gb.U[match.BirthOther] >= 0.89 {
		t.Fatalf("version 2 upgraded: levels %v u %v", gb.Levels, gb.U)
	}
	// This version's own models are not marked.
	js, _ = json.Marshal(match.DefaultModel())
	if cur, err := match.ParseModel(js); err != nil || cur.Upgraded {
		t.Fatalf("current model: %+v %v", cur, err)
	}
	// Another unknown version is refused (the registry then uses the defaults).
	m.Version = 99
	js, _ = json.Marshal(m)
	if _, err := match.ParseModel(js); err == nil {
		t.Fatal("version 99 accepted")
	}
}
