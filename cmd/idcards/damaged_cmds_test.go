package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
)

// TestCLI_VerifyDamagedRegistry: verify (and every other command) on a
// registry file that is damaged, or is no registry at all, says so in words
// naming the file and the way back, instead of SQLite's "file is not a
// database (26)"; `idcards restore BACKUP --force` then brings it back. A
// missing file still says to run init.
func TestCLI_VerifyDamagedRegistry(t *testing.T) {
	pgtest.SQLiteOnlyBecause(t, "damages a SQLite file")
	c := newCLI(t)
	ids := strings.Fields(c.ok("", "issue", "--count", "3000"))
	b := filepath.Join(t.TempDir(), "b.db")
	c.ok("", "backup", "--out", b)
	raw, err := os.ReadFile(c.db)
	if err != nil {
		t.Fatal(err)
	}
	// Pages of the identifiers table overwritten: the registry opens, the
	// lookup of a code meets the damage (a read, which knows no path).
	leaves := func() []int64 {
		db, err := sql.Open("sqlite", "file:"+c.db+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT pageno FROM dbstat WHERE name = 'identifiers' AND pagetype = 'leaf'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var p int64
			rows.Scan(&p)
			out = append(out, p)
		}
		return out
	}()
	if len(leaves) < 2 {
		t.Fatalf("identifiers on %d leaf pages", len(leaves))
	}
	pages := append([]byte(nil), raw...)
	for _, p := range leaves {
		for i := (p - 1) * 4096; i < p*4096 && i < int64(len(pages)); i++ {
			pages[i] = 0xa5
		}
	}
	keyPath := c.db + ".auditkey"
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body []byte
		code int
		want string
	}{
		{"Truncated", raw[:5000], 5, "is damaged"},
		{"PagesOverwritten", pages, 5, "is damaged"},
		{"Garbage", []byte("hello, not a database at all"), 2, "is not an idcards registry (it is not a SQLite database)"},
		{"Empty", nil, 2, "is not an idcards registry (the file is empty)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &cli{t: t, db: filepath.Join(t.TempDir(), "registry.db"), env: map[string]string{}}
			os.WriteFile(d.db, tc.body, 0o600)
			os.WriteFile(d.db+".auditkey", key, 0o600)
			_, _, err := d.run("", "verify", ids[len(ids)/2])
			var stderr strings.Builder
			if code := exitCode(err, &stderr); code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr.String())
			}
			for _, want := range []string{d.db, tc.want, "idcards restore BACKUP --force", `docs/security.md, "When the registry file is damaged"`} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			// The way back the message gives.
			d.ok("", "restore", b, "--force")
			if out := d.ok("", "verify", ids[0]); !strings.Contains(out, "unassigned") {
				t.Errorf("verify after the restore: %s", out)
			}
		})
	}
	t.Run("Missing", func(t *testing.T) {
		d := &cli{t: t, db: filepath.Join(t.TempDir(), "registry.db"), env: map[string]string{}}
		_, _, err := d.run("", "verify", ids[0])
		var stderr strings.Builder
		if code := exitCode(err, &stderr); code != 1 || idcards.ErrorKind(err) != idcards.NotFound ||
			!strings.Contains(stderr.String(), "no registry at "+d.db+": create one with `idcards init") {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	})
}

// TestCLI_PostgresNotARegistry: read commands on a PostgreSQL URL naming an
// empty database, or another program's, say it is not an idcards registry
// (exit 2, as for a SQLite file that is none) and create nothing in it;
// init then makes the registry in the empty one.
func TestCLI_PostgresNotARegistry(t *testing.T) {
	pgtest.Require(t)
	for _, tc := range []struct{ name, setup, want string }{
		{"Empty", "", "is empty: it is not an idcards registry (not initialised)"},
		{"OtherProgram", `CREATE TABLE invoices (id int PRIMARY KEY)`, "is not an idcards registry (tables invoices, but no idcards schema), perhaps another program's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := pgtest.NewDatabaseWith(t, tc.setup)
			d := &cli{t: t, db: loc, env: map[string]string{}}
			for _, args := range [][]string{{"audit", "verify"}, {"patients", "show", "0000018"}, {"verify", "0000018"}} {
				_, _, err := d.run("", args...)
				var stderr strings.Builder
				if code := exitCode(err, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
					t.Errorf("%v: exit %d, want 2 and %q: %s", args, code, tc.want, stderr.String())
				}
				if tc.name == "Empty" && !strings.Contains(stderr.String(), "idcards init --db URL") {
					t.Errorf("%v: the message does not say how to initialise: %s", args, stderr.String())
				}
			}
			if registryExists(t, loc) {
				t.Fatal("a read command made a registry")
			}
			db := pgtest.OpenDB(t, loc)
			var n int
			db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&n)
			db.Close()
			if want := map[string]int{"Empty": 0, "OtherProgram": 1}[tc.name]; n != want {
				t.Fatalf("%d tables after the read commands, want %d", n, want)
			}
			if tc.name == "Empty" {
				d.ok("", "init", "--site", "", "--scheme", "luhn", "--width", "6")
				d.ok("", "audit", "verify")
			}
		})
	}
}
