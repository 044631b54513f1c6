package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

// queryRow is one query of a --file: the person, an optional id to echo,
// and for match-eval the truth (registry MRN, or empty for a new person).
type queryRow struct {
	Line  int
	ID    string
	Truth string
	NP    registry.NewPatient
}

// queryColumns are the accepted headers (lower case), by field.
var queryColumns = map[string][]string{
	"given":     {"given", "given_name", "first_name", "firstname"},
	"family":    {"family", "family_name", "last_name", "surname", "lastname"},
	"sex":       {"sex", "gender"},
	"dob":       {"dob", "birth_date", "birthdate", "date_of_birth"},
	"estimated": {"dob_estimated", "birth_date_estimated", "estimated"},
	"age":       {"age"},
	"phone":     {"phone", "phone_number", "telephone"},
	"village":   {"village", "address", "location"},
	"id":        {"id", "query_id", "ref"},
	"truth":     {"truth", "mrn", "true_mrn"},
}

// readQueries parses a CSV of queries (header row required; columns named
// as in queryColumns, any order, others ignored). A bad row is an error
// naming its line; nothing is matched until the whole file parses.
func readQueries(r io.Reader, now func() (int, string), needTruth bool) ([]queryRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, idcards.Errorf(idcards.Invalid, "queries file: no header row: %v", err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for f, names := range queryColumns {
			for _, n := range names {
				if h == n {
					if _, dup := col[f]; !dup {
						col[f] = i
					}
				}
			}
		}
	}
	_, g := col["given"]
	_, f := col["family"]
	if !g && !f {
		return nil, idcards.Errorf(idcards.Invalid, "queries file: header %q has no given or family name column (given_name, family_name, sex, birth_date, birth_date_estimated, age, phone, village, id, truth)", strings.Join(head, ","))
	}
	if _, ok := col["truth"]; needTruth && !ok {
		return nil, idcards.Errorf(idcards.Invalid, "labelled file: no truth column (the registry MRN of the same person, empty for a new person)")
	}
	var out []queryRow
	line := 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		line++
		if err != nil {
			return nil, idcards.Errorf(idcards.Invalid, "queries file line %d: %v", line, err)
		}
		get := func(f string) string {
			if i, ok := col[f]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		q := queryRow{Line: line, ID: get("id"), Truth: get("truth")}
		q.NP = registry.NewPatient{GivenName: get("given"), FamilyName: get("family"), BirthDate: get("dob"), Phone: get("phone"), Village: get("village")}
		if q.NP.Sex, err = idcards.ParseSex(orU(get("sex"))); err != nil {
			return nil, idcards.Errorf(idcards.Invalid, "queries file line %d: %v", line, err)
		}
		switch strings.ToLower(get("estimated")) {
		case "", "0", "false", "no", "n":
		case "1", "true", "yes", "y":
			q.NP.BirthDateEstimated = true
		default:
			return nil, idcards.Errorf(idcards.Invalid, "queries file line %d: birth_date_estimated %q: use 1/0, true/false or yes/no", line, get("estimated"))
		}
		if a := get("age"); a != "" && q.NP.BirthDate == "" {
			n, err := strconv.Atoi(a)
			if err != nil || n < 0 || n > 130 {
				return nil, idcards.Errorf(idcards.Invalid, "queries file line %d: age %q: a whole number of years 0-130", line, a)
			}
			y, _ := now()
			q.NP.BirthDate, q.NP.BirthDateEstimated = fmt.Sprintf("%04d-07-01", y-n), true
		}
		if q.NP.GivenName == "" && q.NP.FamilyName == "" {
			return nil, idcards.Errorf(idcards.Invalid, "queries file line %d: no name", line)
		}
		out = append(out, q)
	}
}

func orU(s string) string {
	if s == "" {
		return "U"
	}
	return s
}

// validateQueries normalises every query as a registration would (names,
// sex, date format) before anything is matched, so a bad row is an error
// naming its line and nothing is half done. A query is a look-up: like
// `patients match --given`, it may lack a birth date (no evidence either
// way), as registry rows may.
func validateQueries(qs []queryRow, now time.Time) error {
	for i := range qs {
		if err := qs[i].NP.ValidateRecord(now); err != nil {
			return fmt.Errorf("line %d: %w", qs[i].Line, err)
		}
	}
	return nil
}

// matchLine is one line of `patients match --file --json`.
type matchLine struct {
	Line       int                 `json:"line"`
	ID         string              `json:"id,omitempty"`
	Query      queryJSON           `json:"query"`
	Candidates []idcards.Candidate `json:"candidates"`
}

type queryJSON struct {
	GivenName          string      `json:"given_name"`
	FamilyName         string      `json:"family_name"`
	Sex                idcards.Sex `json:"sex"`
	BirthDate          string      `json:"birth_date,omitempty"`
	BirthDateEstimated bool        `json:"birth_date_estimated,omitempty"`
	Phone              string      `json:"phone,omitempty"`
	Village            string      `json:"village,omitempty"`
}

func openQueries(path string, stdin io.Reader) (io.Reader, func(), error) {
	if path == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, idcards.Errorf(idcards.Invalid, "queries file: %v", err)
	}
	return f, func() { f.Close() }, nil
}

// matchFile answers every query of a file in one process.
func (a *app) matchFile(ctx context.Context, s *registry.Store, path string, limit int, asJSON bool) error {
	r, done, err := openQueries(path, a.stdin)
	if err != nil {
		return err
	}
	defer done()
	qs, err := readQueries(r, func() (int, string) { return s.Now().Year(), "" }, false)
	if err != nil {
		return err
	}
	if err := validateQueries(qs, s.Now()); err != nil {
		return err
	}
	enc := json.NewEncoder(a.stdout)
	for _, q := range qs {
		np := q.NP
		cands, err := s.Candidates(ctx, np, limit)
		if err != nil {
			return err
		}
		if cands == nil {
			cands = []idcards.Candidate{}
		}
		if asJSON {
			if err := enc.Encode(matchLine{Line: q.Line, ID: q.ID, Query: queryJSON{np.GivenName, np.FamilyName, np.Sex, np.BirthDate, np.BirthDateEstimated, np.Phone, np.Village}, Candidates: cands}); err != nil {
				return err
			}
			continue
		}
		a.printf("line %d: %s %s %s\n", q.Line, printable(np.GivenName), printable(np.FamilyName), orDash(np.BirthDate))
		if len(cands) == 0 {
			a.printf("  no candidates\n")
		}
		printCandidates(a.stdout, np.Patient(), cands)
	}
	return nil
}

func (a *app) patientsMatchEvalCmd() *cobra.Command {
	var file string
	var limit int
	var asJSON, misses bool
	cmd := &cobra.Command{
		Use:   "match-eval --file labelled.csv [--misses] [--json]",
		Short: "Measure duplicate detection on reviewed pairs: recall, precision and false alarms per level",
		Long: `Run the desk's duplicate check for every row of a labelled file and compare
with the truth. The file is a CSV with a header: the query's given_name,
family_name, sex, birth_date (YYYY-MM-DD), birth_date_estimated (1/0), age
(instead of a date), phone, village, and truth — the MRN of the registered
record that is the same person (several MRNs separated by spaces or ";" when
the person is registered more than once: any of them is right), or empty for
someone not registered.

Printed per level (probable, possible only, and probable-or-possible):
  recall      share of returning patients whose record is offered at that
              level (anywhere in the top --limit candidates);
  precision   share of candidates at that level that are the right record
              (for possible: how often a "possible" is worth a look);
  false alarm share of new people (empty truth) warned at that level (for
              possible: warned, but by nothing probable).
Also: returning patients whose record is the top candidate and probable, and
those whose record blocking offered at all (a record it did not offer was
never compared: no threshold finds it), with the records compared per query.
With --misses, every returning patient not found probable on top and every
new person warned as probable is then listed with why: never compared,
compared but scored too low, outranked by another record — the query, the
right record and the top candidate as the check scored them. The list holds
patients' details: treat it as the registry itself.

Use it to check the defaults (settings match_probable, match_possible) on
your own reviewed registrations before changing them.`,
		Example: `  idcards patients match-eval --file reviewed.csv
  idcards patients match-eval --file reviewed.csv --misses | less
  idcards patients match-eval --file reviewed.csv --json | jq .probable`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return idcards.Errorf(idcards.Invalid, "--file is required")
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := idcards.Require(ctx, idcards.PermReadPatient); err != nil {
				return err
			}
			r, done, err := openQueries(file, a.stdin)
			if err != nil {
				return err
			}
			defer done()
			qs, err := readQueries(r, func() (int, string) { return s.Now().Year(), "" }, true)
			if err != nil {
				return err
			}
			if err := validateQueries(qs, s.Now()); err != nil {
				return err
			}
			var ev evalCounts
			for _, q := range qs {
				np := q.NP
				// truth: one MRN, or several (space, ; or | between) when
				// the person is registered more than once — any of them is
				// the right record.
				truth := map[int64]bool{}
				var truthPatient *idcards.Patient
				for _, mrn := range strings.FieldsFunc(q.Truth, func(r rune) bool { return r == ' ' || r == ';' || r == '|' }) {
					v, err := s.Verify(ctx, mrn)
					if err != nil {
						return fmt.Errorf("line %d: truth %s: %w", q.Line, printable(mrn), err)
					}
					if v.Patient == nil {
						return idcards.Errorf(idcards.Invalid, "line %d: truth %s names no patient (%s)", q.Line, printable(mrn), v.Status)
					}
					truth[v.Patient.ID] = true
					if truthPatient == nil {
						truthPatient = v.Patient
					}
				}
				cands, ids, err := s.CandidatesCompared(ctx, np, limit)
				if err != nil {
					return err
				}
				ev.add(truth, cands)
				ev.addBlocked(truth, ids)
				if misses {
					if m, ok := evalMiss(q, truth, truthPatient, ids, cands); ok {
						ev.misses = append(ev.misses, m)
					}
				}
			}
			rep := ev.report()
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(rep)
			}
			a.printf("%d queries: %d returning, %d new\n", rep.Returning+rep.New, rep.Returning, rep.New)
			a.printf("%-20s %8s %10s %12s\n", "level", "recall", "precision", "false alarm")
			for _, l := range []evalLevel{rep.Probable, rep.Possible, rep.AnyLevel} {
				a.printf("%-20s %7.1f%% %9.1f%% %11.1f%%\n", l.Level, l.Recall, l.Precision, l.FalseAlarm)
			}
			a.printf("returning patients with the right record on top and probable: %.1f%%\n", rep.TopProbable)
			a.printf("returning patients whose record blocking offered (compared at all): %.1f%%; records compared per query: %.1f\n", rep.Offered, rep.PerQuery)
			for _, m := range rep.Misses {
				a.printf("line %d%s: %s\n    query:  %s\n", m.Line, idNote(m.ID), m.What, m.Query)
				if m.Right != "" {
					a.printf("    record: %s\n", m.Right)
				}
				if m.Top != "" {
					a.printf("    top:    %s\n", m.Top)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "labelled CSV (see above); - reads standard input")
	cmd.Flags().IntVar(&limit, "limit", 5, "candidates per query, as the desk shows")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the figures as JSON")
	cmd.Flags().BoolVar(&misses, "misses", false, "also list every returning patient not found probable on top, and every new person warned as probable, with why")
	return cmd
}

// evalMissRow is one query --misses lists: a returning patient whose record
// is not the probable top candidate, or a new person warned as probable.
type evalMissRow struct {
	Line  int    `json:"line"`
	ID    string `json:"id,omitempty"`
	What  string `json:"what"`
	Query string `json:"query"`
	Right string `json:"record,omitempty"` // the right record, as the check scored it
	Top   string `json:"top,omitempty"`    // the top candidate, when it is another record
}

func idNote(id string) string {
	if id == "" {
		return ""
	}
	return " (" + printable(id) + ")"
}

// evalMiss says why one query is not a success, if it is not: for a
// returning patient whether blocking never offered the record, or it
// scored too low, or another record outranked it; for a new person the
// record it was wrongly called probable for.
func evalMiss(q queryRow, truth map[int64]bool, right *idcards.Patient, blocked []int64, cs []idcards.Candidate) (evalMissRow, bool) {
	m := evalMissRow{Line: q.Line, ID: q.ID, Query: personLine(q.NP.GivenName, q.NP.FamilyName, q.NP.Sex, q.NP.BirthDate, q.NP.BirthDateEstimated, q.NP.Phone, q.NP.Village)}
	candLine := func(c idcards.Candidate) string {
		p := c.Patient
		mrn := ""
		if len(c.MRNs) > 0 {
			mrn = c.MRNs[0] + " "
		}
		return fmt.Sprintf("%s%s — %s %.3f: %s", mrn, personLine(p.GivenName, p.FamilyName, p.Sex, p.BirthDate, p.BirthDateEstimated, p.Phone, p.Village), c.Level, c.Score, strings.Join(c.Reasons, "; "))
	}
	if len(truth) == 0 {
		for _, c := range cs {
			if c.Level == idcards.MatchProbable {
				m.What, m.Top = "new person, warned as probable", candLine(c)
				return m, true
			}
		}
		return m, false
	}
	rank := -1
	for i, c := range cs {
		if truth[c.Patient.ID] {
			rank = i
			break
		}
	}
	if rank == 0 && cs[0].Level == idcards.MatchProbable {
		return m, false
	}
	switch {
	case rank >= 0:
		m.Right = candLine(cs[rank])
	case right != nil:
		m.Right = personLine(right.GivenName, right.FamilyName, right.Sex, right.BirthDate, right.BirthDateEstimated, right.Phone, right.Village)
	}
	if len(cs) > 0 && rank != 0 {
		m.Top = candLine(cs[0])
	}
	offered := false
	for _, id := range blocked {
		offered = offered || truth[id]
	}
	switch {
	case !offered:
		m.What = "returning patient, never compared: blocking did not offer the record"
	case rank < 0 && len(cs) == 0:
		m.What = "returning patient, compared but scored below possible"
	case rank < 0:
		m.What = fmt.Sprintf("returning patient, compared but not in the top %d", len(cs))
	case rank > 0:
		m.What = fmt.Sprintf("returning patient, outranked: the record is candidate %d", rank+1)
	default:
		m.What = "returning patient, the record is the top candidate but " + string(cs[0].Level)
	}
	return m, true
}

// personLine is a patient or query on one line, for --misses.
func personLine(given, family string, sex idcards.Sex, dob string, est bool, phone, village string) string {
	if est && dob != "" {
		dob += "~"
	}
	if dob == "" {
		dob = "no birth date"
	}
	parts := []string{printable(given) + " | " + printable(family), string(sex), dob}
	if phone != "" {
		parts = append(parts, printable(phone))
	}
	if village != "" {
		parts = append(parts, printable(village))
	}
	return strings.Join(parts, " | ")
}

type evalCounts struct {
	returning, newPeople    int
	found, foundProb, top   int
	cands, right            int
	probCands, probRight    int
	newWarned, newWarnedPro int
	offered, compared       int // returning patients whose record blocking offers; records offered, all queries
	misses                  []evalMissRow
}

// addBlocked counts what blocking offered one query: the records the check
// compares, and whether the right one is among them.
func (e *evalCounts) addBlocked(truth map[int64]bool, ids []int64) {
	e.compared += len(ids)
	for _, id := range ids {
		if truth[id] {
			e.offered++
			return
		}
	}
}

// possible candidates are those offered but not probable.
func (e *evalCounts) possible() evalLevel {
	return evalLevel{"possible", pctOf(e.found-e.foundProb, e.returning), pctOf(e.right-e.probRight, e.cands-e.probCands), pctOf(e.newWarned-e.newWarnedPro, e.newPeople)}
}

func (e *evalCounts) add(truth map[int64]bool, cs []idcards.Candidate) {
	found, foundProb := false, false
	for _, c := range cs {
		ok := truth[c.Patient.ID]
		e.cands++
		if ok {
			e.right++
			found = true
		}
		if c.Level == idcards.MatchProbable {
			e.probCands++
			if ok {
				e.probRight++
				foundProb = true
			}
		}
	}
	if len(truth) == 0 {
		e.newPeople++
		if len(cs) > 0 {
			e.newWarned++
		}
		for _, c := range cs {
			if c.Level == idcards.MatchProbable {
				e.newWarnedPro++
				break
			}
		}
		return
	}
	e.returning++
	if found {
		e.found++
	}
	if foundProb {
		e.foundProb++
	}
	if len(cs) > 0 && truth[cs[0].Patient.ID] && cs[0].Level == idcards.MatchProbable {
		e.top++
	}
}

type evalLevel struct {
	Level      string  `json:"level"`
	Recall     float64 `json:"recall"`
	Precision  float64 `json:"precision"`
	FalseAlarm float64 `json:"false_alarm"`
}

type evalReport struct {
	Returning   int       `json:"returning"`
	New         int       `json:"new"`
	Probable    evalLevel `json:"probable"`
	Possible    evalLevel `json:"possible"`
	AnyLevel    evalLevel `json:"any_level"`
	TopProbable float64   `json:"top_probable"`
	// Offered: returning patients whose record blocking offers (a miss
	// outside it is never compared; inside, it scored too low). PerQuery:
	// records compared per query.
	Offered  float64 `json:"offered_by_blocking"`
	PerQuery float64 `json:"records_per_query"`
	// Misses (--misses): each query that is not a success, and why.
	Misses []evalMissRow `json:"misses,omitempty"`
}

func pctOf(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(1000*float64(a)/float64(b)+0.5)) / 10
}

func (e *evalCounts) report() evalReport {
	return evalReport{
		Returning: e.returning, New: e.newPeople,
		Probable:    evalLevel{"probable", pctOf(e.foundProb, e.returning), pctOf(e.probRight, e.probCands), pctOf(e.newWarnedPro, e.newPeople)},
		Possible:    e.possible(),
		AnyLevel:    evalLevel{"probable or possible", pctOf(e.found, e.returning), pctOf(e.right, e.cands), pctOf(e.newWarned, e.newPeople)},
		TopProbable: pctOf(e.top, e.returning),
		Offered:     pctOf(e.offered, e.returning),
		PerQuery:    math.Round(10*float64(e.compared)/float64(max(1, e.returning+e.newPeople))) / 10,
		Misses:      e.misses,
	}
}
