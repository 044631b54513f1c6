package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/patientfile"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

func (a *app) patientsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "patients",
		Short: "Add, import, show, search and export patient records; issue and void their MRNs",
		Long: `Patient records from the command line: register one patient (add), bring in a
legacy register (import), look patients up (show, search) and get every record
out again (export: every patient and their active IDs); give a patient another
MRN (issue) or void one for good (void, a supervisor's).`,
	}
	cmd.AddCommand(a.patientsAddCmd(), a.patientsShowCmd(), a.patientsSearchCmd(), a.patientsImportCmd(), a.patientsExportCmd(), a.patientsMatchCmd(), a.patientsMergeCmd(), a.patientsDuplicatesCmd(), a.patientsMatchEvalCmd(), a.patientsMatchTrainCmd(), a.patientsReviewCmd(), a.patientsIssueCmd(), a.patientsEditCmd(), a.patientsVoidCmd())
	return cmd
}

func (a *app) patientsAddCmd() *cobra.Command {
	var np registry.NewPatient
	var sex, dob, age, mrn, reason, legacyScheme string
	var issue, force, legacyUnchecked bool
	cmd := &cobra.Command{
		Use:   "add --given G --family F --sex M|F|O|U (--dob YYYY-MM-DD | --age N[y|m|w|d]) [--issue | --mrn ID]",
		Short: "Register one patient and print their MRN",
		Long: `Register one patient. --issue gives them the next MRN; --mrn binds an existing
one: an unassigned pre-printed ID of this registry, or a legacy ID from an old
system (checked with --legacy-scheme, or kept unchecked with --legacy-unchecked).
Without either the patient is registered without an ID.

A date of birth (--dob) or an age (--age) is required. An age is recorded as
an estimated birth date: years give 1 July of the birth year (--age 34 or
34y); a baby's age may be given in months, weeks or days (--age 3m, 6w, 10d,
or combined: 1y6m).
Names may hold letters (any script), spaces, hyphens, apostrophes, full
stops and commas, at most 50 characters each (what the card prints); digits,
emoji and control characters are refused.

Before anything is written the registry is searched for the same person
(the desk's duplicate check). A probable match refuses the registration and
lists the candidates: use their existing MRN, or repeat with --force and a
--reason, which is recorded in the audit trail.`,
		Example: `  idcards patients add --given Amina --family Nakato --sex F --dob 1990-04-12 --phone 0772123456 --village Kireka --issue
  idcards patients add --given Okello --family John --sex M --age 40 --mrn KLA000123Y
  idcards patients add --given Baby --family Nakato --sex F --age 6w --issue
  idcards patients add --given Amina --family Nakato --sex F --age 34 --issue --force --reason "different mother, checked with patient"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if issue && mrn != "" {
				return idcards.Errorf(idcards.Invalid, "use --issue or --mrn, not both")
			}
			if force && strings.TrimSpace(reason) == "" {
				return idcards.Errorf(idcards.Invalid, "--force needs a --reason (it is recorded in the audit trail)")
			}
			sx, err := idcards.ParseSex(sex)
			if err != nil {
				return err
			}
			np.Sex = sx
			switch {
			case dob != "" && cmd.Flags().Changed("age"):
				return idcards.Errorf(idcards.Invalid, "use --dob or --age, not both")
			case dob != "":
				np.BirthDate = dob
			case cmd.Flags().Changed("age"):
				if np.BirthDate, np.BirthDateEstimated, err = registry.ParseAge(age, s.Now()); err != nil {
					return err
				}
			}
			if err := np.Validate(s.Now()); err != nil {
				return err
			}
			seen, err := s.CheckMark(ctx) // what the check sees: Register checks any later one again
			if err != nil {
				return err
			}
			cands, err := s.Candidates(ctx, np, 5)
			if err != nil {
				return err
			}
			decision := "no duplicate candidates"
			var probable int
			for _, c := range cands {
				if c.Level == idcards.MatchProbable {
					probable++
				}
			}
			if len(cands) > 0 {
				fmt.Fprintf(a.stderr, "possible duplicates of %s:\n", strings.TrimSpace(np.GivenName+" "+np.FamilyName))
				printCandidates(a.stderr, np.Patient(), cands)
				decision = fmt.Sprintf("%d candidates (%d probable) shown", len(cands), probable)
			}
			if probable > 0 {
				if !force {
					return idcards.Errorf(idcards.Conflict, "%d probable duplicate(s): use the existing MRN, or repeat with --force --reason \"...\" if this is a different person", probable)
				}
				if err := registry.CheckOverrideReason(reason); err != nil {
					return err
				}
				decision = fmt.Sprintf("override: %d probable duplicate(s) (%s); reason: %s", probable, candidateMRNs(cands), reason)
			}
			reg := registry.Registration{Patient: np, Decision: decision, NoID: !issue && mrn == "", CheckMark: seen}
			for _, c := range cands {
				if c.Level == idcards.MatchProbable && force {
					reg.Overrides = append(reg.Overrides, c) // on the review list at once
				}
			}
			if mrn != "" {
				code := mrn
				if v, err := s.Verify(ctx, mrn); err == nil && v.Rebindable() { // pre-printed, or lost in a restore
					reg.BindMRN = v.Code
				} else if err == nil && v.Status.OK() {
					return idcards.Errorf(idcards.Conflict, "%s already belongs to a patient: `idcards patients show %s`", v.Code, v.Code)
				} else if err == nil && v.Status == idcards.StatusUnknown {
					// Of this registry's series, the check character right,
					// but never issued: most often a card misread into another
					// valid number. Kept, it would bind the patient to a number
					// the series never gave anyone.
					return idcards.Errorf(idcards.NotFound, "%s: %s. Check the number on the card and scan it again; only a pre-printed ID of this registry, or an ID a restore lost, can be given to a patient this way (to bring in another registry's records, use idcards patients import)", v.Code, v.Detail)
				} else {
					// A legacy ID: recorded through the import path, which checks it.
					return a.addLegacy(ctx, s, np, code, legacyScheme, legacyUnchecked)
				}
			}
			p, got, err := s.Register(ctx, reg)
			if err != nil {
				return err
			}
			if got == "" {
				a.printf("registered %s (patient %d, no MRN)\n", p.DisplayName(), p.ID)
				return nil
			}
			a.printf("%s\n", got)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&np.GivenName, "given", "", "given name")
	f.StringVar(&np.FamilyName, "family", "", "family name")
	f.StringVar(&sex, "sex", "U", "M, F, O (other) or U (unknown)")
	f.StringVar(&dob, "dob", "", "date of birth YYYY-MM-DD")
	f.StringVar(&age, "age", "", "age when the date of birth is not known: years (34), or months, weeks, days for a baby (3m, 6w, 10d); recorded as estimated")
	f.StringVar(&np.Phone, "phone", "", "phone number")
	f.StringVar(&np.Village, "village", "", "village or address")
	f.BoolVar(&issue, "issue", false, "issue a new MRN")
	f.StringVar(&mrn, "mrn", "", "bind this existing ID: a pre-printed card, a card whose record a restore lost, or a legacy ID")
	f.StringVar(&legacyScheme, "legacy-scheme", "", "check a legacy --mrn with this scheme")
	f.BoolVar(&legacyUnchecked, "legacy-unchecked", false, "accept a legacy --mrn without a check")
	f.BoolVar(&force, "force", false, "register despite probable duplicates (needs --reason)")
	f.StringVar(&reason, "reason", "", "why this is not a duplicate (audited)")
	return cmd
}

// addLegacy records a patient with a legacy ID through the import path, as
// the signed-in actor: it needs the import permission (an admin, or the OS
// user), like patients import. It used to run as the OS user whatever
// --user said, so a clerk could import.
func (a *app) addLegacy(ctx context.Context, s *registry.Store, np registry.NewPatient, mrn, scheme string, unchecked bool) error {
	if act, err := idcards.Require(ctx, idcards.PermImport); err != nil {
		return idcards.Errorf(idcards.Forbidden, "%s is a legacy ID, recorded through the import path: %s (role %s) may not import; an admin records legacy IDs (patients import, or patients add --mrn)", mrn, act.Name, act.Role)
	}
	done := false
	next := func() (registry.ImportRow, error) {
		if done {
			return registry.ImportRow{}, io.EOF
		}
		done = true
		return registry.ImportRow{Line: 1, Patient: np, MRNs: []string{mrn}}, nil
	}
	var got []string
	_, err := s.Import(ctx, next, registry.ImportOptions{LegacyScheme: scheme, LegacyUnchecked: unchecked, Source: "patients add"}, func(o registry.RowOutcome) { got = o.MRNs })
	if err != nil {
		return err
	}
	if len(got) > 0 {
		a.printf("%s\n", got[0])
		if cfg, ok, err := s.SyncConfig(ctx); err == nil && ok && cfg.URL != "" {
			// OpenMRS takes identifiers of its configured type only.
			fmt.Fprintf(a.stderr, "note: %s is a legacy ID, which is not sent to OpenMRS: this patient reaches OpenMRS once they have an MRN of this registry (idcards patients issue %s --reason \"...\")\n", got[0], got[0])
		}
	}
	return nil
}

func candidateMRNs(cs []idcards.Candidate) string {
	var out []string
	for _, c := range cs {
		if c.Level == idcards.MatchProbable {
			out = append(out, strings.Join(c.MRNs, "/"))
		}
	}
	return strings.Join(out, ", ")
}

// printCandidates lists the candidates for q, then what to ask for when
// none is probable (idcards.WarningAdvice).
func printCandidates(w io.Writer, q idcards.Patient, cs []idcards.Candidate) {
	for _, c := range cs {
		mrns := strings.Join(c.MRNs, " ")
		if mrns == "" {
			mrns = "(no MRN)"
		}
		fmt.Fprintf(w, "  %-8s %.2f  %s  %s  %s  born %s  %s\n", c.Level, c.Score, mrns, printable(c.Patient.DisplayName()), c.Patient.Sex, orDash(c.Patient.BirthDate), strings.Join(c.Reasons, "; "))
	}
	if a := idcards.WarningAdvice(q, cs); a != "" {
		fmt.Fprintf(w, "  %s\n", a)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) patientsShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show MRN",
		Short: "Show the patient an MRN belongs to, with all their IDs",
		Long: `Show the patient an MRN belongs to: demographics, every ID they hold (active,
voided, legacy) and whether the record was merged into another. When sync with
OpenMRS is set up, also where the record is on its way there (not sent yet,
changes waiting, sent) and any open sync conflict over it — such as a
registration held back because OpenMRS may already have the person (resolve
it with idcards sync resolve).`,
		Example: `  idcards patients show KLA000123Y
  idcards patients show KLA000123Y --json | jq .patient.phone`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := idcards.Require(ctx, idcards.PermReadPatient); err != nil {
				return err
			}
			v, err := s.Verify(ctx, args[0])
			if err != nil {
				return err
			}
			var pid int64
			switch {
			case v.Patient != nil:
				pid = v.Patient.ID
			case v.Identifier != nil && v.Identifier.PatientID != 0:
				pid = v.Identifier.PatientID
			default:
				msg := string(v.Status)
				if v.Detail != "" {
					msg += ": " + v.Detail
				}
				return idcards.Errorf(idcards.NotFound, "%s: no patient (%s)", printable(args[0]), msg)
			}
			p, err := s.Patient(ctx, pid)
			if err != nil {
				return err
			}
			ids, err := s.PatientIdentifiers(ctx, pid)
			if err != nil {
				return err
			}
			ps, err := s.PatientSync(ctx, pid)
			if err != nil {
				return err
			}
			if asJSON {
				out := map[string]any{"patient": p, "identifiers": ids}
				if ps.Configured {
					out["openmrs"] = ps
				}
				return json.NewEncoder(a.stdout).Encode(out)
			}
			w := a.stdout
			fmt.Fprintf(w, "%s\n", printable(p.DisplayName()))
			fmt.Fprintf(w, "  sex:        %s\n", p.Sex)
			bd := orDash(p.BirthDate)
			if p.BirthDateEstimated && len(p.BirthDate) >= 4 {
				bd = p.BirthDate[:4] + " (estimated)"
				if y, _ := strconv.Atoi(p.BirthDate[:4]); s.Now().Year()-y < 3 {
					bd = p.BirthDate + " (estimated)" // a baby's age was given in months, weeks or days
				}
			}
			fmt.Fprintf(w, "  born:       %s\n", bd)
			fmt.Fprintf(w, "  phone:      %s\n", orDash(printable(p.Phone)))
			fmt.Fprintf(w, "  village:    %s\n", orDash(printable(p.Village)))
			fmt.Fprintf(w, "  uuid:       %s\n", p.UUID)
			fmt.Fprintf(w, "  registered: %s by %s\n", p.CreatedAt.Format("2006-01-02 15:04"), p.CreatedBy)
			if p.MergedInto != 0 {
				fmt.Fprintf(w, "  merged:     same person as patient %d\n", p.MergedInto)
			}
			fmt.Fprintf(w, "  IDs:\n")
			for _, id := range ids {
				extra := ""
				if id.Legacy {
					extra = " (legacy)"
				}
				if id.VoidReason != "" {
					extra += " " + id.VoidReason
				}
				fmt.Fprintf(w, "    %s  %s%s\n", id.MRN, id.State, extra)
			}
			if ps.Configured && p.MergedInto == 0 {
				fmt.Fprintf(w, "  OpenMRS:    %s\n", ps.Describe(s.Now()))
				for _, c := range ps.Conflicts {
					fmt.Fprintf(w, "    sync conflict %d (%s): %s\n", c.ID, c.Kind, printable(c.Detail))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) patientsSearchCmd() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "search TEXT [--json]",
		Short: "Find patients by name, phone, birth date or MRN",
		Long: `Find patients, newest registrations first. TEXT is:
  - an MRN (typed or scanned; also a voided one, which finds who held it);
  - a phone number in any national or international form (0772 123456,
    +256 772 123456): compared by its last nine digits;
  - or words that must all match: part of a name (case, accents and letters
    such as Ł or ß ignored: "zoe" finds Zoë, "lukasz" Łukasz), a name that
    sounds alike (Nakatto finds Nakato), a birth date (1990-04-12 or
    12/04/1990), a birth year (1990), or digits of a phone.
An MRN of this registry with a wrong check character is reported as
"probably mistyped" rather than "no patient found".`,
		Example: `  idcards patients search nakato
  idcards patients search "amina 1990"
  idcards patients search "+256 772 123456" --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := idcards.Require(ctx, idcards.PermReadPatient); err != nil {
				return err
			}
			ps, err := s.SearchPatients(ctx, strings.Join(args, " "), limit)
			if err != nil {
				return err
			}
			type hit struct {
				idcards.Patient
				MRNs []string `json:"mrns"`
			}
			var hits []hit
			for _, p := range ps {
				ids, err := s.PatientIdentifiers(ctx, p.ID)
				if err != nil {
					return err
				}
				h := hit{Patient: p, MRNs: []string{}}
				for _, id := range ids {
					if id.State == idcards.IDActive {
						h.MRNs = append(h.MRNs, id.MRN)
					}
				}
				hits = append(hits, h)
			}
			if asJSON {
				if hits == nil {
					hits = []hit{}
				}
				return json.NewEncoder(a.stdout).Encode(hits)
			}
			if len(hits) == 0 {
				if ok, msg := s.LooksLikeMistypedMRN(ctx, strings.Join(args, " ")); ok {
					fmt.Fprintln(a.stderr, msg)
				} else {
					fmt.Fprintln(a.stderr, "no patient found")
				}
				return exitError{1}
			}
			for _, h := range hits {
				a.printf("%s\t%s\t%s\t%s\t%s\t%s\n", orDash(strings.Join(h.MRNs, " ")), printable(h.DisplayName()), h.Sex, orDash(h.BirthDate), orDash(printable(h.Phone)), orDash(printable(h.Village)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many results")
	return cmd
}

func (a *app) patientsImportCmd() *cobra.Command {
	var opts registry.ImportOptions
	var maps []string
	var dateFormat, rejects, format, comma string
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import a legacy patient register (CSV) or an export",
		Long: `Import patients from a CSV file with a header row (a paper register typed into a
spreadsheet, an old system's export) or from ` + "`idcards patients export`" + ` (CSV or JSON
lines). FILE "-" reads standard input.

Columns are recognised by name: mrn (also id, patient_id, identifier…),
other_mrns, given_name (first_name…), family_name (surname…), sex (gender),
birth_date (dob…), birth_date_estimated, age, phone, village (address…), uuid.
Map any other header with --map "Header=field", or drop it with --map "Header=-".
Unknown columns are refused so that no data is silently lost. UTF-8 with or
without BOM, CRLF line ends and quoted cells are fine. Dates are YYYY-MM-DD,
a bare year (estimated), or --date-format (e.g. DD/MM/YYYY); an age column
gives an estimated birth date. Rows are checked with the desk's rules (names
of letters, at most 50 characters each, no digits or emoji) with one
exception: a row without a birth date or age is imported with an unknown birth
date, because old registers often have none and refusing the row would only
invite a second registration at the desk (add it later with patients edit).

IDs: one that belongs to this registry's series is recorded in it, and the
sequence will skip it. Other (legacy) IDs need --legacy-scheme NAME (checked
with that check-digit scheme) or --legacy-unchecked. An ID on two rows, or
already held by a different patient in the registry, is an error.

The import is one transaction: every row or none. The first bad row stops it
and names the row (the spreadsheet row: header = 1), the column and the
problem. With --skip-bad --rejects FILE the good rows are imported and every
refused row is written to FILE with its reason; fix that file and import it.
Re-running an import is safe: a row identical to a patient already present
(same uuid, or same names, sex, birth date, phone and village) is skipped —
unless its IDs are all new and the record holds IDs of its own: that is
another register entry, imported as a patient of its own, the pair going to
the review list (idcards patients review).
--dry-run checks everything and prints what each row would do, writing
nothing. Rows without an ID are registered without one unless --issue-missing.

After the import each imported patient gets the duplicate check: a pair with
a patient already registered, or two rows of one person, at possible or
above goes to the supervisor's review list (idcards patients review), and the
summary says how many (and how many probable). A small import is checked
row by row as the desk checks; one of more than a sixteenth of the registry
(a first import) with the whole-registry scan's blocks, with a progress line
on a terminal. Pairs a supervisor judged "not the same person" stay judged.
--no-duplicate-check skips it (run idcards patients duplicates later). A dry
run checks each row against the registry as it is (not against the file's
other rows) and lists the rows that look like registered patients.`,
		Example: `  idcards patients import register.csv --dry-run
  idcards patients import register.csv --map "Nom=family_name" --map "Prénom=given_name" --date-format DD/MM/YYYY --legacy-unchecked
  idcards patients import register.csv --skip-bad --rejects rejected.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.SkipBad != (rejects != "") {
				return idcards.Errorf(idcards.Invalid, "--skip-bad and --rejects FILE go together: refused rows must be kept somewhere")
			}
			m, err := patientfile.ParseMap(maps)
			if err != nil {
				return err
			}
			var in io.Reader = a.stdin
			name := args[0]
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return idcards.Errorf(idcards.Invalid, "%v", err)
				}
				defer f.Close()
				in = f
			}
			if format == "" {
				format = "csv"
				if strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson") {
					format = "jsonl"
				}
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			var next func() (registry.ImportRow, error)
			var raw func() []string
			var header []string
			switch format {
			case "csv":
				cfg := patientfile.Config{Map: m, DateFormat: dateFormat, Now: s.Now()}
				if comma != "" {
					r := []rune(comma)
					if comma == `\t` || comma == "tab" {
						r = []rune{'\t'}
					}
					if len(r) != 1 {
						return idcards.Errorf(idcards.Invalid, "--separator %q: one character", comma)
					}
					cfg.Comma = r[0]
				}
				rd, err := patientfile.NewReader(bufio.NewReaderSize(in, 1<<16), cfg)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				next, raw, header = rd.Next, rd.Raw, rd.Header()
			case "jsonl":
				jr := patientfile.NewJSONLReader(in)
				next = jr.Next
				header = patientfile.ExportFields
			default:
				return idcards.Errorf(idcards.Invalid, "--format %q: use csv or jsonl", format)
			}
			var rw *csv.Writer
			var rejFile *os.File
			if rejects != "" {
				// 0600, never over an existing file or through a symlink:
				// it holds patients' rows.
				if rejFile, err = registry.CreateNewFile(rejects); err != nil {
					return idcards.Errorf(idcards.Conflict, "--rejects: %v", err)
				}
				defer rejFile.Close()
				rw = csv.NewWriter(rejFile)
				rw.Write(append(append([]string{}, header...), "source_row", "error"))
			}
			opts.Source = filepath.Base(name)
			prog := newRowCounter(a.stderr, !opts.DryRun)
			opts.CheckProgress = prog.checking
			report := func(o registry.RowOutcome) {
				prog.tick()
				if o.Action == registry.RowRejected {
					fmt.Fprintf(a.stderr, "%v\n", o.Err)
					if rw != nil {
						var cells []string
						if raw != nil {
							cells = append(cells, raw()...)
						} else {
							cells = rowCells(o.Row)
						}
						for len(cells) < len(header) {
							cells = append(cells, "")
						}
						rw.Write(patientfile.EscapeRecord(append(cells[:len(header):len(header)], strconv.Itoa(o.Line), errText(o.Err))))
					}
					return
				}
				if opts.DryRun {
					verb := "would import"
					if o.Action == registry.RowExists {
						verb = "already present"
					}
					a.printf("row %s: %s %s %s\n", registry.Thousands(o.Line), verb, printable(strings.TrimSpace(o.Row.Patient.GivenName+" "+o.Row.Patient.FamilyName)), strings.Join(o.MRNs, " "))
				}
			}
			sum, err := s.Import(ctx, next, opts, report)
			prog.done()
			if rw != nil {
				rw.Flush()
				if ferr := rw.Error(); ferr != nil && err == nil {
					err = ferr
				}
			}
			if err != nil && !sum.Committed {
				return importFailed(name, opts.SkipBad, err)
			}
			prefix := ""
			if sum.DryRun {
				prefix = "dry run, nothing written: "
			}
			a.printf("%s%d rows: %d imported, %d already present, %d rejected; %d IDs recorded, %d issued\n", prefix, sum.Rows, sum.Imported, sum.Existing, sum.Rejected, sum.LegacyIDs, sum.Issued)
			if err != nil {
				// Saved, then the index or the check failed (a server gone
				// away, say): the rows stand; the check is owed and runs
				// at the next import or patients duplicates.
				return fmt.Errorf("%s: the import is saved (%s imported), but what follows it failed; the duplicate check of these patients is kept owed and runs at the next import or idcards patients duplicates: %w", name, plural(sum.Imported, "patient"), err)
			}
			if ch := sum.Check; ch != nil && ch.DryRun {
				// Which registered patient a row looks like is patient data:
				// an admin (import, but not read_patient) learns only that
				// the row looks like someone registered.
				_, readErr := idcards.Require(ctx, idcards.PermReadPatient)
				for _, l := range ch.LookAlikes {
					c := l.Candidates[0]
					row := printable(strings.TrimSpace(l.Patient.GivenName + " " + l.Patient.FamilyName))
					if readErr != nil {
						a.printf("row %s: %s looks like a registered patient (%s %.2f; who is for a supervisor to see)\n", registry.Thousands(l.Line), row, c.Level, c.Score)
						continue
					}
					mrn := strings.Join(c.MRNs, "/")
					if mrn == "" {
						mrn = "(no ID)"
					}
					a.printf("row %s: %s looks like %s %s (%s %.2f)\n", registry.Thousands(l.Line), row,
						mrn, printable(c.Patient.DisplayName()), c.Level, c.Score)
				}
				a.printf("duplicate check (dry run: each row against the registry as it is, not against the file's other rows): %d of %d rows look like registered patients (%d probable)", ch.Pairs, ch.Checked, ch.Probable)
				if ch.Unchecked > 0 {
					a.printf("; %d more rows not checked (a dry run checks the first %d; the import itself checks all)", ch.Unchecked, ch.Checked)
				}
				a.printf("\n")
			} else if ch != nil {
				how := "each against the registry"
				if ch.Scanned {
					how = "with the whole-registry scan: a large import"
				}
				if ch.Resumed > 0 {
					how += fmt.Sprintf("; %d of them from an earlier import whose check was interrupted", ch.Resumed)
				}
				a.printf("duplicate check of the %s (%s): ", plural(ch.Checked, "imported patient"), how)
				switch {
				case ch.Pairs == 0:
					a.printf("no look-alikes\n")
				case ch.Pairs == 1:
					a.printf("1 pair may be one person (%d probable); it is in the review list: idcards patients review\n", ch.Probable)
				default:
					a.printf("%d pairs may be one person (%d probable); they are in the review list: idcards patients review\n", ch.Pairs, ch.Probable)
				}
			}
			if sum.Rejected > 0 {
				fmt.Fprintf(a.stderr, "%d rows refused: see %s\n", sum.Rejected, rejects)
				return exitError{1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&maps, "map", nil, `map a header to a field: "Header=field" or "Header=-" to ignore (repeatable)`)
	f.StringVar(&dateFormat, "date-format", "", "local date format besides YYYY-MM-DD, e.g. DD/MM/YYYY")
	f.StringVar(&format, "format", "", "csv or jsonl (default: from the file name)")
	f.StringVar(&comma, "separator", "", `cell separator for CSV (default ","; e.g. ";" or tab)`)
	f.BoolVar(&opts.DryRun, "dry-run", false, "check every row and report what would happen; write nothing")
	f.BoolVar(&opts.SkipBad, "skip-bad", false, "import the good rows; write refused ones to --rejects")
	f.StringVar(&rejects, "rejects", "", "file for refused rows with their reasons (with --skip-bad)")
	f.StringVar(&opts.LegacyScheme, "legacy-scheme", "", "check IDs outside this registry's series with this scheme")
	f.BoolVar(&opts.LegacyUnchecked, "legacy-unchecked", false, "accept IDs outside this registry's series without a check")
	f.BoolVar(&opts.IssueMissing, "issue-missing", false, "issue a new MRN to rows without an ID")
	f.BoolVar(&opts.NoDuplicateCheck, "no-duplicate-check", false, "skip the duplicate check of the imported patients (run patients duplicates later)")
	return cmd
}

// importFailed says what an import that did not commit left behind. A
// connection lost at the commit may have saved it or not: the database
// alone knows, and re-running the same file is safe either way (rows
// already present are recognised, not imported twice).
func importFailed(name string, skipBad bool, err error) error {
	if registry.CommitOutcomeUnknown(err) {
		return fmt.Errorf("%s: the registry database went away while the import was being saved: it may have been saved or not. When it is back, run the same command again: rows already present are recognised and not imported twice: %w", name, err)
	}
	if skipBad {
		return err
	}
	return fmt.Errorf("%s: nothing was imported: %w", name, err)
}

func errText(err error) string {
	if re, ok := err.(*registry.RowError); ok {
		if re.Column != "" {
			return re.Column + ": " + re.Err.Error()
		}
		return re.Err.Error()
	}
	return err.Error()
}

func rowCells(r registry.ImportRow) []string {
	mrn, other := "", ""
	if len(r.MRNs) > 0 {
		mrn, other = r.MRNs[0], strings.Join(r.MRNs[1:], ";")
	}
	est := ""
	if r.Patient.BirthDateEstimated {
		est = "yes"
	}
	return []string{mrn, other, r.Patient.GivenName, r.Patient.FamilyName, string(r.Patient.Sex), r.Patient.BirthDate, est, r.Patient.Phone, r.Patient.Village, r.UUID}
}

// rowCounter draws a one-line counter on a terminal (and nothing otherwise).
type rowCounter struct {
	w       io.Writer
	on      bool
	n       int
	start   time.Time
	checked bool // the duplicate check's progress was drawn
}

func newRowCounter(w io.Writer, want bool) *rowCounter {
	p := &rowCounter{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok && want {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *rowCounter) tick() {
	p.n++
	if p.on && p.n%1000 == 0 {
		rate := float64(p.n) / time.Since(p.start).Seconds()
		fmt.Fprintf(p.w, "\r%s rows (%.0f/s)", registry.Thousands(p.n), rate)
	}
}

// checking draws the duplicate check's progress after the rows.
func (p *rowCounter) checking(done, total int) {
	if p.on {
		fmt.Fprintf(p.w, "\r\033[Kchecking for duplicates: %d%% of %s", 100*done/max(total, 1), registry.Thousands(total))
		p.checked = true
	}
}

func (p *rowCounter) done() {
	if p.on && (p.n >= 1000 || p.checked) {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (a *app) patientsExportCmd() *cobra.Command {
	var format, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "export [--format csv|jsonl] [--out FILE [--force]]",
		Short: "Write every patient with their active MRNs (supervisor; audited)",
		Long: `Write every patient, in registration order, one per row: mrn (the first of
their active IDs), other_mrns (the rest, ";"-separated), names, sex, birth date,
estimated flag, phone, village and uuid. Voided IDs are left out. The output
imports back with ` + "`idcards patients import`" + ` (the same patients and IDs). It is
not a copy of the registry: reserved IDs not yet given to a patient, voided
IDs, cards and merges are not in it, so a registry made from it could issue a
pre-printed card's number again; to move a whole registry use idcards backup
and restore, or idcards migrate. A supervisor's work (every patient's details
at once); each export is audited with the rows written. With --out the file
is written (mode 0600) beside the target and put in place only when complete;
an existing file is refused (name a new one) unless --force.`,
		Example: `  idcards patients export --out patients.csv
  idcards patients export --format jsonl | gzip > patients.jsonl.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			write := func(dst io.Writer) (int, error) {
				bw := bufio.NewWriterSize(dst, 1<<16)
				pw, err := patientfile.NewWriter(bw, format)
				if err != nil {
					return 0, err
				}
				n, err := s.Export(ctx, pw.Write)
				if err != nil {
					return n, err
				}
				if err := pw.Flush(); err != nil {
					return n, err
				}
				return n, bw.Flush()
			}
			if out == "" {
				_, err := write(a.stdout)
				return err
			}
			// Like audit export --out: a private (0600) temporary file
			// beside --out, put in place only when every row is out,
			// never over an existing file unless --force.
			var n int
			if err := writeNewFileAtomic(out, force, func(w io.Writer) (err error) {
				n, err = write(w)
				return err
			}); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "exported %d patients to %s\n", n, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "csv", "csv or jsonl")
	cmd.Flags().StringVar(&out, "out", "", "write to this new file (mode 0600, put in place only when complete) instead of standard output")
	cmd.Flags().BoolVar(&force, "force", false, "with --out: replace an existing file (only once the export is complete)")
	return cmd
}
