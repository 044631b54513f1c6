package main

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

// dbPasswordFileName is the PostgreSQL password file from the global flags
// (--db-password-file or $IDCARDS_DB_PASSWORD_FILE); "" for PGPASSFILE /
// ~/.pgpass. The password itself never appears on a command line or in a
// log.
func (a *app) dbPasswordFileName() string {
	if a.dbPasswordFile != "" {
		return a.dbPasswordFile
	}
	return a.getenv("IDCARDS_DB_PASSWORD_FILE")
}

func (a *app) migrateCmd() *cobra.Command {
	var to, toPwFile, toKey string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate --to postgres://USER@HOST/DB",
		Short: "Copy this registry into an empty PostgreSQL database (one desk grows to several)",
		Long: `Copy the registry (--db, normally the one-desk SQLite file) into an empty
PostgreSQL database, so that several desks can share it without anyone being
registered again. Every table is copied from one read snapshot, in one
transaction on the target; then the row counts of both sides are compared, the
audit hash chain is verified on both sides and the target's last audit row
must be the source's. A target that already holds rows is refused; a failed
copy leaves the target without rows (just the schema), so it can be re-run.

Stop every desk first (what they write after the snapshot is not copied), then
point each desk at the new database (--db URL or IDCARDS_DB) and keep the old
file as a backup. Once the copy is complete the file is retired (setting
moved_to): it takes no more changes, so a desk left running on it is refused
instead of issuing numbers the new database issues too; an admin reopens it with
settings set moved_to "" if the move is undone. The target is created with the
schema, so run migrate as the database owner; desks then run as a runtime role
(docs/deploy.md).

The password comes from PGPASSFILE (~/.pgpass) or --to-password-file, never
from the URL. Needs the admin role (or the OS user without cli_sign_in).`,
		Example: `  idcards migrate --to 'postgres://idcards_owner@db.clinic.lan/idcards?sslmode=verify-full'
  idcards --db /srv/idcards/registry.db migrate --to postgres://idcards_owner@/idcards?host=/run/postgresql`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !registry.IsPostgresURL(to) {
				return idcards.Errorf(idcards.Invalid, "--to must be a postgres:// URL (got %q)", to)
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := s.MigrateTo(ctx, to, registry.Options{KeyPath: toKey, PasswordFile: toPwFile})
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(r)
			}
			a.printf("copied %s\n    to %s\n", r.From, r.To)
			names := make([]string, 0, len(r.Tables))
			for t := range r.Tables {
				names = append(names, t)
			}
			sort.Strings(names)
			var parts []string
			for _, t := range names {
				parts = append(parts, t+" "+registry.Thousands(int(r.Tables[t])))
			}
			a.printf("  rows       %s (equal on both sides)\n", strings.Join(parts, ", "))
			a.printf("  audit      %d rows verified on both sides, head %s\n", r.AuditRows, r.AuditHead)
			a.printf("next: point every desk at the new database (--db URL or IDCARDS_DB) and keep %s as a backup\n", r.From)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "postgres:// URL of an empty database (required)")
	cmd.Flags().StringVar(&toPwFile, "to-password-file", "", "file whose first line is the target's password (default PGPASSFILE / ~/.pgpass)")
	cmd.Flags().StringVar(&toKey, "to-audit-key", "", "where to write the target's audit chain key (default: the user's config directory, idcards/HOST_PORT_DB.auditkey)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.MarkFlagRequired("to")
	return cmd
}

// localDir is where a desk keeps its own files (the TUI log, card PDFs):
// next to a SQLite registry, or, when the registry is on PostgreSQL, in the
// user's data directory — printing stays local to each desk.
func (a *app) localDir(registryLoc string) string {
	if !registry.IsPostgresURL(registryLoc) {
		return filepath.Dir(registryLoc)
	}
	if d := a.getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "idcards")
	}
	if h := a.getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "idcards")
	}
	return "."
}
