// Package pgtest names the database a test's registry lives in, so that the
// same suites run on both engines: SQLite always, and PostgreSQL when
// IDCARDS_TEST_POSTGRES names a server.
//
// IDCARDS_TEST_POSTGRES is a connection URL for a role that may create
// databases, e.g. postgres://postgres@/postgres?host=/tmp/pg (a socket
// directory) — .ci/run starts a throw-away cluster and sets it. Each test
// gets a database of its own, dropped when the test ends.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // OpenDB's SQLite driver
)

// Env is the variable that names the server.
const Env = "IDCARDS_TEST_POSTGRES"

// Enabled reports whether tests run against PostgreSQL.
func Enabled() bool { return os.Getenv(Env) != "" }

// Location is where a new test registry goes: a SQLite path in a fresh temp
// dir, or, with IDCARDS_TEST_POSTGRES set, the URL of a new empty database.
func Location(t testing.TB) string {
	t.Helper()
	if !Enabled() {
		return filepath.Join(t.TempDir(), "registry.db")
	}
	return NewDatabase(t)
}

// Require skips a test that needs PostgreSQL when IDCARDS_TEST_POSTGRES is
// not set: the plain `go test ./...` is the SQLite pass. In the PostgreSQL
// pass (.ci/run sets the variable) a server that cannot be reached fails
// the test, never skips it.
func Require(t testing.TB) {
	t.Helper()
	if Enabled() {
		return
	}
	t.Skipf("%s is not set: this test runs in the PostgreSQL pass (.ci/run starts a server)", Env)
}

// SQLiteOnly skips a test that checks something only a SQLite file has
// (file modes, bytes on disk), when the suite runs against PostgreSQL.
func SQLiteOnly(t testing.TB) {
	t.Helper()
	if Enabled() {
		t.Skip("checks the SQLite file itself; the suite runs against PostgreSQL (it also runs on SQLite)")
	}
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminURL  *url.URL
	adminErr  error
	counter   atomic.Int64
)

func server() (*sql.DB, *url.URL, error) {
	adminOnce.Do(func() {
		raw := os.Getenv(Env)
		adminURL, adminErr = url.Parse(raw)
		if adminErr != nil {
			return
		}
		cfg, err := pgx.ParseConfig(raw)
		if err != nil {
			adminErr = err
			return
		}
		admin = stdlib.OpenDB(*cfg)
		admin.SetMaxOpenConns(4)
	})
	return admin, adminURL, adminErr
}

// NewDatabase creates an empty database on the IDCARDS_TEST_POSTGRES server
// and returns its URL; it is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	Require(t)
	db, u, err := server()
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	name := fmt.Sprintf("idcards_t%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000, counter.Add(1))
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return URL(u, name)
}

// NewDatabaseWith is NewDatabase with setup (SQL statements, as another
// program might have left them) run in it first; empty setup runs nothing.
func NewDatabaseWith(t testing.TB, setup string) string {
	t.Helper()
	loc := NewDatabase(t)
	if setup != "" {
		db := OpenDB(t, loc)
		defer db.Close()
		if _, err := db.Exec(setup); err != nil {
			t.Fatalf("pgtest: set up database: %v", err)
		}
	}
	return loc
}

// URL is u naming database name instead.
func URL(u *url.URL, name string) string {
	c := *u
	c.Path = "/" + name
	return c.String()
}

// AdminURL is the IDCARDS_TEST_POSTGRES server's URL naming database name.
func AdminURL(t testing.TB, name string) string {
	t.Helper()
	Require(t)
	_, u, err := server()
	if err != nil {
		t.Fatal(err)
	}
	return URL(u, name)
}

// Exec runs a statement as the server's admin role (CREATE ROLE, GRANT…)
// in database name.
func Exec(t testing.TB, name, stmt string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(AdminURL(t, name))
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("pgtest: %s: %v", stmt, err)
	}
}

// OpenDB opens a registry location (SQLite path or postgres:// URL) with
// the plain driver, as another program would: for tests that tamper with a
// registry behind the store's back.
func OpenDB(t testing.TB, loc string) *sql.DB {
	t.Helper()
	if !isURL(loc) {
		db, err := sql.Open("sqlite", "file:"+loc)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	cfg, err := pgx.ParseConfig(loc)
	if err != nil {
		t.Fatal(err)
	}
	return stdlib.OpenDB(*cfg)
}

func isURL(loc string) bool {
	return len(loc) > 11 && (loc[:11] == "postgres://" || len(loc) > 13 && loc[:13] == "postgresql://")
}

// Cluster is a private PostgreSQL server for one test, for tests that stop
// and start the server (the shared IDCARDS_TEST_POSTGRES one must keep
// running for the other tests).
type Cluster struct {
	t       testing.TB
	bin     string
	dir     string
	user    string         // OS user that runs the server ("" for the current one)
	opts    string         // extra server options (NewTLSCluster)
	prepare func(*Cluster) // after initdb, before the first start
	// URL names the cluster's postgres database as the superuser.
	URL string
}

// NewCluster initdb's and starts a throw-away cluster listening on a
// socket in a temp dir; it is stopped and removed when the test ends. It
// needs the server binaries (IDCARDS_TEST_PGBIN, else initdb on PATH) and,
// when running as root, the unprivileged user IDCARDS_TEST_PGUSER
// (default postgres), since the server refuses to run as root.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	return newCluster(t, nil)
}

func newCluster(t testing.TB, prepare func(*Cluster)) *Cluster {
	t.Helper()
	Require(t)
	bin := os.Getenv("IDCARDS_TEST_PGBIN")
	if bin == "" {
		p, err := exec.LookPath("initdb")
		if err != nil {
			t.Fatalf("pgtest: no initdb (set IDCARDS_TEST_PGBIN): %v", err)
		}
		bin = filepath.Dir(p)
	}
	c := &Cluster{t: t, bin: bin, prepare: prepare}
	if os.Geteuid() == 0 {
		c.user = os.Getenv("IDCARDS_TEST_PGUSER")
		if c.user == "" {
			c.user = "postgres"
		}
	}
	dir, err := os.MkdirTemp("", "idcards-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if c.user != "" {
		if out, err := exec.Command("chown", c.user, dir).CombinedOutput(); err != nil {
			t.Fatalf("pgtest: chown: %v %s", err, out)
		}
	}
	if out, err := c.cmd(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8").CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	if c.prepare != nil {
		c.prepare(c)
	}
	c.Start()
	c.URL = fmt.Sprintf("postgres://postgres@/postgres?host=%s", url.QueryEscape(dir))
	return c
}

func (c *Cluster) cmd(name string, args ...string) *exec.Cmd {
	if c.user != "" {
		return exec.Command("runuser", append([]string{"-u", c.user, "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (c *Cluster) pgctl(args ...string) ([]byte, error) {
	all := append([]string{"-D", filepath.Join(c.dir, "data"), "-w"}, args...)
	return c.cmd(filepath.Join(c.bin, "pg_ctl"), all...).CombinedOutput()
}

// Start starts the server (again).
func (c *Cluster) Start() {
	c.t.Helper()
	listen := "-k " + c.dir + " -c listen_addresses=''"
	if c.opts != "" {
		listen = "-k " + c.dir + " " + c.opts
	}
	if out, err := c.pgctl("-l", filepath.Join(c.dir, "server.log"), "-o", listen, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		c.t.Fatalf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server at once, as a crash or a pulled cable would:
// open transactions are lost, committed ones are not.
func (c *Cluster) Stop() {
	c.t.Helper()
	if out, err := c.pgctl("stop", "-m", "immediate"); err != nil {
		c.t.Fatalf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
}

// Database creates a database on the cluster and returns its URL.
func (c *Cluster) Database(name string) string {
	c.t.Helper()
	cfg, err := pgx.ParseConfig(c.URL)
	if err != nil {
		c.t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		c.t.Fatal(err)
	}
	u, _ := url.Parse(c.URL)
	return URL(u, name)
}

// KeptDatabase returns the URL of database name on the IDCARDS_TEST_POSTGRES
// server, creating it if missing and keeping it after the test: for
// benchmark fixtures that take long to build (a registry of 1M IDs).
func KeptDatabase(t testing.TB, name string) string {
	t.Helper()
	db, u, err := server()
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
			t.Fatal(err)
		}
	}
	return URL(u, name)
}

// SQLiteOnlyBecause skips, when the suite runs against PostgreSQL, a test of
// something only SQLite registries do; why says what and where PostgreSQL's
// counterpart is tested.
func SQLiteOnlyBecause(t testing.TB, why string) {
	t.Helper()
	if Enabled() {
		t.Skip("SQLite only: " + why)
	}
}
