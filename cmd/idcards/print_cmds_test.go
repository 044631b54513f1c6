package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idcards/idcards/internal/pgtest"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

type printCLI struct {
	t   *testing.T
	env map[string]string
	dir string
}

func newPrintCLI(t *testing.T) *printCLI {
	dir := t.TempDir()
	c := &printCLI{t: t, dir: dir, env: map[string]string{"IDCARDS_DB": pgtest.Location(t), "USER": "tester"}}
	c.ok("", "init", "--site", "", "--scheme", "luhn", "--width", "6")
	return c
}

func (c *printCLI) run(stdin string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return c.env[k] })
	return out.String(), errb.String(), err
}

func (c *printCLI) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, errs, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("idcards %v: %v\nstdout: %s\nstderr: %s", args, err, out, errs)
	}
	return out
}

func (c *printCLI) issue(n string) []string {
	return strings.Fields(c.ok("", "issue", "--count", n))
}

func TestPrint_BatchRecordsAndReprint(t *testing.T) {
	c := newPrintCLI(t)
	ids := c.issue("12")
	pdf := filepath.Join(c.dir, "batch.pdf")
	out := c.ok(strings.Join(ids, "\n")+"\n", "print", "--ids", "-", "--layout", "a4", "-o", pdf)
	if !strings.Contains(out, "printed 12 cards (2 pages, layout a4)") {
		t.Fatalf("out = %q", out)
	}
	if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("no PDF written: %v", err)
	}
	list := c.ok("", "cards", "list", "--mrn", ids[0])
	if strings.Count(list, "active") != 1 {
		t.Fatalf("cards list:\n%s", list)
	}
	// Printing again without --reprint is refused for every ID.
	_, errs, err := c.run("", "print", "--patient", ids[0], "-o", filepath.Join(c.dir, "again.pdf"))
	if err == nil || !strings.Contains(errs, "already has active card") {
		t.Fatalf("second print: err=%v stderr=%q", err, errs)
	}
	if _, _, err := c.run("", "print", "--patient", ids[0], "--reprint", "-o", filepath.Join(c.dir, "again.pdf")); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Fatalf("reprint without reason: %v", err)
	}
	c.ok("", "print", "--patient", ids[0], "--reprint", "--reason", "lost", "-o", filepath.Join(c.dir, "lost.pdf"))
	list = c.ok("", "cards", "list", "--mrn", ids[0])
	if strings.Count(list, "active") != 1 || strings.Count(list, "replaced") != 1 {
		t.Fatalf("after reprint:\n%s", list)
	}
	if _, _, err := c.run("", "cards", "replace", ids[0], "-o", filepath.Join(c.dir, "damaged.pdf")); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Fatalf("replace without reason: %v", err)
	}
	c.ok("", "cards", "replace", ids[0], "--reason", "damaged", "-o", filepath.Join(c.dir, "damaged.pdf"))
	list = c.ok("", "cards", "list", "--mrn", ids[0])
	if strings.Count(list, "active") != 1 || strings.Count(list, "replaced") != 2 {
		t.Fatalf("after cards replace:\n%s", list)
	}
	if out := c.ok("", "print", "--unprinted", "-o", filepath.Join(c.dir, "unprinted.pdf")); !strings.Contains(out, "nothing to print") {
		t.Fatalf("unprinted: %q", out)
	}
	c.issue("3")
	if out := c.ok("", "print", "--unprinted", "--layout", "letter", "--symbology", "code128+qr", "-o", filepath.Join(c.dir, "unprinted.pdf")); !strings.Contains(out, "printed 3 cards") {
		t.Fatalf("unprinted: %q", out)
	}
	c.issue("60")
	if _, errs, err := c.run("", "print", "--unprinted", "--layout", "a4", "-o", filepath.Join(c.dir, "sixty.pdf")); err != nil || !strings.Contains(errs, "rendered 60/60 cards") {
		t.Fatalf("progress: err=%v stderr=%q", err, errs)
	}
}

func TestPrint_BadInput(t *testing.T) {
	c := newPrintCLI(t)
	ids := c.issue("2")
	wrongCheck := ids[0][:len(ids[0])-1] + string('0'+(ids[0][len(ids[0])-1]-'0'+1)%10)
	pdf := filepath.Join(c.dir, "x.pdf")
	long := strings.Repeat("9", 10<<20)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"empty ID file", "\n# nothing\n", []string{"print", "--ids", "-", "-o", pdf}, "no IDs"},
		{"10 MB line", long, []string{"print", "--ids", "-", "-o", pdf}, "longer than"},
		{"wrong check digit", ids[1] + "\n" + wrongCheck + "\n", []string{"print", "--ids", "-", "-o", pdf}, "1 of 2 IDs refused"},
		{"unknown ID", "999999" + "\n", []string{"print", "--ids", "-", "-o", pdf}, "refused"},
		{"missing logo", "", []string{"print", "--patient", ids[0], "--logo", filepath.Join(c.dir, "nope.png"), "-o", pdf}, "logo"},
		{"two sources", "", []string{"print", "--patient", ids[0], "--unprinted", "-o", pdf}, "exactly one of --ids"},
		{"no output", "", []string{"print", "--patient", ids[0]}, "-o FILE.pdf or --to-printer"},
		{"bad layout", "", []string{"print", "--patient", ids[0], "--layout", "a5", "-o", pdf}, "layout"},
		{"bad symbology", "", []string{"print", "--patient", ids[0], "--symbology", "qr+datamatrix", "-o", pdf}, "symbology"},
		{"missing ids file", "", []string{"print", "--ids", filepath.Join(c.dir, "none.txt"), "-o", pdf}, "no such file"},
		{"bad card state", "", []string{"cards", "list", "--state", "lost"}, "state"},
		{"void without reason", "", []string{"cards", "void", "C00000000"}, "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, err := c.run(tt.stdin, tt.args...)
			if err == nil || !strings.Contains(err.Error()+errs, tt.want) {
				t.Fatalf("err = %v, stderr = %q; want %q", err, errs, tt.want)
			}
		})
	}
	if _, err := os.Stat(pdf); err == nil {
		t.Error("a refused run wrote a PDF")
	}
	// --skip-bad prints the good one and reports the bad one.
	out, errs, err := c.run(ids[1]+"\n"+wrongCheck+"\n", "print", "--ids", "-", "--skip-bad", "-o", pdf)
	if err != nil || !strings.Contains(out, "printed 1 card ") || !strings.Contains(errs, "refused "+wrongCheck) {
		t.Fatalf("--skip-bad: err=%v out=%q stderr=%q", err, out, errs)
	}
}

func TestPrint_ToPrinterAndVoid(t *testing.T) {
	c := newPrintCLI(t)
	ids := c.issue("1")
	log := filepath.Join(c.dir, "lp.log")
	lp := filepath.Join(c.dir, "lp")
	os.WriteFile(lp, []byte("#!/bin/sh\necho \"$@\" > "+log+"\n"), 0o755)
	c.env["IDCARDS_LP"] = lp
	c.env["IDCARDS_LPSTAT"] = "none" // a fake lp has no queue to ask about
	out := c.ok("", "print", "--patient", ids[0], "--to-printer", "Zebra")
	if !strings.Contains(out, "to printer Zebra") {
		t.Fatalf("out = %q", out)
	}
	if b, _ := os.ReadFile(log); !strings.HasPrefix(string(b), "-d Zebra") || !strings.Contains(string(b), " -o media=Custom.85.6x53.98mm -o PageSize=Custom.242.65x153.01 -o print-scaling=none ") {
		t.Fatalf("lp called with %q, want the card's page size asked for", b)
	}
	// --split: each part is its own job with its own title.
	os.WriteFile(lp, []byte("#!/bin/sh\necho \"$@\" >> "+log+"\n"), 0o755)
	os.Remove(log)
	three := c.issue("3")
	c.ok(strings.Join(three, "\n")+"\n", "print", "--ids", "-", "--split", "2", "--to-printer", "Zebra")
	b, _ := os.ReadFile(log)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || !strings.Contains(lines[0], " part 1 of 2 ") || !strings.Contains(lines[1], " part 2 of 2 ") || !strings.Contains(lines[1], "media=Custom.85.6x53.98mm") {
		t.Fatalf("--split to a printer: lp called with\n%s", b)
	}
	os.WriteFile(lp, []byte("#!/bin/sh\necho \"$@\" > "+log+"\n"), 0o755)
	os.WriteFile(lp, []byte("#!/bin/sh\necho 'lp: The printer or class does not exist.' >&2\nexit 1\n"), 0o755)
	if _, _, err := c.run("", "print", "--patient", ids[0], "--reprint", "--reason", "test", "--to-printer", "Nope"); err == nil || !strings.Contains(err.Error(), "does not exist") ||
		!strings.Contains(err.Error(), "1 of 1 cards NOT printed") || !strings.Contains(err.Error(), ids[0]) {
		t.Fatalf("failing lp: %v", err)
	}
	// The refused reprint left its card failed and the first card active.
	if list := c.ok("", "cards", "list", "--mrn", ids[0], "--state", "failed"); !strings.Contains(list, "failed") {
		t.Fatalf("failed list: %s", list)
	}
	list := c.ok("", "cards", "list", "--mrn", ids[0], "--state", "active", "--json")
	i := strings.Index(list, `"serial": "`)
	if i < 0 {
		t.Fatalf("list: %s", list)
	}
	serial := list[i+11 : i+20]
	c.ok("", "cards", "void", serial, "--reason", "ribbon jam")
	if list := c.ok("", "cards", "list", "--state", "voided"); !strings.Contains(list, serial) {
		t.Fatalf("voided list: %s", list)
	}
}

// The tester's report: a reprint voided as spoiled leaves its patient with
// no card; --unprinted offers them again, and the card the spoiled reprint
// replaced does not name it as the valid card.
func TestPrint_VoidedReprintOfferedAsUnprinted(t *testing.T) {
	c := newPrintCLI(t)
	ids := c.issue("2")
	pdf := filepath.Join(c.dir, "re1.pdf")
	c.ok(strings.Join(ids, "\n")+"\n", "print", "--ids", "-", "-o", pdf)
	activeSerial := func(mrn string) string {
		t.Helper()
		list := c.ok("", "cards", "list", "--mrn", mrn, "--state", "active", "--json")
		i := strings.Index(list, `"serial": "`)
		if i < 0 {
			t.Fatalf("no active card: %s", list)
		}
		return list[i+11 : i+20]
	}
	first := activeSerial(ids[0])
	c.ok("", "print", "--patient", ids[0], "--reprint", "--reason", "lost", "--symbology", "code128+qr", "-o", filepath.Join(c.dir, "re2.pdf"))
	c.ok("", "cards", "void", activeSerial(ids[0]), "--reason", "ribbon jam")
	res, _, err := c.run("", "verify", content2D(ids[0], first))
	if err == nil || !strings.Contains(res, registry.DetailReplacementVoided) {
		t.Errorf("verify of the card the spoiled reprint replaced: err=%v out=%q", err, res)
	}
	out := c.ok("", "print", "--unprinted", "-o", filepath.Join(c.dir, "unp.pdf"))
	if !strings.Contains(out, "printed 1 card ") {
		t.Fatalf("--unprinted after the reprint was voided: %q", out)
	}
	// The first card, reported lost, stays invalid and names the card
	// valid now: the one --unprinted just printed.
	res, _, err = c.run("", "verify", content2D(ids[0], first))
	if now := activeSerial(ids[0]); err == nil || !strings.Contains(res, "replaced by card "+now) {
		t.Errorf("verify of the lost card: err=%v out=%q, want it replaced by %s", err, res, now)
	}
	if out := c.ok("", "print", "--unprinted", "-o", filepath.Join(c.dir, "none.pdf")); !strings.Contains(out, "nothing to print") {
		t.Fatalf("second --unprinted: %q", out)
	}
}

// A warning about the whole run (the facility band) is printed once per
// run, not once per card; a patient's own stays per card. cards setup
// warns when the facility name it stores does not fit.
func TestPrint_FacilityWarnedOncePerRun(t *testing.T) {
	c := newPrintCLI(t)
	long := "Kisugu Health Centre III Outpatients, Maternity and Child Health Department of Makindye Division"
	_, errs, err := c.run("", "cards", "setup", "--facility", long)
	if err != nil || !strings.Contains(errs, "warning: facility name") || !strings.Contains(errs, "too long for the card") {
		t.Fatalf("cards setup of a long facility: err=%v stderr=%q", err, errs)
	}
	if out := c.ok("", "cards", "setup"); !strings.Contains(out, "facility: "+long) {
		t.Fatalf("the long name was not stored: %q", out)
	}
	if _, errs, _ := c.run("", "cards", "setup", "--facility", "Kisugu HC III"); strings.Contains(errs, "warning") {
		t.Fatalf("a short facility name warns: %q", errs)
	}
	c.ok("", "cards", "setup", "--facility", long)
	ids := c.issue("12")
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "test", Role: idcards.RoleOperator})
	s, err := registry.Open(ctx, c.env["IDCARDS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	_, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "秀英", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-02-03"}})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, mrn)
	pdf := filepath.Join(c.dir, "card200.pdf")
	_, errs, err = c.run(strings.Join(ids, "\n")+"\n", "print", "--ids", "-", "--layout", "a4", "--split", "5", "-o", pdf)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(errs, "facility"); n != 1 || strings.Contains(errs, ids[0]) {
		t.Errorf("facility warned %d times (want once per run), stderr:\n%s", n, errs)
	}
	if n := strings.Count(errs, "not in the card fonts"); n != 1 || !strings.Contains(errs, mrn+" (秀英 Nakato): 秀 (U+79C0), 英 (U+82F1) not in the card fonts") {
		t.Errorf("the patient's own warning: stderr:\n%s", errs)
	}
}

func TestPrint_EndToEndScan(t *testing.T) {
	for _, tool := range []string{"pdftoppm", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("IDCARDS_REQUIRE_TOOLS") == "" {
				t.Skip(tool + " not installed")
			}
			t.Fatal(tool + " not installed")
		}
	}
	c := newPrintCLI(t)
	ids := c.issue("1")
	pdf := filepath.Join(c.dir, "one.pdf")
	c.ok("", "print", "--patient", ids[0], "-o", pdf)
	if out, err := exec.Command("pdftoppm", "-r", "203", "-png", pdf, filepath.Join(c.dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out, _ := exec.Command("zbarimg", "-q", "--raw", filepath.Join(c.dir, "p-1.png")).Output()
	if strings.TrimSpace(string(out)) != ids[0] {
		t.Fatalf("scanned %q, want %q", out, ids[0])
	}
	// The 2D symbol of a replacement card carries the MRN and the new serial.
	c.ok("", "cards", "replace", ids[0], "--reason", "lost", "--symbology", "code128+qr", "--force", "-o", pdf) // the file replaced
	if out, err := exec.Command("pdftoppm", "-r", "150", "-png", pdf, filepath.Join(c.dir, "q")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out, _ = exec.Command("zbarimg", "-q", filepath.Join(c.dir, "q-1.png")).Output()
	list := c.ok("", "cards", "list", "--mrn", ids[0], "--state", "active", "--json")
	i := strings.Index(list, `"serial": "`)
	serial := list[i+11 : i+20]
	for _, want := range []string{"CODE-128:" + ids[0], "QR-Code:" + content2D(ids[0], serial)} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("scan of the replacement card = %q, want it to contain %q", out, want)
		}
	}
	// Replace it once more: verify recognises the scanned 2D content of the
	// now replaced card, and the newest card is fine.
	c.ok("", "cards", "replace", ids[0], "--reason", "damaged", "--symbology", "qr", "-o", filepath.Join(c.dir, "two.pdf"))
	res, _, err := c.run("", "verify", content2D(ids[0], serial))
	if err == nil || !strings.Contains(res, "replaced") {
		t.Errorf("verify of the replaced card's 2D content: err=%v out=%q", err, res)
	}
}

func FuzzReadIDs(f *testing.F) {
	f.Add("KLA0001234\n# comment\n\n0001237\r\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := readIDs(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		if len(ids) == 0 {
			t.Fatal("no error and no IDs")
		}
		for _, id := range ids {
			if id == "" || strings.HasPrefix(id, "#") || len(id) > 256 {
				t.Fatalf("bad ID %q returned", id)
			}
		}
	})
}

func TestParseSymbols(t *testing.T) {
	for in, ok := range map[string]bool{"code128": true, "qr": true, "code128+qr": true, "code128+datamatrix": true, "qr+datamatrix": false, "code128+code128": false, "ean13": false} {
		if _, err := parseSymbols(in); (err == nil) != ok {
			t.Errorf("parseSymbols(%q) err = %v", in, err)
		}
	}
}

func TestCardsSetup(t *testing.T) {
	c := newPrintCLI(t)
	logo := filepath.Join(c.dir, "logo.png")
	img := image.NewGray(image.Rect(0, 0, 20, 10))
	var buf bytes.Buffer
	png.Encode(&buf, img)
	os.WriteFile(logo, buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(c.dir, "logo.txt"), []byte("hello"), 0o644)
	if _, _, err := c.run("", "cards", "setup", "--logo", filepath.Join(c.dir, "logo.txt")); err == nil || !strings.Contains(err.Error(), "not a PNG") {
		t.Fatalf("text logo: %v", err)
	}
	out := c.ok("", "cards", "setup", "--facility", "Kisugu HC III", "--logo", logo)
	if !strings.Contains(out, "facility: Kisugu HC III") || !strings.Contains(out, "logo: "+logo) {
		t.Fatalf("setup: %q", out)
	}
	ids := c.issue("1")
	pdf := filepath.Join(c.dir, "c.pdf")
	c.ok("", "print", "--patient", ids[0], "-o", pdf)
	b, _ := os.ReadFile(pdf)
	if !bytes.Contains(b, []byte("/Subtype /Image")) {
		t.Error("logo from settings not printed")
	}
	os.Remove(logo)
	if _, _, err := c.run("", "print", "--patient", ids[0], "--reprint", "--reason", "x", "-o", filepath.Join(c.dir, "c2.pdf")); err == nil || !strings.Contains(err.Error(), "logo") {
		t.Fatalf("missing logo file: %v", err)
	}
}

func TestPrint_PatientCardText(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("IDCARDS_REQUIRE_TOOLS") == "" {
			t.Skip("pdftotext not installed")
		}
		t.Fatal("pdftotext not installed")
	}
	c := newPrintCLI(t)
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "test", Role: idcards.RoleOperator})
	s, err := registry.Open(ctx, c.env["IDCARDS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	_, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Zoë", FamilyName: "Nsɛkɛ", Sex: "F", BirthDate: "1990-02-03"}})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(c.dir, "p.pdf")
	c.ok("", "print", "--patient", mrn, "--facility", "Łódź Clinic", "-o", pdf)
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Zoë Nsɛkɛ", "Born 1990", "Sex F", "Łódź Clinic"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("card text %q lacks %q", out, want)
		}
	}
	if strings.Contains(string(out), "1990-02-03") {
		t.Errorf("card prints the full birth date by default (privacy: the year): %q", out)
	}
	// card_birth=date prints the full date; card_identifiers adds the serial.
	c.ok("", "cards", "setup", "--birth", "date", "--identifiers", "mrn,serial")
	c.ok("", "print", "--patient", mrn, "--reprint", "--reason", "test", "--force", "-o", pdf) // replaced: the text read is the new card's
	out, _ = exec.Command("pdftotext", "-enc", "UTF-8", pdf, "-").Output()
	for _, want := range []string{"Born 1990-02-03", "Card C"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("card text %q lacks %q", out, want)
		}
	}
}

// activeSerial is the serial of mrn's active card.
func (c *printCLI) activeSerial(mrn string) string {
	c.t.Helper()
	list := c.ok("", "cards", "list", "--mrn", mrn, "--state", "active", "--json")
	i := strings.Index(list, `"serial": "`)
	if i < 0 {
		c.t.Fatalf("%s has no active card:\n%s", mrn, list)
	}
	return list[i+11 : i+20]
}

// checkCardPDF decodes every page of pdf (pdftoppm + zbarimg) and wants
// each symbol content in want exactly once (zbarimg's order within a page
// is its own).
func checkCardPDF(t *testing.T, pdf string, want ...string) {
	t.Helper()
	for _, tool := range []string{"pdfinfo", "pdftoppm", "zbarimg"} {
		needCLITool(t, tool)
	}
	info, err := exec.Command("pdfinfo", pdf).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo %s: %v\n%s", pdf, err, info)
	}
	img := t.TempDir()
	if o, err := exec.Command("pdftoppm", "-r", "203", "-gray", "-png", pdf, filepath.Join(img, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm %s: %v\n%s", pdf, err, o)
	}
	pages, _ := filepath.Glob(filepath.Join(img, "p-*.png"))
	var got []string
	for _, p := range pages {
		o, _ := exec.Command("zbarimg", "-q", "--raw", p).Output()
		got = append(got, strings.Split(strings.TrimSpace(string(o)), "\n")...)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("%s decodes to %v, want %v\n%s", filepath.Base(pdf), got, want, info)
	}
}

// The testers' report: files written into a directory were named by the
// time (the batch id), so a card's file was hard to find. -o DIR/ names a
// single card's PDF by the MRN and serial that cards list shows, a file of
// several cards by the batch cards list shows on each of them; a name
// already taken is never written over.
func TestPrint_IntoDirectoryNamesFilesByCard(t *testing.T) {
	c := newPrintCLI(t)
	ids := c.issue("5")
	dir := filepath.Join(c.dir, "out") + string(filepath.Separator)
	if _, _, err := c.run("", "print", "--patient", ids[0], "-o", dir); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Fatalf("a missing directory: err = %v", err)
	}
	if n := activeCards(t, c); n != 0 {
		t.Fatalf("a refused run recorded %d cards", n)
	}
	os.Mkdir(dir, 0o700)

	out := c.ok("", "print", "--patient", ids[0], "-o", dir)
	first := filepath.Join(dir, ids[0]+"-"+c.activeSerial(ids[0])+".pdf")
	if !strings.Contains(out, " to "+first+";") {
		t.Fatalf("one card: out = %q, want it saved as %s", out, first)
	}
	checkCardPDF(t, first, ids[0])

	// A reprint is a new serial, so a new file; the first stays. The
	// directory may be named without the trailing slash.
	out = c.ok("", "print", "--patient", ids[0], "--reprint", "--reason", "lost", "-o", strings.TrimSuffix(dir, string(filepath.Separator)))
	second := filepath.Join(dir, ids[0]+"-"+c.activeSerial(ids[0])+".pdf")
	if second == first || !strings.Contains(out, " to "+second+";") {
		t.Fatalf("reprint: out = %q, want %s", out, second)
	}
	checkCardPDF(t, first, ids[0])
	checkCardPDF(t, second, ids[0])

	// Several cards: BATCH-Ncards.pdf, the batch being what cards list
	// shows for each card.
	out = c.ok(strings.Join(ids[1:4], "\n")+"\n", "print", "--ids", "-", "--layout", "a4", "-o", dir)
	batch := strings.TrimSpace(out[strings.LastIndex(out, "batch ")+6:])
	batchFile := filepath.Join(dir, batch+"-3cards.pdf")
	if !strings.Contains(out, " to "+batchFile+";") {
		t.Fatalf("batch: out = %q, want %s", out, batchFile)
	}
	if list := c.ok("", "cards", "list", "--mrn", ids[2]); !strings.Contains(list, batch) {
		t.Fatalf("cards list --mrn does not show the batch %s that names the file:\n%s", batch, list)
	}
	checkCardPDF(t, batchFile, ids[1:4]...)

	// A name that is taken is not written over: the new file gets -2.
	taken := filepath.Join(dir, ids[4]+"-C0000000.pdf")
	if got := mustPlace(t, dir, filepath.Base(taken), "first"); got != taken {
		t.Fatalf("placed at %s, want %s", got, taken)
	}
	if got := mustPlace(t, dir, filepath.Base(taken), "second"); got != strings.TrimSuffix(taken, ".pdf")+"-2.pdf" {
		t.Fatalf("second file placed at %s", got)
	}
	if b, _ := os.ReadFile(taken); string(b) != "first" {
		t.Fatalf("the first file was written over: %q", b)
	}
}

func mustPlace(t *testing.T, dir, name, content string) string {
	t.Helper()
	tmp, err := newOutTemp(dir, ".tmp-*", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.WriteString(content); err != nil {
		t.Fatal(err)
	}
	got, err := placeNew(tmp, dir, name)
	tmp.discard()
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) > 0 {
		t.Errorf("temporary file left behind: %v", left)
	}
	return got
}

// TestPrint_RefusesExistingFile: -o FILE.pdf replaced an existing file,
// which may be the only copy of cards recorded active but not yet printed.
// An existing FILE (or, with --split, any file of the run) is refused
// before a card is recorded — no pending or failed card is left, the file
// is untouched — and --force replaces it with a whole PDF of the new cards.
func TestPrint_RefusesExistingFile(t *testing.T) {
	c := newPrintCLI(t)
	ids := c.issue("3")
	pdf := filepath.Join(c.dir, "cards.pdf")
	c.ok(ids[0]+"\n", "print", "--ids", "-", "-o", pdf)
	kept, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	cards := func() string { return c.ok("", "cards", "list", "--limit", "1000") }
	before := cards()
	refused := func(args ...string) {
		t.Helper()
		_, _, err := c.run(ids[1]+"\n"+ids[2]+"\n", args...)
		if err == nil || idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), "already exists") ||
			!strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "not printed yet") {
			t.Fatalf("print %v over an existing file: %v", args, err)
		}
		if after := cards(); after != before {
			t.Fatalf("a refused print recorded cards:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if b, _ := os.ReadFile(pdf); !bytes.Equal(b, kept) {
			t.Fatal("the existing PDF was changed")
		}
	}
	refused("print", "--ids", "-", "--layout", "a4", "-o", pdf)
	refused("cards", "replace", ids[0], "--reason", "lost", "-o", pdf)
	// --split: the run's second file exists; not even the first is written.
	if err := os.WriteFile(filepath.Join(c.dir, "run-0002.pdf"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	refused("print", "--ids", "-", "--split", "1", "-o", filepath.Join(c.dir, "run.pdf"))
	if _, err := os.Stat(filepath.Join(c.dir, "run-0001.pdf")); err == nil {
		t.Error("a refused --split run wrote its first file")
	}
	if ents, _ := os.ReadDir(c.dir); len(ents) > 0 {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".idcards-print-") {
				t.Errorf("temporary file left: %s", e.Name())
			}
		}
	}

	// --force: the file is replaced by a complete PDF of the two new cards.
	out := c.ok(ids[1]+"\n"+ids[2]+"\n", "print", "--ids", "-", "--layout", "card", "--force", "-o", pdf)
	if !strings.Contains(out, "printed 2 cards") {
		t.Fatalf("out = %q", out)
	}
	info, err := exec.Command("pdfinfo", pdf).Output()
	if err != nil {
		if os.Getenv("IDCARDS_REQUIRE_TOOLS") != "" {
			t.Fatalf("pdfinfo: %v", err)
		}
		t.Skip("pdfinfo not installed")
	}
	if !strings.Contains(string(info), "Pages:           2\n") {
		t.Errorf("replaced PDF:\n%s", info)
	}
	if txt, err := exec.Command("pdftotext", pdf, "-").Output(); err == nil {
		for _, id := range ids {
			if got := strings.Contains(strings.ReplaceAll(string(txt), " ", ""), id); got != (id != ids[0]) {
				t.Errorf("replaced PDF shows %s: %v (want only the new cards)", id, got)
			}
		}
	}
}
