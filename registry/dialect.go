package registry

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"
)

// A dialect is what differs between the two engines a registry lives on:
// SQLite (one file, the one-desk default) and PostgreSQL (several desks on
// a LAN). Everything else — every query of every store method — is written
// once: placeholders are written SQLite-style (? and ?N) and rebound to
// PostgreSQL's $N below database/sql (see rebind in dialect_postgres.go),
// times are fixed-width UTC text and flags are integers on both, so
// scanning code is the same.
//
// The few places that must differ name the dialect explicitly:
//   - migrations: registry/migrations/*.sql for SQLite,
//     registry/migrations/postgres/*.sql for PostgreSQL, one file of the
//     same name for each (TestMigrations_EveryDialect);
//   - transactions opened by hand on a *sql.Conn (beginWrite/beginRead);
//   - tuning and maintenance statements (PRAGMA, VACUUM INTO, sqlite_master).
type dialect struct {
	name string // "sqlite" or "postgres"
	// migrations holds the dialect's migration files (NNNN_name.sql) at
	// its root.
	migrations fs.FS
	// beginWrite opens, on a connection of its own, a transaction that
	// holds the registry's one writer lock (what BEGIN IMMEDIATE is on
	// SQLite), so ids computed from max(...)+1 inside it are safe.
	beginWrite string
	// beginRead opens a read transaction that sees one snapshot across
	// statements and blocks no writer.
	beginRead string
}

func (d *dialect) postgres() bool { return d != nil && d.name == "postgres" }

// IsPostgresURL reports whether a registry location names a PostgreSQL
// database (postgres:// or postgresql://) rather than a SQLite file path.
func IsPostgresURL(loc string) bool {
	return strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://")
}

// Dialect is the engine the registry lives on: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// beginWriteTx is s.db.BeginTx plus, on PostgreSQL, the writer lock.
func (s *Store) beginWriteTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if s.dialect.postgres() {
		if _, err := tx.ExecContext(ctx, pgWriteLock); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return tx, nil
}

// hasTable reports whether the registry has a table of that name (a backup
// from before a migration may lack one).
func (s *Store) hasTable(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (bool, error) {
	query := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.dialect.postgres() {
		query = `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?`
	}
	var n int
	err := q.QueryRowContext(ctx, query, name).Scan(&n)
	return n > 0, err
}

// tune runs a per-connection tuning statement that only SQLite has (PRAGMA
// cache_size and the like); elsewhere it does nothing.
func (s *Store) tune(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmt string) error {
	if s.dialect.postgres() {
		return nil
	}
	_, err := q.ExecContext(ctx, stmt)
	return err
}

// snapshotTwin returns a connection reading the same snapshot as conn's
// open read transaction (beginRead), for a second result set read
// alongside conn's: SQLite steps several statements on one connection,
// PostgreSQL's protocol reads one result at a time, so there it is a second
// connection importing conn's exported snapshot. Close it when done (on
// SQLite, closing the twin leaves conn open).
func (s *Store) snapshotTwin(ctx context.Context, conn *sql.Conn) (interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	Close() error
}, error) {
	if !s.dialect.postgres() {
		return noClose{conn}, nil
	}
	var snap string
	if err := conn.QueryRowContext(ctx, `SELECT pg_export_snapshot()`).Scan(&snap); err != nil {
		return nil, err
	}
	twin, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := twin.ExecContext(ctx, s.dialect.beginRead+`; SET TRANSACTION SNAPSHOT '`+strings.ReplaceAll(snap, "'", "")+`'`); err != nil {
		twin.Close()
		return nil, err
	}
	return rollbackOnClose{twin}, nil
}

type noClose struct{ *sql.Conn }

func (noClose) Close() error { return nil }

type rollbackOnClose struct{ *sql.Conn }

func (c rollbackOnClose) Close() error {
	c.Conn.ExecContext(context.Background(), `ROLLBACK`)
	return c.Conn.Close()
}

// storedText is s as the engine stores it: PostgreSQL's text cannot hold
// NUL, which the pg connector replaces with U+FFFD (pgConn.CheckNamedValue);
// digests over stored rows (the scan log's) must hash the same bytes.
func (d *dialect) storedText(s string) string {
	if d.postgres() && strings.IndexByte(s, 0) >= 0 {
		return strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// txStmt is q prepared once per pooled connection (Store.prepared) and
// bound to tx, rather than tx.PrepareContext's prepare-and-close per
// transaction: on PostgreSQL each of those is a network round trip (two for
// the issuer's statements, then two more to close them), a quarter of
// issuing one ID. Closing the result leaves the cached statement open.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// hasColumn reports whether table has a column of that name.
func (s *Store) hasColumn(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, table, column string) (bool, error) {
	query := `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`
	if s.dialect.postgres() {
		query = `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`
	}
	var n int
	err := q.QueryRowContext(ctx, query, table, column).Scan(&n)
	return n > 0, err
}
