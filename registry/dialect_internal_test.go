package registry

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strings"
	"syscall"
	"testing"

	"github.com/idcards/idcards"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"none", `SELECT 1`, `SELECT 1`},
		{"bare", `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{"numbered", `SELECT ?1, ?2, ?1`, `SELECT $1, $2, $1`},
		{"bare after numbered", `SELECT ?2, ?`, `SELECT $2, $3`},
		{"string literal", `SELECT '?', ? FROM t WHERE x = 'it''s ?'`, `SELECT '?', $1 FROM t WHERE x = 'it''s ?'`},
		{"quoted identifier", `SELECT "a?" FROM t WHERE b = ?`, `SELECT "a?" FROM t WHERE b = $1`},
		{"line comment", "SELECT ? -- what?\n, ?", "SELECT $1 -- what?\n, $2"},
		{"block comment", `SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{"dollar quoted", `DO $$ SELECT '?' $$; SELECT ?`, `DO $$ SELECT '?' $$; SELECT $1`},
		{"tagged dollar quote", `SELECT $x$ ? $x$, ?`, `SELECT $x$ ? $x$, $1`},
		{"already postgres", `SELECT $1, ?`, `SELECT $1, $1`},
		{"escape char", `SELECT a LIKE ? ESCAPE '\' OR b LIKE ?`, `SELECT a LIKE $1 ESCAPE '\' OR b LIKE $2`},
		{"unterminated", `SELECT '?`, `SELECT '?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rebindText(tc.in); got != tc.want {
				t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzRebind(f *testing.F) {
	f.Add(`SELECT ?1, '?', "?", ? -- ?`)
	f.Add(`$$?$$ ?`)
	f.Fuzz(func(t *testing.T, q string) {
		out := rebindText(q) // must not panic or loop
		if !strings.Contains(q, "?") && out != q {
			t.Fatalf("rebind changed a query without placeholders: %q -> %q", q, out)
		}
	})
}

// TestMigrations_EveryDialect: each SQLite migration has its PostgreSQL
// port of the same name and no PostgreSQL migration lacks its SQLite one, so
// a registry copies between engines table for table. A new
// registry/migrations/NNNN_x.sql needs registry/migrations/postgres/NNNN_x.sql.
func TestMigrations_EveryDialect(t *testing.T) {
	names := func(d *dialect) map[string]bool {
		m, err := fs.Glob(d.migrations, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, n := range m {
			out[n] = true
		}
		return out
	}
	lite, pg := names(sqliteDialect), names(postgresDialect)
	for n := range lite {
		if !pg[n] {
			t.Errorf("migrations/%s has no PostgreSQL port: add migrations/postgres/%s", n, n)
		}
	}
	for n := range pg {
		if !lite[n] {
			t.Errorf("migrations/postgres/%s has no SQLite migration of the same name", n)
		}
	}
}

// The feed's trigger takes the writer lock by number; it must be the same.
func TestPostgresFeedTakesTheWriterLock(t *testing.T) {
	b, err := fs.ReadFile(postgresDialect.migrations, "0010_verify_changes.sql")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("pg_advisory_xact_lock(%d)", int64(pgWriteLockKey)); !strings.Contains(string(b), want) {
		t.Fatalf("0010_verify_changes.sql does not take %s", want)
	}
}

// TestCommitFailed: a connection lost at COMMIT leaves the outcome unknown
// and says so (not "nothing was saved"); it is still the database being
// unreachable, for the desks' reconnecting. Other commit errors are as
// they were.
func TestCommitFailed(t *testing.T) {
	for _, tc := range []struct {
		name              string
		err               error
		unknown, unreachd bool
	}{
		{"connection lost", fmt.Errorf("conn: %w", io.ErrUnexpectedEOF), true, true},
		{"connection reset", syscall.ECONNRESET, true, true},
		{"other", errors.New("deferred constraint"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := commitFailed(tc.err)
			if CommitOutcomeUnknown(err) != tc.unknown || DatabaseUnreachable(err) != tc.unreachd {
				t.Fatalf("%v: unknown %v unreachable %v", err, CommitOutcomeUnknown(err), DatabaseUnreachable(err))
			}
			if tc.unknown && (strings.Contains(err.Error(), "nothing was saved") || !strings.Contains(err.Error(), "may have been saved")) {
				t.Errorf("message: %v", err)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("the cause is lost: %v", err)
			}
		})
	}
	if CommitOutcomeUnknown(Unreachable(io.EOF)) {
		t.Error("a connection lost before COMMIT is known not to have saved anything")
	}
}

// TestDiskFull: a full disk is said in words (the desk said "internal
// error"); other errors pass through.
func TestDiskFull(t *testing.T) {
	full := diskFull(fmt.Errorf("insert: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"}))
	if idcards.ErrorKind(full) != idcards.Unavailable || !strings.Contains(full.Error(), "disk holding the registry is full") {
		t.Errorf("53100: %v", full)
	}
	if other := errors.New("something else"); diskFull(other) != other {
		t.Error("another error was changed")
	}
}

// TestCheckHeadSeq: a forged head row numbered at the top of int64 is not
// followed by a wrapped, negative row number.
func TestCheckHeadSeq(t *testing.T) {
	for _, tc := range []struct {
		seq int64
		n   int
		ok  bool
	}{{0, 1, true}, {41, 3, true}, {math.MaxInt64 - 1, 1, true}, {math.MaxInt64, 1, false}, {math.MaxInt64 - 1, 2, false}, {-5, 1, false}} {
		if err := checkHeadSeq(tc.seq, tc.n); (err == nil) != tc.ok {
			t.Errorf("seq %d + %d rows: %v", tc.seq, tc.n, err)
		}
	}
}
