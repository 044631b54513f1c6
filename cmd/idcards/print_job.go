package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/printing"
	"github.com/idcards/idcards/registry"
)

// printJob is one print run, shared by `idcards print` and the desk
// screen: record the cards as pending, render them (in files of split
// cards), and confirm each file's cards only once that file is complete on
// disk (or lp accepted it). Whatever did not print is marked failed and
// named in the error, so the print registry never shows a card that was
// not made.
type printJob struct {
	s       *registry.Store
	sheet   printing.Sheet
	opts    printing.RenderOptions
	look    cardSettings
	layout  string
	reason  string
	batch   string
	out     string // PDF path (with split: the name pattern base)
	outDir  string // or a directory: each PDF named by its cards (dirName)
	force   bool   // -o FILE.pdf may replace an existing file
	printer string // CUPS queue; the PDF goes to a temporary file then lp
	lp      string // lp command
	lpstat  string // lpstat command ("" skips the queue check)
	lpMedia string // $IDCARDS_LP_MEDIA: "" asks for the sheet's own size, "none" nothing, else a media name
	split   int    // cards per file, 0 = all in one
	warn    io.Writer
	step    func(n int) // progress: cards rendered so far

	// failAfter > 0 makes the writer fail after that many bytes (tests).
	failAfter int64
}

// printResult is what a run made.
type printResult struct {
	Files   []string // PDFs written (empty when sent to a printer)
	Jobs    []string // CUPS request ids (cards-12 …) when sent to a printer
	Printed int      // cards confirmed (now active)
	Pages   int
}

// notPrintedError is a failed run: the cause, and the MRNs whose cards
// were not printed (now failed in the registry, or never recorded), next
// to what did print.
type notPrintedError struct {
	cause      error
	printed    int
	notPrinted []string
	names      map[string]string // for the first few not printed
	where      []string
	batch      string
}

func (e *notPrintedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "print: %v\n%d of %d cards NOT printed (no active card; recorded ones are failed, see idcards cards list --batch %s):", e.cause, len(e.notPrinted), len(e.notPrinted)+e.printed, e.batch)
	for i, m := range e.notPrinted {
		if i == maxNamed {
			fmt.Fprintf(&b, " … and %d more", len(e.notPrinted)-maxNamed)
			break
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" " + m)
		if n := e.names[m]; n != "" {
			b.WriteString(" (" + n + ")")
		}
	}
	if e.printed > 0 {
		fmt.Fprintf(&b, "\n%d cards did print: %s", e.printed, strings.Join(e.where, ", "))
	}
	return b.String()
}

func (e *notPrintedError) Unwrap() error { return e.cause }

// maxNamed is how many unprinted patients an error names.
const maxNamed = 20

// cardSettings are the registry settings for what a card shows.
type cardSettings struct {
	birth string // "year" (default), "date" or "none"
}

// holderChunk is how many cards are read, recorded and rendered at a time.
// The chunk's patients and card rows are live while it is drawn (about
// 0.5 KB a card): at 10,000 a 10,000-card run held all of them and peaked
// about 5 MB higher (docs/printing.md, Memory). Each chunk is one
// card.record transaction. What still grows with a file is its confirm
// (the audit row of one transaction records every card it changed, about
// 62 bytes a card since the fold reads its notes in pages): --split
// bounds that.
const holderChunk = 1000

// run prints mrns (canonical, checked printable). Each file's cards are
// recorded pending in chunks just before they are rendered, and the
// batch's pending cards are confirmed once the file is complete on disk or
// accepted by lp: at that moment they are exactly that file's cards.
func (j *printJob) run(ctx context.Context, mrns []string) (printResult, error) {
	var res printResult
	if _, err := idcards.Require(ctx, printPermFor(len(mrns))); err != nil {
		return res, err
	}
	if j.printer != "" && j.lpstat != "" {
		if err := j.checkQueue(ctx); err != nil {
			return res, err // nothing recorded yet
		}
	}
	// The facility band is the same on every card: warned about once per
	// run (each card's note is about its patient only).
	if j.warn != nil {
		facilityWarnings(j.warn, j.opts.Facility, len(j.opts.Logo) > 0)
	}
	// The registry work after a failure must happen even when ctx was
	// cancelled (Ctrl-C): that is when it matters most.
	bg := context.WithoutCancel(ctx)
	fail := func(from int, cause error) error {
		if _, ferr := j.s.FailBatch(bg, j.batch, cause.Error()); ferr != nil {
			return fmt.Errorf("print: %v; and recording the unprinted cards as failed also failed: %w (they stay pending: idcards cards list --state pending)", cause, ferr)
		}
		left := mrns[from:]
		names := map[string]string{}
		if hs, err := j.s.CardHolders(bg, left[:min(len(left), maxNamed)]); err == nil {
			for _, h := range hs {
				names[h.MRN] = h.Patient.DisplayName()
			}
		}
		return &notPrintedError{cause: cause, printed: res.Printed, notPrinted: left, names: names, where: j.where(res), batch: j.batch}
	}
	per := len(mrns)
	if j.split > 0 {
		per = j.split
	}
	parts := (len(mrns) + per - 1) / per
	done := 0
	for part := 0; part < parts; part++ {
		from, to := part*per, min((part+1)*per, len(mrns))
		name := j.out
		if j.split > 0 && j.out != "" {
			name = splitName(j.out, part+1, parts)
		}
		// Each part its own job title: a queue that names its output by
		// title (cups-pdf's Label 0) wrote every part over the one before.
		title := "idcards " + j.batch
		if parts > 1 {
			title += fmt.Sprintf(" part %d of %d", part+1, parts)
		}
		var d *dirPart
		if j.outDir != "" {
			d = &dirPart{part: part + 1, parts: parts}
		}
		pages, job, file, err := j.renderPart(ctx, name, title, mrns[from:to], &done, d)
		if job != "" {
			res.Jobs = append(res.Jobs, job)
		}
		if err != nil {
			return res, fail(from, err)
		}
		n, err := j.s.ConfirmBatch(bg, j.batch)
		if err != nil {
			// The file exists (or the job is queued) but the registry
			// could not say so: the cards stay pending, which is the truth.
			return res, fmt.Errorf("print: %s is complete but confirming its cards failed: %w (they stay pending; confirm with idcards cards confirm --batch %s after checking the printout)", j.dest(file), err, j.batch)
		}
		res.Printed += n
		res.Pages += pages
		if j.printer == "" {
			res.Files = append(res.Files, file)
		}
	}
	return res, nil
}

func printPermFor(n int) idcards.Permission {
	if n > 1 {
		return idcards.PermPrintBatch
	}
	return idcards.PermPrintCard
}

func (j *printJob) dest(name string) string {
	if j.printer != "" {
		return "the job on printer " + j.printer
	}
	return name
}

func (j *printJob) where(res printResult) []string {
	if j.printer != "" {
		return []string{"sent to printer " + j.printer}
	}
	return res.Files
}

// splitName is cards.pdf → cards-0001.pdf.
func splitName(out string, i, n int) string {
	ext := filepath.Ext(out)
	base := strings.TrimSuffix(out, ext)
	if ext == "" {
		ext = ".pdf"
	}
	return fmt.Sprintf("%s-%04d%s", base, i, ext)
}

// dirPart is which part of a run a PDF written into a directory is.
type dirPart struct {
	part, parts int
	first       idcards.Card // the file's first card, once recorded
	n           int          // its cards
}

// dirName names a PDF written into a directory (the desk's cards/ folder,
// or -o DIR/) by what a clerk has in hand: a single card by its MRN and
// serial (KLA0001234-C7K2M9XQ0.pdf, both shown by idcards cards list), a
// file of several cards by its batch, which cards list shows on every
// card's row (BATCH-12cards.pdf; with --split BATCH-0001.pdf …).
func (j *printJob) dirName(d *dirPart) string {
	switch {
	case d.parts > 1:
		return fmt.Sprintf("%s-%04d.pdf", safeName(j.batch), d.part)
	case d.n == 1:
		return safeName(d.first.MRN) + "-" + safeName(d.first.Serial) + ".pdf"
	}
	return fmt.Sprintf("%s-%dcards.pdf", safeName(j.batch), d.n)
}

// safeName keeps letters, digits and dashes (all an MRN, a serial or a
// batch id holds) and turns anything else into "_".
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			return r
		}
		return '_'
	}, s)
}

// placeNew moves the complete temporary file tmp into dir under name, or
// name-2.pdf, name-3.pdf … if that is taken: a generated name never
// replaces a file. A hard link fails if the name exists (no check-then-
// rename race); on a file system without hard links, the name is checked
// and the file renamed.
func placeNew(tmp *outTemp, dir, name string) (string, error) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 1; i <= 1000; i++ {
		path := filepath.Join(dir, name)
		if i > 1 {
			path = filepath.Join(dir, fmt.Sprintf("%s-%d%s", base, i, ext))
		}
		err := tmp.link(path)
		switch {
		case err == nil:
			return path, nil
		case errors.Is(err, fs.ErrExist):
			continue
		}
		if _, serr := os.Lstat(path); serr == nil {
			continue
		} else if !errors.Is(serr, fs.ErrNotExist) {
			return "", serr
		}
		if !tmp.named {
			return "", err
		}
		return path, os.Rename(tmp.Name(), path)
	}
	return "", fmt.Errorf("no free file name for %s in %s", name, dir)
}

// renderPart writes one PDF: into a temporary file next to the target
// (synced, then renamed, so a PDF under the real name is always complete),
// or into a temporary file that lp then sends (returning lp's request id).
// With d (a directory run) the file's name comes from its cards (dirName)
// and never replaces another. It returns the pages, lp's job id and the
// file written.
func (j *printJob) renderPart(ctx context.Context, name, title string, mrns []string, done *int, d *dirPart) (int, string, string, error) {
	dir := os.TempDir()
	switch {
	case j.printer != "":
	case d != nil:
		dir = j.outDir
	default:
		dir = filepath.Dir(name)
	}
	// A file for lp is named (lp reads it by its path, from the system's
	// temporary directory); one for the user's directory has no name until
	// it is complete (outTemp).
	tmp, err := newOutTemp(dir, ".idcards-print-*.pdf", j.printer != "")
	if err != nil {
		return 0, "", "", err
	}
	defer tmp.discard() // its name, if any, is gone after it is placed, or on failure
	var w io.Writer = tmp
	if j.failAfter > 0 {
		w = &failingWriter{w: tmp, left: j.failAfter}
	}
	r, err := printing.NewRenderer(w, j.sheet, j.opts)
	if err != nil {
		return 0, "", "", err
	}
	for i := 0; i < len(mrns); i += holderChunk {
		chunk := mrns[i:min(i+holderChunk, len(mrns))]
		holders, err := j.s.CardHolders(ctx, chunk)
		if err != nil {
			return 0, "", "", err
		}
		// Recorded before they are drawn: every card that can leave the
		// printer is known.
		cards, err := j.s.BeginCards(ctx, chunk, j.layout, j.batch, j.reason)
		if err != nil {
			return 0, "", "", err
		}
		if d != nil && d.n == 0 && len(cards) > 0 {
			d.first = cards[0]
		}
		if d != nil {
			d.n += len(cards)
		}
		for k, c := range cards {
			if err := ctx.Err(); err != nil {
				return 0, "", "", fmt.Errorf("stopped: %w", err)
			}
			pc := cardFor(holders[k], c, j.look)
			notes, err := r.Add(pc)
			if err != nil {
				return 0, "", "", err
			}
			j.note(pc, notes)
			*done++
			if j.step != nil {
				j.step(*done)
			}
		}
	}
	if err := r.Close(); err != nil {
		return 0, "", "", err
	}
	if err := tmp.Sync(); err != nil {
		return 0, "", "", fmt.Errorf("write %s: %w", tmp.what(), err)
	}
	if j.printer != "" {
		if err := tmp.Close(); err != nil {
			return 0, "", "", fmt.Errorf("write %s: %w", tmp.what(), err)
		}
		job, err := j.sendToPrinter(ctx, tmp.Name(), title)
		return r.Pages(), job, "", err
	}
	if d != nil {
		if name, err = placeNew(tmp, dir, j.dirName(d)); err != nil {
			return 0, "", "", err
		}
	} else if err := placeFile(tmp, name, "print: -o", printedWhy, j.force); err != nil {
		// Never over an existing file unless --force (named since the
		// check at the start): the cards are recorded failed.
		return 0, "", "", err
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return r.Pages(), "", name, nil
}

// facilityWarnings warns when the facility name does not fit the band it
// prints in on every card (with the logo box or without): shortened with
// …, or characters no card font has. Once per run, and from cards setup.
func facilityWarnings(w io.Writer, facility string, hasLogo bool) {
	n := printing.FacilityNotes(facility, hasLogo)
	if len(n.Shortened) > 0 {
		fmt.Fprintf(w, "warning: facility name %q too long for the card, shortened with … on every card (at most one line of 6 pt)\n", facility)
	}
	if len(n.Missing) > 0 {
		fmt.Fprintf(w, "warning: facility name: %s not in the card fonts, printed as %c on every card\n", printing.DescribeRunes(n.Missing), printing.Replacement)
	}
}

// note warns about a card that printed differently from the record: its
// patient's name or details (the facility band is facilityWarnings').
func (j *printJob) note(c printing.Card, n printing.Notes) {
	if j.warn == nil || len(n.Missing) == 0 && len(n.Shortened) == 0 {
		return
	}
	who := c.MRN
	if c.Name != "" {
		who += " (" + c.Name + ")"
	}
	if len(n.Missing) > 0 {
		fmt.Fprintf(j.warn, "warning: %s: %s not in the card fonts, printed as %c\n", who, printing.DescribeRunes(n.Missing), printing.Replacement)
	}
	if len(n.Shortened) > 0 {
		fmt.Fprintf(j.warn, "warning: %s: %s too long for the card, shortened with …\n", who, strings.Join(n.Shortened, " and "))
	}
}

// checkQueue refuses a missing, disabled (stopped) or rejecting CUPS queue
// before anything is recorded: lp would accept a job for a stopped queue
// and it would wait there, unprinted.
func (j *printJob) checkQueue(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, j.lpstat, "-p", j.printer, "-a", j.printer).CombinedOutput()
	msg := strings.TrimSpace(string(out))
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) || err == nil && msg == "":
		return idcards.Errorf(idcards.Unavailable, "print: printer %s: %s (is the queue name right? lpstat -p lists the queues)", j.printer, orNone(msg))
	case err != nil:
		return nil // no lpstat: lp's own answer decides
	case strings.Contains(msg, "disabled"):
		return idcards.Errorf(idcards.Unavailable, "print: printer %s is stopped (%s); start it with cupsenable %s — nothing was printed", j.printer, firstLine(msg), j.printer)
	case strings.Contains(msg, "not accepting"):
		return idcards.Errorf(idcards.Unavailable, "print: printer %s is not accepting jobs; cupsaccept %s — nothing was printed", j.printer, j.printer)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// sendToPrinter hands the PDF to lp and returns the request id lp
// reports ("request id is cards-12 (1 file(s))"). lp copies the file to
// the spooler, so the temporary file can go once it returns.
//
// Once started, lp is not interrupted by Ctrl-C: killed half way it may
// or may not have queued the job, and the cards' state would be a guess.
func (j *printJob) sendToPrinter(ctx context.Context, path, title string) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	args := append([]string{"-d", j.printer, "-t", title}, lpMediaOptions(j.sheet, j.lpMedia)...)
	out, err := exec.CommandContext(ctx, j.lp, append(args, path)...).CombinedOutput()
	if err != nil {
		return "", idcards.Errorf(idcards.Unavailable, "%s -d %s refused the job: %v: %s", j.lp, j.printer, err, strings.TrimSpace(string(out)))
	}
	if _, rest, ok := strings.Cut(string(out), "request id is "); ok {
		id, _, _ := strings.Cut(rest, " ")
		return strings.TrimSpace(id), nil
	}
	return "", nil
}

// lpMediaOptions are the lp options that ask CUPS for the PDF's own page
// size at 100 %. Without them a job takes the queue's default media (A4 or
// Letter) and a card page lands, rotated, in the middle of a sheet.
//
// A card page asks for a custom size twice: media=Custom.85.6x53.98mm (the
// IPP attribute, what a queue without a PPD passes on) and
// PageSize=Custom.242.65x153.01, the PDF's MediaBox in points. CUPS
// prefers PageSize on a PPD queue: it keeps the exact size (media= alone is
// cut to whole points, 242 × 153, shifting the card by 0.1 mm), and on a
// card printer's PPD that has no custom sizes it picks the driver's own
// card size (CR80) where media= alone falls back to the queue's default.
// Sheets ask for their named size (A4, Letter), which every driver knows.
//
// print-scaling=none: the pages are already the media's size; CUPS's
// "auto" shrinks a page a fraction of a point larger than the media (and
// fit-to-page shrinks to the printable area), and any scaling breaks the
// barcode's whole-dot module width. Orientation is left to CUPS, which
// turns the landscape card for a driver whose card size is portrait.
//
// override ($IDCARDS_LP_MEDIA) is for a driver that mishandles custom
// sizes: "none" sends no size or scaling (the queue's own defaults,
// lpoptions, decide), any other value is sent as media=VALUE.
func lpMediaOptions(sheet printing.Sheet, override string) []string {
	noScale := []string{"-o", "print-scaling=none"}
	switch override = strings.TrimSpace(override); {
	case strings.EqualFold(override, "none"):
		return nil
	case override != "":
		return append([]string{"-o", "media=" + override}, noScale...)
	}
	switch sheet.Name {
	case "a4":
		return append([]string{"-o", "media=A4"}, noScale...)
	case "letter":
		return append([]string{"-o", "media=Letter"}, noScale...)
	}
	mm := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	pt := func(v float64) string { return strconv.FormatFloat(v*72/25.4, 'f', 2, 64) }
	return append([]string{
		"-o", "media=Custom." + mm(sheet.PageW) + "x" + mm(sheet.PageH) + "mm",
		"-o", "PageSize=Custom." + pt(sheet.PageW) + "x" + pt(sheet.PageH),
	}, noScale...)
}

type failingWriter struct {
	w    io.Writer
	left int64
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, errors.New("injected write failure (test)")
	}
	f.left -= int64(len(p))
	return f.w.Write(p)
}

// cardFor is what one card prints: a pre-printed ID without a patient gets
// a blank card; the birth date prints as the year unless the card_birth
// setting says date, and an estimated date always as its year.
func cardFor(h registry.CardHolder, c idcards.Card, look cardSettings) printing.Card {
	pc := printing.Card{MRN: c.MRN, Serial: c.Serial, Blank: h.Patient.ID == 0}
	if pc.Blank {
		return pc
	}
	p := h.Patient
	pc.Name = p.DisplayName()
	if p.Sex != idcards.SexUnknown {
		pc.Sex = string(p.Sex)
	}
	switch {
	case look.birth == "none":
	case look.birth == "date" && p.BirthDate != "" && !p.BirthDateEstimated:
		pc.Born = p.BirthDate
	case len(p.BirthDate) >= 4:
		pc.Born = p.BirthDate[:4]
	}
	return pc
}

// progress reports a long run on stderr: a bar with rate and time left
// redrawn in place on a terminal, a line every 1,000 cards otherwise
// (logs, pipes). Runs under 50 cards stay quiet.
type progress struct {
	w        io.Writer
	total    int
	terminal bool
	start    time.Time
	now      func() time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now(), now: time.Now}
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
	case p.terminal && (n%50 == 0 || n == p.total):
		const width = 30
		done := width * n / p.total
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d cards %s", strings.Repeat("#", done), strings.Repeat(".", width-done), n, p.total, p.rate(n))
	case !p.terminal && (n%1000 == 0 || n == p.total):
		fmt.Fprintf(p.w, "rendered %d/%d cards %s\n", n, p.total, p.rate(n))
	}
}

// rate is "12,345 cards/s, 3s left".
func (p *progress) rate(n int) string {
	el := p.now().Sub(p.start).Seconds()
	if el <= 0 || n == 0 {
		return ""
	}
	r := float64(n) / el
	left := time.Duration(float64(p.total-n) / r * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%s cards/s, %s left ", thousands(int(r)), left)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (p *progress) done() {
	if p.w != nil && p.terminal {
		fmt.Fprintln(p.w)
	}
}
