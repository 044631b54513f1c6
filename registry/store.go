// Package registry is the local SQLite store behind every desk: the MRN
// series and their sequences, issued identifiers, patients, printed cards,
// users and scanner tokens, the hash-chained audit trail and the outbox for
// OpenMRS sync.
//
// Durability contract: a number is reported to a caller only after the
// transaction that recorded it has committed with synchronous=FULL in WAL
// mode, so a number that was shown or printed survives a crash or a power
// cut and is never handed out again. Several processes may share one file:
// every writing transaction is BEGIN IMMEDIATE and waits on a busy timeout.
package registry

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5/pgconn"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idcards/idcards"
	"github.com/jackc/pgx/v5"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// TimeFormat is how times are stored: UTC, fixed width, so text order is
// time order.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Store is a handle on one registry file. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	// dialect is the engine (dialect.go); pgCfg its connection settings
	// on PostgreSQL (the mirror's LISTEN connection uses them).
	dialect *dialect
	pgCfg   *pgx.ConnConfig
	// Now returns the current time; tests may replace it before use.
	Now func() time.Time
	// Keys computes duplicate-detection blocking keys for new patients; nil
	// leaves them empty. Set before use.
	Keys KeyFunc
	// Argon2 is the cost of new password hashes; zero means DefaultArgon2.
	// Hashes made with less are upgraded at the user's next sign-in.
	Argon2 Argon2Params

	stmts sync.Map // query text → *sql.Stmt, for the hot read paths

	series atomic.Pointer[seriesCache] // verify.go: codecs, checked on every Verify
	audit  auditBatcher                // auditbatch.go: the scan log writer's own connection
	tokens tokenCache                  // tokens.go: LookupToken's cache
	rates  atomic.Pointer[rateCache]   // forecast.go: recent issue rates, recomputed every few minutes

	key        *ChainKey   // auditkey.go: the audit chain key; nil when not available
	keyPath    string      // where it is (or would be) kept
	hasPending bool        // auditstate.go: audit_pending exists (set by the migration step)
	stateReady bool        // … and every transaction maintains it (set after the migrations committed)
	opened     bool        // the migrations committed: a transaction checks moved_to (checkMoved)
	file       os.FileInfo // the SQLite file as opened (CheckFile); nil on PostgreSQL
	canon      canonCache
	parsed     atomic.Pointer[parsedMatch] // matching.go: the last model and variants parsed, by their stored text
}

// dsn builds the connection string. Per-connection pragmas go in the DSN so
// that every pooled connection gets them:
//   - journal_mode(wal): readers never block the writer (desks scan while
//     another desk issues);
//   - synchronous(full): in WAL mode NORMAL may lose the last commits on
//     power loss; an ID printed on a card must never be handed out again,
//     so every commit is fsynced before it is reported;
//   - busy_timeout: other desks' writers are waited for, not failed;
//   - _txlock=immediate: BEGIN IMMEDIATE takes the write lock up front, so
//     two issuers never deadlock upgrading read locks.
func dsn(path string) string {
	v := url.Values{}
	for _, p := range []string{"busy_timeout(15000)", "foreign_keys(1)", "journal_mode(wal)", "synchronous(full)"} {
		v.Add("_pragma", p)
	}
	v.Set("_txlock", "immediate")
	v.Set("_time_format", "sqlite")
	return "file:" + path + "?" + v.Encode()
}

// Options are how a registry is opened.
type Options struct {
	// KeyPath is the audit chain key file; "" means DefaultKeyPath(path).
	KeyPath string
	// PasswordFile holds a PostgreSQL registry's password (its first
	// line); "" means PGPASSFILE / ~/.pgpass. SQLite ignores it.
	PasswordFile string
}

func (o Options) keyPath(path string) string {
	if o.KeyPath != "" {
		return o.KeyPath
	}
	return DefaultKeyPath(path)
}

// Create makes a new registry at path with the given first MRN format. It
// refuses to overwrite an existing file. The file is created with mode 0600.
// The registry gets an identity (settings registry_id) and an audit chain
// key, written to DefaultKeyPath(path) with mode 0600. A postgres:// URL
// instead names an empty PostgreSQL database, in which Create makes the
// schema (so it must run as a role that may: the owner; docs/deploy.md).
func Create(ctx context.Context, path string, f idcards.Format) (*Store, error) {
	return CreateWith(ctx, path, f, Options{})
}

// CreateWith is Create with options (where the chain key goes).
func CreateWith(ctx context.Context, path string, f idcards.Format, opt Options) (*Store, error) {
	if IsPostgresURL(path) {
		return createPG(ctx, path, f, opt) // dialect_postgres.go
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("registry: create: %w", err)
	}
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, idcards.Errorf(idcards.Conflict, "registry %s already exists; refusing to overwrite it", path)
		}
		return nil, fmt.Errorf("registry: create: %w", err)
	}
	fh.Close()
	key, err := newChainKey(opt.keyPath(path), newRegistryID())
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	cleanup := func() {
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		os.Remove(key.Path)
	}
	s, err := open(ctx, path, opt, key)
	if err != nil {
		cleanup()
		return nil, err
	}
	if err := s.initFormat(ctx, f); err != nil {
		s.Close()
		cleanup()
		return nil, err
	}
	return s, nil
}

// Open opens an existing registry and applies pending migrations. Its chain
// key is read from DefaultKeyPath(path). path is a SQLite file, or a
// postgres:// URL (docs/deploy.md).
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opt Options) (*Store, error) {
	if IsPostgresURL(path) {
		return openPGWith(ctx, path, opt) // dialect_postgres.go
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, idcards.Errorf(idcards.NotFound, "no registry at %s: create one with `idcards init --site CODE --scheme NAME`", path)
		}
		return nil, fmt.Errorf("registry: open: %w", err)
	}
	if err := probeRegistry(ctx, path); err != nil { // damaged.go: never migrate a file that is no registry
		return nil, err
	}
	key, err := ReadChainKey(opt.keyPath(path))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	s, err := open(ctx, path, opt, key)
	if err != nil {
		return nil, Damaged(path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string, opt Options, key *ChainKey) (*Store, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("registry: open: %w", err)
	}
	// A bounded pool: each SQLite connection has its own page cache, so 64
	// concurrent scanner requests on 64 cold connections were slower than
	// the same requests queued for a few warm ones. Writers serialise on
	// SQLite's lock anyway.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	s := &Store{db: db, path: path, Now: time.Now, key: key, keyPath: opt.keyPath(path), dialect: sqliteDialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if s.file, err = os.Stat(path); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: open: %w", err)
	}
	if err := s.ready(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ready is what opening does after the migrations, on either engine
// (open, openPG).
func (s *Store) ready(ctx context.Context) error {
	s.audit.key = s.key
	s.stateReady = s.hasPending
	// Prepare the audit statements now: appendAudit runs inside write
	// transactions, which must not wait for a pool connection to prepare.
	for _, q := range []string{qAuditHead, qAuditInsert, qPendingClear, qPendingAny, qIssueInsert, qIssueExternal, qMovedTo} {
		if _, err := s.prepared(ctx, q); err != nil {
			return fmt.Errorf("registry: open: %w", err)
		}
	}
	// After the audit is ready: refolding writes patients and a setting,
	// so it is audited like every other change. Before moved_to is
	// checked: an upgrade's refold is part of opening, which a retired
	// registry must still allow (to be read and backed up).
	if err := s.refoldNames(ctx); err != nil { // search.go
		return fmt.Errorf("registry: open: %w", err)
	}
	s.opened = true
	return nil
}

// maxConns bounds the connection pool (see open).
var maxConns = max(8, 4*runtime.GOMAXPROCS(0))

// Close closes the database.
func (s *Store) Close() error {
	s.audit.mu.Lock()
	s.audit.close()
	s.audit.mu.Unlock()
	s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	return s.db.Close()
}

// row is what QueryRow gives, or a prepare error.
type row interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// prepared returns a statement prepared once per connection and reused:
// SQLite's parser, not the lookup, dominated the scanner endpoint's cost
// (pprof: two thirds of CPU in sqlite3Prepare) before hot queries went
// through here. *sql.Stmt is safe for concurrent use.
func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a single-row query through a cached prepared statement.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) row {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// Path is the registry file's path.
func (s *Store) Path() string { return s.path }

// DB exposes the handle for packages in this module's tests and tools
// (integrity checks, backups). Callers must not write through it.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) now() string { return s.Now().UTC().Format(TimeFormat) }

// migrate applies embedded migrations in name order, recording them in
// schema_migrations, then brings the audit machinery up to date
// (upgradeAudit), all in one transaction. Re-running is a no-op.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(s.dialect.migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	pending := true
	if s.dialect.postgres() {
		// A runtime role may not run DDL, not even CREATE TABLE IF NOT
		// EXISTS: look before trying.
		if pending, err = s.pgMigrationsPending(ctx, names); err != nil {
			return err
		}
		if !pending {
			names = nil
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if pending {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
				return err
			}
		}
		// Notes left by a writer that wrote no audit row are not the
		// migrations' doing (auditupgrade.go reads what they change).
		if pending, _ := s.hasTable(ctx, tx, "audit_pending"); pending { // dialect.go
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_pending`); err != nil {
				return err
			}
		}
		var applied []string
		for _, name := range names {
			base := name
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, base).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			body, err := fs.ReadFile(s.dialect.migrations, name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)`, base, s.now()); err != nil {
				return err
			}
			applied = append(applied, base)
		}
		return s.upgradeAudit(ctx, tx, applied) // auditupgrade.go
	})
}

// tx runs fn in one BEGIN IMMEDIATE transaction and commits; fn's error
// rolls back.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := s.CheckFile(); err != nil {
		return err
	}
	tx, err := s.beginWriteTx(ctx) // dialect.go: BEGIN IMMEDIATE, or PostgreSQL's writer lock
	if err != nil {
		return Damaged(s.path, fmt.Errorf("registry: begin: %w", diskFull(Unreachable(err))))
	}
	if err := s.txBegin(ctx, tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("registry: begin: %w", err)
	}
	if err := s.checkMoved(ctx, tx); err != nil { // settings_known.go: a registry migrate copied elsewhere
		tx.Rollback()
		return err
	}
	err = fn(tx)
	if err == nil {
		err = s.txEnd(ctx, tx) // auditstate.go: rows changed after the last audit row
	}
	if err != nil {
		tx.Rollback()
		return Damaged(s.path, s.afterRollback(ctx, diskFull(Unreachable(err)))) // approvals.go: a refused clerk's request must outlive the rollback
	}
	if err := tx.Commit(); err != nil {
		return Damaged(s.path, fmt.Errorf("registry: commit: %w", diskFull(commitFailed(err))))
	}
	return nil
}

// CheckFile refuses a change when the SQLite file this store opened is no
// longer at its path (moved, deleted, or replaced by another file): the
// open connections would go on writing into a file nobody will open again,
// and a desk that carried on registering lost the day's patients and would
// issue their numbers again.
func (s *Store) CheckFile() error {
	if s.file == nil {
		return nil // PostgreSQL
	}
	now, err := os.Stat(s.path)
	if err == nil && os.SameFile(now, s.file) {
		return nil
	}
	what := "was moved or deleted"
	if err == nil {
		what = "was replaced by another file"
	}
	return &idcards.Error{Kind: idcards.Unavailable, Msg: fmt.Sprintf("the registry file %s %s while this program had it open: nothing was saved. Do not register anyone here: close this program, put the file back (or restore it: idcards restore), then start again", s.path, what)}
}

// diskFull says in words that the disk holding the registry is full
// (SQLite's SQLITE_FULL, PostgreSQL's 53100): the desk showed "internal
// error". The change was rolled back.
func diskFull(err error) error {
	if err == nil || idcards.ErrorKind(err) != idcards.Other {
		return err
	}
	var se *sqlite.Error
	full := errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
	var pe *pgconn.PgError
	full = full || errors.As(err, &pe) && pe.Code == "53100"
	if !full {
		return err
	}
	return &idcards.Error{Kind: idcards.Unavailable, Msg: "the disk holding the registry is full (or the database server is out of space): nothing was saved; free some space, then try again", Err: err}
}

// isConstraint reports whether err is a UNIQUE or PRIMARY KEY violation,
// by extended result code (never by message text).
func isConstraint(err error) bool {
	if isPgUnique(err) { // dialect_postgres.go: SQLSTATE 23505
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// IntegrityCheck runs PRAGMA integrity_check and returns its first line
// ("ok" for a healthy file).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	if s.dialect.postgres() {
		return s.pgIntegrityCheck(ctx)
	}
	var r string
	if err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&r); err != nil {
		return "", err
	}
	return r, nil
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(TimeFormat, s)
	return t
}

func nullStr(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return s
}
