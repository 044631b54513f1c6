package match

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestWriteSynthCSV writes a generated registry and its queries as the
// CSV files `patients import` and `patients match --file` / match-eval
// read, to check the command path end to end against the benchmark:
//
//	MATCH_SYNTH_CSV=DIR MATCH_SYNTH_N=20000 go test ./match -run WriteSynthCSV
//
// registry.csv has one row per generated record; queries.csv has a
// "want" column: the registry.csv row (1-based) of the same person, empty
// for a new person; persons.csv the person of each registry row.
func TestWriteSynthCSV(t *testing.T) {
	dir := os.Getenv("MATCH_SYNTH_CSV")
	if dir == "" {
		t.Skip("set MATCH_SYNTH_CSV=DIR")
	}
	n, _ := strconv.Atoi(os.Getenv("MATCH_SYNTH_N"))
	if n <= 0 {
		n = 20_000
	}
	cfg := DefaultSynth(1, n)
	cfg.DupRate = 0.03
	recs := Synthesize(cfg)
	qs, want := Queries(2, recs, 2000)
	write := func(name string, head []string, rows [][]string) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w := csv.NewWriter(f)
		w.Write(head)
		w.WriteAll(rows)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	row := func(p Person) []string {
		est := "0"
		if p.BirthDateEstimated {
			est = "1"
		}
		sex := string(p.Sex)
		return []string{p.Given, p.Family, sex, p.BirthDate, est, p.Phone, p.Village}
	}
	head := []string{"given_name", "family_name", "sex", "birth_date", "birth_date_estimated", "phone", "village"}
	var rows [][]string
	for _, r := range recs {
		rows = append(rows, row(r.Person))
	}
	write("registry.csv", head, rows)
	// persons.csv: the person of each registry.csv row (the row of the
	// original for a planted duplicate), 1-based.
	var prow [][]string
	for i, r := range recs {
		of := i
		if r.Of >= 0 {
			of = r.Of
		}
		prow = append(prow, []string{strconv.Itoa(i + 1), strconv.Itoa(of + 1)})
	}
	write("persons.csv", []string{"row", "person"}, prow)
	rows = rows[:0]
	for i, q := range qs {
		w := ""
		if want[i] >= 0 {
			w = strconv.Itoa(want[i] + 1)
		}
		rows = append(rows, append(row(q), strconv.Itoa(i), w))
	}
	write("queries.csv", append(head, "id", "want"), rows)
}
