package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// The desk screen's printer goes the same way as idcards print: "saved as
// PATH" or "printed on QUEUE" for the clerk, and a failure leaves no
// active card.
func TestPDFPrinter_SavedPrintedAndFailed(t *testing.T) {
	c := newPrintCLI(t)
	ids := c.issue("2")
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "test", Role: idcards.RoleOperator})
	s, err := registry.Open(ctx, c.env["IDCARDS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := filepath.Join(c.dir, "cards")
	lp := filepath.Join(c.dir, "lp")
	p := &pdfPrinter{dir: dir, lp: lp, lpstat: "none", open: func() *registry.Store { return s }}

	where, err := p.PrintCards(ctx, ids[:1], false, "")
	if err != nil || !strings.HasPrefix(where, "saved as "+dir+string(filepath.Separator)) || !strings.HasSuffix(where, ".pdf") {
		t.Fatalf("PrintCards = %q, %v", where, err)
	}
	// Named by the card (testers could not find a card's file among names
	// by time): MRN-SERIAL.pdf, as cards list shows them.
	cs, err := s.ListCards(ctx, registry.CardFilter{MRN: ids[0], State: idcards.CardActive})
	if err != nil || len(cs) != 1 {
		t.Fatalf("active cards of %s: %v, %v", ids[0], cs, err)
	}
	if want := "saved as " + filepath.Join(dir, ids[0]+"-"+cs[0].Serial+".pdf"); where != want {
		t.Fatalf("PrintCards = %q, want %q", where, want)
	}
	checkCardPDF(t, strings.TrimPrefix(where, "saved as "), ids[0], content2D(ids[0], cs[0].Serial))

	if err := s.SetSetting(ctx, "card_printer", "Zebra"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(lp, []byte("#!/bin/sh\necho 'request id is Zebra-7 (1 file(s))'\n"), 0o755)
	if where, err := p.PrintCards(ctx, ids[:1], true, "lost"); err != nil || where != "printed on Zebra" {
		t.Fatalf("PrintCards to a printer = %q, %v", where, err)
	}
	os.WriteFile(lp, []byte("#!/bin/sh\necho 'lp: Unable to connect to printer' >&2\nexit 1\n"), 0o755)
	if _, err := p.PrintCards(ctx, ids[1:], false, ""); err == nil || !strings.Contains(err.Error(), "Unable to connect") || !strings.Contains(err.Error(), "NOT printed") {
		t.Fatalf("failing lp: %v", err)
	}
	if cs, _ := s.ListCards(ctx, registry.CardFilter{MRN: ids[1], State: idcards.CardActive}); len(cs) != 0 {
		t.Fatalf("failed desk print left an active card: %+v", cs)
	}
}
