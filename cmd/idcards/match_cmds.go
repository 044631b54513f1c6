package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

func (a *app) patientsMatchCmd() *cobra.Command {
	var np registry.NewPatient
	var sex, age string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "match --given G --family F [--dob D | --age N] [--sex S] [--phone P] [--village V] [--json]",
		Short: "List registered patients who may be this person, with scores and reasons",
		Long: `Run the desk's duplicate check without registering anyone. Candidates are
found by blocking (phonetic keys of either name in either position, birth year
±2, last four phone digits) and scored from 0 to 1 by name similarity
(Jaro-Winkler, swapped names allowed), birth date (exact, day/month swapped,
year ±1 or ±2 when estimated), sex, phone and village.

Levels: probable (score ≥ setting match_probable, default 0.85) — registration
is refused unless the clerk records a reason; possible (≥ match_possible,
default 0.70) — shown as a warning. Exit status 1 when there is a probable
match.`,
		Example: `  idcards patients match --given Amina --family Nakato --dob 1990-04-12
  idcards patients match --given Nakato --family Aminah --age 35 --sex F --json`,
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
				printCandidates(a.stdout, cands)
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
	var possible, asJSON bool
	cmd := &cobra.Command{
		Use:   "duplicates [--possible] [--json]",
		Short: "Sweep the registry for records that are probably one person",
		Long: `List pairs of registered patients who are probably the same person, each pair
once, with score and reasons — for records imported from a legacy register or
registered before the desk check. Review each pair and merge with
` + "`idcards patients merge DUPLICATE_MRN KEEP_MRN --reason ...`" + `.
Takes a few milliseconds per patient.`,
		Example: `  idcards patients duplicates
  idcards patients duplicates --possible --json > review.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			// Records from before blocking keys existed cannot be found
			// without them.
			if n, err := s.Rekey(ctx); err != nil {
				return err
			} else if n > 0 {
				fmt.Fprintf(a.stderr, "computed blocking keys for %d older records\n", n)
			}
			min := idcards.MatchProbable
			if possible {
				min = idcards.MatchPossible
			}
			enc := json.NewEncoder(a.stdout)
			n := 0
			err = s.Duplicates(ctx, 0, min, func(d registry.DuplicatePair) error {
				n++
				if asJSON {
					return enc.Encode(d)
				}
				a.printf("%s %s (%s)  ~  %s %s (%s)  %s %.2f: %s\n",
					orDash(joinSp(d.MRNs)), printable(d.Patient.DisplayName()), orDash(d.Patient.BirthDate),
					orDash(joinSp(d.Candidate.MRNs)), printable(d.Candidate.Patient.DisplayName()), orDash(d.Candidate.Patient.BirthDate),
					d.Candidate.Level, d.Candidate.Score, joinSemi(d.Candidate.Reasons))
				return nil
			})
			if err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(a.stderr, "%d pairs\n", n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&possible, "possible", false, "include possible matches, not only probable ones")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per pair")
	return cmd
}

func joinSp(s []string) string   { return strings.Join(s, " ") }
func joinSemi(s []string) string { return strings.Join(s, "; ") }
