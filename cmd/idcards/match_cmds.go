package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

func (a *app) patientsMatchCmd() *cobra.Command {
	var np registry.NewPatient
	var sex, age string
	var limit int
	var asJSON bool
	var file string
	cmd := &cobra.Command{
		Use:   "match (--given G --family F [--dob D [--dob-estimated] | --age N] [--sex S] [--phone P] [--village V] | --file queries.csv) [--json]",
		Short: "List registered patients who may be this person, with match probability and reasons",
		Long: `Run the desk's duplicate check without registering anyone — the same scorer
the TUI, registration and import use (docs/matching.md).

Candidates are found by blocking (phonetic keys of the names in either order,
also for each further word of a longer name, the given name's first letters
with the family initial, the birth date, the phone, the village, each capped to
the records nearest the birth year) and scored field by field (Fellegi–Sunter): each
field's agreement level adds or subtracts bits of evidence, exact agreement on
a rare name counts more than on a common one, and a missing field counts
neither way. Score is the probability that this record is the person, given
every record found: namesakes that fit about as well share it ("2 other
records fit nearly as well").

Levels: probable (probability ≥ setting match_probable, default 0.95) —
registration is refused unless the clerk records a reason; possible (≥
match_possible, default 0.25, or one of several namesakes that would be on its
own) — shown as a warning. Different given names (twins) and birth dates that
disagree (a generation apart: parent and child of the same name; closer: an age
estimated far off, a date written wrong) are never probable. When none is
probable, the printed list ends with what to ask the patient: the phone,
village or exact birth date that was not typed and the records hold, or, for
several namesakes none of which stands out, how likely they are together
(--json prints the candidates only).

--file answers many queries in one process: a CSV with a header (given_name,
family_name, sex, birth_date, birth_date_estimated, age, phone, village; an
id column is echoed); a query may lack a birth date; every row is checked
before anything is printed. With --json one JSON object per query per line:
{"line":2,"id":"...","query":{...},"candidates":[...]}.

Exit status 1 when a single query has a probable match.`,
		Example: `  idcards patients match --given Amina --family Nakato --dob 1990-04-12
  idcards patients match --given Nakato --family Aminah --age 35 --sex F --json
  idcards patients match --file queries.csv --json > answers.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := idcards.Require(ctx, idcards.PermReadPatient); err != nil {
				return err
			}
			if file != "" {
				return a.matchFile(ctx, s, file, limit, asJSON)
			}
			if np.Sex, err = idcards.ParseSex(sex); err != nil {
				return err
			}
			if cmd.Flags().Changed("age") {
				if np.BirthDate, np.BirthDateEstimated, err = registry.ParseAge(age, s.Now()); err != nil {
					return err
				}
			}
			if err := np.ValidateRecord(s.Now()); err != nil { // a look-up: the birth date may be unknown
				return err
			}
			cands, err := s.Candidates(ctx, np, limit)
			if err != nil {
				return err
			}
			if asJSON {
				if cands == nil {
					cands = []idcards.Candidate{}
				}
				if err := json.NewEncoder(a.stdout).Encode(cands); err != nil {
					return err
				}
			} else if len(cands) == 0 {
				a.printf("no candidates\n")
			} else {
				printCandidates(a.stdout, np.Patient(), cands)
			}
			for _, c := range cands {
				if c.Level == idcards.MatchProbable {
					return exitError{1}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&np.GivenName, "given", "", "given name")
	f.StringVar(&np.FamilyName, "family", "", "family name")
	f.StringVar(&sex, "sex", "U", "M, F, O or U")
	f.StringVar(&np.BirthDate, "dob", "", "date of birth YYYY-MM-DD")
	f.StringVar(&age, "age", "", "estimated age: years (34), or 3m, 6w, 10d for a baby")
	f.BoolVar(&np.BirthDateEstimated, "dob-estimated", false, "the --dob is an estimate (widens the tolerance with age)")
	f.StringVar(&file, "file", "", "CSV of queries to answer in one run (- = standard input)")
	f.StringVar(&np.Phone, "phone", "", "phone number")
	f.StringVar(&np.Village, "village", "", "village")
	f.IntVar(&limit, "limit", 5, "at most this many candidates")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) patientsMergeCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "merge DUPLICATE_MRN KEEP_MRN --reason TEXT",
		Short: "Mark two records as the same person (supervisor)",
		Long: `Merge the patient holding DUPLICATE_MRN into the patient holding KEEP_MRN.
Both MRNs stay valid: the duplicate's IDs (and so its printed cards) now point
to the kept record, which ` + "`verify`" + ` and ` + "`patients show`" + ` report. The
duplicate record is kept, marked merged, and no longer offered as a duplicate
candidate. The merge and its reason go to the audit trail, and the moved IDs
are queued for OpenMRS.`,
		Example: `  idcards patients merge KLA000456Z KLA000123Y --reason "same mother, same village; confirmed by patient"`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			var ids [2]int64
			for i, raw := range args {
				v, err := s.Verify(ctx, raw)
				if err != nil {
					return err
				}
				if v.Patient == nil {
					return idcards.Errorf(idcards.NotFound, "%s: no patient (%s %s)", printable(raw), v.Status, v.Detail)
				}
				ids[i] = v.Patient.ID
			}
			if err := s.Merge(ctx, ids[0], ids[1], reason); err != nil {
				return err
			}
			a.printf("merged patient %d into patient %d\n", ids[0], ids[1])
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why these are the same person (required, audited)")
	return cmd
}

func (a *app) patientsDuplicatesCmd() *cobra.Command {
	var probableOnly, asJSON, quiet bool
	var workers int
	cmd := &cobra.Command{
		Use:   "duplicates [--probable] [--workers N] [--json] [--quiet]",
		Short: "Scan the whole registry for records that may be one person; fill the review list",
		Long: `Compare every patient with the others sharing a blocking key — the same keys
and scorer the desk check uses — on all cores, with a progress bar on
standard error. Near-linear: each record is compared with at most 30
neighbours (by birth year) per key, so a million patients take minutes.

Each pair at possible or above goes to the supervisor's review list
(` + "`idcards patients review`" + `). A pair a supervisor judged "not the same
person" is never raised again; "same person" merges the two records. An
open pair already on the list that this scan did not record (from an older
model, an import's check or a --probable scan) is scored again with today's
records and model: updated, or taken off when the two no longer look alike.
Printed: the open pairs of the list, likeliest first.`,
		Example: `  idcards patients duplicates
  idcards patients duplicates --probable --json > review.jsonl
  idcards patients review`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			min := idcards.MatchPossible
			if probableOnly {
				min = idcards.MatchProbable
			}
			opts := registry.ScanOptions{Workers: workers, Min: min}
			if !quiet {
				opts.Progress = func(done, total int) {
					w := 30
					n := w * done / max(total, 1)
					fmt.Fprintf(a.stderr, "\r[%s%s] %3d%% of %d blocks", strings.Repeat("#", n), strings.Repeat(".", w-n), 100*done/max(total, 1), total)
				}
			}
			sum, err := s.ScanDuplicates(ctx, opts)
			if !quiet {
				fmt.Fprintln(a.stderr)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "%d patients, %d blocks, %d pairs compared in %v: %d new or updated pairs", sum.Patients, sum.Blocks, sum.Pairs, sum.Elapsed.Round(time.Millisecond), sum.New)
			if sum.Rescored > 0 {
				fmt.Fprintf(a.stderr, "; %s scored again, %d of them no longer alike and taken off", plural(sum.Rescored, "earlier pair"), sum.Retired)
			}
			fmt.Fprintf(a.stderr, "; review list: %d open, %d judged\n", sum.Open, sum.Judged)
			list, err := s.ReviewList(ctx, false, 1_000_000)
			if err != nil {
				return err
			}
			return a.printReview(list, asJSON, probableOnly)
		},
	}
	cmd.Flags().BoolVar(&probableOnly, "probable", false, "keep and print probable pairs only")
	cmd.Flags().IntVar(&workers, "workers", 0, "goroutines scoring pairs (0 = all cores)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per pair")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

func (a *app) printReview(list []registry.ReviewPair, asJSON, probableOnly bool) error {
	enc := json.NewEncoder(a.stdout)
	for _, p := range list {
		if probableOnly && p.Level != string(idcards.MatchProbable) {
			continue
		}
		if asJSON {
			if err := enc.Encode(p); err != nil {
				return err
			}
			continue
		}
		a.printf("#%d %s %.3f  %s %s (%s)  ~  %s %s (%s)  %s%s\n", p.ID, p.Level, p.Probability,
			orDash(joinSp(p.AMRNs)), printable(p.A.DisplayName()), orDash(p.A.BirthDate),
			orDash(joinSp(p.BMRNs)), printable(p.B.DisplayName()), orDash(p.B.BirthDate), joinSemi(p.Reasons), statusNote(p))
	}
	return nil
}

func statusNote(p registry.ReviewPair) string {
	if p.Status == "open" {
		return ""
	}
	return fmt.Sprintf("  [%s by %s: %s]", p.Status, p.DecidedBy, p.Note)
}

func (a *app) patientsReviewCmd() *cobra.Command {
	var all, asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "review [--all] [--json] | review different PAIR --reason TEXT | review same PAIR --keep MRN --reason TEXT",
		Short: "The supervisor's review list of possible duplicates (from patients duplicates)",
		Long: `List the open pairs found by ` + "`idcards patients duplicates`" + `, likeliest first
(--all includes judged pairs). Judge each (supervisor):

  review different PAIR --reason TEXT   not the same person: never raised again
  review same PAIR --keep MRN --reason TEXT
                                        the same person: the other record is
                                        merged into the one holding MRN (see
                                        patients merge)

Judgments are audited.`,
		Example: `  idcards patients review
  idcards patients review different 12 --reason "twins, seen together"
  idcards patients review same 13 --keep KLA000123Y --reason "same mother and village; confirmed"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			list, err := s.ReviewList(ctx, all, limit)
			if err != nil {
				return err
			}
			if n, err := s.PendingImportCheck(ctx); err == nil && n > 0 {
				fmt.Fprintf(a.stderr, "note: the duplicate check of %s imported earlier did not finish (the import was stopped): run idcards patients duplicates, or the next import checks them\n", plural(n, "patient"))
			}
			if len(list) == 0 && !asJSON {
				a.printf("review list is empty (run idcards patients duplicates)\n")
				return nil
			}
			return a.printReview(list, asJSON, false)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include pairs already judged")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per pair")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many pairs")
	var reason, keep string
	diff := &cobra.Command{
		Use:   "different PAIR --reason TEXT",
		Short: "Judge a pair not the same person (never raised again)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parsePairID(args[0])
			if err != nil {
				return err
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.JudgeDifferent(ctx, id, reason); err != nil {
				return err
			}
			a.printf("pair %d: not the same person (will not be raised again)\n", id)
			return nil
		},
	}
	diff.Flags().StringVar(&reason, "reason", "", "why (required, audited)")
	same := &cobra.Command{
		Use:   "same PAIR --keep MRN --reason TEXT",
		Short: "Judge a pair the same person and merge it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parsePairID(args[0])
			if err != nil {
				return err
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := s.Verify(ctx, keep)
			if err != nil {
				return err
			}
			if v.Patient == nil {
				return idcards.Errorf(idcards.NotFound, "--keep %s: no patient (%s)", printable(keep), v.Status)
			}
			if err := s.JudgeSame(ctx, id, v.Patient.ID, reason); err != nil {
				return err
			}
			a.printf("pair %d: merged into patient %d\n", id, v.Patient.ID)
			return nil
		},
	}
	same.Flags().StringVar(&keep, "keep", "", "MRN of the record to keep (required)")
	same.Flags().StringVar(&reason, "reason", "", "why (required, audited)")
	cmd.AddCommand(diff, same)
	return cmd
}

func (a *app) patientsMatchTrainCmd() *cobra.Command {
	var dry, asJSON, em bool
	var sample int
	cmd := &cobra.Command{
		Use:   "match-train [--em] [--dry-run] [--sample N] [--json]",
		Short: "Re-estimate the duplicate-matching model from this registry and store it",
		Long: `Bring the blocking index and term frequencies up to date, then re-measure u
(how often different people agree at each level) on a million random pairs of
this registry's patients, and store the model with the registry; every later
check uses it. Prints the model as a table (weights in bits: log2 m/u).
(u is also re-measured by itself when the registry first reaches 1,000
patients and whenever it doubles.)

--em also re-estimates m (how often the same person agrees at each level) for
the names, phone and village by EM over pairs sharing an exact birth date,
with three kinds of pair (the same person, a household relative such as a
twin, strangers) and the built-in defaults as the prior; the birth date's and
sex's m stay at the defaults (every pairing that leaves the date out is
dominated by namesakes and same-named relatives). An estimate that says
duplicates often carry an entirely different name (more than 10 %) is
refused and nothing is stored. On the seeded test data at 100,000 patients it
matches the defaults (probable recall 93.9 % against 93.7 %, fewer new people
warned); at 1,000,000 common names sharing a birth date mislead it and it is
refused. Try it with --dry-run, and store it only if
` + "`idcards patients match-eval`" + ` on your reviewed rows says it is better.`,
		Example: `  idcards patients match-train
  idcards patients match-train --em --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := s.SyncMatchIndex(ctx, nil); err != nil {
				return err
			}
			m, err := s.TrainMatchModel(ctx, registry.TrainOptions{DryRun: dry, Sample: sample, EM: em})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(m)
			}
			printModel(a, m)
			if dry {
				a.printf("(dry run: not stored)\n")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "estimate and print, do not store")
	cmd.Flags().BoolVar(&em, "em", false, "also re-estimate the names', phone's and village's m by EM (compare with match-eval before keeping it)")
	cmd.Flags().IntVar(&sample, "sample", 0, "records to estimate from (0 = up to 300,000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the model as JSON")
	return cmd
}

func printModel(a *app, m *match.Model) {
	switch m.Source {
	case "em":
		a.printf("model: m by EM over %d blocked pairs (~%d judged duplicates), u from random pairs; %d records\n", m.Pairs, m.Matches, m.Records)
	case "u":
		a.printf("model: built-in m, u measured on this registry (%d records)\n", m.Records)
	default:
		a.printf("model: built-in defaults\n")
	}
	a.printf("%-11s %-26s %9s %9s %8s\n", "field", "level", "m", "u", "weight")
	for _, f := range m.Fields {
		for l := range f.M {
			a.printf("%-11s %-26s %9.5f %9.5f %+8.1f\n", f.Field, f.Levels[l], f.M[l], f.U[l], math.Log2(f.M[l]/f.U[l]))
		}
	}
}

func joinSp(s []string) string   { return strings.Join(s, " ") }
func joinSemi(s []string) string { return strings.Join(s, "; ") }

// parsePairID reads a review pair's number as `patients review` shows it
// (with or without its leading #).
func parsePairID(arg string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(arg, "#"), 10, 64)
	if err != nil {
		return 0, idcards.Errorf(idcards.Invalid, "pair %q: the number shown by patients review", arg)
	}
	return id, nil
}
