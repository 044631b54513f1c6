package registry

import (
	"fmt"
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
		return scoredPatient{rec: match.Record{ID: id}, r: match.Result{Level: level, Probability: p, Weight: w}}
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

// TestBlockedSQL: every cap is written into the text (a bound LIMIT makes
// SQLite re-prepare the statement at each query), every other value is
// bound, one argument per placeholder, and the texts depend only on the
// kinds of lookup, so the prepared statements stay few.
func TestBlockedSQL(t *testing.T) {
	lookups := []match.Lookup{
		{K: "t:AMN|F", Cap: 40},                                     // no birth year in the query
		{K: "p:+256772123456", Near: 1990, Cap: 20},                 // any year, nearest first
		{K: "n:AMN|NKT|F", Near: 1990, Lo: 1987, Hi: 1993, Cap: 30}, // a window
	}
	sql, args := blockedSQL(lookups)
	if strings.Contains(sql, "LIMIT ?") {
		t.Errorf("a bound LIMIT: %s", sql)
	}
	for _, want := range []string{"LIMIT 80)", "LIMIT 20)", "LIMIT 30)", "LIMIT 15)"} {
		if !strings.Contains(sql, want) {
			t.Errorf("no %q in %s", want, sql)
		}
	}
	if n := strings.Count(sql, "?"); n != len(args) {
		t.Fatalf("%d placeholders, %d arguments", n, len(args))
	}
	wantArgs := []any{"t:AMN|F", "p:+256772123456", 1990, "p:+256772123456", 1990,
		"n:AMN|NKT|F", 1990, 1993, "n:AMN|NKT|F", 1987, 1989, "n:AMN|NKT|F"}
	if fmt.Sprint(args) != fmt.Sprint(wantArgs) {
		t.Errorf("args %v, want %v", args, wantArgs)
	}
	plain, pargs := blockedSQL([]match.Lookup{{K: "e:anj|n|F", Near: 1990, Lo: 1987, Hi: 1993, Cap: 20, Plain: true}})
	if want := "SELECT patient_id FROM (SELECT patient_id FROM match_keys WHERE k = ? AND y BETWEEN ? AND ? LIMIT 20) AS b"; plain != want || fmt.Sprint(pargs) != "[e:anj|n|F 1987 1993]" {
		t.Errorf("a plain lookup: %s %v", plain, pargs)
	}
	also, aargs := blockedSQL([]match.Lookup{{K: "n:AMS|MNS|F", Cap: 20, Also: "v:mumpile|F", Scan: 2000}})
	if want := "SELECT patient_id FROM (SELECT a.patient_id FROM (SELECT y, patient_id FROM match_keys WHERE k = ? LIMIT 2000) AS a WHERE EXISTS (SELECT 1 FROM match_keys AS c WHERE c.k = ? AND c.y = a.y AND c.patient_id = a.patient_id) LIMIT 20) AS b"; also != want || fmt.Sprint(aargs) != "[n:AMS|MNS|F v:mumpile|F]" {
		t.Errorf("a lookup within the village: %s %v", also, aargs)
	}
	other := []match.Lookup{{K: "t:OKL|M", Cap: 40}, {K: "p:+256700000000", Near: 1950, Cap: 20}, {K: "n:OKL|NKT|M", Near: 1950, Lo: 1940, Hi: 1960, Cap: 30}}
	if sql2, _ := blockedSQL(other); sql2 != sql {
		t.Errorf("other values, another text:\n%s\n%s", sql, sql2)
	}
}
