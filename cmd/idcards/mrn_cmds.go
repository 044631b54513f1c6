package main

import (
	"bufio"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/spf13/cobra"
)

func (a *app) mrnCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mrn",
		Short: "Compute and validate check characters without a registry",
	}
	var scheme string
	compute := &cobra.Command{
		Use:   "compute --scheme S [PAYLOAD...]",
		Short: "Print the full identifier (payload + check) for each payload",
		Long: `Print the full identifier for each payload (or each line of standard input):
the payload with its check character(s) appended in the scheme's canonical
form (openmrs-luhn and openmrs-verhoeff put a dash before the check).`,
		Example: `  idcards mrn compute --scheme luhn-mod-30 KLA000001
  seq 1 100 | idcards mrn compute --scheme damm`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := barcode.Lookup(scheme)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			return eachInput(args, a.stdin, func(p string) error {
				p = strings.ToUpper(strings.TrimSpace(p))
				id, err := barcode.Generate(s, p)
				if err != nil {
					return fmt.Errorf("%s: %w", printable(p), err)
				}
				_, err = fmt.Fprintln(w, id)
				return err
			})
		},
	}
	validate := &cobra.Command{
		Use:   "validate --scheme S [ID...]",
		Short: "Check identifiers' check characters: ID<TAB>ok or ID<TAB>invalid: reason",
		Long: `Check each identifier (or each line of standard input). Prints ID<TAB>ok or
ID<TAB>invalid: reason, and exits 1 if any is invalid. Input is normalised
first (case, spaces, AIM prefix, dashes), and a scheme's separator is put
back, so 12345678G and 12345678-G are the same openmrs-verhoeff ID.
Reasons name the cause: a wrong check character (probably a typo), a wrong
length, or the character the scheme does not allow and what it expects.`,
		Example: `  idcards mrn validate --scheme luhn-mod-30 KLA000001D KLA000001E
  idcards mrn validate --scheme openmrs-luhn 123456-6 123456-G
  idcards mrn validate --scheme damm < scanned.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := barcode.Lookup(scheme)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			bad := false
			err = eachInput(args, a.stdin, func(in string) error {
				if reason := validateOne(s, in); reason != "" {
					bad = true
					_, err := fmt.Fprintf(w, "%s\tinvalid: %s\n", printable(in), reason)
					return err
				}
				_, err := fmt.Fprintf(w, "%s\tok\n", printable(in))
				return err
			})
			if err != nil {
				return err
			}
			if bad {
				w.Flush()
				return exitError{1}
			}
			return nil
		},
	}
	for _, c := range []*cobra.Command{compute, validate} {
		c.Flags().StringVar(&scheme, "scheme", "", "check-digit scheme: "+strings.Join(barcode.Names(), ", "))
		c.MarkFlagRequired("scheme")
	}
	var length int
	schemes := &cobra.Command{
		Use:   "schemes",
		Short: "Compare schemes: share of typing errors each detects (computed now)",
		Long: `For every scheme, the share of single substitutions, adjacent
transpositions (12 -> 21), twin errors (11 -> 22) and jump transpositions
(123 -> 321) its check detects. The figures are computed now, by exhaustive
enumeration over identifiers of --length payload characters, not typed in:
every error position, every symbol combination of the alphabet, and every
interim state of the check computation before the error, which gives the
same share as trying every possible payload. Errors are counted in the
payload (the check character itself is not changed). openmrs-verhoeff is
always 8 digits. Alphanumeric schemes are counted over their whole
alphabet, so openmrs-luhn's figures are for letters and digits mixed; for
digit-only payloads it behaves as luhn.`,
		Example: `  idcards mrn schemes
  idcards mrn schemes --length 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The enumeration grows linearly with the length; MRNs are
			// at most a prefix and 18 digits.
			if length < 1 || length > maxRateLength {
				return idcards.Errorf(idcards.Invalid, "--length %d: must be 1 to %d", length, maxRateLength)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "scheme\talphabet\tsingle\tadjacent\ttwin\tjump\t")
			for _, name := range barcode.Names() {
				s, _ := barcode.Lookup(name)
				n := length
				if pl := s.PayloadLen(); pl != 0 {
					n = pl
				}
				r := barcode.DetectionRates(s, n)
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", name, len(s.Alphabet()), pct(r.Single), pct(r.Adjacent), pct(r.Twin), pct(r.Jump))
			}
			return tw.Flush()
		},
	}
	schemes.Flags().IntVar(&length, "length", 8, "payload length to enumerate over")
	cmd.AddCommand(compute, validate, schemes)
	return cmd
}

const maxRateLength = 32

func validateOne(s barcode.Scheme, in string) string {
	n := barcode.Normalize(in)
	cl, sep := s.CheckLen(), s.Separator()
	if len(n) <= cl {
		return "too short to hold a check character"
	}
	id := n[:len(n)-cl] + sep + n[len(n)-cl:]
	if err := s.Validate(id); err != nil {
		return err.Error()
	}
	return ""
}

// pct formats a detection share; what DetectionRates returns is decided by
// the barcode package, this only prints it.
func pct(r barcode.Rate) string {
	if r.Total == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(r.Detected)/float64(r.Total))
}
