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
	"os/exec"
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
	unprinted, reprint, skipBad                                           bool
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
  --unprinted    every issued, non-voided ID that has no card yet
  --patient MRN  one patient's card (with --reprint --reason when they already have one)

Every ID is verified first. Unknown, malformed or voided IDs, and IDs that
already have an active card (unless --reprint), are listed with the reason
and nothing is printed; --skip-bad prints the good ones and reports the rest.
Each card gets a serial and is recorded (who, when, batch, layout) before the
PDF is written, so every card that can leave the printer is known; a reprint
marks the old card "replaced". See also: idcards cards list.

The Code 128 symbol carries the MRN alone, so a scan into any search field
works. A 2D symbol (qr, datamatrix, or code128+qr) carries the MRN and the card
serial, so a scan of a replaced card is recognised.

The facility name and logo come from the registry settings facility_name and
card_logo (a PNG path), or --facility and --logo.`,
		Example: `  idcards print --patient KLA0001234 -o card.pdf --layout card
  idcards print --patient KLA0001234 --reprint --reason "lost" --to-printer Zebra_ZC300
  idcards print --unprinted --layout a4 --symbology code128+qr -o batch.pdf
  idcards issue --count 500 | idcards print --ids - --skip-bad -o preprinted.pdf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPrint(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ids, "ids", "", `file of MRNs, one per line ("-" for stdin)`)
	fl.BoolVar(&f.unprinted, "unprinted", false, "print every issued ID that has no card yet")
	fl.StringVar(&f.patient, "patient", "", "print one patient's card by MRN")
	fl.StringVar(&f.layout, "layout", "card", "page layout: "+strings.Join(printing.Layouts(), ", "))
	fl.StringVar(&f.symbology, "symbology", "code128", "barcode: code128, qr, datamatrix or code128+qr")
	fl.StringVarP(&f.out, "out", "o", "", "PDF file to write")
	fl.StringVar(&f.printer, "to-printer", "", "send to this CUPS printer with lp instead of a file")
	fl.BoolVar(&f.reprint, "reprint", false, "print IDs that already have an active card (the old card becomes replaced)")
	fl.StringVar(&f.reason, "reason", "", "why the cards are (re)printed; required with --reprint")
	fl.BoolVar(&f.skipBad, "skip-bad", false, "print the valid IDs and report the refused ones instead of printing nothing")
	fl.StringVar(&f.facility, "facility", "", "facility name on the card (default: setting facility_name)")
	fl.StringVar(&f.logo, "logo", "", "PNG logo for the card (default: setting card_logo)")
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
			a.printf("every issued ID already has a card: nothing to print\n")
			return nil
		}
	}
	facility, logo, err := cardLook(ctx, s, f.facility, f.logo)
	if err != nil {
		return err
	}

	good, bad, err := s.CheckPrintable(ctx, codes)
	if err != nil {
		return err
	}
	if !f.reprint {
		kept := good[:0]
		for _, m := range good {
			cs, err := s.ListCards(ctx, registry.CardFilter{MRN: m, State: idcards.CardActive, Limit: 1})
			if err != nil {
				return err
			}
			if len(cs) > 0 {
				bad = append(bad, registry.BadID{Input: m, Reason: "already has active card " + cs[0].Serial + " (use --reprint --reason to replace it)"})
				continue
			}
			kept = append(kept, m)
		}
		good = kept
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

	// Render into a temporary file next to the target, renamed on success,
	// so a failed run never leaves half a PDF under the real name.
	dir := "."
	if f.out != "" {
		dir = filepath.Dir(f.out)
	}
	tmp, err := os.CreateTemp(dir, ".idcards-print-*.pdf")
	if err != nil {
		return fmt.Errorf("print: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	r, err := printing.NewRenderer(sheet, printing.RenderOptions{
		Options: printing.Options{Facility: facility, Symbols: syms, Content2D: content2D},
		Logo:    logo, Title: "idcards " + f.layout,
	})
	if err != nil {
		return err
	}
	batch := newBatchID()
	cards, err := s.RecordCards(ctx, good, f.layout, batch, f.reason)
	if err != nil {
		return err
	}
	prog := newProgress(a.stderr, len(cards))
	if err := addCards(ctx, s, r, cards, prog.update); err != nil {
		return err
	}
	prog.done()
	if err := r.Finish(tmp); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	dest := f.out
	if f.printer != "" {
		lp := a.getenv("IDCARDS_LP")
		if lp == "" {
			lp = "lp"
		}
		out, err := exec.CommandContext(ctx, lp, "-d", f.printer, "-t", "idcards "+batch, tmp.Name()).CombinedOutput()
		if err != nil {
			return idcards.Errorf(idcards.Unavailable, "print: %s -d %s: %v: %s (the %d cards of batch %s are recorded; void them with idcards cards void if they never printed)", lp, f.printer, err, strings.TrimSpace(string(out)), len(cards), batch)
		}
		dest = "printer " + f.printer
	} else if err := os.Rename(tmp.Name(), f.out); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	a.printf("printed %s (%s, layout %s) to %s; batch %s\n", plural(r.Cards(), "card"), plural(r.Pages(), "page"), f.layout, dest, batch)
	if len(bad) > 0 {
		a.printf("skipped %d refused IDs (listed on stderr)\n", len(bad))
	}
	return nil
}

// progress reports a long run on stderr: a bar redrawn in place on a
// terminal, a line every 1,000 cards otherwise (logs, pipes). Runs under
// 50 cards stay quiet.
type progress struct {
	w        io.Writer
	total    int
	terminal bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if total < 50 {
		p.w = nil
	}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) update(n int) {
	switch {
	case p.w == nil:
	case p.terminal && (n%20 == 0 || n == p.total):
		const width = 30
		done := width * n / p.total
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d cards", strings.Repeat("#", done), strings.Repeat(".", width-done), n, p.total)
	case !p.terminal && (n%1000 == 0 || n == p.total):
		fmt.Fprintf(p.w, "rendered %d/%d cards\n", n, p.total)
	}
}

func (p *progress) done() {
	if p.w != nil && p.terminal {
		fmt.Fprintln(p.w)
	}
}

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

// cardLook is the facility name and logo for cards: the flags when given,
// else the card_facility / card_logo settings.
func cardLook(ctx context.Context, s *registry.Store, facility, logoPath string) (string, []byte, error) {
	var err error
	if facility == "" {
		if facility, err = s.Setting(ctx, settingFacility, ""); err != nil {
			return "", nil, err
		}
	}
	if logoPath == "" {
		if logoPath, err = s.Setting(ctx, settingLogo, ""); err != nil {
			return "", nil, err
		}
	}
	var logo []byte
	if logoPath != "" {
		if logo, err = os.ReadFile(logoPath); err != nil {
			return "", nil, idcards.Errorf(idcards.Invalid, "print: logo: %v (set --logo or the card_logo setting to a PNG file)", err)
		}
	}
	return facility, logo, nil
}

// addCards lays out and draws recorded cards one at a time, calling done
// with the count so far.
func addCards(ctx context.Context, s *registry.Store, r *printing.Renderer, cards []idcards.Card, done func(int)) error {
	for i, c := range cards {
		pc, err := cardFor(ctx, s, c)
		if err != nil {
			return err
		}
		if err := r.Add(pc); err != nil {
			return err
		}
		done(i + 1)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// cardFor fills a card's printed fields from the registry: a pre-printed
// ID without a patient gets a blank card.
func cardFor(ctx context.Context, s *registry.Store, c idcards.Card) (printing.Card, error) {
	pc := printing.Card{MRN: c.MRN, Serial: c.Serial, Blank: true}
	id, err := s.Identifier(ctx, c.MRN)
	if err != nil {
		return pc, err
	}
	if id.PatientID == 0 {
		return pc, nil
	}
	p, err := s.Patient(ctx, id.PatientID)
	if err != nil {
		return pc, err
	}
	pc.Blank = false
	pc.Name = p.DisplayName()
	if p.Sex != idcards.SexUnknown {
		pc.Sex = string(p.Sex)
	}
	// An estimated date of birth prints as its year only.
	switch {
	case p.BirthDate != "" && !p.BirthDateEstimated:
		pc.Born = p.BirthDate
	case len(p.BirthDate) >= 4:
		pc.Born = p.BirthDate[:4]
	}
	return pc, nil
}

func (a *app) cardsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cards",
		Short: "The print registry: list, replace and void printed cards",
		Long: `Every printed card has a serial (C + 8 characters) and a row with its MRN,
state (active, replaced, voided), batch, layout, who printed it and when.
A reprint (idcards print --patient MRN --reprint --reason ...) gives a new
serial and marks the old card replaced.`,
	}
	var f registry.CardFilter
	var state string
	var asJSON bool
	list := &cobra.Command{
		Use:     "list [--mrn MRN] [--batch ID] [--state active|replaced|voided]",
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
				case idcards.CardActive, idcards.CardReplaced, idcards.CardVoided:
					f.State = idcards.CardState(state)
				default:
					return idcards.Errorf(idcards.Invalid, "cards list: state %q: use active, replaced or voided", state)
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
	list.Flags().StringVar(&state, "state", "", "active, replaced or voided")
	list.Flags().IntVar(&f.Limit, "limit", 1000, "at most this many")
	list.Flags().BoolVar(&asJSON, "json", false, "JSON output")

	var reason string
	void := &cobra.Command{
		Use:   "void SERIAL --reason TEXT",
		Short: "Void a card (spoiled in the printer, never handed out) without touching its MRN",
		Long: `Void one printed card by serial. The MRN stays valid; print a new card with
idcards print --patient MRN --reprint --reason ... if the patient needs one.`,
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
	rfl.StringVarP(&rf.out, "out", "o", "", "PDF file to write")
	rfl.StringVar(&rf.printer, "to-printer", "", "send to this CUPS printer with lp")
	rfl.StringVar(&rf.layout, "layout", "card", "page layout: "+strings.Join(printing.Layouts(), ", "))
	rfl.StringVar(&rf.symbology, "symbology", "code128", "barcode: code128, qr, datamatrix or code128+qr")
	rfl.StringVar(&rf.facility, "facility", "", "facility name on the card (default: setting facility_name)")
	rfl.StringVar(&rf.logo, "logo", "", "PNG logo (default: setting card_logo)")
	var facility, logo string
	setup := &cobra.Command{
		Use:   "setup [--facility NAME] [--logo FILE.png]",
		Short: "Set the facility name and logo printed on every card",
		Long: `Store the facility name (setting facility_name) and the path of a PNG logo
(setting card_logo) in the registry; idcards print uses them unless --facility
or --logo is given. --logo "" removes the logo. Without flags, shows the values.`,
		Example: `  idcards cards setup --facility "Kisugu Health Centre III" --logo /etc/idcards/logo.png`,
		Args:    cobra.NoArgs,
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
			fv, err := s.Setting(ctx, settingFacility, "")
			if err != nil {
				return err
			}
			lv, err := s.Setting(ctx, settingLogo, "")
			if err != nil {
				return err
			}
			a.printf("facility: %s\nlogo: %s\n", orNone(fv), orNone(lv))
			return nil
		},
	}
	setup.Flags().StringVar(&facility, "facility", "", "facility name printed at the top of each card")
	setup.Flags().StringVar(&logo, "logo", "", "PNG logo printed top-left (\"\" removes it)")
	cmd.AddCommand(list, void, replace, setup)
	return cmd
}
