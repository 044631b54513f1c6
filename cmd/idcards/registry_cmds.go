package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

func (a *app) initCmd() *cobra.Command {
	var f idcards.Format
	var admin, adminPwFile, fhirSystem string
	cmd := &cobra.Command{
		Use:   "init --site CODE --scheme NAME [--width N] [--fhir-system URI] [--admin USER [--admin-password-file F]]",
		Short: "Create a new registry with its MRN format",
		Long: `Create a new registry file and choose the MRN format: site prefix + a
zero-padded sequence of --width digits + check character(s).

The check character covers the prefix too (as OpenMRS validates it), so every
prefix character must be in the scheme's alphabet: for luhn-mod-30 that is
digits and capitals without B I O Q S Z; for damm, verhoeff and luhn only digits.
Once an ID has been issued the format cannot change; add a new series instead.
init refuses to overwrite an existing registry.

--fhir-system is the URI other software sees as the "system" of these MRNs
when it asks ` + "`idcards serve`" + ` in FHIR (docs/fhir.md): an OID your health
ministry assigned (urn:oid:1.2.3.4), a URL you control, or by default
urn:idcards:SITE. Choose it once: clients search by it.

init also gives the registry its identity (registry id) and creates the
audit chain key next to it (REGISTRY.auditkey, mode 0600; $IDCARDS_AUDIT_KEY
puts it elsewhere). Every audit row's hash is keyed with it, so a script that
edits the registry file cannot recompute the trail. Back the key up once,
apart from the registry's backups (see docs/security.md).

Pick a scheme with evidence: ` + "`idcards mrn schemes`" + ` shows which typing errors each
detects. If the IDs go to OpenMRS, use the scheme of the identifier type's
validator there (luhn-mod-30 for the stock "OpenMRS ID").

There is no default account. --admin creates the first personal admin now
(password from --admin-password-file, a hidden prompt
or one line of stdin); without it, on a terminal init asks for a user name,
and otherwise the TUI's first-run screen or ` + "`idcards users add --role admin`" + ` does it.`,
		Example: `  idcards init --site KLA --scheme luhn-mod-30 --width 6   # KLA000001 + check
  idcards init --site 042 --scheme damm --width 7 --admin amina --admin-password-file pw.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Prefix = strings.ToUpper(strings.TrimSpace(f.Prefix))
			ctx := idcards.WithActor(cmd.Context(), a.osActor())
			if err := registry.CheckFHIRSystem(fhirSystem); err != nil {
				return err
			}
			s, err := registry.CreateWith(ctx, a.registryPath(), f, a.storeOptions())
			if err != nil {
				return err
			}
			defer s.Close()
			c, _ := barcode.NewCodec(f)
			first, _ := c.Make(1)
			a.printf("created registry %s\nformat: prefix %s, %d-digit sequence, scheme %s (first ID %s)\n", s.Path(), f.Prefix, f.Width, f.Scheme, first)
			if fhirSystem != "" {
				// Without --fhir-system the default follows from the first
				// series' prefix, which never changes; nothing to store.
				if err := s.SetFHIRSystem(ctx, fhirSystem); err != nil {
					return fmt.Errorf("registry created, but its FHIR identifier system was not saved: %w (retry with `idcards settings set %s URI`)", err, registry.FHIRSystemSetting)
				}
			} else {
				fhirSystem = registry.DefaultFHIRSystem(f.Prefix)
			}
			a.printf("FHIR identifier system: %s\n", fhirSystem)
			id, _ := s.RegistryID(ctx)
			a.printf("registry id: %s\naudit chain key: %s (mode 0600) — back it up now, APART from the registry's backups: without it the audit trail can be neither verified nor continued\n", id, s.KeyPath())
			if admin == "" && a.stdinIsTerminal() {
				fmt.Fprint(a.stderr, "first admin's user name (empty to create later): ")
				line, err := a.readLine()
				if err != nil {
					return err
				}
				admin = strings.TrimSpace(line)
			}
			if admin == "" {
				a.printf("no accounts yet: create the first admin with `idcards users add --role admin USER` or in the TUI\n")
				return nil
			}
			if err := a.createFirstAdmin(ctx, s, admin, adminPwFile); err != nil {
				return fmt.Errorf("registry created, but the first admin was not: %w (retry with `idcards users add --role admin %s`)", err, admin)
			}
			a.printf("first admin: %s\n", admin)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.Prefix, "site", "", "site prefix, e.g. KLA (required; may be empty with --site '')")
	cmd.Flags().StringVar(&f.Scheme, "scheme", "", "check-digit scheme: "+strings.Join(barcode.Names(), ", "))
	cmd.Flags().IntVar(&f.Width, "width", 6, "digits in the zero-padded sequence")
	cmd.Flags().StringVar(&fhirSystem, "fhir-system", "", "URI of these MRNs in FHIR (default urn:idcards:SITE)")
	cmd.Flags().StringVar(&admin, "admin", "", "create this personal admin account now")
	cmd.Flags().StringVar(&adminPwFile, "admin-password-file", "", "file holding the first admin's password (first line)")
	cmd.MarkFlagRequired("site")
	cmd.MarkFlagRequired("scheme")
	return cmd
}

func (a *app) issueCmd() *cobra.Command {
	var n int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "issue --count N [--json]",
		Short: "Reserve N unassigned IDs (e.g. for pre-printed cards)",
		Long: `Reserve N new IDs that belong to no patient yet, for a run of pre-printed
cards. The IDs are printed one per line only after they are safely committed:
a number that was printed here is never handed out again, even after a crash.
Numbers already used in OpenMRS (known from sync) or imported as legacy IDs
are skipped.`,
		Example: `  idcards issue --count 500 > batch.txt && idcards print --ids batch.txt --layout a4 --out batch.pdf`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			ids, err := s.Reserve(ctx, n)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			if asJSON {
				return json.NewEncoder(w).Encode(map[string]any{"ids": ids})
			}
			for _, id := range ids {
				fmt.Fprintln(w, id)
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&n, "count", "n", 1, "how many IDs to reserve (1 to 1,000,000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"ids": [...]} instead of one per line`)
	return cmd
}

func (a *app) verifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify [CODE...]",
		Short: "Check codes: check character first, then the registry",
		Long: `Check each code (or each line of standard input when no code is given) the
way the desk and the scanner endpoint do: normalise it (spaces, case, dashes,
scanner AIM prefixes such as ]C0), check its check character, then look it up.

One line per input:  INPUT<TAB>STATUS[: detail]
STATUS is one of: active, unassigned, voided, replaced, unknown, invalid_check
(probably a typo), malformed. Exit status is 0 only if every input is active
or unassigned, 1 otherwise.`,
		Example: `  idcards verify KLA000001X
  scanner-export.sh | idcards verify`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			bad := false
			err = eachInput(args, a.stdin, func(in string) error {
				v, err := s.Verify(ctx, in)
				if err != nil {
					return err
				}
				if !v.Status.OK() {
					bad = true
				}
				line := printable(in) + "\t" + string(v.Status)
				// A detail that starts with the status ("voided: REASON")
				// is not said twice.
				if d := strings.TrimPrefix(v.Detail, string(v.Status)+": "); d != "" {
					line += ": " + d
				}
				_, err = fmt.Fprintln(w, line)
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
	return cmd
}

// eachInput calls fn for each argument, or each line of r when there are
// none. Lines longer than 64 KiB are reported, not silently cut.
func eachInput(args []string, r io.Reader, fn func(string) error) error {
	if len(args) > 0 {
		for _, s := range args {
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(t) == "" {
			continue
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return idcards.Errorf(idcards.Invalid, "input line %d: %v", line+1, err)
	}
	return nil
}

// printable makes text from the registry or from input safe to show on one
// line of a terminal: control characters (C0, DEL, C1), bidirectional
// overrides and isolates (U+202E can make "exe.txt" read "txt.exe"),
// zero-width characters and line separators are shown as \uXXXX escapes,
// and invalid UTF-8 as "?". Long text is cut at 80 characters.
func printable(s string) string { return escapeText(s, 80) }

// escapeText is printable with a length limit of max characters (0: none).
func escapeText(s string, max int) string {
	s = strings.ToValidUTF8(s, "?")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if max > 0 && n == max {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unsafeFormat(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeFormat: invisible characters that change how a line reads.
func unsafeFormat(r rune) bool {
	switch {
	case r == 0x061C, r == 0x180E, r == 0xFEFF, r == 0x00AD:
		return true
	case r >= 0x200B && r <= 0x200F: // zero-width, LRM, RLM
		return true
	case r >= 0x2028 && r <= 0x202E: // line/paragraph separators, embeddings, overrides
		return true
	case r >= 0x2060 && r <= 0x206F: // word joiner, isolates, deprecated formats
		return true
	case r >= 0xFFF9 && r <= 0xFFFB: // interlinear annotation
		return true
	}
	return false
}

// storeOptions are how every command opens the registry: the audit chain
// key is at $IDCARDS_AUDIT_KEY, or next to the registry.
func (a *app) storeOptions() registry.Options {
	o := registry.Options{KeyPath: a.getenv("IDCARDS_AUDIT_KEY"), PasswordFile: a.dbPasswordFileName()} // migrate_cmds.go
	a.warnSecrets(o)
	return o
}

// warnSecrets warns, once per process, about the secret files this run
// reads that other users can read too: the database password file, the
// libpq password file (libpq itself ignores a group-readable ~/.pgpass; the
// driver idcards uses does not), an audit chain key named by
// $IDCARDS_AUDIT_KEY.
func (a *app) warnSecrets(o registry.Options) {
	if a.secretsWarned {
		return
	}
	a.secretsWarned = true
	files := []string{o.PasswordFile, o.KeyPath}
	if registry.IsPostgresURL(a.registryPath()) {
		pgpass := a.getenv("PGPASSFILE")
		if h := a.getenv("HOME"); pgpass == "" && h != "" {
			pgpass = filepath.Join(h, ".pgpass")
		}
		files = append(files, pgpass)
	}
	for _, f := range files {
		if f != "" {
			a.warnKeyFile(f)
		}
	}
}

func (a *app) seriesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "series",
		Short: "List MRN series or start a new one (new prefix)",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List series: prefix, width, scheme, next number, IDs issued",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			ss, err := s.SeriesList(ctx)
			if err != nil {
				return err
			}
			supply, err := s.Supply(ctx) // sync_cmds.go: days of IDs left
			if err != nil {
				return err
			}
			a.printf("PREFIX\tWIDTH\tSCHEME\tNEXT\tISSUED\tCURRENT\tLEFT\tDAYS LEFT\n")
			for i, x := range ss {
				sp := supply[len(supply)-len(ss)+i] // the pool, if any, comes first
				a.printf("%s\t%d\t%s\t%d\t%d\t%v\t%d\t%s\n", x.Format.Prefix, x.Format.Width, x.Format.Scheme, x.NextSeq, x.Issued, x.Current, sp.Left, supplyDaysShort(sp))
			}
			if len(supply) > len(ss) {
				a.printf("new MRNs come from the idgen pool, not a series: %d left, %s (idcards sync pool)\n", supply[0].Left, supplyDays(supply[0]))
			}
			return nil
		},
	}
	var f idcards.Format
	var noCheck bool
	add := &cobra.Command{
		Use:   "add --site CODE [--scheme NAME] [--width N]",
		Short: "Start a new series with a new prefix; it becomes current",
		Long: `Start a new series, e.g. when a series runs out of numbers or a second site
opens. IDs of older series stay valid. The new prefix must not overlap an old
one (neither may start the other). Scheme and width default to the current
series'. With OpenMRS sync configured, the scheme must be the one the OpenMRS
identifier type validates with (else OpenMRS would refuse every new MRN).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			cur, err := s.Format(ctx)
			if err != nil {
				return err
			}
			if f.Scheme == "" {
				f.Scheme = cur.Scheme
			}
			if f.Width == 0 {
				f.Width = cur.Width
			}
			f.Prefix = strings.ToUpper(strings.TrimSpace(f.Prefix))
			if !noCheck {
				if err := a.recordTypeScheme(ctx, s); err != nil { // sync_cmds.go
					return err
				}
			}
			if err := s.AddSeries(ctx, f); err != nil {
				return err
			}
			a.printf("series %s (%s, %d digits) is now current\n", f.Prefix, f.Scheme, f.Width)
			return nil
		},
	}
	add.Flags().StringVar(&f.Prefix, "site", "", "new prefix (required)")
	add.Flags().StringVar(&f.Scheme, "scheme", "", "check-digit scheme (default: current)")
	add.Flags().IntVar(&f.Width, "width", 0, "sequence digits (default: current)")
	add.Flags().BoolVar(&noCheck, "no-openmrs-check", false, "do not ask OpenMRS for the identifier type's scheme when this registry has not recorded it")
	add.MarkFlagRequired("site")
	cmd.AddCommand(list, add)
	return cmd
}
