package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/idcards/idcards"
)

func TestScanBindsPreprintedCard(t *testing.T) {
	s := newStore(t)
	ctx := idcards.WithActor(context.Background(), testActor)
	ids, err := s.Reserve(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, active := register(t, s, "Grace", "Atim", "1985-01-02")

	t.Run("while registering", func(t *testing.T) {
		m, c := newModel(t, s, nil, slow, 80, 24)
		m = drive(t, m, regForm("Joy", "Akello", "F", "20")...)
		c.step = fast
		// A used card shows its panel over the form, which keeps its contents.
		c.t = c.t.Add(slow) // the scanner starts after a human pause
		m = drive(t, m, append(typed(active), enter)...)
		if out := screenText(m); !strings.Contains(out, "✔ ACTIVE") || !strings.Contains(out, "Grace Atim") {
			t.Fatalf("active card: want its panel:\n%s", out)
		}
		c.t = c.t.Add(slow)
		m = drive(t, m, esc)
		if out := screenText(m); !strings.Contains(out, "Register a new patient") || !strings.Contains(out, "Akello") || !strings.Contains(out, "20█") {
			t.Fatalf("form not kept under the panel:\n%s", out)
		}
		c.t = c.t.Add(slow)
		m = drive(t, m, append(typed(ids[0]), enter)...)
		if out := screenText(m); !strings.Contains(out, "Register onto pre-printed card "+ids[0]) {
			t.Fatalf("card not taken:\n%s", out)
		}
		m = drive(t, m, ctrl('s'))
		if out := screenText(m); !strings.Contains(out, "on the pre-printed card "+ids[0]) {
			t.Fatalf("not bound:\n%s", out)
		}
	})
	t.Run("on the patient screen", func(t *testing.T) {
		p, _ := register(t, s, "Ben", "Okot", "1970-01-01")
		m, c := newModel(t, s, nil, fast, 80, 24)
		m = drive(t, m, pushMsg{newDetail(nil, p.ID)})
		m = drive(t, m, keyText('b'))
		if !strings.Contains(screenText(m), "Scan the pre-printed card") {
			t.Fatalf("no bind prompt:\n%s", screenText(m))
		}
		c.t = c.t.Add(slow)
		m = drive(t, m, append(typed(ids[1]), enter)...)
		if out := screenText(m); !strings.Contains(out, "Card "+ids[1]+" now belongs to this patient") || !strings.Contains(out, ids[1]) {
			t.Fatalf("not bound:\n%s", out)
		}
		if id, _ := s.Identifier(context.Background(), ids[1]); id.PatientID != p.ID || id.State != idcards.IDActive {
			t.Fatalf("registry: %+v", id)
		}
	})
}
