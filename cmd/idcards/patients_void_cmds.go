package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/idcards/idcards"
	"github.com/spf13/cobra"
)

// patientsVoidCmd is the CLI's void of an MRN: the desk's void (tui
// detail.go), with the same permission (a supervisor's PermVoid, checked
// before anything is read) and the same registry call, audited `id.void`
// in the transaction that voids the MRN and queues the void for OpenMRS.
func (a *app) patientsVoidCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "void MRN --reason TEXT",
		Short: "Void an MRN for good: its cards stop verifying (supervisor; audited)",
		Long: `Void an MRN (supervisor): a number given in error, or one OpenMRS holds for
another patient (a sync conflict). The reason is kept in the audit trail
(idcards audit list --action id.void). This cannot be undone: the MRN's cards
no longer verify (they scan as "voided"), the registry never issues the
number again, and the void reaches OpenMRS at the next sync.

The patient keeps their record and any other MRN. For a replacement card give
them a new number with ` + "`idcards patients issue MRN`" + ` (any of their IDs, the
voided one too; --reason when they still hold an active one) and print it.
When the number was in dispute with OpenMRS, resolve the conflict afterwards
(` + "`idcards sync resolve ID --note ... --retry`" + `): the held registration then goes
to OpenMRS with the new number, never the voided one.

Refused, saying what to do, for a code that is no MRN of this registry
(malformed or a wrong check character: check the number), one this registry
never issued, one already voided, and one bound to a record merged into
another (the kept record holds the person's IDs).`,
		Example: `  idcards --user sara patients void KLA000123Y --reason "OpenMRS holds it for another patient (sync conflict 3)"
  idcards --user sara patients issue KLA000123Y
  idcards --user sara sync resolve 3 --note "voided here, new MRN issued" --retry`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			// The permission first: a clerk is refused before anything is
			// looked up, as on the desk.
			if _, err := idcards.Require(ctx, idcards.PermVoid); err != nil {
				return err
			}
			reason = strings.Join(strings.Fields(reason), " ")
			typed := printable(args[0])
			if reason == "" {
				return idcards.Errorf(idcards.Invalid, "voiding %s needs --reason: say why (it is kept in the audit trail), e.g. --reason \"held in OpenMRS by another patient\"", typed)
			}
			v, err := s.Verify(ctx, args[0])
			if err != nil {
				return err
			}
			if v.Identifier == nil {
				switch v.Status {
				case idcards.StatusUnknown:
					return idcards.Errorf(idcards.NotFound, "%s: %s; nothing to void: check the number (idcards verify %s); a number only OpenMRS holds is voided in OpenMRS", typed, v.Detail, typed)
				case idcards.StatusInvalidCheck:
					return idcards.Errorf(idcards.Invalid, "%s has a wrong check character (probably a typo): nothing voided; type the number again or scan the card", typed)
				}
				return idcards.Errorf(idcards.Invalid, "%s is not an MRN of this registry (%s): nothing voided; type the number again or scan the card", typed, orDash(v.Detail))
			}
			mrn := v.Code
			if v.Identifier.State == idcards.IDVoided {
				why := ""
				if v.Identifier.VoidReason != "" {
					why = " (" + printable(v.Identifier.VoidReason) + ")"
				}
				return idcards.Errorf(idcards.Conflict, "%s is already voided%s: its cards no longer verify. For a replacement card give the patient a new MRN: idcards patients issue %s", mrn, why, mrn)
			}
			if v.Patient != nil && v.Patient.MergedInto != 0 {
				return idcards.Errorf(idcards.Conflict, "%s belongs to %s's record, which was merged into patient %d (the same person): that record holds the person's IDs; look there first (idcards patients show %s)",
					mrn, printable(v.Patient.DisplayName()), v.Patient.MergedInto, mrn)
			}
			if err := s.Void(ctx, mrn, reason); err != nil {
				return err
			}
			if v.Identifier.State == idcards.IDUnassigned || v.Patient == nil {
				a.printf("voided %s (a pre-printed number never given to a patient): its card no longer verifies\n", mrn)
				return nil
			}
			p := v.Patient
			a.printf("voided %s of %s: its cards no longer verify\n", mrn, printable(p.DisplayName()))
			ids, err := s.PatientIdentifiers(ctx, p.ID)
			if err != nil {
				return err
			}
			var active []string
			for _, id := range ids {
				if id.State == idcards.IDActive {
					active = append(active, id.MRN)
				}
			}
			if len(active) == 0 {
				a.printf("%s has no active MRN now: for a replacement card give them a new one: idcards patients issue %s\n", printable(p.DisplayName()), mrn)
			} else {
				a.printf("%s still holds %s; a new MRN as well needs a reason: idcards patients issue %s --reason TEXT\n", printable(p.DisplayName()), strings.Join(active, ", "), mrn)
			}
			if _, configured, err := s.SyncConfig(ctx); err == nil && configured {
				a.printf("the void reaches OpenMRS at the next sync\n")
			}
			// A number in dispute with OpenMRS: the conflict stays open
			// until a supervisor closes it; say how.
			if cs, err := s.SyncConflicts(ctx, false); err == nil {
				for _, c := range cs {
					if c.Identifier == mrn && c.Kind != idcards.ConflictLookalike {
						id := strconv.FormatInt(c.ID, 10)
						fmt.Fprintf(a.stdout, "sync conflict %s over %s is still open: once the patient has a new MRN, close it with idcards sync resolve %s --note \"voided here, new MRN issued\" --retry (the held change then goes with the new number, never %s)\n", id, mrn, id, mrn)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the MRN is voided (required; kept in the audit trail)")
	return cmd
}
