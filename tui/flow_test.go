package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// slow is a clerk's typing speed; fast is a scanner's.
const (
	slow = 150 * time.Millisecond
	fast = 8 * time.Millisecond
)

func newModel(t *testing.T, s *registry.Store, p Printer, step time.Duration, w, h int) (tea.Model, *clock) {
	c := &clock{t: testNow, step: step}
	m := tea.Model(New(context.Background(), testConfig(s, p, c)))
	m = drive(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	return m, c
}

func regForm(given, family, sex, birth string) []tea.Msg {
	msgs := []tea.Msg{ctrl('n')}
	for i, v := range []string{given, family, sex, birth} {
		if i > 0 {
			msgs = append(msgs, tab)
		}
		msgs = append(msgs, typed(v)...)
	}
	return msgs
}

func TestRegisterDuplicateIssuePrint(t *testing.T) {
	s := newStore(t)
	existing, oldMRN := register(t, s, "Amina", "Okello", "1990-03-04")
	pr := &fakePrinter{s: s}
	warn := func(t *testing.T) tea.Model {
		m, _ := newModel(t, s, pr, slow, 80, 24)
		m = drive(t, m, regForm("Amina", "Okello", "F", "1990-05-05")...)
		return drive(t, m, ctrl('s'))
	}
	m := warn(t)
	out := screenText(m)
	for _, want := range []string{"Possible duplicate", "Amina Okello", oldMRN, "why: same name", "same person", "different person"} {
		if !strings.Contains(out, want) {
			t.Fatalf("duplicate warning lacks %q:\n%s", want, out)
		}
	}

	t.Run("same person uses the existing record", func(t *testing.T) {
		m := drive(t, warn(t), keyText('s'))
		out := screenText(m)
		if !strings.Contains(out, oldMRN) || !strings.Contains(out, "Using the existing record") {
			t.Fatalf("want existing record:\n%s", out)
		}
		ev := lastAudit(t, s)
		if !strings.Contains(ev, "patient.duplicate_same") || !strings.Contains(ev, existing.UUID) {
			t.Fatalf("decision not audited: %s", ev)
		}
	})

	t.Run("different person issues a new ID and prints", func(t *testing.T) {
		m := drive(t, warn(t), keyText('n'))
		out := screenText(m)
		if !strings.Contains(out, "Registered Amina Okello with MRN") {
			t.Fatalf("not registered:\n%s", out)
		}
		ev := lastAuditAction(t, s, "patient.register")
		if ev != "1 candidates (0 probable) shown" {
			t.Fatalf("decision not recorded: %s", ev)
		}
		m = drive(t, m, keyText('p'))
		if len(pr.calls) != 1 {
			t.Fatalf("printer calls %v", pr.calls)
		}
		newMRN := pr.calls[0]
		if newMRN == oldMRN {
			t.Fatal("printed the old MRN")
		}
		out = screenText(m)
		if !strings.Contains(out, "Card for "+newMRN+" saved as cards.pdf.") || !strings.Contains(out, "active, 1 card(s)") {
			t.Fatalf("after print:\n%s", out)
		}
		// Printing again needs the reprint path with a reason.
		m = drive(t, m, keyText('p'))
		if !strings.Contains(screenText(m), "use r to reprint") {
			t.Fatalf("second print not refused:\n%s", screenText(m))
		}
		m = drive(t, m, keyText('r'), enter)
		if !strings.Contains(screenText(m), "a reason is required") {
			t.Fatalf("empty reason accepted:\n%s", screenText(m))
		}
		m = drive(t, m, append(typed("lost"), enter)...)
		if len(pr.calls) != 2 || pr.calls[1] != newMRN+" reprint: lost" {
			t.Fatalf("reprint calls %v", pr.calls)
		}
	})
}

func TestRegisterNoCandidates(t *testing.T) {
	s := newStore(t)
	m, _ := newModel(t, s, nil, slow, 80, 24)
	m = drive(t, m, regForm("Brian", "Mugisha", "M", "34")...)
	m = drive(t, m, ctrl('s'))
	out := screenText(m)
	if !strings.Contains(out, "Registered Brian Mugisha") || !strings.Contains(out, "about 1992 (estimated)") {
		t.Fatalf("want registered with estimated birth year:\n%s", out)
	}
	if ev := lastAuditAction(t, s, "patient.register"); ev != "no duplicate candidates" {
		t.Fatalf("decision: %s", ev)
	}
	// No printer wired: says so instead of failing silently.
	m = drive(t, m, keyText('p'))
	if !strings.Contains(screenText(m), "printing is not set up") || !strings.Contains(screenText(m), "1 patient not yet sent") {
		t.Fatalf("no printer message:\n%s", screenText(m))
	}
}

func TestRegisterValidation(t *testing.T) {
	for _, tc := range []struct{ name, given, family, sex, birth, want string }{
		{"no name", "", "", "F", "30", "a name is needed"},
		{"bad sex", "Ann", "Nak", "X", "30", `sex "X"`},
		{"bad date", "Ann", "Nak", "F", "1990-13-01", "is not a date"},
		{"future", "Ann", "Nak", "F", "2030-01-01", "in the future"},
		{"age too big", "Ann", "Nak", "F", "200", "age 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			m, _ := newModel(t, s, nil, slow, 80, 24)
			m = drive(t, m, regForm(tc.given, tc.family, tc.sex, tc.birth)...)
			m = drive(t, m, ctrl('s'))
			if out := screenText(m); !strings.Contains(out, tc.want) {
				t.Fatalf("want %q:\n%s", tc.want, out)
			}
			if c, _ := s.Counts(context.Background()); c.Patients != 0 {
				t.Fatalf("patients registered: %+v", c)
			}
		})
	}
}

func TestSearchAndOpen(t *testing.T) {
	s := newStore(t)
	register(t, s, "Amina", "Okello", "1990-03-04")
	_, mrn := register(t, s, "Grace", "Atim", "1985-01-02")
	m, _ := newModel(t, s, nil, slow, 80, 24)
	m = drive(t, m, append(typed("atim"), enter)...)
	if out := screenText(m); !strings.Contains(out, "1 match(es)") || !strings.Contains(out, "Grace Atim") {
		t.Fatalf("search:\n%s", out)
	}
	m = drive(t, m, enter)
	if out := screenText(m); !strings.Contains(out, mrn) || !strings.Contains(out, "Patient · Grace Atim") {
		t.Fatalf("detail:\n%s", out)
	}
	m = drive(t, m, esc)
	if out := screenText(m); !strings.Contains(out, "Find or register") {
		t.Fatalf("esc did not go back:\n%s", out)
	}
}

func TestStaleRepliesDropped(t *testing.T) {
	s := newStore(t)
	m, _ := newModel(t, s, nil, slow, 80, 24)
	m = drive(t, m, keyCode(tea.KeyF2))
	// An old reply (request 999 was never the pending one) must not show.
	m = drive(t, m, verifiedMsg{req: 999, res: scanResult{v: idcards.Verification{Code: "X", Status: idcards.StatusActive}}})
	if strings.Contains(screenText(m), "ACTIVE") {
		t.Fatal("stale reply shown")
	}
}

func TestScanStatuses(t *testing.T) {
	s := newStore(t)
	_, active := register(t, s, "Amina", "Okello", "1990-03-04")
	_, voided := register(t, s, "Ben", "Okot", "1970-01-01")
	if err := s.Void(idcards.WithActor(context.Background(), testActor), voided, "duplicate"); err != nil {
		t.Fatal(err)
	}
	codec, err := barcode.NewCodec(testFmt)
	if err != nil {
		t.Fatal(err)
	}
	unknown, _ := codec.Make(999)
	wrong := active[:len(active)-1] + string("0123456789"[(strings.IndexByte("0123456789", active[len(active)-1])+1)%10])
	for _, tc := range []struct {
		name, code string
		want       []string
	}{
		{"active", active, []string{"✔ ACTIVE", "Amina Okello", "Age 36 y", "Sex     F"}},
		{"unknown", unknown, []string{"? UNKNOWN", "never issued this ID", "Not a card of this registry"}},
		{"voided", voided, []string{"✖ VOIDED", "do not use", "Ben Okot", "Voided because: duplicate", "ctrl+o to open Ben Okot's record"}},
		{"invalid check", wrong, []string{"WRONG CHECK DIGIT", "probably mistyped"}},
		{"malformed", "HELLO-WORLD-123", []string{"NOT AN ID"}},
		{"garbled", "\x00\x1b[31m042\xff\xfe", []string{"NOT AN ID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newModel(t, s, nil, slow, 80, 24)
			m = drive(t, m, scanMsg{raw: tc.code})
			out := screenText(m)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Fatalf("want %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestBurstIsScanSlowTypingIsNot(t *testing.T) {
	s := newStore(t)
	_, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	for _, tc := range []struct {
		name     string
		step     time.Duration
		input    string
		wantScan bool
	}{
		{"scanner burst", fast, mrn, true},
		{"scanner burst with AIM prefix", fast, "]C0" + mrn, true},
		{"slow typing of an MRN searches", slow, mrn, false},
		{"fast typing of a name is not a scan", fast, "okello", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newModel(t, s, nil, tc.step, 80, 24)
			m = drive(t, m, append(typed(tc.input), enter)...)
			out := screenText(m)
			isScan := strings.Contains(out, "idcards · Scan")
			if isScan != tc.wantScan {
				t.Fatalf("scan=%v, want %v:\n%s", isScan, tc.wantScan, out)
			}
			if tc.wantScan {
				if !strings.Contains(out, "✔ ACTIVE") {
					t.Fatalf("burst not verified:\n%s", out)
				}
				// The burst was taken out of the search box.
				m = drive(t, m, esc)
				if strings.Contains(screenText(m), mrn) {
					t.Fatalf("burst left in the search box:\n%s", screenText(m))
				}
			} else if !strings.Contains(out, "match(es)") {
				t.Fatalf("typing did not search:\n%s", out)
			}
		})
	}
}

func TestUnassignedCardRegistersOntoIt(t *testing.T) {
	s := newStore(t)
	ctx := idcards.WithActor(context.Background(), testActor)
	ids, err := s.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := newModel(t, s, nil, slow, 80, 24)
	m = drive(t, m, scanMsg{raw: ids[0]})
	if !strings.Contains(screenText(m), "UNASSIGNED") {
		t.Fatalf("want unassigned:\n%s", screenText(m))
	}
	m = drive(t, m, ctrl('r'))
	msgs := []tea.Msg{}
	for i, v := range []string{"Joy", "Akello", "F", "20"} {
		if i > 0 {
			msgs = append(msgs, tab)
		}
		msgs = append(msgs, typed(v)...)
	}
	m = drive(t, m, append(msgs, ctrl('s'))...)
	if out := screenText(m); !strings.Contains(out, "Registered Joy Akello on the pre-printed card "+ids[0]) {
		t.Fatalf("not bound to the card:\n%s", out)
	}
}

func TestVoidNeedsPermissionAndConfirmation(t *testing.T) {
	s := newStore(t)
	p, mrn := register(t, s, "Amina", "Okello", "1990-03-04")
	t.Run("a clerk's void is approved by a supervisor at the desk", func(t *testing.T) {
		c := &clock{t: testNow, step: slow}
		cfg := testConfig(s, nil, c)
		cfg.Actor = idcards.Actor{Name: "ann", Role: idcards.RoleClerk}
		m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24}, pushMsg{newDetail(nil, p.ID)})
		if !strings.Contains(screenText(m), "void ID (supervisor approves)") {
			t.Fatalf("void key for a clerk should say a supervisor approves:\n%s", screenText(m))
		}
		m = drive(t, m, append(append([]tea.Msg{keyText('v')}, typed("registered twice")...), enter, keyText('y'))...)
		if out := screenText(m); !strings.Contains(out, "A supervisor approves voiding "+mrn) || !strings.Contains(out, "Supervisor") {
			t.Fatalf("no approval prompt:\n%s", out)
		}
		m = drive(t, m, append(append(typed(supUser), enter), append(typed("wrong"), enter)...)...)
		if out := screenText(m); !strings.Contains(out, "wrong user name or password") || strings.Contains(out, "wrong█") {
			t.Fatalf("bad approval not refused:\n%s", out)
		}
		if id, _ := s.Identifier(context.Background(), mrn); id.State != idcards.IDActive {
			t.Fatal("voided without approval")
		}
		m = drive(t, m, append(typed(supPass), enter)...)
		if id, _ := s.Identifier(context.Background(), mrn); id.State != idcards.IDVoided {
			t.Fatalf("not voided after approval: %+v\n%s", id, screenText(m))
		}
		var actor string
		s.DB().QueryRow(`SELECT actor FROM audit WHERE action = 'identifier.void' OR action LIKE '%void%' ORDER BY seq DESC LIMIT 1`).Scan(&actor)
		if actor != supUser || !strings.Contains(lastAuditAction(t, s, "user.countersign"), "at the desk of ann") {
			t.Fatalf("approval not audited under both names: void by %q, countersign %q", actor, lastAuditAction(t, s, "approval.countersign"))
		}
		if strings.Contains(screenText(m), supPass) {
			t.Fatal("password shown")
		}
	})
	p, mrn = register(t, s, "Amina", "Okello", "1990-03-04")
	t.Run("operator voids after reason and y", func(t *testing.T) {
		m, _ := newModel(t, s, nil, slow, 80, 24)
		m = drive(t, m, pushMsg{newDetail(nil, p.ID)})
		m = drive(t, m, append(append([]tea.Msg{keyText('v')}, typed("duplicate record")...), enter, keyText('n'))...)
		if id, _ := s.Identifier(context.Background(), mrn); id.State != idcards.IDActive {
			t.Fatal("voided without confirmation")
		}
		m = drive(t, m, append(append([]tea.Msg{keyText('v')}, typed("duplicate record")...), enter, keyText('y'))...)
		if id, _ := s.Identifier(context.Background(), mrn); id.State != idcards.IDVoided {
			t.Fatalf("not voided: %+v\n%s", id, screenText(m))
		}
		if !strings.Contains(screenText(m), "VOIDED") {
			t.Fatalf("view:\n%s", screenText(m))
		}
	})
}

func TestFirstRunSetup(t *testing.T) {
	dir := t.TempDir()
	var created *registry.Store
	cfg := Config{Actor: testActor, Schemes: []string{"luhn"}, Now: (&clock{t: testNow, step: slow}).now,
		Create: func(ctx context.Context, f idcards.Format) (Registry, error) {
			s, err := registry.Create(ctx, dir+"/r.db", f)
			if err != nil {
				return nil, err
			}
			created = s
			return deskReg{s}, nil
		}}
	m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(screenText(m), "No registry was found") {
		t.Fatalf("no setup:\n%s", screenText(m))
	}
	m = drive(t, m, append(typed("KLA"), ctrl('s'))...)
	if !strings.Contains(screenText(m), `prefix "KLA" cannot be used with scheme luhn`) {
		t.Fatalf("bad prefix not explained:\n%s", screenText(m))
	}
	m = drive(t, m, ctrl('u'))
	m = drive(t, m, append(typed("042"), ctrl('s'))...)
	if out := screenText(m); created != nil || !strings.Contains(out, "First ID: 0420000010") || !strings.Contains(out, "The first ID will be 0420000010") {
		t.Fatalf("no preview and confirmation before creating:\n%s", out)
	}
	m = drive(t, m, keyText('y'))
	if created == nil {
		t.Fatalf("not created:\n%s", screenText(m))
	}
	defer created.Close()
	if !strings.Contains(screenText(m), "Find or register") {
		t.Fatalf("not on find screen:\n%s", screenText(m))
	}
}

func TestGoldenViews(t *testing.T) {
	s := newStore(t)
	register(t, s, "Amina", "Okello", "1990-03-04")
	grace, mrn := register(t, s, "Grace", "Atim", "1985-01-02")
	codec, _ := barcode.NewCodec(testFmt)
	unknown, _ := codec.Make(999)
	cards, err := s.RecordCards(idcards.WithActor(context.Background(), testActor), []string{mrn}, "test", "", "")
	if err != nil {
		t.Fatal(err)
	}
	serial := func(out string) string { // card serials are random
		return strings.ReplaceAll(out, cards[0].Serial, strings.Repeat("X", len(cards[0].Serial)))
	}
	views := []struct {
		name string
		msgs []tea.Msg
	}{
		{"find_empty", nil},
		{"find_results", append(typed("a"), enter)},
		{"register_form", regForm("Amina", "Okello", "F", "1990-05-05")},
		{"duplicate_warning", append(regForm("Amina", "Okello", "F", "1990-05-05"), ctrl('s'))},
		{"scan_active", []tea.Msg{scanMsg{raw: mrn}}},
		{"scan_unknown", []tea.Msg{scanMsg{raw: unknown}}},
		{"scan_invalid_check", []tea.Msg{scanMsg{raw: mrn[:len(mrn)-1] + "0"}}},
		{"full_help", []tea.Msg{keyCode(tea.KeyF1)}},
		{"patient_detail", []tea.Msg{pushMsg{newDetail(nil, grace.ID)}}},
		{"reprint_reason", []tea.Msg{pushMsg{newDetail(nil, grace.ID)}, keyText('r')}},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, v := range views {
			t.Run(fmt.Sprintf("%s_%dx%d", v.name, size[0], size[1]), func(t *testing.T) {
				cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
				cfg.Registry = fixedPath{deskReg{s}}
				m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				m = drive(t, m, v.msgs...)
				out := serial(screenText(m))
				checkLayout(t, out, size[0], size[1])
				golden.RequireEqual(t, out)
			})
		}
	}
}

// The setup screen with every scheme this build has: the list wraps and the
// choice stays visible; the first ID is previewed and confirmed.
func TestGoldenSetup(t *testing.T) {
	create := func(ctx context.Context, f idcards.Format) (Registry, error) {
		return nil, fmt.Errorf("not in this test")
	}
	views := []struct {
		name string
		msgs []tea.Msg
	}{
		{"empty", nil},
		{"prefix_typed", typed("KLA")},
		{"scheme_chosen", append(typed("KLA"), tab, tab, keyCode(tea.KeyRight), keyCode(tea.KeyRight))},
		{"confirm", append(typed("KLA"), ctrl('s'))},
		{"bad_prefix", append(typed("KL-"), ctrl('s'))},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, v := range views {
			t.Run(fmt.Sprintf("%s_%dx%d", v.name, size[0], size[1]), func(t *testing.T) {
				cfg := Config{Actor: testActor, Schemes: barcode.Names(), Create: create, Now: (&clock{t: testNow, step: slow}).now}
				m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				m = drive(t, m, v.msgs...)
				out := screenText(m)
				if n := strings.Count(out, "\n") + 1; n != size[1] {
					t.Errorf("view has %d lines, want %d", n, size[1])
				}
				if strings.Contains(out, "…") {
					t.Errorf("something is cut:\n%s", out)
				}
				golden.RequireEqual(t, out)
			})
		}
	}
}

func lastAudit(t *testing.T, s *registry.Store) string {
	t.Helper()
	var a, subj, d string
	if err := s.DB().QueryRow(`SELECT action, coalesce(subject,''), coalesce(detail,'') FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&a, &subj, &d); err != nil {
		t.Fatal(err)
	}
	return a + " " + subj + " " + d
}

func lastAuditAction(t *testing.T, s *registry.Store, action string) string {
	t.Helper()
	var d string
	if err := s.DB().QueryRow(`SELECT coalesce(detail,'') FROM audit WHERE action = ? ORDER BY seq DESC LIMIT 1`, action).Scan(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// fixedPath hides the temp dir so golden files do not depend on it.
type fixedPath struct{ deskReg }

func (fixedPath) Path() string { return "/data/registry.db" }

func TestPasteIntoField(t *testing.T) {
	s := newStore(t)
	register(t, s, "Grace", "Atim", "1985-01-02")
	m, _ := newModel(t, s, nil, slow, 80, 24)
	m = drive(t, m, tea.PasteMsg{Content: "at\x1b[2Jim\n"})
	if out := screenText(m); !strings.Contains(out, "Find            at[2Jim█") {
		t.Fatalf("paste:\n%s", out)
	}
	m = drive(t, m, ctrl('u'), tea.PasteMsg{Content: "atim\r\n"}, enter)
	if out := screenText(m); !strings.Contains(out, "Grace Atim") {
		t.Fatalf("search after paste:\n%s", out)
	}
}

// TestDuplicateWarning_SmallTerminal: at 40×10 the warning showed the
// record's name cut after it ("Amina Okello …"): no birth date, no reasons,
// no new record to compare. Now the selected record is wrapped with what
// tells two people apart, and asking why keeps its field on the screen.
func TestDuplicateWarning_SmallTerminal(t *testing.T) {
	s := newStore(t)
	register(t, s, "Amina", "Okello", "1990-05-05")
	cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
	m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 40, Height: 10})
	m = drive(t, m, append(regForm("Amina", "Okello", "F", "1990-05-05"), ctrl('s'))...)
	out := wantScreen(t, m, "PROBABLE", "1990-05-05", "why: same name", "NEW Amina Okello", "s same person")
	checkLayout(t, out, 40, 10)
	m = drive(t, m, keyText('n'))
	out = wantScreen(t, m, "Why is this a different person", "> Reason", "PROBABLE")
	checkLayout(t, out, 40, 10)
}

// TestLongNamesOnAWideTerminal: the duplicate warning and the review list
// cut names at 22 characters even at 200 columns ("Mariaconceptiona
// Espe…"), so two records differing in the family name looked the same.
// On a wide terminal the name column now takes the room there is: names
// whole, the columns after them still lined up.
func TestLongNamesOnAWideTerminal(t *testing.T) {
	const given = "Mariaconceptiona Esperanza"
	s := newStore(t)
	register(t, s, given, "Bergh", "1990-05-05")
	aligned := func(t *testing.T, out string, names ...string) {
		t.Helper()
		col := -1
		for _, n := range names {
			i := strings.Index(out, n+" ")
			if i < 0 {
				t.Fatalf("no whole %q:\n%s", n, out)
			}
			line := out[strings.LastIndex(out[:i], "\n")+1:]
			line = line[:strings.Index(line, "\n")]
			c := strings.Index(line, "1990-05-05")
			if c < 0 || col >= 0 && c != col {
				t.Fatalf("birth date column of %q at %d, want %d:\n%s", n, c, col, out)
			}
			col = c
		}
	}
	cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
	cfg.StatusEvery = -1
	m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 200, Height: 40})
	m = drive(t, m, append(regForm(given, "Berghe", "F", "1990-05-05"), ctrl('s'))...)
	out := wantScreen(t, m, "may be this person")
	checkLayout(t, out, 200, 40)
	aligned(t, out, given+" Bergh", given+" Berghe")

	m = drive(t, m, keyText('n'))
	m = drive(t, m, append(typed("sisters, different mothers"), enter)...)
	if _, err := s.ScanDuplicates(opCtx, registry.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, esc, esc, ctrl('d'))
	out = wantScreen(t, m, "1 pair(s)")
	checkLayout(t, out, 200, 40)
	aligned(t, out, given+" Bergh", given+" Berghe")
}

// TestScan_CardOfAnotherID: a 2D code whose MRN is fine but whose serial
// is another ID's card showed "NOT AN ID … not an ID of this clinic" with
// the MRN's patient named under it.
func TestScan_CardOfAnotherID(t *testing.T) {
	s := newStore(t)
	_, a := register(t, s, "Peter", "Ouma", "1970-10-10")
	_, b := register(t, s, "Grace", "Atim", "1985-01-02")
	other := strings.Fields(cardFor(t, s, b, ""))[1]
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}), scanMsg{raw: barcode.Format2D(a, other)})
	wantScreen(t, m, "CARD DOES NOT MATCH", "find the patient by name", "belongs to a different MRN")
	noScreen(t, m, "NOT AN ID", "Peter Ouma", "Grace Atim")
}
