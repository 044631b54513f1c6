package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/idcards/idcards/printing"
	"io/fs"
	stdlog "log"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
	"github.com/idcards/idcards/tui"
)

func (a *app) tuiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tui",
		Short: "Open the registration desk screen (also: idcards with no command)",
		Long: `Open the clerk's terminal UI on the registry: find or register patients
(with a duplicate warning before a new ID is issued; over a probable
duplicate only with a reason), edit a patient's details, issue IDs, print
and reprint cards, give pre-printed cards, void IDs, and check scanned cards.

Desk users sign in with their own accounts. ctrl+l locks the desk (the same
user finds their screens as left), ctrl+q signs out, ctrl+c quits (asking
first when a form is half filled in). The desk also locks after the
idle_lock_minutes setting, re-read while it runs. A void or a registration
past the hourly cap can be approved by a supervisor typing their password at
the clerk's desk.

A keyboard-wedge scanner works on every screen, the sign-in screen included:
a fast run of keys ending in Enter that looks like an ID or a card's 2D
content (MRN SERIAL, with or without an AIM prefix) is a scan; the screen
under it keeps what was typed, and the panel opens over it (on the sign-in
screen it waits for the sign-in). F2 opens scan mode for typing a code by
hand. Pastes go into one field. Esc goes back, F1 (or ?) shows all keys.

On a machine without a registry the UI first asks for the site prefix and
check-digit scheme, shows the first ID it will issue and creates it after a
y (the same as ` + "`idcards init`" + `). Logs go to $IDCARDS_LOG or tui.log next
to the registry, never to the screen, and never hold what was typed at
sign-in. docs/tui.md describes every screen.`,
		Example: `  idcards                       # default registry
  idcards --db /srv/desk.db tui
  IDCARDS_LOG=/tmp/tui.log idcards`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runTUI(cmd.Context()) },
	}
}

// runTUI opens (or offers to create) the registry and runs the UI.
func (a *app) runTUI(ctx context.Context) error {
	if f, ok := a.stdin.(*os.File); ok && !term.IsTerminal(f.Fd()) {
		return idcards.Errorf(idcards.Invalid, "the desk screen needs a terminal (stdin is not one); for scripts use `idcards verify`, `idcards issue` and the other commands (see idcards --help)")
	}
	path := a.registryPath()
	logPath := a.getenv("IDCARDS_LOG")
	if logPath == "" {
		logPath = filepath.Join(a.localDir(path), "tui.log")
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fmt.Errorf("tui: log: %w", err)
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("tui: log: %w", err)
	}
	defer lf.Close()
	log := slog.New(slog.NewTextHandler(lf, nil))
	// Libraries that log through the standard logger (net/http's
	// "Unsolicited response received on idle HTTP channel", say) wrote
	// straight onto the desk screen: their lines go to the log file too.
	prevOut, prevFlags := stdlog.Writer(), stdlog.Flags()
	stdlog.SetOutput(lf)
	defer func() { stdlog.SetOutput(prevOut); stdlog.SetFlags(prevFlags) }()
	actor := a.osActor()
	actx := idcards.WithActor(ctx, actor)

	var stores []*registry.Store
	defer func() {
		for _, s := range stores {
			s.Close()
		}
	}()
	wrap := func(s *registry.Store) tui.Registry {
		stores = append(stores, s) // closed when the desk screen ends
		return s
	}
	// Desk users sign in with their personal accounts (issue: no shared or
	// default account); a registry without accounts starts with the
	// first-admin screen, which cannot be skipped.
	cfg := tui.Config{Actor: actor, Log: log, Schemes: barcode.Names(), SignIn: true}
	cfg.Create = func(ctx context.Context, f idcards.Format) (tui.Registry, error) {
		s, err := registry.CreateWith(ctx, path, f, a.storeOptions())
		if err != nil {
			return nil, err
		}
		return wrap(s), nil
	}
	s, err := registry.OpenWith(actx, path, a.storeOptions())
	switch {
	case err == nil:
		cfg.Registry = wrap(s)
		if f, err := s.Format(actx); err == nil && cfg.Site == "" {
			cfg.Site = f.Prefix
		}
		has, err := s.HasUsers(actx)
		if err != nil {
			return err
		}
		cfg.NoUsers = !has
		// The desk re-reads idle_lock_minutes while it runs; this is the
		// value for the first minutes.
		if v, err := s.Setting(actx, "idle_lock_minutes", "5"); err == nil {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				cfg.IdleLock = time.Duration(n) * time.Minute
			}
		}
	case idcards.ErrorKind(err) == idcards.NotFound, errors.Is(err, registry.ErrEmptyDatabase):
		if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
			return err
		}
		log.Info("no registry: first-run setup", "path", path)
	default:
		return err
	}
	current := func() *registry.Store {
		if len(stores) == 0 {
			return nil
		}
		return stores[len(stores)-1]
	}
	cfg.Printer = &pdfPrinter{dir: filepath.Join(a.localDir(path), "cards"), lp: a.getenv("IDCARDS_LP"), lpstat: a.getenv("IDCARDS_LPSTAT"), lpMedia: a.getenv("IDCARDS_LP_MEDIA"), open: current}
	cfg.Lookalikes = deskJudge{a: a, open: current}
	// A finished sync round is told to the desk at once (the screen shows
	// a registration sync held without waiting for its 5-second re-read).
	var prog atomic.Pointer[tea.Program]
	if cfg.Registry != nil {
		kick, stop := a.startBackgroundSync(ctx, s, "tui", log, func() {
			if p := prog.Load(); p != nil {
				p.Send(tui.SyncRoundMsg{})
			}
		})
		defer stop()
		cfg.SyncKick = kick
	}
	log.Info("tui start", "registry", path, "os_user", actor.Name)
	p := tea.NewProgram(tui.New(ctx, cfg), tea.WithContext(ctx), tea.WithInput(a.stdin), tea.WithOutput(a.stdout))
	prog.Store(p)
	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// pdfPrinter prints from the desk on the same path as idcards print
// (printJob): it checks the IDs, records the cards as pending, renders one
// card-size page per card (Code 128 + QR) to DIR/cards/MRN-SERIAL.pdf
// (several cards: DIR/cards/BATCH-Ncards.pdf; printJob.dirName), sends it
// to the printer named by the card_printer setting through lp when one is
// set, and only then confirms the cards. A failure leaves no active card.
// where is for the clerk: "saved as /path/x.pdf" or "printed on NAME".
type pdfPrinter struct {
	dir     string
	open    func() *registry.Store
	lp      string
	lpstat  string
	lpMedia string // $IDCARDS_LP_MEDIA, as for idcards print
}

func (p *pdfPrinter) PrintCards(ctx context.Context, mrns []string, reprint bool, reason string) (string, error) {
	s := p.open()
	if s == nil {
		return "", idcards.Errorf(idcards.Unavailable, "no registry open")
	}
	good, bad, err := s.CheckPrintable(ctx, mrns)
	if err != nil {
		return "", err
	}
	if len(bad) > 0 {
		return "", idcards.Errorf(idcards.Invalid, "cannot print %s: %s", bad[0].Input, bad[0].Reason)
	}
	look, err := cardLookup(ctx, s, "", "")
	if err != nil {
		return "", err
	}
	sheet, err := printing.LayoutSheet("card")
	if err != nil {
		return "", err
	}
	printer, err := s.Setting(ctx, "card_printer", "")
	if err != nil {
		return "", err
	}
	if !reprint {
		reason = ""
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return "", fmt.Errorf("print: %w", err)
	}
	lp, lpstat := p.lp, p.lpstat
	if lp == "" {
		lp = "lp"
	}
	if lpstat == "" {
		lpstat = "lpstat"
	}
	if lpstat == "none" {
		lpstat = ""
	}
	batch := newBatchID()
	j := &printJob{
		s: s, sheet: sheet, layout: "card", reason: reason, batch: batch,
		opts: printing.RenderOptions{
			Options: printing.Options{Facility: look.facility, Symbols: []barcode.Symbology{barcode.Code128, barcode.QR}, Content2D: content2D, ShowSerial: look.serial},
			Logo:    look.logo, Title: "idcards card",
		},
		look: look.cardSettings, outDir: p.dir, printer: printer, lp: lp, lpstat: lpstat, lpMedia: p.lpMedia,
	}
	var warned strings.Builder // what the CLI prints to stderr: the desk shows it (tui.printedWords)
	j.warn = &warned
	res, err := j.run(ctx, good)
	if err != nil {
		return "", err
	}
	var notes []string
	for _, l := range strings.Split(strings.TrimSpace(warned.String()), "\n") {
		if l = strings.TrimSpace(strings.TrimPrefix(l, "warning: ")); l != "" {
			notes = append(notes, l)
		}
	}
	where := "printed on " + printer
	if printer == "" {
		where = "saved as " + res.Files[0]
	}
	if len(notes) > 0 {
		where += "\nWarning: " + strings.Join(notes, "; ")
	}
	return where, nil
}
