package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/postgres/*.sql
var pgMigrationFS embed.FS

// postgresDialect: one database shared by every desk of a clinic. SQLite
// serialises writers with its file lock (BEGIN IMMEDIATE); here every
// writing transaction takes one transaction-level advisory lock first
// (pgWriteLock), which gives the same guarantee for the same code:
//   - the audit chain's next seq and hash, scan_log ids and the MRN
//     sequence are read and written by one writer at a time, so no two
//     desks ever compute the same next value (the PRIMARY KEYs would
//     refuse it anyway: never twice does not rest on the lock alone);
//   - at READ COMMITTED, each statement after the lock sees everything
//     committed by the writers before, exactly as BEGIN IMMEDIATE does.
//
// A handful of desks issue a few IDs a minute each; one lock costs them
// nothing measurable (bench/pg.sh: four desks at once). Readers (Verify,
// the scanner endpoint, lists) take no lock.
var postgresDialect = &dialect{
	name:       "postgres",
	migrations: mustSub(pgMigrationFS, "migrations/postgres"),
	beginWrite: `BEGIN; ` + pgWriteLock,
	beginRead:  `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`,
}

// pgWriteLockKey identifies the registry's writer lock among advisory
// locks ("idcards" in ASCII, as an integer). Other applications sharing the
// database would have to choose the same number to collide.
const pgWriteLockKey = 0x6964636172647300

var pgWriteLock = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(pgWriteLockKey, 10) + `)`

// pgNotifyChannel is the LISTEN/NOTIFY channel on which the verify_changes
// triggers announce a change (see migrations/postgres/0010_verify_changes.sql
// and mirror_listen.go).
const pgNotifyChannel = "idcards_verify_changes"

// pgConfig parses a postgres:// URL. A password in the URL is refused: it
// would sit in shell history, in `ps` output and in logs. It comes from a
// file instead (PGPASSFILE, ~/.pgpass, or WithPasswordFile).
func pgConfig(loc string, oc Options) (*pgx.ConnConfig, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return nil, idcards.Errorf(idcards.Invalid, "registry URL: %v", redactErr(err, loc))
	}
	if _, has := u.User.Password(); has || u.Query().Has("password") {
		return nil, idcards.Errorf(idcards.Invalid, "registry URL %s carries a password: put it in a file instead (PGPASSFILE, ~/.pgpass, or --db-password-file)", RedactURL(loc))
	}
	cfg, err := pgx.ParseConfig(loc)
	if err != nil {
		return nil, idcards.Errorf(idcards.Invalid, "registry URL %s: %v", RedactURL(loc), redactErr(err, loc))
	}
	if oc.PasswordFile != "" {
		b, err := os.ReadFile(oc.PasswordFile)
		if err != nil {
			return nil, idcards.Errorf(idcards.Invalid, "password file: %v", err)
		}
		pw, _, _ := strings.Cut(string(b), "\n")
		cfg.Password = strings.TrimRight(pw, "\r")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "idcards"
	// Text comparisons and sorting byte-wise, as SQLite's BINARY collation.
	return cfg, nil
}

// RedactURL is loc without any password, for messages and logs.
func RedactURL(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return "postgres://…"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactErr keeps a parse error from echoing the URL it failed on.
func redactErr(err error, loc string) string {
	return strings.ReplaceAll(err.Error(), loc, RedactURL(loc))
}

// openPostgres opens a pool on the database named by loc.
func openPostgres(cfg *pgx.ConnConfig) *sql.DB {
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg), &rebinder{}})
	// Each desk holds a few connections; the server's default
	// max_connections (100) serves a dozen desks and their serve processes.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db
}

// pgConnector hands database/sql connections that rebind SQLite-style
// placeholders, so every query in this package is written once.
type pgConnector struct {
	inner driver.Connector
	rb    *rebinder // shared by the pool's connections
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, Unreachable(err)
	}
	return &pgConn{dc.(*stdlib.Conn), c.rb}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is pgx's database/sql connection with query text rebound; every
// other method (transactions, ping, session reset) is pgx's own.
type pgConn struct {
	*stdlib.Conn
	rb *rebinder
}

// Errors that mean the server is out of reach become idcards.Unavailable
// here, once for every store method (Unreachable; errors.Is still finds
// driver.ErrBadConn, so database/sql still retries on a fresh connection).

func (c *pgConn) Prepare(q string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(context.Background(), c.rb.rebind(q))
	return st, Unreachable(err)
}

func (c *pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, c.rb.rebind(q))
	return st, Unreachable(err)
}

func (c *pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.Conn.ExecContext(ctx, c.rb.rebind(q), args)
	return r, Unreachable(err)
}

func (c *pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.Conn.QueryContext(ctx, c.rb.rebind(q), args)
	return r, Unreachable(err)
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	return tx, Unreachable(err)
}

// CheckNamedValue passes arguments to pgx as they are, except:
//   - booleans: flags are integer columns on both engines (SQLite's driver
//     stores a Go bool as 1/0), yet a query may also use a bool argument as
//     a condition (WHERE ? OR …); pgFlag encodes as either;
//   - text with NUL bytes, which PostgreSQL's text cannot hold (a garbled
//     scan may carry them): each NUL becomes U+FFFD, so a lookup simply
//     finds nothing and a stored value says plainly that a byte was lost.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch v := nv.Value.(type) {
	case bool:
		nv.Value = pgFlag(v)
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			nv.Value = strings.ReplaceAll(v, "\x00", "\uFFFD")
		}
	}
	return nil
}

// pgFlag is a Go bool bound to an integer (1/0) or a boolean parameter,
// whichever the statement has.
type pgFlag bool

func (f pgFlag) Int64Value() (pgtype.Int8, error) {
	if f {
		return pgtype.Int8{Int64: 1, Valid: true}, nil
	}
	return pgtype.Int8{Int64: 0, Valid: true}, nil
}

func (f pgFlag) BoolValue() (pgtype.Bool, error) { return pgtype.Bool{Bool: bool(f), Valid: true}, nil }

// rebinder caches rewritten query text; most queries are constants, so the
// cache stays small (it stops growing at rebindCacheMax distinct texts).
type rebinder struct {
	done sync.Map // SQLite-style text → PostgreSQL text
	size atomic.Int64
}

const rebindCacheMax = 8192

// rebind rewrites SQLite placeholders for PostgreSQL: ?N becomes $N, and a
// bare ? the next number after the largest so far (SQLite's own rule).
// String literals, quoted identifiers, comments and dollar-quoted bodies
// are copied untouched.
func (rb *rebinder) rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	if r, ok := rb.done.Load(q); ok {
		return r.(string)
	}
	r := rebindText(q)
	if rb.size.Load() < rebindCacheMax {
		if _, loaded := rb.done.LoadOrStore(q, r); !loaded {
			rb.size.Add(1)
		}
	}
	return r
}

func rebindText(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	maxN := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(q))
			b.WriteString(q[i:j])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end
		case c == '$':
			// $tag$ … $tag$ (a dollar-quoted body), or $N (already PostgreSQL).
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || j > i+1 && q[j] >= '0' && q[j] <= '9') {
				j++
			}
			if j < len(q) && q[j] == '$' {
				tag := q[i : j+1]
				k := strings.Index(q[j+1:], tag)
				end := len(q)
				if k >= 0 {
					end = j + 1 + k + len(tag)
				}
				b.WriteString(q[i:end])
				i = end
				continue
			}
			b.WriteByte(c)
			i++
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := maxN + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			maxN = max(maxN, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// isPgUnique reports a PostgreSQL unique violation (SQLSTATE 23505, which
// covers PRIMARY KEY and UNIQUE alike).
func isPgUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// pgCode is err's SQLSTATE, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isCertificateError reports whether err is the server's TLS certificate
// failing verification (sslmode=verify-ca / verify-full).
func isCertificateError(err error) bool {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cv)
}

// isUnreachable reports whether err means the database server could not
// be reached or went away (as opposed to refusing a statement).
func isUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down or starting up.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return true
	}
	return pgconn.Timeout(err) || strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF")
}

// Unreachable wraps a database error that means the server is not
// reachable as an idcards.Unavailable error, which desks show plainly ("the
// registry database cannot be reached") and retry; other errors are
// returned as they are.
func Unreachable(err error) error {
	if err == nil || idcards.ErrorKind(err) == idcards.Unavailable {
		return err
	}
	if isCertificateError(err) {
		// Not a server that is down: retrying will not help.
		if idcards.ErrorKind(err) == idcards.Invalid {
			return err
		}
		return &idcards.Error{Kind: idcards.Invalid, Msg: "the registry database server's TLS certificate could not be verified: check sslrootcert= (the CA that signed the server's certificate) and that the host in the URL is a name on that certificate; nothing was saved", Err: err}
	}
	if !isUnreachable(err) {
		return err
	}
	return &idcards.Error{Kind: idcards.Unavailable, Msg: unreachableMsg, Err: err}
}

const unreachableMsg = "the registry database cannot be reached (nothing was saved; it reconnects by itself)"

// ErrMaybeSaved: the connection to the registry's database was lost at
// COMMIT, so the server may have committed or not, and only it knows.
// "Nothing was saved" would be a guess that, believed, makes a clerk
// register the patient again. It is also DatabaseUnreachable.
var ErrMaybeSaved = &idcards.Error{Kind: idcards.Unavailable, Msg: "the registry database went away while this was being saved: it may have been saved or not (it reconnects by itself; look before doing it again)"}

// commitFailed classifies an error from COMMIT: a connection lost there
// is ErrMaybeSaved (with its cause), anything else is as Unreachable says.
func commitFailed(err error) error {
	u := Unreachable(err)
	if DatabaseUnreachable(u) {
		return fmt.Errorf("%w: %w", ErrMaybeSaved, err)
	}
	return u
}

// CommitOutcomeUnknown reports whether err says the connection to the
// registry's database was lost at COMMIT: the change may have been saved.
func CommitOutcomeUnknown(err error) bool { return errors.Is(err, ErrMaybeSaved) }

// DatabaseUnreachable reports whether err says the registry's database
// server could not be reached (an Unreachable error), as opposed to another
// service being unavailable (OpenMRS, the audit chain key).
func DatabaseUnreachable(err error) bool {
	if errors.Is(err, ErrMaybeSaved) {
		return true
	}
	for ; err != nil; err = errors.Unwrap(err) {
		if e, ok := err.(*idcards.Error); ok && e.Kind == idcards.Unavailable && e.Msg == unreachableMsg {
			return true
		}
	}
	return false
}

// createPG is CreateWith on PostgreSQL: the database must hold no registry;
// the chain key is written to opt's key path (DefaultKeyPath: in the
// user's config directory, since a URL has no directory of its own).
func createPG(ctx context.Context, loc string, f idcards.Format, opt Options) (*Store, error) {
	if _, err := barcode.NewCodec(f); err != nil {
		return nil, err
	}
	s, err := openPG(ctx, loc, true, opt, nil)
	if err != nil {
		return nil, err
	}
	key, err := newChainKey(opt.keyPath(loc), newRegistryID())
	if err != nil {
		s.Close()
		return nil, err
	}
	s.key = key
	s.audit.key = key
	if err := s.initFormat(ctx, f); err != nil {
		s.Close()
		os.Remove(key.Path)
		return nil, err
	}
	return s, nil
}

// openPGWith is OpenWith on PostgreSQL.
func openPGWith(ctx context.Context, loc string, opt Options) (*Store, error) {
	key, err := ReadChainKey(opt.keyPath(loc))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return openPG(ctx, loc, false, opt, key)
}

// openPG opens (and, for Create, checks) a PostgreSQL registry.
func openPG(ctx context.Context, loc string, create bool, oc Options, key *ChainKey) (*Store, error) {
	cfg, err := pgConfig(loc, oc)
	if err != nil {
		return nil, err
	}
	db := openPostgres(cfg)
	s := &Store{db: db, path: RedactURL(loc), Now: time.Now, dialect: postgresDialect, pgCfg: cfg, key: key, keyPath: oc.keyPath(loc)}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: open %s: %w", s.path, Unreachable(err))
	}
	hasSchema, others, err := pgProbe(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: open %s: %w", s.path, Unreachable(err))
	}
	if !hasSchema {
		// Never migrate a database that holds no registry into one (the
		// migrations would create tables in it): only init, migrate --to
		// and restore make one, and only in an empty database.
		if err := pgNotRegistry(s.path, others, create); err != nil {
			db.Close()
			return nil, err
		}
	}
	if hasSchema && create {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM series`).Scan(&n); err == nil && n > 0 {
			db.Close()
			return nil, idcards.Errorf(idcards.Conflict, "a registry already exists in database %s; refusing to initialise it again", s.path)
		}
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		if pgCode(err) == "42501" { // insufficient_privilege
			return nil, idcards.Errorf(idcards.Invalid, "registry %s needs a schema upgrade (a newer idcards), which this role may not make: run any command that opens it once as the database owner, e.g. `idcards --db 'postgres://OWNER@HOST/DB' audit verify` (the desks' role tried it and was refused, so nothing changed): %v", s.path, err)
		}
		return nil, err
	}
	if err := s.ready(ctx); err != nil { // store.go: as open does
		s.Close()
		return nil, Unreachable(err)
	}
	return s, nil
}

// pgProbe looks at a database before it is opened as a registry, reading
// only: whether it has the registry's schema (schema_migrations as idcards
// makes it: name, applied_at — golang-migrate, dbmate and others make a
// schema_migrations of their own), and if not, up to 6 of the other
// tables in the current schema.
func pgProbe(ctx context.Context, db *sql.DB) (bool, []string, error) {
	var cols int
	// From the catalog, which every role may read (information_schema
	// shows only the tables the role has privileges on).
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = 'schema_migrations' AND a.attname IN ('name', 'applied_at') AND NOT a.attisdropped`).Scan(&cols); err != nil {
		return false, nil, err
	}
	if cols == 2 {
		return true, nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = current_schema() ORDER BY tablename LIMIT 6`)
	if err != nil {
		return false, nil, err
	}
	defer rows.Close()
	var others []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return false, nil, err
		}
		others = append(others, t)
	}
	return false, others, rows.Err()
}

// pgNotRegistry is the refusal of a database without the registry's
// schema (nil: an empty database, which create may fill). Like a SQLite
// file that is no registry (damaged.go): ErrNotRegistry, kind Invalid,
// nothing changed in it.
func pgNotRegistry(loc string, others []string, create bool) error {
	if len(others) == 0 && create {
		return nil
	}
	var msg string
	switch {
	case len(others) == 0:
		msg = "database " + loc + " is empty: it is not an idcards registry (not initialised). Check that --db or $IDCARDS_DB names the registry's database; to start a registry there, run `idcards init --db URL --site CODE --scheme NAME` as the database owner, or copy a SQLite registry into it with `idcards --db FILE migrate --to URL` (docs/deploy.md); nothing was changed in it"
	case create:
		msg = "database " + loc + " is not empty (tables " + tableList(others) + ") and holds no idcards registry: a registry is made in an empty database only (CREATE DATABASE idcards OWNER …, docs/deploy.md); nothing was changed in it"
	default:
		msg = "database " + loc + " is not an idcards registry (tables " + tableList(others) + ", but no idcards schema), perhaps another program's: check that --db or $IDCARDS_DB names the registry's database; nothing was changed in it"
	}
	is := ErrNotRegistry
	if len(others) == 0 {
		is = errors.Join(ErrNotRegistry, ErrEmptyDatabase)
	}
	return &fileProblem{is: is, msg: &idcards.Error{Kind: idcards.Invalid, Msg: msg}}
}

// ErrEmptyDatabase (with ErrNotRegistry): the PostgreSQL database holds no
// tables at all, so a registry can be made in it (the TUI's first-run
// setup offers to).
var ErrEmptyDatabase = errors.New("empty database")

func tableList(ts []string) string {
	if len(ts) > 5 {
		return strings.Join(ts[:5], ", ") + ", …"
	}
	return strings.Join(ts, ", ")
}

// pgMigrationsPending reports whether any migration is not yet recorded, so
// that a runtime role (no DDL) never attempts one.
func (s *Store) pgMigrationsPending(ctx context.Context, names []string) (bool, error) {
	var has bool
	if err := s.db.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&has); err != nil || !has {
		return true, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return true, err
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return true, err
		}
		done[n] = true
	}
	if err := rows.Err(); err != nil {
		return true, err
	}
	for _, n := range names {
		if !done[n] {
			return true, nil
		}
	}
	return false, nil
}

// pgIntegrityCheck is IntegrityCheck on PostgreSQL, which keeps its own
// pages consistent (checksums, WAL): what can still go wrong for a
// registry is a schema left behind by a newer program or a half-applied
// upgrade, so it checks that every migration this program knows is
// recorded, and that the tables answer.
func (s *Store) pgIntegrityCheck(ctx context.Context) (string, error) {
	names, err := fs.Glob(s.dialect.migrations, "*.sql")
	if err != nil {
		return "", err
	}
	pending, err := s.pgMigrationsPending(ctx, names)
	if err != nil {
		return "", Unreachable(err)
	}
	if pending {
		return "schema migrations pending", nil
	}
	for _, t := range []string{"series", "identifiers", "audit"} {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			return "", Unreachable(err)
		}
	}
	return "ok", nil
}

// LocalFile is where a file that belongs with the registry at loc and
// this machine goes (the scanner endpoint's metrics token, say): next to a
// SQLite file, as loc+suffix; for a PostgreSQL URL, in the user's config
// directory, named after the URL's host, port and database
// ($XDG_CONFIG_HOME/idcards/HOST_PORT_DB+suffix, os.UserConfigDir; the user
// name left out: the owner and the runtime role share one chain key).
func LocalFile(loc, suffix string) string {
	if !IsPostgresURL(loc) {
		return loc + suffix
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "idcards", pgLocalName(loc)+suffix)
}

// pgLocalName names a PostgreSQL registry in local file names
// (HOST_PORT_DB, safe characters only).
func pgLocalName(loc string) string {
	name := "registry"
	if cfg, err := pgconn.ParseConfig(loc); err == nil {
		name = fmt.Sprintf("%s_%d_%s", cfg.Host, cfg.Port, cfg.Database)
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, name)
}
