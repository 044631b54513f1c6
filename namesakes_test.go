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
}

// TestWarningAdvice: a crowd is told what tells them apart (what the
// query lacks and the records hold, else the usual three); a warning
// without a probable candidate names the details not typed that the
// records hold; a probable one, or nothing to add, says nothing.
func TestWarningAdvice(t *testing.T) {
	rec := func(level idcards.MatchLevel, score, weight float64, phone, village, dob string, est bool) idcards.Candidate {
		return idcards.Candidate{Level: level, Score: score, Weight: weight, Patient: idcards.Patient{GivenName: "Grace", FamilyName: "Akello", Phone: phone, Village: village, BirthDate: dob, BirthDateEstimated: est}}
	}
	p := idcards.MatchPossible
	bare := idcards.Patient{GivenName: "Grace", FamilyName: "Akello", BirthDate: "1990-07-01", BirthDateEstimated: true}
	full := idcards.Patient{GivenName: "Grace", FamilyName: "Akello", BirthDate: "1990-04-02", Phone: "0772123456", Village: "Seeta"}
	crowd := []idcards.Candidate{rec(p, 0.3, 1, "0772111111", "Kireka", "1989-07-01", true), rec(p, 0.3, 1, "", "Seeta", "1991-03-02", false)}
	for _, tc := range []struct {
		name string
		q    idcards.Patient
		cs   []idcards.Candidate
		want string
	}{
		{"crowd, details missing", bare, crowd, "These 2 records together are 80% likely to include this person, but none stands out: ask for the phone number, village or exact birth date to tell them apart."},
		{"crowd, all typed", full, crowd, "These 2 records together are 80% likely to include this person, but none stands out: ask what tells them apart (phone number, village, exact birth date)."},
		{"one possible", bare, []idcards.Candidate{rec(p, 0.6, 1, "0772111111", "", "1989-07-01", true)}, "Not typed: the phone number, which the record holds; asking for it may settle it."},
		{"two possible", bare, []idcards.Candidate{rec(p, 0.8, 3, "", "Kireka", "1989-02-03", false), rec(p, 0.1, -3, "", "", "", false)}, "Not typed: the village and exact birth date, which these records hold; asking for them may settle it."},
		{"nothing more to ask", full, []idcards.Candidate{rec(p, 0.6, 1, "0772111111", "Kireka", "1989-07-01", false)}, ""},
		{"a probable one", bare, []idcards.Candidate{rec(idcards.MatchProbable, 0.97, 6, "0772111111", "Kireka", "1990-07-01", true)}, ""},
		{"none", bare, nil, ""},
	} {
		if got := idcards.WarningAdvice(tc.q, tc.cs); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
