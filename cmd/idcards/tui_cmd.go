package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/idcards/idcards/printing"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
		logPath = filepath.Join(filepath.Dir(path), "tui.log")
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
	actor := a.osActor()
	actx := idcards.WithActor(ctx, actor)

	var stores []*registry.Store
	defer func() {
		for _, s := range stores {
			s.Close()
		}
	}()
	wrap := func(s *registry.Store) tui.Registry {
		stores = append(stores, s)
		return deskStore{s} // removed at merge: return s
	}
	// Desk users sign in with their personal accounts (issue: no shared or
	// default account); a registry without accounts starts with the
	// first-admin screen, which cannot be skipped.
	cfg := tui.Config{Actor: actor, Log: log, Schemes: barcode.Names(), SignIn: true}
	cfg.Create = func(ctx context.Context, f idcards.Format) (tui.Registry, error) {
		s, err := registry.Create(ctx, path, f)
		if err != nil {
			return nil, err
		}
		return wrap(s), nil
	}
	s, err := registry.Open(actx, path)
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
	case idcards.ErrorKind(err) == idcards.NotFound:
		if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
			return err
		}
		log.Info("no registry: first-run setup", "path", path)
	default:
		return err
	}
	cfg.Printer = &pdfPrinter{dir: filepath.Join(filepath.Dir(path), "cards"), lp: a.getenv("IDCARDS_LP"), open: func() *registry.Store {
		if len(stores) == 0 {
			return nil
		}
		return stores[len(stores)-1]
	}}
	if cfg.Registry != nil {
		kick, stop := a.startBackgroundSync(ctx, s, "tui", log)
		defer stop()
		cfg.SyncKick = kick
	}
	log.Info("tui start", "registry", path, "os_user", actor.Name)
	p := tea.NewProgram(tui.New(ctx, cfg), tea.WithContext(ctx), tea.WithInput(a.stdin), tea.WithOutput(a.stdout))
	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// deskStore gives *registry.Store the methods the desk screen uses that
// the edit branch adds to the registry (EditPatient, Countersign, IssueID
// with a reason). removed at merge: the Store satisfies tui.Registry itself.
// Until then each method uses the Store's own when it has one (asked at
// run time, so this compiles before and after the merge) and otherwise
// does the nearest thing the Store can.
type deskStore struct{ *registry.Store }

func (d deskStore) EditPatient(ctx context.Context, e registry.PatientEdit) (idcards.Patient, []idcards.Candidate, error) {
	if ed, ok := any(d.Store).(interface {
		EditPatient(context.Context, registry.PatientEdit) (idcards.Patient, []idcards.Candidate, error)
	}); ok {
		return ed.EditPatient(ctx, e)
	}
	return idcards.Patient{}, nil, idcards.Errorf(idcards.Unavailable, "editing a patient needs a newer registry (this build has no registry.EditPatient)")
}

func (d deskStore) Countersign(ctx context.Context, user, pass string) (context.Context, error) {
	if cs, ok := any(d.Store).(interface {
		Countersign(context.Context, string, string) (context.Context, error)
	}); ok {
		return cs.Countersign(ctx, user, pass)
	}
	a, err := d.Authenticate(ctx, user, pass)
	if err != nil {
		return nil, err
	}
	if !idcards.Allowed(a.Role, idcards.PermVoid) {
		return nil, idcards.Errorf(idcards.Forbidden, "%s is not a supervisor: only a supervisor can approve this", a.Name)
	}
	return idcards.WithActor(ctx, a), nil
}

func (d deskStore) IssueID(ctx context.Context, patientID int64, reason string) (idcards.Identifier, error) {
	switch is := any(d.Store).(type) {
	case interface {
		IssueID(context.Context, int64, string) (idcards.Identifier, error)
	}:
		return is.IssueID(ctx, patientID, reason)
	case interface {
		IssueID(context.Context, int64) (idcards.Identifier, error)
	}:
		id, err := is.IssueID(ctx, patientID)
		if err == nil && strings.TrimSpace(reason) != "" {
			err = d.Audit(ctx, "identifier.issue_reason", id.MRN, reason)
		}
		return id, err
	}
	return idcards.Identifier{}, idcards.Errorf(idcards.Internal, "registry has no IssueID")
}

// pdfPrinter prints from the desk: it checks and records the cards (serial,
// replaced old card, audit), renders one card-size page per card to a PDF
// under DIR/cards/, and sends it to the printer named by the card_printer
// setting through lp when one is set.
type pdfPrinter struct {
	dir  string
	open func() *registry.Store
	lp   string
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
	facility, logo, err := cardLook(ctx, s, "", "")
	if err != nil {
		return "", err
	}
	sheet, err := printing.LayoutSheet("card")
	if err != nil {
		return "", err
	}
	r, err := printing.NewRenderer(sheet, printing.RenderOptions{
		Options: printing.Options{Facility: facility, Symbols: []barcode.Symbology{barcode.Code128, barcode.QR}, Content2D: content2D},
		Logo:    logo, Title: "idcards card",
	})
	if err != nil {
		return "", err
	}
	if !reprint {
		reason = ""
	}
	cards, err := s.RecordCards(ctx, good, "card", newBatchID(), reason)
	if err != nil {
		return "", err
	}
	if err := addCards(ctx, s, r, cards, func(int) {}); err != nil {
		return "", err
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return "", fmt.Errorf("print: %w", err)
	}
	out := filepath.Join(p.dir, cards[0].Serial+".pdf")
	f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("print: %w", err)
	}
	if err := r.Finish(f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("print: %w", err)
	}
	printer, err := s.Setting(ctx, "card_printer", "")
	if err != nil || printer == "" {
		return out, err
	}
	lp := p.lp
	if lp == "" {
		lp = "lp"
	}
	if msg, err := exec.CommandContext(ctx, lp, "-d", printer, out).CombinedOutput(); err != nil {
		return "", idcards.Errorf(idcards.Unavailable, "printer %s: %v: %s (the card is recorded and saved as %s)", printer, err, strings.TrimSpace(string(msg)), out)
	}
	return "printer " + printer, nil
}
