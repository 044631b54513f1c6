package main

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"path/filepath"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

// app is what every command shares: the process's I/O and environment and
// the global flags. There is no package-level state, so tests run in parallel.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	dbPath         string
	dbPasswordFile string // --db-password-file: PostgreSQL password (migrate_cmds.go)
	secretsWarned  bool   // warnSecrets ran
	signInUser     string // --user: sign in as this account (users_cmds.go)
	opened         string // the registry open opened: its read errors are told in words (run)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.opened != "" {
		// A damaged page met by a read (writes and opening say it
		// themselves): the file, and what to do, not SQLite's words alone.
		err = registry.Damaged(a.opened, err)
	}
	return err
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "idcards",
		Short: "Check-digit patient IDs, barcoded ID cards and scan verification for a registration desk",
		Long: `idcards issues unique medical record numbers (MRNs) with a check character,
prints them as barcoded ID cards, checks scanned codes against the registry
(CLI, desk screen and an HTTP endpoint for networked scanners) and warns
before a second record is made for a patient already registered.
Registrations reach OpenMRS through "idcards sync" (see idcards sync --help).

The registry is one SQLite file: --db, or $IDCARDS_DB, or by default
` + "`$XDG_DATA_HOME/idcards/registry.db`" + ` (~/.local/share/idcards/registry.db).
A clinic with several desks keeps it on PostgreSQL instead:
--db postgres://USER@HOST:5432/DB?sslmode=verify-full, the password in
PGPASSFILE (~/.pgpass) or --db-password-file, never in the URL (docs/deploy.md).
Run idcards with no command to open the desk screen (the TUI); on a machine
without a registry it first asks for the site prefix and scheme, then for
your personal admin account (there is no default account).
Or start with:  idcards init --site KLA --scheme luhn-mod-30`,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTUI(cmd.Context())
		},
	}
	root.PersistentFlags().StringVar(&a.dbPath, "db", "", "registry file or postgres:// URL (default $IDCARDS_DB or the user's data directory)")
	root.PersistentFlags().StringVar(&a.dbPasswordFile, "db-password-file", "", "file whose first line is the PostgreSQL password (default $IDCARDS_DB_PASSWORD_FILE, else PGPASSFILE / ~/.pgpass)")
	root.PersistentFlags().StringVar(&a.signInUser, "user", "", "sign in as this account (password from $IDCARDS_PASSWORD_FILE or a prompt); needed for changes when cli_sign_in is on")
	// One command per line, so that features added side by side merge cleanly.
	root.AddCommand(a.initCmd())
	root.AddCommand(a.issueCmd())
	root.AddCommand(a.verifyCmd())
	root.AddCommand(a.mrnCmd())
	root.AddCommand(a.seriesCmd())
	root.AddCommand(a.serveCmd())
	root.AddCommand(a.tokensCmd())
	root.AddCommand(a.usersCmd())
	root.AddCommand(a.auditCmd())
	root.AddCommand(a.backupCmd())
	root.AddCommand(a.restoreCmd())
	root.AddCommand(a.approvalsCmd())
	root.AddCommand(a.settingsCmd())
	root.AddCommand(a.tuiCmd())
	root.AddCommand(a.printCmds()...)
	root.AddCommand(a.patientsCmd())
	root.AddCommand(a.syncCmd())
	root.AddCommand(a.migrateCmd())
	return root
}

// registryPath resolves --db, then $IDCARDS_DB, then the data directory.
func (a *app) registryPath() string {
	if a.dbPath != "" {
		return a.dbPath
	}
	if p := a.getenv("IDCARDS_DB"); p != "" {
		return p
	}
	if d := a.getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "idcards", "registry.db")
	}
	if h := a.getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "idcards", "registry.db")
	}
	return "idcards-registry.db"
}

// open opens the registry and returns a context carrying the acting user.
func (a *app) open(ctx context.Context) (*registry.Store, context.Context, error) {
	s, err := registry.OpenWith(ctx, a.registryPath(), a.storeOptions()) // registry_cmds.go: the chain key
	if err != nil {
		return nil, ctx, err
	}
	a.opened = a.registryPath()
	actx, err := a.signIn(ctx, s) // users_cmds.go: --user and cli_sign_in
	if err != nil {
		s.Close()
		return nil, ctx, err
	}
	return s, actx, nil
}

// osActor is the operating-system user who runs the CLI: whoever can open
// the registry file (mode 0600) can change it anyway, so the CLI acts with
// the operator role and the audit trail names them as "os:NAME".
func (a *app) osActor() idcards.Actor {
	name := a.getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return idcards.Actor{Name: "os:" + name, Role: idcards.RoleOperator}
}

func (a *app) printf(format string, args ...any) { fmt.Fprintf(a.stdout, format, args...) }
