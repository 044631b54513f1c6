package registry_test

import (
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// The two phases of printing (issue 16): recorded pending before the PDF
// exists, active only when confirmed, failed when the run failed.
func TestStore_CardsTwoPhase(t *testing.T) {
	s, ctx := newStore(t)
	ids, err := s.Reserve(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	state := func(serial string) idcards.CardState {
		t.Helper()
		cs, err := s.ListCards(ctx, registry.CardFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Serial == serial {
				return c.State
			}
		}
		t.Fatalf("no card %s", serial)
		return ""
	}

	t.Run("ConfirmedOnlyAfterConfirm", func(t *testing.T) {
		cards, err := s.BeginCards(ctx, ids[:2], "a4", "b-ok", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cards {
			if st := state(c.Serial); st != idcards.CardPending {
				t.Fatalf("%s is %s before confirmation, want pending", c.Serial, st)
			}
		}
		// A pending card may have printed: its serial is still recognised.
		v, err := s.Verify(ctx, barcode.Format2D(cards[0].MRN, cards[0].Serial))
		if err != nil || v.CardSerial != cards[0].Serial || v.Status == idcards.StatusUnknown {
			t.Fatalf("scan of a pending card: %+v, %v", v, err)
		}
		// And nobody else may print the same MRN meanwhile.
		if _, err := s.BeginCards(ctx, ids[:1], "card", "b-other", ""); idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), "pending") {
			t.Fatalf("second run on a pending MRN: %v", err)
		}
		n, err := s.ConfirmBatch(ctx, "b-ok")
		if err != nil || n != 2 {
			t.Fatalf("ConfirmBatch = %d, %v", n, err)
		}
		for _, c := range cards {
			if st := state(c.Serial); st != idcards.CardActive {
				t.Fatalf("%s is %s after confirmation", c.Serial, st)
			}
		}
	})

	t.Run("FailedRunLeavesOldCardActive", func(t *testing.T) {
		old, _ := s.ListCards(ctx, registry.CardFilter{MRN: ids[0], State: idcards.CardActive})
		cards, err := s.BeginCards(ctx, ids[:1], "card", "b-fail", "lost")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.FailBatch(ctx, "b-fail", "lp: printer on fire"); err != nil || n != 1 {
			t.Fatalf("FailBatch = %d, %v", n, err)
		}
		if st := state(cards[0].Serial); st != idcards.CardFailed {
			t.Fatalf("failed run's card is %s", st)
		}
		if st := state(old[0].Serial); st != idcards.CardActive {
			t.Fatalf("the earlier card is %s after a failed reprint, want still active", st)
		}
		// A failed card was never printed: --unprinted offers its MRN again
		// when it had no other card.
		c2, err := s.BeginCards(ctx, ids[2:3], "card", "b-fail2", "")
		if err != nil {
			t.Fatal(err)
		}
		before, _ := s.UnprintedIDs(ctx, 0)
		if containsStr(before, ids[2]) {
			t.Fatal("a pending card's MRN is offered as unprinted")
		}
		s.FailBatch(ctx, "b-fail2", "render failed")
		after, _ := s.UnprintedIDs(ctx, 0)
		if !containsStr(after, ids[2]) || state(c2[0].Serial) != idcards.CardFailed {
			t.Fatal("a failed card's MRN is not offered as unprinted")
		}
	})

	t.Run("ReprintReplacesOnConfirm", func(t *testing.T) {
		old, _ := s.ListCards(ctx, registry.CardFilter{MRN: ids[1], State: idcards.CardActive})
		cards, err := s.BeginCards(ctx, ids[1:2], "card", "b-re", "damaged")
		if err != nil {
			t.Fatal(err)
		}
		if st := state(old[0].Serial); st != idcards.CardActive {
			t.Fatalf("old card %s before the reprint is confirmed", st)
		}
		if _, err := s.ConfirmBatch(ctx, "b-re"); err != nil {
			t.Fatal(err)
		}
		if st := state(old[0].Serial); st != idcards.CardReplaced {
			t.Fatalf("old card %s after the reprint, want replaced", st)
		}
		v, _ := s.Verify(ctx, barcode.Format2D(ids[1], old[0].Serial))
		if v.Status != idcards.StatusReplaced || !strings.Contains(v.Detail, cards[0].Serial) {
			t.Fatalf("scan of the old card: %s %s", v.Status, v.Detail)
		}
	})

	// A reprint voided as spoiled (never handed out) leaves the MRN with
	// no valid card: --unprinted offers it again, and the card it
	// replaced stays invalid without naming the spoiled one as valid.
	t.Run("VoidedReprintLeavesNoValidCard", func(t *testing.T) {
		old, _ := s.ListCards(ctx, registry.CardFilter{MRN: ids[1], State: idcards.CardActive})
		re, err := s.RecordCards(ctx, ids[1:2], "card", "b-spoil", "lost")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.VoidCard(ctx, re[0].Serial, "ribbon jam"); err != nil {
			t.Fatal(err)
		}
		if un, _ := s.UnprintedIDs(ctx, 0); !containsStr(un, ids[1]) {
			t.Fatalf("unprinted = %v: the MRN whose only cards are replaced and voided is not offered", un)
		}
		v, err := s.Verify(ctx, barcode.Format2D(ids[1], old[0].Serial))
		if err != nil || v.Status != idcards.StatusReplaced || v.Detail != registry.DetailReplacementVoided {
			t.Fatalf("scan of the card the spoiled reprint replaced: %s %q, %v", v.Status, v.Detail, err)
		}
		// A voided pending card of a batch does the same.
		pend, err := s.BeginCards(ctx, ids[1:2], "card", "b-spoil2", "")
		if err != nil {
			t.Fatal(err)
		}
		if un, _ := s.UnprintedIDs(ctx, 0); containsStr(un, ids[1]) {
			t.Fatal("an MRN with a pending card is offered as unprinted")
		}
		if err := s.VoidCard(ctx, pend[0].Serial, "ribbon jam"); err != nil {
			t.Fatal(err)
		}
		if un, _ := s.UnprintedIDs(ctx, 0); !containsStr(un, ids[1]) {
			t.Fatal("the MRN of a voided pending card is not offered")
		}
		// Printed again: the old card names the card that is valid now.
		now, err := s.RecordCards(ctx, ids[1:2], "card", "b-again", "")
		if err != nil {
			t.Fatal(err)
		}
		v, _ = s.Verify(ctx, barcode.Format2D(ids[1], old[0].Serial))
		if v.Status != idcards.StatusReplaced || v.Detail != "this card was replaced by card "+now[0].Serial {
			t.Fatalf("scan of the old card after a new print: %s %q", v.Status, v.Detail)
		}
		if un, _ := s.UnprintedIDs(ctx, 0); containsStr(un, ids[1]) {
			t.Fatal("an MRN with an active card is offered as unprinted")
		}
	})

	t.Run("ConfirmCardsRefusesNonPending", func(t *testing.T) {
		cs, _ := s.ListCards(ctx, registry.CardFilter{MRN: ids[1], State: idcards.CardActive})
		if err := s.ConfirmCards(ctx, cs); idcards.ErrorKind(err) != idcards.Conflict {
			t.Fatalf("confirming an active card: %v", err)
		}
	})

	t.Run("VoidedOrUnknown", func(t *testing.T) {
		if _, err := s.BeginCards(ctx, []string{"NOPE"}, "card", "b", ""); idcards.ErrorKind(err) != idcards.NotFound {
			t.Fatalf("unknown MRN: %v", err)
		}
		if err := s.Void(ctx, ids[3], "entered twice"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BeginCards(ctx, ids[3:4], "card", "b", ""); idcards.ErrorKind(err) != idcards.Conflict {
			t.Fatalf("voided MRN: %v", err)
		}
	})

	t.Run("Audited", func(t *testing.T) {
		var actions []string
		err := s.EachAudit(ctx, registry.AuditFilter{Subject: "b-re"}, func(e idcards.AuditEvent) error {
			actions = append(actions, e.Action)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !containsStr(actions, "card.print") {
			t.Fatalf("audit of batch b-re: %v", actions)
		}
	})
}

// A run of many cards is recorded and confirmed set-based; CardHolders and
// CardStates read them back in order.
func TestStore_CardHoldersAndStates(t *testing.T) {
	s, ctx := newStore(t)
	ids, err := s.Reserve(ctx, 1203) // more than one statement chunk
	if err != nil {
		t.Fatal(err)
	}
	hs, err := s.CardHolders(ctx, ids)
	if err != nil || len(hs) != len(ids) {
		t.Fatalf("CardHolders: %d, %v", len(hs), err)
	}
	for i, h := range hs {
		if h.MRN != ids[i] || h.Patient.ID != 0 || h.ActiveSerial != "" {
			t.Fatalf("holder %d = %+v", i, h)
		}
	}
	cards, err := s.BeginCards(ctx, ids, "a4", "big", "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.CardStates(ctx, ids)
	if err != nil || len(st) != len(ids) || st[ids[7]].PendingSerial != cards[7].Serial || st[ids[7]].PendingBatch != "big" {
		t.Fatalf("CardStates pending: %d, %v, %+v", len(st), err, st[ids[7]])
	}
	if n, err := s.ConfirmBatch(ctx, "big"); err != nil || n != len(ids) {
		t.Fatalf("ConfirmBatch = %d, %v", n, err)
	}
	st, _ = s.CardStates(ctx, ids[:3])
	if st[ids[2]].ActiveSerial != cards[2].Serial || st[ids[2]].PendingSerial != "" {
		t.Fatalf("CardStates active: %+v", st[ids[2]])
	}
	if _, err := s.CardHolders(ctx, []string{ids[0], "KLA-NOPE"}); idcards.ErrorKind(err) != idcards.NotFound {
		t.Fatalf("unknown MRN: %v", err)
	}
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// A mirror (idcards serve) answers a scan of a pending or failed card as
// Verify does.
func TestMirror_PendingAndFailedCards(t *testing.T) {
	f := newMirrorFixture(t)
	_, m1 := f.register(f.server, "Amina")
	_, m2 := f.register(f.server, "Nakato")
	var err error
	f.m, err = registry.NewMirror(f.ctx, f.server, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.m.Close)
	if _, err := f.cli.RecordCards(f.ctx, []string{m1}, "card", "b0", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cli.BeginCards(f.ctx, []string{m1, m2}, "card", "b1", "lost"); err != nil {
		t.Fatal(err)
	}
	f.same("pending")
	if _, err := f.cli.FailBatch(f.ctx, "b1", "lp refused"); err != nil {
		t.Fatal(err)
	}
	f.same("failed")
}

// CheckPrintable answers as Verify does, code by code, for every kind of
// input, in input order.
func TestStore_CheckPrintableAsVerify(t *testing.T) {
	s, ctx := newStore(t)
	ids, err := s.Reserve(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, ids[2], "entered twice"); err != nil {
		t.Fatal(err)
	}
	codec, _ := barcode.NewCodec(testFormat)
	unknown, _ := codec.Make(999_999)
	wrong := ids[0][:len(ids[0])-1] + flip(ids[0][len(ids[0])-1])
	codes := []string{ids[0], " " + strings.ToLower(ids[1]) + " ", ids[2], unknown, wrong, "", "x", ids[0], "]C0" + ids[1], barcode.Format2D(ids[1], "C00000000")}
	good, bad, err := s.CheckPrintable(ctx, codes)
	if err != nil {
		t.Fatal(err)
	}
	var wantGood []string
	var wantBad []registry.BadID
	seen := map[string]bool{}
	for _, c := range codes {
		v, err := s.Verify(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !v.Status.OK():
			r := string(v.Status)
			if v.Detail != "" {
				r += ": " + v.Detail
			}
			wantBad = append(wantBad, registry.BadID{Input: c, Reason: r})
		case seen[v.Code]:
			wantBad = append(wantBad, registry.BadID{Input: c, Reason: "listed twice in this run"})
		default:
			seen[v.Code] = true
			wantGood = append(wantGood, v.Code)
		}
	}
	if strings.Join(good, ",") != strings.Join(wantGood, ",") {
		t.Errorf("good = %v, want %v", good, wantGood)
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("bad = %+v\nwant %+v", bad, wantBad)
	}
	for i := range bad {
		if bad[i] != wantBad[i] {
			t.Errorf("bad[%d] = %+v, want %+v", i, bad[i], wantBad[i])
		}
	}
}
