package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
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
(with a duplicate warning before a new ID is issued), issue IDs, print and
reprint cards, and check scanned cards.

A keyboard-wedge scanner works on every screen: a fast burst of keys ending
in Enter is taken as a scan and the result fills the screen (F2 opens scan
mode for typing a code by hand). Esc goes back, ? shows all keys, ctrl+c quits.

On a machine without a registry the UI first asks for the site prefix and
check-digit scheme and creates it (the same as ` + "`idcards init`" + `).
Logs go to $IDCARDS_LOG or tui.log next to the registry, never to the screen.`,
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
		return s
	}
	cfg := tui.Config{Actor: actor, Log: log, Schemes: barcode.Names()}
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
	case idcards.ErrorKind(err) == idcards.NotFound:
		if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
			return err
		}
		log.Info("no registry: first-run setup", "path", path)
	default:
		return err
	}
	cfg.Printer = &textPrinter{dir: filepath.Join(filepath.Dir(path), "cards"), open: func() *registry.Store {
		if len(stores) == 0 {
			return nil
		}
		return stores[len(stores)-1]
	}}
	log.Info("tui start", "registry", path, "actor", actor.Name)
	p := tea.NewProgram(tui.New(ctx, cfg), tea.WithContext(ctx), tea.WithInput(a.stdin), tea.WithOutput(a.stdout))
	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// textPrinter stands in until PDF printing is wired: it records the card
// in the registry (serial, replaced old card) and writes a text file.
type textPrinter struct {
	dir  string
	open func() *registry.Store
}

func (p *textPrinter) PrintCards(ctx context.Context, mrns []string, reprint bool, reason string) (string, error) {
	s := p.open()
	if s == nil {
		return "", idcards.Errorf(idcards.Unavailable, "no registry open")
	}
	cards, err := s.RecordCards(ctx, mrns, "text", "", reason)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return "", fmt.Errorf("print: %w", err)
	}
	var b strings.Builder
	for _, c := range cards {
		fmt.Fprintf(&b, "MRN %s\ncard %s\nprinted %s by %s\n\n", c.MRN, c.Serial, c.PrintedAt.Format(time.RFC3339), c.PrintedBy)
	}
	out := filepath.Join(p.dir, cards[0].Serial+".txt")
	if err := os.WriteFile(out, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("print: %w", err)
	}
	return out, nil
}
