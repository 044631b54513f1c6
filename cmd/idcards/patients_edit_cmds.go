package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

// patientOf resolves an MRN typed on the command line to its patient: an
// active ID, or a voided one that still names its patient.
// patientByMRN verifies a typed MRN and returns its verification and the
// patient it belongs to.
func patientByMRN(ctx context.Context, s *registry.Store, typed string) (idcards.Verification, int64, error) {
	v, err := s.Verify(ctx, typed)
	if err != nil {
		return v, 0, err
	}
	pid, err := patientOf(v, typed)
	return v, pid, err
}

func patientOf(v idcards.Verification, typed string) (int64, error) {
	switch {
	case v.Patient != nil:
		return v.Patient.ID, nil
	case v.Identifier != nil && v.Identifier.PatientID != 0:
		return v.Identifier.PatientID, nil
	}
	msg := string(v.Status)
	if v.Detail != "" {
		msg += ": " + v.Detail
	}
	return 0, idcards.Errorf(idcards.NotFound, "%s: no patient (%s)", printable(typed), msg)
}

func (a *app) patientsIssueCmd() *cobra.Command {
	var reason string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "issue MRN [--reason TEXT] [--json]",
		Short: "Issue another MRN to the patient an MRN belongs to",
		Long: `Issue a new MRN to an existing patient (found by any of their IDs) and print it.

A patient who already has an active ID gets a second one only with --reason,
which is recorded in the audit trail. The old ID stays active: its card keeps
scanning as this patient's. To replace a lost or damaged card with the SAME
number, reprint it instead (` + "`idcards cards replace MRN --reason lost`" + `):
the old card then scans as "replaced".`,
		Example: `  idcards patients issue KLA000123Y --reason "card kept by the HIV clinic; second card for the ward"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			_, pid, err := patientByMRN(ctx, s, args[0])
			if err != nil {
				return err
			}
			id, err := s.IssueID(ctx, pid, reason)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(id)
			}
			a.printf("%s\n", id.MRN)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why this patient needs another ID (required when they already have an active one; audited)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the new identifier as JSON")
	return cmd
}

func (a *app) patientsEditCmd() *cobra.Command {
	var given, family, sex, dob, age, phone, village, reason string
	var estimated, asJSON bool
	cmd := &cobra.Command{
		Use:   "edit MRN [--given G] [--family F] [--sex S] [--dob D | --age A] [--dob-estimated] [--phone P] [--village V] [--reason R] [--json]",
		Short: "Correct a patient's names, sex, birth date, phone or village",
		Long: `Correct the details of the patient an MRN belongs to (any of their IDs). Only
the fields given change; an empty value ("") clears a phone or village.

The same rules as registration apply (names, characters, lengths, dates). A
change of a name or of the birth date needs --reason, which is recorded; every
change is audited with its old and new value (idcards audit list --action
patient.edit). An edit that changes nothing says so and writes nothing.

--dob sets an exact date (add --dob-estimated if only the year is known);
--age sets an estimated one: years (34), or months, weeks, days for a baby
(3m, 6w, 10d). --dob-estimated alone marks the current date as estimated.

After the edit the duplicate check runs again on the new values: if the record
now looks like another patient, they are listed (the edit is kept; merge
duplicates with ` + "`idcards patients merge`" + `). The change reaches OpenMRS once,
through the outbox (names, sex, birth date and village; the phone is not sent).`,
		Example: `  idcards patients edit KLA000123Y --given Aminah --reason "typing mistake at registration"
  idcards patients edit KLA000123Y --dob 1990-04-12 --reason "birth certificate seen"
  idcards patients edit KLA000123Y --age 6w --reason "mother corrected the age"
  idcards patients edit KLA000123Y --phone "+256 772 123456" --village Kireka`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			v, pid, err := patientByMRN(ctx, s, args[0])
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			e := registry.PatientEdit{ID: pid, Reason: reason}
			str := func(name string, v *string) *string {
				if fl.Changed(name) {
					return v
				}
				return nil
			}
			e.GivenName, e.FamilyName = str("given", &given), str("family", &family)
			e.Phone, e.Village = str("phone", &phone), str("village", &village)
			if fl.Changed("sex") {
				sx, err := idcards.ParseSex(sex)
				if err != nil {
					return err
				}
				e.Sex = &sx
			}
			switch {
			case fl.Changed("dob") && fl.Changed("age"):
				return idcards.Errorf(idcards.Invalid, "use --dob or --age, not both")
			case fl.Changed("dob"):
				e.BirthDate = &dob
			case fl.Changed("age"):
				d, est, err := registry.ParseAge(age, s.Now())
				if err != nil {
					return err
				}
				e.BirthDate, e.BirthDateEstimated = &d, &est
			}
			if fl.Changed("dob-estimated") {
				if fl.Changed("age") && !estimated {
					return idcards.Errorf(idcards.Invalid, "an age is always an estimate: drop --dob-estimated=false or give --dob")
				}
				e.BirthDateEstimated = &estimated
			}
			if e == (registry.PatientEdit{ID: pid, Reason: reason}) {
				return idcards.Errorf(idcards.Invalid, "nothing to change: give at least one of --given, --family, --sex, --dob, --age, --dob-estimated, --phone, --village")
			}
			before, err := s.Patient(ctx, pid)
			if err != nil {
				return err
			}
			p, cands, err := s.EditPatient(ctx, e)
			if errors.Is(err, registry.ErrNoChange) {
				if asJSON {
					return json.NewEncoder(a.stdout).Encode(map[string]any{"patient": p, "changes": []registry.FieldChange{}, "candidates": []idcards.Candidate{}})
				}
				fmt.Fprintf(a.stderr, "nothing changed: %s already has these details\n", printable(p.DisplayName()))
				return nil
			}
			if err != nil && p.ID == 0 {
				return err
			}
			changes := registry.PatientChanges(before, p)
			if asJSON {
				if cands == nil {
					cands = []idcards.Candidate{}
				}
				if jerr := json.NewEncoder(a.stdout).Encode(map[string]any{"patient": p, "changes": changes, "candidates": cands}); jerr != nil {
					return jerr
				}
				return err
			}
			a.printf("updated %s (%s):\n", printable(p.DisplayName()), v.Code)
			for _, c := range changes {
				a.printf("  %-21s %s -> %s\n", strings.ReplaceAll(c.Field, "_", " ")+":", orDash(printable(c.Old)), orDash(printable(c.New)))
			}
			if len(cands) > 0 {
				fmt.Fprintf(a.stderr, "warning: the edited record now looks like %d other patient(s); if one is the same person, merge them (idcards patients merge):\n", len(cands))
				printCandidates(a.stderr, p, cands)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&given, "given", "", "new given name")
	f.StringVar(&family, "family", "", "new family name")
	f.StringVar(&sex, "sex", "", "new sex: M, F, O (other) or U (unknown)")
	f.StringVar(&dob, "dob", "", "new date of birth YYYY-MM-DD (exact unless --dob-estimated)")
	f.StringVar(&age, "age", "", "new estimated age: years (34), or 3m, 6w, 10d for a baby")
	f.BoolVar(&estimated, "dob-estimated", false, "the date of birth is an estimate (only its year counts)")
	f.StringVar(&phone, "phone", "", `new phone number ("" clears it)`)
	f.StringVar(&village, "village", "", `new village or address ("" clears it)`)
	f.StringVar(&reason, "reason", "", "why (required to change a name or the birth date; audited)")
	f.BoolVar(&asJSON, "json", false, "print the patient, the changes and any look-alikes as JSON")
	return cmd
}
