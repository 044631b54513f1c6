package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// smallView is one screen of the desk, reached by msgs on a model built by cfg.
type smallView struct {
	name string
	cfg  func() Config
	msgs []tea.Msg
	hide *strings.Replacer
}

// smallViews are every screen the clerk meets, for the small-terminal
// layout tests.
func smallViews(t *testing.T) []smallView {
	t.Helper()
	fx := newDeskFixture(t)
	s, grace, mrn, voided, blank, wrong, hide := fx.s, fx.grace, fx.mrn, fx.voided, fx.blank, fx.wrong, fx.hide
	old, cur := fx.old, fx.cur
	desk := func(clerk bool) func() Config {
		return func() Config {
			cfg := testConfig(s, &fakePrinter{s: s}, &clock{t: testNow, step: slow})
			cfg.Registry, cfg.StatusEvery = fixedPath{deskReg{s}}, -1
			if clerk {
				cfg.Actor = idcards.Actor{Name: "ann", Role: idcards.RoleClerk}
			}
			return cfg
		}
	}
	detail := func(msgs ...tea.Msg) []tea.Msg { return append([]tea.Msg{pushMsg{newDetail(nil, grace.ID)}}, msgs...) }
	views := []smallView{
		{name: "find_empty", cfg: desk(false)},
		{name: "find_results", cfg: desk(false), msgs: append(typed("a"), enter)},
		{name: "find_wrong_check", cfg: desk(false), msgs: append(typed(wrong), enter)},
		{name: "register_form", cfg: desk(false), msgs: regForm("Amina", "Okello", "F", "1990-05-05")},
		{name: "register_errors", cfg: desk(false), msgs: append(regForm("Amina😀", "Okello", "F", ""), ctrl('s'))},
		{name: "duplicate_warning", cfg: desk(false), msgs: append(regForm("Amina", "Okello", "F", "1990-05-05"), ctrl('s'))},
		{name: "override_reason", cfg: desk(false), msgs: append(regForm("Amina", "Okello", "F", "1990-03-04"), ctrl('s'), keyText('n'))},
		{name: "patient_detail", cfg: desk(false), msgs: detail()},
		{name: "patient_keys_clerk", cfg: desk(true), msgs: detail()},

		{name: "patient_help", cfg: desk(false), msgs: detail(keyCode(tea.KeyF1))},
		{name: "reprint_reason", cfg: desk(false), msgs: detail(keyText('r'))},
		{name: "edit_form", cfg: desk(false), msgs: detail(keyText('e'))},
		{name: "edit_reason", cfg: desk(false), msgs: detail(append([]tea.Msg{keyText('e'), tab, ctrl('u')}, append(typed("Atimo"), ctrl('s'))...)...)},
		{name: "issue_another", cfg: desk(false), msgs: detail(keyText('i'))},
		{name: "bind_prompt", cfg: desk(false), msgs: detail(keyText('b'))},
		{name: "void_approval", cfg: desk(true), msgs: detail(append(append([]tea.Msg{keyText('v')}, typed("registered twice")...), enter, keyText('y'))...)},
		{name: "scan_replaced", cfg: desk(false), msgs: []tea.Msg{scanMsg{raw: old}}},
		{name: "scan_2d_active", cfg: desk(false), msgs: []tea.Msg{scanMsg{raw: "]Q1" + cur}}},
		{name: "scan_voided", cfg: desk(false), msgs: []tea.Msg{scanMsg{raw: voided}}},
		{name: "scan_unassigned", cfg: desk(false), msgs: []tea.Msg{scanMsg{raw: blank[0]}}},
		{name: "scan_wrong_length", cfg: desk(false), msgs: []tea.Msg{scanMsg{raw: mrn[:6]}}},
		{name: "scan_mode", cfg: desk(false), msgs: []tea.Msg{keyCode(tea.KeyF2)}},
		{name: "quit_asks", cfg: desk(false), msgs: append(append([]tea.Msg{ctrl('n')}, typed("Nakato")...), ctrl('c'))},
		{name: "full_help", cfg: desk(false), msgs: []tea.Msg{keyCode(tea.KeyF1)}},
	}
	// Namesakes: the warning, and an edit that makes a record look like them.
	ns := newStore(t)
	graceAkellos(t, ns)
	p, _, err := ns.Register(opCtx, registry.Registration{Patient: registry.NewPatient{GivenName: "Grace", FamilyName: "Okot", Sex: idcards.SexFemale,
		BirthDate: "1990-07-01", BirthDateEstimated: true}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	nsCfg := func() Config {
		cfg := testConfig(ns, nil, &clock{t: testNow, step: slow})
		cfg.Registry, cfg.StatusEvery = fixedPath{deskReg{ns}}, -1
		return cfg
	}
	editMsgs := []tea.Msg{pushMsg{newDetail(nil, p.ID)}, keyText('e'), tab, ctrl('u')}
	editMsgs = append(append(editMsgs, typed("Akello")...), ctrl('s'))
	views = append(views,
		smallView{name: "namesakes", cfg: nsCfg, msgs: append(regForm("Grace", "Akello", "F", "36"), ctrl('s'))},
		smallView{name: "edit_namesakes", cfg: nsCfg, msgs: append(append(editMsgs, typed("family name misspelt")...), enter)})
	// Review list.
	rs := reviewStore(t)
	rCfg := func() Config {
		cfg := testConfig(rs, nil, &clock{t: testNow, step: slow})
		cfg.Registry, cfg.StatusEvery = reviewPath{fixedPath{deskReg{rs}}}, -1
		return cfg
	}
	views = append(views,
		smallView{name: "review_list", cfg: rCfg, msgs: []tea.Msg{ctrl('d')}},
		smallView{name: "review_reason", cfg: rCfg, msgs: []tea.Msg{ctrl('d'), keyText('2')}})
	// Setup.
	setupCfg := func() Config {
		create := func(ctx context.Context, f idcards.Format) (Registry, error) {
			return nil, fmt.Errorf("not in this test")
		}
		return Config{Actor: testActor, Schemes: barcode.Names(), Create: create, Now: (&clock{t: testNow, step: slow}).now}
	}
	views = append(views,
		smallView{name: "setup_empty", cfg: setupCfg},
		smallView{name: "setup_prefix_typed", cfg: setupCfg, msgs: typed("KLA")},
		smallView{name: "setup_scheme_chosen", cfg: setupCfg, msgs: append(typed("KLA"), tab, tab, keyCode(tea.KeyRight), keyCode(tea.KeyRight))},
		smallView{name: "setup_confirm", cfg: setupCfg, msgs: append(typed("KLA"), ctrl('s'))},
		smallView{name: "setup_bad_prefix", cfg: setupCfg, msgs: append(typed("KL-"), ctrl('s'))})
	// Sign-in.
	ss := newStore(t)
	if err := ss.AddUser(opCtx, registry.NewUser{Username: "okot", Role: idcards.RoleClerk, Password: "initial pass 1234", MustChange: true}); err != nil {
		t.Fatal(err)
	}
	signIn := func(u, p string) []tea.Msg { return append(append(typed(u), enter), append(typed(p), enter)...) }
	siCfg := func(auth Authenticator) func() Config {
		return func() Config {
			cfg := testConfig(ss, nil, &clock{t: testNow, step: slow})
			cfg.Registry, cfg.StatusEvery, cfg.IdleCheck, cfg.Actor = fixedPath{deskReg{ss}}, -1, -1, idcards.Actor{}
			if auth != nil {
				cfg.Auth = auth
			} else {
				cfg.SignIn = true
			}
			return cfg
		}
	}
	views = append(views,
		smallView{name: "sign_in", cfg: siCfg(fakeAuth{})},
		smallView{name: "sign_in_refused", cfg: siCfg(lockedAuth{}), msgs: signIn("ann", "nope")},
		smallView{name: "sign_in_scan_held", cfg: siCfg(fakeAuth{}), msgs: []tea.Msg{keyCode(tea.KeyF2)}},
		smallView{name: "locked", cfg: siCfg(fakeAuth{}), msgs: append(signIn("ann", "s3cret"), ctrl('l'))},
		smallView{name: "first_sign_in", cfg: siCfg(nil), msgs: signIn("okot", "initial pass 1234")})
	for i := range views {
		views[i].hide = hide
	}
	return views
}

// checkFit is checkLayout for every size: exactly h lines, none wider
// than w, and nothing cut — "…" only where a path is shortened in the
// middle (a word with a "/"), as the status line does when it is full.
func checkFit(t *testing.T, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d wide: %q", i, n, l)
		}
		for _, word := range strings.Fields(l) {
			if strings.Contains(word, "…") && !strings.Contains(word, "/") {
				t.Errorf("line %d is cut: %q\n%s", i, l, out)
			}
		}
	}
}

// TestGoldenSmall: every screen at 60×20, 50×16 and 40×10 fits without
// anything cut; what the clerk must see — the field being typed, the
// error or result, the keys to go on — is on the screen, and lines left
// out are said ("▼ N more below"). Kept as golden files at 60×20 and 40×10
// (go test ./tui -run TestGoldenSmall -update rewrites them).
func TestGoldenSmall(t *testing.T) {
	views := smallViews(t)
	for _, size := range [][2]int{{60, 20}, {50, 16}, {40, 10}} {
		for _, v := range views {
			t.Run(fmt.Sprintf("%s_%dx%d", v.name, size[0], size[1]), func(t *testing.T) {
				m := drive(t, New(context.Background(), v.cfg()), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				m = drive(t, m, v.msgs...)
				out := v.hide.Replace(screenText(m))
				checkFit(t, out, size[0], size[1])
				if size[0] != 50 {
					golden.RequireEqual(t, out)
				}
				if dir := os.Getenv("DUMP_SMALL"); dir != "" {
					os.WriteFile(filepath.Join(dir, fmt.Sprintf("%dx%d_%s.txt", size[0], size[1], v.name)), []byte(out+"\n"), 0o644)
				}
			})
		}
	}
}
