package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/idcards/idcards"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

const matchRegistryCSV = "given_name,family_name,sex,birth_date,birth_date_estimated,phone,village\n" +
	"Amina,Nakato,F,1990-04-12,0,0772123456,Kireka\n" +
	"Babirye,Nakato,F,1990-04-12,0,0772123456,Kireka\n" +
	"Mohammed,Khan,M,1975-07-01,1,,Seeta\n" +
	"Okello,John,M,1960-01-01,0,,\n"

func matchRegistry(t *testing.T) string {
	t.Helper()
	db := newRegistry(t)
	if _, _, err := patientsCLI(t, db, "", "patients", "import", writeFile(t, "reg.csv", matchRegistryCSV), "--issue-missing"); err != nil {
		t.Fatal(err)
	}
	return db
}

var volatile = regexp.MustCompile(`"(uuid|created_at|created_by)":"[^"]*"`)

// TestPatients_MatchFileJSON: one JSON line per query, golden.
func TestPatients_MatchFileJSON(t *testing.T) {
	db := matchRegistry(t)
	queries := "id,given_name,family_name,sex,birth_date,birth_date_estimated,age,phone,village\n" +
		"q1,Aminah,Nakatto,F,1990-12-04,,,+256 772 123 456,\n" + // variant, typo, day/month swap, international phone
		"q2,Khan,Muhammad,M,1976-07-01,1,,,Seeta\n" + // swapped, variant, estimated age
		"q3,Sarah,Mukasa,F,2001-02-03,,,,\n" + // new person
		"q4,Amina,Nakato,F,,,,0772123456,Kireka\n" // no birth date: still a query (no evidence either way)
	out, _, err := patientsCLI(t, db, "", "patients", "match", "--file", writeFile(t, "q.csv", queries), "--json")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n != 4 {
		t.Fatalf("%d lines, want one per query:\n%s", n, out)
	}
	got := volatile.ReplaceAllString(out, `"$1":"-"`)
	golden := filepath.Join("testdata", "match_file.golden")
	if *updateGolden {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("match --file --json differs from %s (go test -run MatchFileJSON -update):\n%s", golden, got)
	}
}

func TestPatients_MatchFileErrors(t *testing.T) {
	db := matchRegistry(t)
	for _, tc := range []struct{ name, body, want string }{
		{"no name column", "sex,dob\nF,1990-01-01\n", "no given or family name column"},
		{"bad sex", "given,family,sex\nAmina,Nakato,X\n", "line 2"},
		{"bad age", "given,family,age\nAmina,Nakato,old\n", "age \"old\""},
		{"bad flag", "given,family,dob,estimated\nAmina,Nakato,1990-01-01,maybe\n", "birth_date_estimated"},
		{"bad date", "given,family,dob\nAmina,Nakato,12/04/1990\n", "not a date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := patientsCLI(t, db, "", "patients", "match", "--file", writeFile(t, "q.csv", tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPatients_MatchEval(t *testing.T) {
	db := matchRegistry(t)
	out, _, err := patientsCLI(t, db, "", "patients", "export", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	// The MRN of Amina Nakato, from the export.
	var amina, babirye string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, ",Amina,") {
			amina = strings.Split(line, ",")[0]
		}
		if strings.Contains(line, ",Babirye,") {
			babirye = strings.Split(line, ",")[0]
		}
	}
	if amina == "" || babirye == "" {
		t.Fatalf("no MRN for Amina or Babirye in export:\n%s", out)
	}
	labelled := "given_name,family_name,sex,birth_date,phone,truth\n" +
		"Amina,Nakatto,F,1990-04-12,0772123456," + amina + "\n" +
		"Sarah,Mukasa,F,2001-02-03,,\n" +
		"Amina,Nakato,F,,0772123456," + babirye + ";" + amina + "\n" // several MRNs: any is right; no birth date

	out, _, err = patientsCLI(t, db, "", "patients", "match-eval", "--file", writeFile(t, "l.csv", labelled))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 queries: 2 returning, 1 new", "probable               100.0%", "\npossible                 0.0%", "right record on top and probable: 100.0%", "blocking offered (compared at all): 100.0%"} {
		if !strings.Contains(out, want) {
			t.Errorf("match-eval lacks %q:\n%s", want, out)
		}
	}
	// --misses: a returning patient the check cannot find (every name
	// and the date changed) is listed as never compared, with the record;
	// the found ones are not listed.
	hard := labelled + "Zzyzx,Qwerty,F,1930-01-01,," + amina + "\n"
	out, _, err = patientsCLI(t, db, "", "patients", "match-eval", "--misses", "--file", writeFile(t, "h.csv", hard))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"line 5: returning patient, never compared: blocking did not offer the record", "query:  Zzyzx | Qwerty | F | 1930-01-01", "record: Amina | Nakato | F |", "blocking offered (compared at all): 66.7%"} {
		if !strings.Contains(out, want) {
			t.Errorf("match-eval --misses lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\nline "); n != 1 {
		t.Errorf("match-eval --misses lists %d queries, want 1:\n%s", n, out)
	}
	out, _, err = patientsCLI(t, db, "", "patients", "match-eval", "--misses", "--json", "--file", writeFile(t, "h.csv", hard))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Offered float64 `json:"offered_by_blocking"`
		Misses  []struct {
			Line int    `json:"line"`
			What string `json:"what"`
		} `json:"misses"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Misses) != 1 || rep.Misses[0].Line != 5 || rep.Offered != 66.7 {
		t.Errorf("match-eval --misses --json: %v %+v\n%s", err, rep, out)
	}
	if _, _, err := patientsCLI(t, db, "", "patients", "match-eval", "--file", writeFile(t, "n.csv", "given,family\nA,B\n")); err == nil || !strings.Contains(err.Error(), "truth") {
		t.Fatalf("file without truth: %v", err)
	}
}

func FuzzReadQueries(f *testing.F) {
	f.Add("given_name,family_name,sex,birth_date,birth_date_estimated,age,phone,village,truth\nAmina,Nakato,F,1990-04-12,1,,0772,Kireka,X\n")
	f.Add("given,age\nA,200\n")
	f.Add("\ufeffGiven Name,Family\n\"a,b\",c\n")
	f.Fuzz(func(t *testing.T, body string) {
		qs, err := readQueries(strings.NewReader(body), func() (int, string) { return 2026, "" }, false)
		if err != nil {
			return
		}
		for _, q := range qs {
			if q.NP.GivenName == "" && q.NP.FamilyName == "" {
				t.Fatalf("row without a name accepted: %+v", q)
			}
		}
	})
}

func TestPatients_MatchTrain(t *testing.T) {
	db := matchRegistry(t)
	out, _, err := patientsCLI(t, db, "", "patients", "match-train")
	if err != nil || !strings.Contains(out, "u measured on this registry (4 records)") || !strings.Contains(out, "birth_date  exact") {
		t.Fatalf("match-train: %v\n%s", err, out)
	}
	out, _, err = patientsCLI(t, db, "", "patients", "match-train", "--em", "--dry-run")
	if err != nil || !strings.Contains(out, "m by EM") || !strings.Contains(out, "dry run") {
		t.Fatalf("match-train --em --dry-run: %v\n%s", err, out)
	}
}

// TestPrintCandidates_Namesakes: a crowd of namesakes, none probable but
// together likely, ends with what to ask for; a probable candidate or a
// lone possible one does not.
func TestPrintCandidates_Namesakes(t *testing.T) {
	c := func(level idcards.MatchLevel, score, weight float64) idcards.Candidate {
		return idcards.Candidate{Patient: idcards.Patient{GivenName: "Grace", FamilyName: "Akello", Sex: "F", BirthDate: "1990-07-01"}, MRNs: []string{"1200000014"}, Score: score, Weight: weight, Level: level, Reasons: []string{"same name"}}
	}
	for _, tc := range []struct {
		name   string
		cs     []idcards.Candidate
		advice string
	}{
		// three namesakes, each 2:1 against a new person: 6:1 together
		{"crowd", []idcards.Candidate{c(idcards.MatchPossible, 0.29, 1), c(idcards.MatchPossible, 0.29, 1), c(idcards.MatchPossible, 0.29, 1)}, "These 3 records together are 86% likely to include this person"},
		{"one probable", []idcards.Candidate{c(idcards.MatchProbable, 0.96, 6), c(idcards.MatchPossible, 0.03, -2)}, ""},
		{"alone", []idcards.Candidate{c(idcards.MatchPossible, 0.8, 2)}, ""},
		{"one stands out", []idcards.Candidate{c(idcards.MatchPossible, 0.9, 5.4), c(idcards.MatchPossible, 0.29, 2.6), c(idcards.MatchPossible, 0.29, 2.6)}, ""},
		{"unlikely together", []idcards.Candidate{c(idcards.MatchPossible, 0.2, -2), c(idcards.MatchPossible, 0.2, -2)}, ""},
	} {
		var b strings.Builder
		printCandidates(&b, idcards.Patient{GivenName: "Grace", FamilyName: "Akello", Sex: "F"}, tc.cs)
		out := b.String()
		if tc.advice == "" && strings.Contains(out, "together") || tc.advice != "" && !strings.Contains(out, tc.advice+", but none stands out: ask for the exact birth date to tell them apart.") {
			t.Errorf("%s:\n%s", tc.name, out)
		}
	}
}

// TestPatients_MatchNamesakes: four women of one name, their ages
// estimated around the query's, none standing out: `patients match`
// says what to ask for; with the village one of them stands out and the
// advice goes.
func TestPatients_MatchNamesakes(t *testing.T) {
	db := newRegistry(t)
	reg := "given_name,family_name,sex,birth_date,birth_date_estimated,phone,village\n" +
		"Grace,Akello,F,1988-07-01,1,0772111111,Kireka\n" +
		"Grace,Akello,F,1989-07-01,1,0782222222,Seeta\n" +
		"Grace,Akello,F,1991-07-01,1,0703333333,Mukono\n" +
		"Grace,Akello,F,1992-07-01,1,0704444444,Gayaza\n" +
		"Okello,John,M,1960-01-01,0,,\n"
	if _, _, err := patientsCLI(t, db, "", "patients", "import", writeFile(t, "reg.csv", reg), "--issue-missing"); err != nil {
		t.Fatal(err)
	}
	q := []string{"patients", "match", "--given", "Grace", "--family", "Akello", "--sex", "F", "--dob", "1990-07-01", "--dob-estimated"}
	out, _, err := patientsCLI(t, db, "", q...)
	if err != nil || strings.Count(out, "possible") != 4 || !strings.Contains(out, "These 4 records together are") || !strings.Contains(out, "ask for the phone number or village to tell them apart") {
		t.Fatalf("namesakes: %v\n%s", err, out)
	}
	out, _, err = patientsCLI(t, db, "", append(q, "--village", "Seeta")...)
	if err != nil || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "1989-07-01") || strings.Contains(out, "together") {
		t.Fatalf("with the village: %v\n%s", err, out)
	}
}
