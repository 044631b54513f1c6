package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png" // logo check
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/printing"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

// Registry settings the print command reads.
const (
	settingFacility = "facility_name" // printed at the top of every card
	settingLogo     = "card_logo"     // path of a PNG printed top-left
)

// content2D is the 2D symbol's content: MRN and card serial in the one
// documented format that barcode.Parse2D (and so verify, the TUI and the
// scanner endpoint) reads back.
func content2D(mrn, serial string) string { return barcode.Format2D(mrn, serial) }

type printFlags struct {
	ids, patient, layout, symbology, out, printer, reason, facility, logo string
	unprinted, reprint, skipBad, force                                    bool
	split                                                                 int
}

// printCmds are "print" and "cards", registered by one line in app.go.
func (a *app) printCmds() []*cobra.Command { return []*cobra.Command{a.printCmd(), a.cardsCmd()} }

func (a *app) printCmd() *cobra.Command {
	var f printFlags
	cmd := &cobra.Command{
		Use:   "print (--ids FILE | --unprinted | --patient MRN) (-o FILE.pdf | --to-printer NAME)",
		Short: "Print barcoded ID cards to PDF (or a CUPS printer) and record each card",
		Long: `Print ID cards as a PDF: one card per page for card printers (--layout card,
exactly 85.60 × 53.98 mm) or 10 (a4, 2×5) / 8 (letter, 2×4) cards per sheet
with cut marks for laser printers.

Choose one source:
  --ids FILE     one MRN per line ("-" reads stdin); blank lines and #comments skipped
  --unprinted    every issued, non-voided ID with no active or pending card
                 (a failed, voided or replaced card does not count)
  --patient MRN  one patient's card (with --reprint --reason when they already have one)

Every ID is verified first. Unknown, malformed or voided IDs, IDs that
already have an active card (unless --reprint) and IDs with a pending card
of an unfinished run are listed with the reason and nothing is printed;
--skip-bad prints the good ones and reports the rest.

Each card gets a serial and is recorded "pending" just before it is drawn;
it becomes "active" only when its PDF is complete on disk (written to a
temporary file, synced, renamed) or lp accepted the job. A failed run marks
its cards "failed" and names the patients that were not printed. A reprint
marks the old card "replaced" once the new one has printed. A run killed
between finishing the PDF and recording it leaves its cards pending: see
idcards cards list --state pending, cards confirm and cards cancel.

-o FILE.pdf refuses an existing file (it may be the only copy of cards
recorded active but not printed yet) before anything is recorded; --force
replaces it once the new PDF is complete.

-o DIR/ writes into a directory and names each PDF by its cards:
MRN-SERIAL.pdf for one card, BATCH-Ncards.pdf for several (BATCH-0001.pdf …
with --split), never over an existing file; idcards cards list shows every
card's serial, MRN and batch.

--split N writes N cards per file (-o cards.pdf gives cards-0001.pdf,
cards-0002.pdf …; with --to-printer one job per N cards). --to-printer checks
with lpstat that the queue exists, is enabled and accepts jobs before
anything is recorded, and asks CUPS for the PDF's own page size at 100 %
(card: -o media=Custom.85.6x53.98mm -o PageSize=Custom.242.65x153.01;
a4/letter: -o media=A4/Letter; always -o print-scaling=none).
IDCARDS_LP_MEDIA=none sends no size (the queue's defaults decide),
IDCARDS_LP_MEDIA=NAME sends -o media=NAME with print-scaling=none.

Names print in any script the embedded fonts cover (Latin, Greek, Cyrillic,
Hebrew, Arabic, N'Ko, Adlam, Ethiopic, Tifinagh, Vai); other characters
print as U+FFFD with a warning naming the patient. Long names shrink, then
wrap to two lines, then end in "…". See docs/printing.md.

The Code 128 symbol carries the MRN alone, so a scan into any search field
works. A 2D symbol (qr, datamatrix, or code128+qr) carries the MRN and the card
serial, so a scan of a replaced card is recognised.

The facility name and logo come from the registry settings facility_name and
card_logo (a PNG path), or --facility and --logo; what else the card shows
(birth year or date, the card serial) from idcards cards setup.`,
		Example: `  idcards print --patient KLA0001234 -o card.pdf --layout card
  idcards print --patient KLA0001234 --reprint --reason "lost" --to-printer Zebra_ZC300
  idcards print --unprinted --layout a4 --symbology code128+qr -o batch.pdf
  idcards issue --count 500 | idcards print --ids - --skip-bad -o preprinted.pdf
  idcards print --ids campaign.txt --layout a4 --split 1000 -o campaign.pdf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPrint(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ids, "ids", "", `file of MRNs, one per line ("-" for stdin)`)
	fl.BoolVar(&f.unprinted, "unprinted", false, "print every issued, non-voided ID with no active or pending card")
	fl.StringVar(&f.patient, "patient", "", "print one patient's card by MRN")
	fl.StringVar(&f.layout, "layout", "card", "page layout: "+strings.Join(printing.Layouts(), ", "))
	fl.StringVar(&f.symbology, "symbology", "code128", "barcode: code128, qr, datamatrix or code128+qr")
	fl.StringVarP(&f.out, "out", "o", "", "PDF file to write, or a directory (DIR/): each PDF named MRN-SERIAL.pdf (one card) or BATCH-Ncards.pdf")
	fl.StringVar(&f.printer, "to-printer", "", "send to this CUPS printer with lp instead of a file")
	fl.BoolVar(&f.reprint, "reprint", false, "print IDs that already have an active card (the old card becomes replaced)")
	fl.StringVar(&f.reason, "reason", "", "why the cards are (re)printed; required with --reprint")
	fl.BoolVar(&f.skipBad, "skip-bad", false, "print the valid IDs and report the refused ones instead of printing nothing")
	fl.StringVar(&f.facility, "facility", "", "facility name on the card (default: setting facility_name)")
	fl.StringVar(&f.logo, "logo", "", "PNG logo for the card (default: setting card_logo)")
	fl.BoolVar(&f.force, "force", false, "replace an existing -o FILE.pdf (it may be the only copy of cards recorded active but not yet printed)")
	fl.IntVar(&f.split, "split", 0, "write N cards per file: -o cards.pdf makes cards-0001.pdf, cards-0002.pdf … (with --to-printer: one job per N cards)")
	return cmd
}

func parseSymbols(s string) ([]barcode.Symbology, error) {
	var out []barcode.Symbology
	twoD := 0
	for _, p := range strings.Split(s, "+") {
		sym, err := barcode.ParseSymbology(p)
		if err != nil {
			return nil, err
		}
		if sym != barcode.Code128 {
			twoD++
		}
		out = append(out, sym)
	}
	if twoD > 1 || len(out) > 2 || (len(out) == 2 && out[0] == out[1]) {
		return nil, idcards.Errorf(idcards.Invalid, "symbology %q: use one of code128, qr, datamatrix, or code128 plus one 2D symbology", s)
	}
	return out, nil
}

// readIDs reads one code per line; lines longer than barcode.MaxInput are
// refused up front rather than buffered.
func readIDs(r io.Reader, name string) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), barcode.MaxInput+2)
	var out []string
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if len(s) > barcode.MaxInput {
			return nil, idcards.Errorf(idcards.Invalid, "%s: line %d is longer than %d characters: not a list of IDs", name, line, barcode.MaxInput)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, idcards.Errorf(idcards.Invalid, "%s: line %d is longer than %d characters: not a list of IDs", name, line+1, barcode.MaxInput)
		}
		return nil, fmt.Errorf("print: read %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, idcards.Errorf(idcards.Invalid, "%s: no IDs in the file", name)
	}
	return out, nil
}

func (a *app) runPrint(ctx context.Context, f printFlags) error {
	sources := 0
	for _, set := range []bool{f.ids != "", f.unprinted, f.patient != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return idcards.Errorf(idcards.Invalid, "print: give exactly one of --ids FILE, --unprinted or --patient MRN")
	}
	if (f.out == "") == (f.printer == "") {
		return idcards.Errorf(idcards.Invalid, "print: give exactly one of -o FILE.pdf or --to-printer NAME")
	}
	// -o DIR/ (or an existing directory): each PDF is named by its cards.
	var outDir string
	if f.out != "" {
		if fi, err := os.Stat(f.out); err == nil && fi.IsDir() {
			outDir = f.out
		} else if strings.HasSuffix(f.out, string(os.PathSeparator)) {
			return idcards.Errorf(idcards.Invalid, "print: -o %s: no such directory (create it first, or name a .pdf file)", f.out)
		} else if f.split == 0 {
			// Refused before anything is read or recorded.
			if err := checkAbsent("print: -o", f.out, printedWhy, f.force); err != nil {
				return err
			}
		}
	}
	if f.reprint && strings.TrimSpace(f.reason) == "" {
		return idcards.Errorf(idcards.Invalid, "print: --reprint needs --reason (e.g. \"lost\", \"damaged\")")
	}
	sheet, err := printing.LayoutSheet(f.layout)
	if err != nil {
		return err
	}
	syms, err := parseSymbols(f.symbology)
	if err != nil {
		return err
	}
	var codes []string
	switch {
	case f.ids == "-":
		codes, err = readIDs(a.stdin, "stdin")
	case f.ids != "":
		var fh *os.File
		if fh, err = os.Open(f.ids); err != nil {
			return idcards.Errorf(idcards.Invalid, "print: %v", err)
		}
		codes, err = readIDs(fh, f.ids)
		fh.Close()
	case f.patient != "":
		codes = []string{f.patient}
	}
	if err != nil {
		return err
	}

	s, ctx, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if f.unprinted {
		if codes, err = s.UnprintedIDs(ctx, 0); err != nil {
			return err
		}
		if len(codes) == 0 {
			a.printf("every issued ID already has an active or pending card: nothing to print\n")
			return nil
		}
	}
	look, err := cardLookup(ctx, s, f.facility, f.logo)
	if err != nil {
		return err
	}
	if look.facility == "" {
		fmt.Fprintf(a.stderr, "warning: no facility name is set: the cards print with an empty band at the top (idcards cards setup --facility NAME)\n")
	}

	good, bad, err := s.CheckPrintable(ctx, codes)
	if err != nil {
		return err
	}
	good, bad, err = refuseCarded(ctx, s, good, bad, f.reprint)
	if err != nil {
		return err
	}
	for _, b := range bad {
		fmt.Fprintf(a.stderr, "refused %s: %s\n", b.Input, b.Reason)
	}
	if len(bad) > 0 && !f.skipBad {
		return idcards.Errorf(idcards.Invalid, "print: %d of %d IDs refused, nothing printed (fix the list or use --skip-bad)", len(bad), len(codes))
	}
	if len(good) == 0 {
		return idcards.Errorf(idcards.Invalid, "print: no printable IDs")
	}
	if f.split < 0 {
		return idcards.Errorf(idcards.Invalid, "print: --split must be a positive number of cards per file")
	}

	lp := a.getenv("IDCARDS_LP")
	if lp == "" {
		lp = "lp"
	}
	lpstat := a.getenv("IDCARDS_LPSTAT")
	if lpstat == "" {
		lpstat = "lpstat"
	}
	if lpstat == "none" {
		lpstat = ""
	}
	if f.split > 0 && f.out != "" && outDir == "" {
		// Every file of the run, before the first card is recorded.
		parts := (len(good) + f.split - 1) / f.split
		for i := 1; i <= parts; i++ {
			if err := checkAbsent("print: -o", splitName(f.out, i, parts), printedWhy, f.force); err != nil {
				return err
			}
		}
	}
	prog := newProgress(a.stderr, len(good))
	j := &printJob{
		s: s, sheet: sheet, layout: f.layout, reason: f.reason, batch: newBatchID(),
		opts: printing.RenderOptions{
			Options: printing.Options{Facility: look.facility, Symbols: syms, Content2D: content2D, ShowSerial: look.serial},
			Logo:    look.logo, Title: "idcards " + f.layout,
		},
		look: look.cardSettings, out: f.out, outDir: outDir, force: f.force, printer: f.printer, lp: lp, lpstat: lpstat, lpMedia: a.getenv("IDCARDS_LP_MEDIA"), split: f.split,
		warn: a.stderr, step: prog.update,
	}
	if outDir != "" {
		j.out = ""
	}
	res, err := j.run(ctx, good)
	prog.done()
	if err != nil {
		return err
	}
	dest := "printer " + f.printer
	if len(res.Jobs) > 0 {
		dest += " (job " + strings.Join(res.Jobs, ", ") + ")"
	}
	if f.printer == "" {
		dest = strings.Join(res.Files, ", ")
		if len(res.Files) > 3 {
			dest = fmt.Sprintf("%d files %s … %s", len(res.Files), res.Files[0], res.Files[len(res.Files)-1])
		}
	}
	a.printf("printed %s (%s, layout %s) to %s; batch %s\n", plural(res.Printed, "card"), plural(res.Pages, "page"), f.layout, dest, j.batch)
	if len(bad) > 0 {
		a.printf("skipped %d refused IDs (listed on stderr)\n", len(bad))
	}
	return nil
}

// printedWhy is what an existing -o FILE.pdf may be, said when print
// refuses to replace it.
const printedWhy = ": it may be the only copy of cards recorded active but not printed yet"

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func newBatchID() string {
	var b [4]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// refuseCarded moves the MRNs that already have a card out of good: a
// pending one (a run that did not finish must be resolved first) always,
// an active one unless reprint.
func refuseCarded(ctx context.Context, s *registry.Store, good []string, bad []registry.BadID, reprint bool) ([]string, []registry.BadID, error) {
	states, err := s.CardStates(ctx, good)
	if err != nil {
		return nil, nil, err
	}
	if len(states) == 0 {
		return good, bad, nil
	}
	kept := good[:0:0]
	for _, m := range good {
		h, ok := states[m]
		switch {
		case !ok:
			kept = append(kept, m)
		default:
			switch {
			case h.PendingSerial != "":
				b := orNone(h.PendingBatch)
				bad = append(bad, registry.BadID{Input: h.MRN, Reason: "has pending card " + h.PendingSerial + " of batch " + b + ", from a run that did not finish: check whether it printed, then idcards cards confirm --batch " + b + " or idcards cards cancel --batch " + b + " --reason ..."})
			case h.ActiveSerial != "" && !reprint:
				bad = append(bad, registry.BadID{Input: h.MRN, Reason: "already has active card " + h.ActiveSerial + " (use --reprint --reason to replace it)"})
			default:
				kept = append(kept, m)
			}
		}
	}
	return kept, bad, nil
}

// Registry settings for what a card shows.
const (
	settingBirth       = "card_birth"       // year (default), date or none
	settingIdentifiers = "card_identifiers" // mrn (default) or mrn,serial
)

// look is everything about a card's appearance that comes from settings.
type look struct {
	facility string
	logo     []byte
	serial   bool
	cardSettings
}

// cardLookup reads the card settings: the facility name and logo (the
// flags when given, else facility_name / card_logo), card_birth and
// card_identifiers.
func cardLookup(ctx context.Context, s *registry.Store, facility, logoPath string) (look, error) {
	var l look
	var err error
	if facility == "" {
		if facility, err = s.Setting(ctx, settingFacility, ""); err != nil {
			return l, err
		}
	}
	l.facility = facility
	if logoPath == "" {
		if logoPath, err = s.Setting(ctx, settingLogo, ""); err != nil {
			return l, err
		}
	}
	if logoPath != "" {
		if l.logo, err = os.ReadFile(logoPath); err != nil {
			return l, idcards.Errorf(idcards.Invalid, "print: logo: %v (set --logo or the card_logo setting to a PNG file)", err)
		}
	}
	if l.birth, err = s.Setting(ctx, settingBirth, "year"); err != nil {
		return l, err
	}
	if err := checkBirth(l.birth); err != nil {
		return l, err
	}
	ids, err := s.Setting(ctx, settingIdentifiers, "mrn")
	if err != nil {
		return l, err
	}
	if l.serial, err = parseIdentifiers(ids); err != nil {
		return l, err
	}
	return l, nil
}

func checkBirth(v string) error {
	switch v {
	case "year", "date", "none":
		return nil
	}
	return idcards.Errorf(idcards.Invalid, "card_birth %q: use year (the default: privacy), date (full date of birth; an estimated date still prints as its year) or none", v)
}

// parseIdentifiers reads card_identifiers: the MRN always prints (it is
// what the barcode carries); "serial" adds the card serial.
func parseIdentifiers(v string) (serial bool, err error) {
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case "mrn", "":
		case "serial":
			serial = true
		default:
			return false, idcards.Errorf(idcards.Invalid, "card_identifiers %q: a comma list of mrn (always printed) and serial (the card serial)", v)
		}
	}
	return serial, nil
}

func (a *app) cardsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cards",
		Short: "The print registry: list, replace and void printed cards",
		Long: `Every card has a serial (C + 8 characters) and a row with its MRN, state,
batch, layout, who printed it and when. States:

  pending   recorded for a print run that has not finished: it may or may not
            have printed (a run that was killed leaves its cards pending)
  active    its page is in a completely written PDF, or lp accepted the job
  replaced  a later card of the same MRN was printed (reprint)
  voided    voided by hand (spoiled, never handed out)
  failed    its print run failed: it was never printed

A reprint (idcards print --patient MRN --reprint --reason ...) gives a new
serial and marks the old card replaced once the new one has printed.
Resolve pending cards with "cards confirm --batch ID" (they printed) or
"cards cancel --batch ID" (they did not).`,
	}
	var f registry.CardFilter
	var state string
	var asJSON bool
	list := &cobra.Command{
		Use:     "list [--mrn MRN] [--batch ID] [--state pending|active|replaced|voided|failed]",
		Short:   "List printed cards, newest first",
		Example: "  idcards cards list --mrn KLA0001234\n  idcards cards list --batch 20260102-030405-1a2b3c4d --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if state != "" {
				switch idcards.CardState(state) {
				case idcards.CardPending, idcards.CardActive, idcards.CardReplaced, idcards.CardVoided, idcards.CardFailed:
					f.State = idcards.CardState(state)
				default:
					return idcards.Errorf(idcards.Invalid, "cards list: state %q: use pending, active, replaced, voided or failed", state)
				}
			}
			if f.MRN != "" {
				v, err := s.Verify(ctx, f.MRN)
				if err != nil {
					return err
				}
				if v.Code != "" {
					f.MRN = v.Code
				}
			}
			cs, err := s.ListCards(ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				if cs == nil {
					cs = []idcards.Card{}
				}
				e := json.NewEncoder(a.stdout)
				e.SetIndent("", "  ")
				return e.Encode(cs)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tMRN\tSTATE\tLAYOUT\tBATCH\tPRINTED BY\tPRINTED AT")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Serial, c.MRN, c.State, printable(c.Layout), printable(c.BatchID), printable(c.PrintedBy), c.PrintedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&f.MRN, "mrn", "", "cards of this MRN")
	list.Flags().StringVar(&f.BatchID, "batch", "", "cards of this print batch")
	list.Flags().StringVar(&state, "state", "", "pending, active, replaced, voided or failed")
	list.Flags().IntVar(&f.Limit, "limit", 1000, "at most this many")
	list.Flags().BoolVar(&asJSON, "json", false, "JSON output")

	var reason string
	void := &cobra.Command{
		Use:   "void SERIAL --reason TEXT",
		Short: "Void a card (spoiled in the printer, never handed out) without touching its MRN",
		Long: `Void one printed card by serial. The MRN stays valid. A voided card was never
handed out: an MRN left with no active or pending card is offered by
idcards print --unprinted again (or print it with idcards print --patient MRN),
and a card the voided one had replaced stays replaced, but a scan of it now
says the replacement was voided and a new card is needed.`,
		Example: `  idcards cards void C7K2M9XQ0 --reason "ribbon jam"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			serial := strings.ToUpper(strings.TrimSpace(args[0]))
			if err := s.VoidCard(ctx, serial, reason); err != nil {
				return err
			}
			a.printf("voided card %s\n", serial)
			return nil
		},
	}
	void.Flags().StringVar(&reason, "reason", "", "why (required)")

	var rf printFlags
	replace := &cobra.Command{
		Use:   "replace MRN --reason TEXT (-o FILE.pdf | --to-printer NAME)",
		Short: "Print a replacement card: new serial, the old card becomes replaced",
		Long: `Print a new card for an MRN whose card was lost or damaged. The new card gets a
new serial and the earlier active card is marked replaced, so a scan of its 2D
symbol reports "replaced". Same as: idcards print --patient MRN --reprint --reason TEXT.`,
		Example: `  idcards cards replace KLA0001234 --reason lost -o card.pdf
  idcards cards replace KLA0001234 --reason damaged --to-printer Zebra_ZC300 --symbology code128+qr`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(rf.reason) == "" {
				return idcards.Errorf(idcards.Invalid, "cards replace: --reason is required (e.g. lost, damaged)")
			}
			rf.patient, rf.reprint = args[0], true
			return a.runPrint(cmd.Context(), rf)
		},
	}
	rfl := replace.Flags()
	rfl.StringVar(&rf.reason, "reason", "", "why the card is replaced (required)")
	rfl.StringVarP(&rf.out, "out", "o", "", "PDF file to write, or a directory (DIR/): named MRN-SERIAL.pdf")
	rfl.BoolVar(&rf.force, "force", false, "replace an existing -o FILE.pdf")
	rfl.StringVar(&rf.printer, "to-printer", "", "send to this CUPS printer with lp")
	rfl.StringVar(&rf.layout, "layout", "card", "page layout: "+strings.Join(printing.Layouts(), ", "))
	rfl.StringVar(&rf.symbology, "symbology", "code128", "barcode: code128, qr, datamatrix or code128+qr")
	rfl.StringVar(&rf.facility, "facility", "", "facility name on the card (default: setting facility_name)")
	rfl.StringVar(&rf.logo, "logo", "", "PNG logo (default: setting card_logo)")
	var facility, logo, birth, identifiers, printer string
	setup := &cobra.Command{
		Use:   "setup [--facility NAME] [--logo FILE.png] [--birth year|date|none] [--identifiers mrn[,serial]] [--printer QUEUE]",
		Short: "Set what every card shows: facility name, logo, birth date or year, identifiers",
		Long: `Store the card settings in the registry; idcards print and the desk screen use
them (--facility and --logo on idcards print override the first two):

  --facility NAME     setting facility_name: the band at the top of each card
                      (unset: the band is empty and print warns; a name too
                      long for the band is stored, with a warning: it prints
                      shortened with …)
  --logo FILE.png     setting card_logo: a PNG printed top-left ("" removes it)
  --birth MODE        setting card_birth: year (default, for privacy), date
                      (the full date of birth; an estimated date still prints
                      as its year) or none
  --identifiers LIST  setting card_identifiers: mrn (default) or mrn,serial
                      (adds the card serial after sex and birth)
  --printer QUEUE     setting card_printer: the CUPS queue the desk screen
                      prints on ("" saves PDFs next to the registry instead)

Without flags, shows the values.`,
		Example: `  idcards cards setup --facility "Kisugu Health Centre III" --logo /etc/idcards/logo.png
  idcards cards setup --birth date --identifiers mrn,serial`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if cmd.Flags().Changed("logo") && logo != "" {
				abs, err := filepath.Abs(logo)
				if err != nil {
					return err
				}
				b, err := os.ReadFile(abs)
				if err != nil {
					return idcards.Errorf(idcards.Invalid, "cards setup: logo: %v", err)
				}
				if _, format, err := image.DecodeConfig(bytes.NewReader(b)); err != nil || format != "png" {
					return idcards.Errorf(idcards.Invalid, "cards setup: logo %s is not a PNG file", logo)
				}
				logo = abs
			}
			if cmd.Flags().Changed("facility") {
				if err := s.SetKnownSetting(ctx, settingFacility, facility); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("logo") {
				if err := s.SetSetting(ctx, settingLogo, logo); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("birth") {
				if err := checkBirth(birth); err != nil {
					return err
				}
				if err := s.SetSetting(ctx, settingBirth, birth); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("printer") {
				if err := s.SetKnownSetting(ctx, "card_printer", printer); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("identifiers") {
				if _, err := parseIdentifiers(identifiers); err != nil {
					return err
				}
				if err := s.SetSetting(ctx, settingIdentifiers, identifiers); err != nil {
					return err
				}
			}
			fv, err := s.Setting(ctx, settingFacility, "")
			if err != nil {
				return err
			}
			lv, err := s.Setting(ctx, settingLogo, "")
			if err != nil {
				return err
			}
			bv, err := s.Setting(ctx, settingBirth, "year")
			if err != nil {
				return err
			}
			iv, err := s.Setting(ctx, settingIdentifiers, "mrn")
			if err != nil {
				return err
			}
			pv, err := s.Setting(ctx, "card_printer", "")
			if err != nil {
				return err
			}
			a.printf("facility: %s\nlogo: %s\nbirth: %s\nidentifiers: %s\ndesk printer: %s\n", orNone(fv), orNone(lv), bv, iv, orNone(pv))
			// Stored all the same (a shorter name is the site's choice),
			// but said now rather than found on the first printed card.
			facilityWarnings(a.stderr, fv, lv != "")
			return nil
		},
	}
	setup.Flags().StringVar(&facility, "facility", "", "facility name printed at the top of each card")
	setup.Flags().StringVar(&logo, "logo", "", "PNG logo printed top-left (\"\" removes it)")
	setup.Flags().StringVar(&birth, "birth", "", "year (default), date or none")
	setup.Flags().StringVar(&identifiers, "identifiers", "", "mrn (default) or mrn,serial")
	setup.Flags().StringVar(&printer, "printer", "", "CUPS queue for the desk screen's prints (\"\" = save PDFs)")
	resolve := func(use, short, long string, confirm bool) *cobra.Command {
		var batch, why string
		c := &cobra.Command{
			Use: use, Short: short, Long: long, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if batch == "" {
					return idcards.Errorf(idcards.Invalid, "cards %s: --batch ID is required (idcards cards list --state pending shows them)", cmd.Name())
				}
				s, ctx, err := a.open(cmd.Context())
				if err != nil {
					return err
				}
				defer s.Close()
				var n int
				if confirm {
					n, err = s.ConfirmBatch(ctx, batch)
				} else {
					if strings.TrimSpace(why) == "" {
						return idcards.Errorf(idcards.Invalid, "cards cancel: --reason is required (e.g. \"PDF never printed\")")
					}
					n, err = s.FailBatch(ctx, batch, "cancelled: "+why)
				}
				if err != nil {
					return err
				}
				if n == 0 {
					return idcards.Errorf(idcards.NotFound, "cards %s: batch %s has no pending cards", cmd.Name(), batch)
				}
				if confirm {
					a.printf("confirmed %s of batch %s: now active\n", plural(n, "card"), batch)
				} else {
					a.printf("cancelled %s of batch %s: marked failed (never printed)\n", plural(n, "card"), batch)
				}
				return nil
			},
		}
		c.Flags().StringVar(&batch, "batch", "", "the print batch (see idcards cards list --state pending)")
		if !confirm {
			c.Flags().StringVar(&why, "reason", "", "why (required)")
		}
		return c
	}
	confirm := resolve("confirm --batch ID", "Mark the pending cards of an unfinished run as printed (active)",
		`A run that was killed between writing its PDF (or handing it to lp) and
recording that leaves its cards pending. If the PDF exists under its real
name (only complete PDFs are renamed into place) or the printout is in hand,
confirm them: they become active and replace the MRNs' earlier cards.`, true)
	cancel := resolve("cancel --batch ID --reason TEXT", "Mark the pending cards of an unfinished run as never printed (failed)",
		`If an unfinished run's cards did not print (no PDF under the real name, no
printout), cancel them: they become failed, the MRNs keep their earlier
cards, and idcards print --unprinted offers them again.`, false)
	cmd.AddCommand(list, void, replace, setup, confirm, cancel)
	return cmd
}
