package match_test

import (
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{"  Zoë  N'Diaye": "zoe ndiaye", "OUÉDRAOGO": "ouedraogo", "Jean-Luc": "jean luc", "": ""} {
		if got := match.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSkeleton_GroupsSpellingsByEar(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		same bool
	}{
		{"vowel variation", "Ochieng", "Achieng", true},
		{"doubled letter", "Nakato", "Nakatto", true},
		{"c/k", "Kamau", "Camau", true},
		{"ph/f", "Josephine", "Josefine", true},
		{"l/r", "Lubega", "Rubega", true},
		{"accents", "Traoré", "Traore", true},
		{"silent h", "Mohammed", "Moammed", true},
		{"different names", "Okello", "Mukasa", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := match.Skeleton{}.Key(tc.a), match.Skeleton{}.Key(tc.b)
			if (ka == kb) != tc.same {
				t.Errorf("keys %q=%s %q=%s, same=%v", tc.a, ka, tc.b, kb, tc.same)
			}
		})
	}
	if k := (match.Soundex{}).Key("Robert"); k != "R163" {
		t.Errorf("Soundex(Robert) = %s, want R163", k)
	}
}

func TestScore_Levels(t *testing.T) {
	m := match.New(nil)
	base := match.Person{Given: "Amina", Family: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-12", Phone: "0772123456", Village: "Kireka"}
	for _, tc := range []struct {
		name   string
		edit   func(p *match.Person)
		level  idcards.MatchLevel
		reason string
	}{
		{"identical", func(p *match.Person) {}, idcards.MatchProbable, "same name"},
		{"typo", func(p *match.Person) { p.Family = "Nakatto" }, idcards.MatchProbable, "similar name"},
		{"swapped", func(p *match.Person) { p.Given, p.Family = p.Family, p.Given }, idcards.MatchProbable, "swapped"},
		{"day/month swapped", func(p *match.Person) { p.BirthDate = "1990-12-04" }, idcards.MatchProbable, "day and month swapped"},
		{"estimated age, new phone", func(p *match.Person) {
			p.BirthDate, p.BirthDateEstimated, p.Phone = "1991-07-01", true, "0700999888"
		}, idcards.MatchPossible, "estimated"},
		{"other sex", func(p *match.Person) { p.Sex = idcards.SexMale }, idcards.MatchPossible, "different sex"},
		{"other person", func(p *match.Person) { p.Given, p.Family, p.BirthDate = "Okello", "John", "1960-01-01" }, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := base
			tc.edit(&q)
			score, reasons := m.Score(q, base)
			if got := m.Thresholds.Level(score); got != tc.level {
				t.Errorf("score %.3f level %q, want %q (%v)", score, got, tc.level, reasons)
			}
			if tc.reason != "" && !strings.Contains(strings.Join(reasons, "; "), tc.reason) {
				t.Errorf("reasons %v lack %q", reasons, tc.reason)
			}
		})
	}
}

func TestSynthesize_Seeded(t *testing.T) {
	a := match.Synthesize(match.DefaultSynth(3, 200))
	b := match.Synthesize(match.DefaultSynth(3, 200))
	if len(a) != len(b) || len(a) <= 200 || a[len(a)-1] != b[len(b)-1] {
		t.Fatal("generator is not deterministic for a seed or planted no duplicates")
	}
}

func FuzzScore(f *testing.F) {
	f.Add("Amina", "Nakato", "1990-04-12", "Nakatto", "Amina", "1990")
	f.Fuzz(func(t *testing.T, g1, f1, d1, g2, f2, d2 string) {
		m := match.New(nil)
		s, _ := m.Score(match.Person{Given: g1, Family: f1, BirthDate: d1}, match.Person{Given: g2, Family: f2, BirthDate: d2})
		if s < 0 || s > 1 {
			t.Fatalf("score %v outside [0,1]", s)
		}
		_ = match.Skeleton{}.Key(g1)
		_ = match.Soundex{}.Key(f1)
	})
}
