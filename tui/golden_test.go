package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// checkLayout is issue 14's layout rule at a fixed size: exactly h lines,
// none wider than w, and nothing cut ("…" from truncation).
func checkLayout(t *testing.T, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d wide: %q", i, n, l)
		}
	}
	if strings.Contains(out, "…") {
		t.Errorf("something is cut:\n%s", out)
	}
}

// deskFixture is the registry the golden screens show: two patients (one
// with a reprinted card), a voided MRN, a pre-printed blank, a mistyped
// MRN, and the replacer that hides the card serials.
type deskFixture struct {
	s                            *registry.Store
	mrn, voided, wrong, old, cur string
	blank                        []string
	grace                        idcards.Patient
	hide                         *strings.Replacer
}

func newDeskFixture(t *testing.T) deskFixture {
	t.Helper()
	s := newStore(t)
	_, amina := register(t, s, "Amina", "Okello", "1990-03-04")
	grace, mrn := register(t, s, "Grace", "Atim", "1985-01-02")
	old := cardFor(t, s, mrn, "")
	cur := cardFor(t, s, mrn, "lost at the market")
	_, voided := register(t, s, "Ben", "Okot", "1970-01-01")
	if err := s.Void(opCtx, voided, "registered twice"); err != nil {
		t.Fatal(err)
	}
	blank, err := s.Reserve(opCtx, 1)
	if err != nil {
		t.Fatal(err)
	}
	wrong := amina[:len(amina)-1] + string("0123456789"[(strings.IndexByte("0123456789", amina[len(amina)-1])+1)%10])
	hide := strings.NewReplacer(old[len(old)-9:], "COLDCARD1", cur[len(cur)-9:], "CNEWCARD2")
	return deskFixture{s: s, mrn: mrn, old: old, cur: cur, voided: voided, blank: blank, wrong: wrong, grace: grace, hide: hide}
}

// TestGoldenDesk: the screens of a clerk's day at 80×24 and 120×40, each
// checked for fit and kept as a golden file (go test ./tui -run
// TestGoldenDesk -update rewrites them).
func TestGoldenDesk(t *testing.T) {
	fx := newDeskFixture(t)
	s, grace, mrn, voided, blank, wrong, hide := fx.s, fx.grace, fx.mrn, fx.voided, fx.blank, fx.wrong, fx.hide
	old, cur := fx.old, fx.cur
	detail := func(msgs ...tea.Msg) []tea.Msg { return append([]tea.Msg{pushMsg{newDetail(nil, grace.ID)}}, msgs...) }
	views := []struct {
		name  string
		clerk bool
		msgs  []tea.Msg
	}{
		{"status_pending", true, []tea.Msg{statusTickMsg{}}},
		{"find_wrong_check", false, append(typed(wrong), enter)},
		{"register_errors", false, append(regForm("Amina😀", "Okello", "F", ""), ctrl('s'))},
		{"register_no_birth", false, append(regForm("Amina", "Okello", "F", ""), ctrl('s'))},
		{"override_reason", false, append(regForm("Amina", "Okello", "F", "1990-03-04"), ctrl('s'), keyText('n'))},
		{"patient_keys_clerk", true, detail()},
		{"patient_help", false, detail(keyCode(tea.KeyF1))},
		{"edit_form", false, detail(keyText('e'))},
		{"edit_reason", false, detail(append([]tea.Msg{keyText('e'), tab, ctrl('u')}, append(typed("Atimo"), ctrl('s'))...)...)},
		{"issue_another", false, detail(keyText('i'))},
		{"bind_prompt", false, detail(keyText('b'))},
		{"void_approval", true, detail(append(append([]tea.Msg{keyText('v')}, typed("registered twice")...), enter, keyText('y'))...)},
		{"scan_replaced", false, []tea.Msg{scanMsg{raw: old}}},
		{"scan_2d_active", false, []tea.Msg{scanMsg{raw: "]Q1" + cur}}},
		{"scan_code128", false, []tea.Msg{scanMsg{raw: mrn}}},
		{"scan_voided", false, []tea.Msg{scanMsg{raw: voided}}},
		{"scan_unassigned", false, []tea.Msg{scanMsg{raw: blank[0]}}},
		{"scan_wrong_length", false, []tea.Msg{scanMsg{raw: mrn[:6]}}},
		{"quit_asks", false, append(append([]tea.Msg{ctrl('n')}, typed("Nakato")...), ctrl('c'))},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, v := range views {
			t.Run(fmt.Sprintf("%s_%dx%d", v.name, size[0], size[1]), func(t *testing.T) {
				cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
				cfg.Registry, cfg.StatusEvery = fixedPath{deskReg{s}}, -1
				if v.clerk {
					cfg.Actor = idcards.Actor{Name: "ann", Role: idcards.RoleClerk}
				}
				m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				m = drive(t, m, v.msgs...)
				out := hide.Replace(screenText(m))
				checkLayout(t, out, size[0], size[1])
				golden.RequireEqual(t, out)
			})
		}
	}
}

// TestGoldenNamesakes: the duplicate warning when four women of one name,
// their ages estimated around the one typed, fit about equally well: the
// clerk is told what to ask for.
func TestGoldenNamesakes(t *testing.T) {
	s := newStore(t)
	graceAkellos(t, s)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("warning_%dx%d", size[0], size[1]), func(t *testing.T) {
			cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
			cfg.Registry, cfg.StatusEvery = fixedPath{deskReg{s}}, -1
			m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			m = drive(t, m, append(regForm("Grace", "Akello", "F", "36"), ctrl('s'))...)
			out := screenText(m)
			checkLayout(t, out, size[0], size[1])
			if !strings.Contains(strings.Join(strings.Fields(out), " "), "ask for the phone number or village to tell them apart") {
				t.Errorf("no advice:\n%s", out)
			}
			golden.RequireEqual(t, out)
			// ↓ selects the next record and shows its reasons instead
			// when they do not all fit.
			wantReasonsUnder(t, screenText(drive(t, m, keyCode(tea.KeyDown))), "Mukono")
		})
	}
}

// TestGoldenEditNamesakes: an edit that makes a record look like four
// namesakes lists them in the warning's layout, within an 80×24 screen.
func TestGoldenEditNamesakes(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("edit_saved_%dx%d", size[0], size[1]), func(t *testing.T) {
			s := newStore(t)
			graceAkellos(t, s)
			p, _, err := s.Register(opCtx, registry.Registration{Patient: registry.NewPatient{GivenName: "Grace", FamilyName: "Okot", Sex: idcards.SexFemale,
				BirthDate: "1990-07-01", BirthDateEstimated: true}, Decision: "test"})
			if err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
			cfg.Registry, cfg.StatusEvery = fixedPath{deskReg{s}}, -1
			m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			msgs := []tea.Msg{pushMsg{newDetail(nil, p.ID)}, keyText('e'), tab, ctrl('u')}
			msgs = append(append(msgs, typed("Akello")...), ctrl('s'))
			msgs = append(append(msgs, typed("family name misspelt")...), enter)
			m = drive(t, m, msgs...)
			out := screenText(m)
			checkLayout(t, out, size[0], size[1])
			for _, want := range []string{"now looks like 4 other patient(s)", "EDITED", "Gayaza", "patients merge", "back to the patient"} {
				if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
					t.Errorf("no %q:\n%s", want, out)
				}
			}
			golden.RequireEqual(t, out)
			// ↓ shows the next record's reasons when they do not all fit.
			wantReasonsUnder(t, screenText(drive(t, m, keyCode(tea.KeyDown))), "Mukono")
		})
	}
}

// graceAkellos registers four Grace Akello of estimated ages 34–38, each
// with a phone and a village of her own: namesakes none of which stands
// out for "Grace Akello, 36".
func graceAkellos(t *testing.T, s *registry.Store) {
	t.Helper()
	for i, v := range []string{"Kireka", "Seeta", "Mukono", "Gayaza"} {
		np := registry.NewPatient{GivenName: "Grace", FamilyName: "Akello", Sex: idcards.SexFemale, BirthDate: []string{"1988", "1989", "1991", "1992"}[i] + "-07-01",
			BirthDateEstimated: true, Phone: fmt.Sprintf("07%d2%06d", i+1, 111111*(i+1)), Village: v}
		if _, _, err := s.Register(opCtx, registry.Registration{Patient: np, Decision: "test"}); err != nil {
			t.Fatal(err)
		}
	}
}

// wantReasonsUnder fails unless the row naming village has its reasons
// (a "why:" line) under it.
func wantReasonsUnder(t *testing.T, out, village string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, village) && (i+1 == len(lines) || !strings.Contains(lines[i+1], "why:")) {
			t.Errorf("the selected record's reasons are not shown:\n%s", out)
		}
	}
}

// TestGoldenSignIn: sign-in, lock, a refusal, and the first sign-in that
// must choose a password.
func TestGoldenSignIn(t *testing.T) {
	s := newStore(t)
	if err := s.AddUser(opCtx, registry.NewUser{Username: "okot", Role: idcards.RoleClerk, Password: "initial pass 1234", MustChange: true}); err != nil {
		t.Fatal(err)
	}
	codec, _ := barcode.NewCodec(testFmt)
	code, _ := codec.Make(1)
	signIn := func(u, p string) []tea.Msg { return append(append(typed(u), enter), append(typed(p), enter)...) }
	views := []struct {
		name string
		auth Authenticator
		msgs []tea.Msg
	}{
		{"sign_in", fakeAuth{}, nil},
		{"refused", lockedAuth{}, signIn("ann", "nope")},
		{"scan_held", fakeAuth{}, []tea.Msg{keyCode(tea.KeyF2)}},
		{"locked", fakeAuth{}, append(signIn("ann", "s3cret"), ctrl('l'))},
		{"first_sign_in", nil, signIn("okot", "initial pass 1234")},
	}
	_ = code
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, v := range views {
			t.Run(fmt.Sprintf("%s_%dx%d", v.name, size[0], size[1]), func(t *testing.T) {
				cfg := testConfig(s, nil, &clock{t: testNow, step: slow})
				cfg.Registry, cfg.StatusEvery, cfg.IdleCheck, cfg.Actor = fixedPath{deskReg{s}}, -1, -1, idcards.Actor{}
				if v.auth != nil {
					cfg.Auth = v.auth
				} else {
					cfg.SignIn = true
				}
				m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				m = drive(t, m, v.msgs...)
				out := screenText(m)
				checkLayout(t, out, size[0], size[1])
				golden.RequireEqual(t, out)
			})
		}
	}
}
