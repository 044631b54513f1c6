package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/printing"
	"github.com/idcards/idcards/registry"
)

func activeCards(t *testing.T, c *printCLI) int {
	t.Helper()
	return strings.Count(c.ok("", "cards", "list", "--state", "active", "--limit", "100000"), "\n") - 1
}

// An injected write failure in the middle of the PDF: no active card, the
// cards of the run failed, the error names every patient not printed, and
// no PDF (whole or partial) is left.
func TestPrintJob_RenderFailureLeavesNoActiveCard(t *testing.T) {
	c := newPrintCLI(t)
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "test", Role: idcards.RoleOperator})
	s, err := registry.Open(ctx, c.env["IDCARDS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mrns []string
	for _, name := range []string{"Amina", "Nakato"} {
		_, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: name, FamilyName: "Ssebunya", Sex: "F", BirthDate: "1990-02-03"}})
		if err != nil {
			t.Fatal(err)
		}
		mrns = append(mrns, mrn)
	}
	mrns = append(mrns, c.issue("30")...)
	sheet, _ := printing.LayoutSheet("a4")
	out := filepath.Join(c.dir, "cards.pdf")
	j := &printJob{s: s, sheet: sheet, layout: "a4", batch: "b-inject", out: out, look: cardSettings{birth: "year"},
		opts: printing.RenderOptions{Options: printing.Options{Facility: "Kisugu HC III"}}, failAfter: 5000}
	_, err = j.run(ctx, mrns)
	var np *notPrintedError
	if !errors.As(err, &np) || len(np.notPrinted) != len(mrns) {
		t.Fatalf("err = %v, want every card not printed", err)
	}
	for _, want := range []string{"injected write failure", "32 of 32 cards NOT printed", mrns[0] + " (Amina Ssebunya)", mrns[1] + " (Nakato Ssebunya)", "… and 12 more"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := activeCards(t, c); n != 0 {
		t.Fatalf("%d active cards after a failed render", n)
	}
	failed, _ := s.ListCards(ctx, registry.CardFilter{BatchID: "b-inject", State: idcards.CardFailed})
	if len(failed) != len(mrns) {
		t.Fatalf("%d failed cards, want %d", len(failed), len(mrns))
	}
	left, _ := filepath.Glob(filepath.Join(c.dir, "*.pdf"))
	if len(left) > 0 {
		t.Fatalf("a failed render left %v", left)
	}
	// The same IDs print on the next run (failed cards do not block them).
	c.ok(strings.Join(mrns, "\n")+"\n", "print", "--ids", "-", "--layout", "a4", "-o", out)
	if n := activeCards(t, c); n != len(mrns) {
		t.Fatalf("%d active cards after the retry, want %d", n, len(mrns))
	}
}

// --split N writes cards-0001.pdf … ; a failure on the second file keeps
// the first file's cards (complete, confirmed) and fails the rest.
func TestPrint_SplitAndPartialFailure(t *testing.T) {
	needCLITool(t, "pdfinfo")
	c := newPrintCLI(t)
	ids := c.issue("12")
	out := filepath.Join(c.dir, "cards.pdf")
	got := c.ok(strings.Join(ids, "\n")+"\n", "print", "--ids", "-", "--layout", "card", "--split", "5", "-o", out)
	if !strings.Contains(got, "printed 12 cards (12 pages") {
		t.Fatalf("out = %q", got)
	}
	for i, want := range []string{"1", "2", "3"} {
		name := filepath.Join(c.dir, "cards-000"+want+".pdf")
		info, err := exec.Command("pdfinfo", name).Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pages := []string{"5", "5", "2"}[i]
		if !strings.Contains(string(info), "Pages:           "+pages+"\n") {
			t.Errorf("%s: want %s pages:\n%s", name, pages, info)
		}
	}

	ids2 := c.issue("12")
	out2 := filepath.Join(c.dir, "two.pdf")
	// A directory where the second file should go: with --force (without
	// it the run is refused before it starts) the rename over it fails.
	if err := os.MkdirAll(filepath.Join(c.dir, "two-0002.pdf", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.run(strings.Join(ids2, "\n")+"\n", "print", "--ids", "-", "--layout", "card", "--split", "5", "--force", "-o", out2)
	if err == nil || !strings.Contains(err.Error(), "7 of 12 cards NOT printed") || !strings.Contains(err.Error(), ids2[5]) || strings.Contains(err.Error(), ids2[4]+",") ||
		!strings.Contains(err.Error(), "5 cards did print: "+filepath.Join(c.dir, "two-0001.pdf")) {
		t.Fatalf("err = %v", err)
	}
	if n := activeCards(t, c); n != 12+5 {
		t.Fatalf("%d active cards, want 17 (12 + the 5 of the file that was written)", n)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "two-0003.pdf")); err == nil {
		t.Error("the run went on after a failed file")
	}
}

// Characters no card font has print as U+FFFD with a warning naming the
// patient; an unset facility name warns too.
func TestPrint_WarnsAboutMissingGlyphsAndFacility(t *testing.T) {
	c := newPrintCLI(t)
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "test", Role: idcards.RoleOperator})
	s, err := registry.Open(ctx, c.env["IDCARDS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	_, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "王秀英", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-02-03"}})
	_, adlam, err2 := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "𞤀𞤣𞤤𞤢𞤥", FamilyName: "Diallo", Sex: "M", BirthDate: "1985-01-01"}})
	s.Close()
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	_, errs, err := c.run(mrn+"\n"+adlam+"\n", "print", "--ids", "-", "-o", filepath.Join(c.dir, "w.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"warning: " + mrn + " (王秀英 Nakato): 王 (U+738B), 秀 (U+79C0), 英 (U+82F1) not in the card fonts, printed as �", "no facility name is set"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, adlam) {
		t.Errorf("Adlam name warned about, but the fallback font has it:\n%s", errs)
	}
}

// Ctrl-C in the middle of a run: the cards are failed (the registry work
// is done although the context is cancelled) and no PDF is left.
func TestPrintJob_InterruptedRun(t *testing.T) {
	c := newPrintCLI(t)
	mrns := c.issue("60")
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "test", Role: idcards.RoleOperator})
	s, err := registry.Open(ctx, c.env["IDCARDS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sheet, _ := printing.LayoutSheet("card")
	j := &printJob{s: s, sheet: sheet, layout: "card", batch: "b-int", out: filepath.Join(c.dir, "x.pdf"), look: cardSettings{birth: "year"},
		step: func(n int) {
			if n == 25 {
				cancel()
			}
		}}
	_, err = j.run(ctx, mrns)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "60 of 60 cards NOT printed") {
		t.Fatalf("err = %v", err)
	}
	if failed, _ := s.ListCards(context.WithoutCancel(ctx), registry.CardFilter{BatchID: "b-int", State: idcards.CardFailed}); len(failed) != 60 {
		t.Fatalf("%d failed cards, want 60", len(failed))
	}
	if left, _ := filepath.Glob(filepath.Join(c.dir, "*.pdf")); len(left) > 0 {
		t.Fatalf("an interrupted run left %v", left)
	}
}

// What lp is asked for: the PDF's own page size at 100 %, so a queue whose
// default is A4 or Letter does not print a card page in the middle of a
// sheet; $IDCARDS_LP_MEDIA replaces it for a driver that mishandles
// custom sizes.
func TestLPMediaOptions(t *testing.T) {
	for _, tt := range []struct {
		name, layout, override, want string
	}{
		{"card page asks for ID-1 in mm and as the MediaBox in points", "card", "", "-o media=Custom.85.6x53.98mm -o PageSize=Custom.242.65x153.01 -o print-scaling=none"},
		{"a4 sheet", "a4", "", "-o media=A4 -o print-scaling=none"},
		{"letter sheet", "letter", "", "-o media=Letter -o print-scaling=none"},
		{"site names its driver's card size", "card", "CR80", "-o media=CR80 -o print-scaling=none"},
		{"site leaves it to the queue's defaults", "card", "none", ""},
		{"none in any case", "a4", " None ", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sheet, err := printing.LayoutSheet(tt.layout)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(lpMediaOptions(sheet, tt.override), " "); got != tt.want {
				t.Errorf("lp options = %q, want %q", got, tt.want)
			}
		})
	}
}

// A run longer than one chunk (holderChunk cards are read, recorded and
// drawn at a time): every card is recorded and confirmed, and the cards of
// the second chunk are drawn with their own patients' codes.
func TestPrint_RunLongerThanAChunk(t *testing.T) {
	for _, tool := range []string{"qpdf", "pdfinfo", "pdftoppm", "zbarimg"} {
		needCLITool(t, tool)
	}
	c := newPrintCLI(t)
	ids := c.issue(fmt.Sprint(holderChunk + 5))
	pdf := filepath.Join(c.dir, "long.pdf")
	out := c.ok(strings.Join(ids, "\n")+"\n", "print", "--ids", "-", "--layout", "a4", "-o", pdf)
	pages := (len(ids) + 9) / 10
	if !strings.Contains(out, fmt.Sprintf("printed %d cards (%d pages", len(ids), pages)) {
		t.Fatalf("out = %q", out)
	}
	if n := activeCards(t, c); n != len(ids) {
		t.Fatalf("%d active cards, want %d", n, len(ids))
	}
	last := filepath.Join(c.dir, "last.pdf")
	if o, err := exec.Command("qpdf", "--empty", "--pages", pdf, fmt.Sprint(pages), "--", last).CombinedOutput(); err != nil {
		t.Fatalf("qpdf cutting the last page: %v %s", err, o)
	}
	checkCardPDF(t, last, ids[holderChunk:]...)
}
