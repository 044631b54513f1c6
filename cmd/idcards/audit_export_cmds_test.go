package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// TestCLI_AuditExportAtomic: audit export --out wrote into FILE as it
// went, so an export that failed half-way (or was refused after the file
// was made) left a file that looked like an export. The rows go to a
// private temporary file beside FILE, put in place only when complete:
// a failure leaves no FILE and no temporary file, an existing FILE is
// refused and left as it was, and a complete export is mode 0600.
func TestCLI_AuditExportAtomic(t *testing.T) {
	c := newCLI(t)
	c.ok("", "issue", "--count", "3")
	dir := t.TempDir()
	nothingLeft := func(t *testing.T, out string) {
		t.Helper()
		if _, err := os.Lstat(out); err == nil {
			t.Errorf("a failed export left %s", out)
		}
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("files left in the export's directory: %v", names)
		}
	}
	t.Run("Complete", func(t *testing.T) {
		c := &cli{t: t, db: c.db, env: c.env} // fails this subtest, not the parent
		out := filepath.Join(t.TempDir(), "audit.csv")
		c.ok("", "audit", "export", "--format", "csv", "--out", out)
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
		if b, _ := os.ReadFile(out); !bytes.HasPrefix(b, []byte("seq,at,actor")) || bytes.Count(b, []byte("\n")) < 3 {
			t.Errorf("export: %q", b)
		}
	})
	t.Run("ExistingFileKept", func(t *testing.T) {
		c := &cli{t: t, db: c.db, env: c.env} // fails this subtest, not the parent
		out := filepath.Join(t.TempDir(), "audit.csv")
		os.WriteFile(out, []byte("last year's export\n"), 0o600)
		c.fails(idcards.Conflict, "already exists", "", "audit", "export", "--out", out)
		if b, _ := os.ReadFile(out); string(b) != "last year's export\n" {
			t.Errorf("the existing file was changed: %q", b)
		}
	})
	t.Run("ForceReplaces", func(t *testing.T) {
		c := &cli{t: t, db: c.db, env: c.env} // fails this subtest, not the parent
		out := filepath.Join(t.TempDir(), "audit.csv")
		os.WriteFile(out, []byte("last year's export\n"), 0o644)
		c.ok("", "audit", "export", "--format", "csv", "--force", "--out", out)
		fi, err := os.Stat(out)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("replaced file: %v, %v (want mode 0600)", fi, err)
		}
		if b, _ := os.ReadFile(out); !bytes.HasPrefix(b, []byte("seq,at,actor")) {
			t.Errorf("not replaced by the export: %q", b)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		c := &cli{t: t, db: c.db, env: c.env} // fails this subtest, not the parent
		// A clerk may not read the trail: refused by the store, after
		// the old code had created the file.
		c.ok(adminPW+"\n", "users", "add", "okot", "--role", "clerk", "--must-change=false")
		c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
		defer delete(c.env, "IDCARDS_PASSWORD_FILE")
		out := filepath.Join(dir, "audit.csv")
		c.fails(idcards.Forbidden, "may not", "", "--user", "okot", "audit", "export", "--out", out)
		nothingLeft(t, out)
	})
	t.Run("FailsHalfWay", func(t *testing.T) {
		c := &cli{t: t, db: c.db, env: c.env} // fails this subtest, not the parent
		// The second row cannot be read (its detail made NULL behind the
		// program's back): the first row was written, then the export failed.
		db := pgtest.OpenDB(t, c.db)
		defer db.Close()
		stmts := []string{`ALTER TABLE audit ALTER COLUMN detail DROP NOT NULL`}
		if !registry.IsPostgresURL(c.db) {
			stmts = []string{`PRAGMA writable_schema = ON`,
				`UPDATE sqlite_master SET sql = replace(sql, 'detail    TEXT NOT NULL DEFAULT ''''', 'detail    TEXT') WHERE name = 'audit'`}
		}
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db.Close()
		db = pgtest.OpenDB(t, c.db)
		defer db.Close()
		if _, err := db.Exec(`UPDATE audit SET detail = NULL WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "audit.jsonl")
		_, _, err := c.run("", "audit", "export", "--out", out)
		if err == nil || !strings.Contains(err.Error(), "NULL") {
			t.Fatalf("the export did not fail reading row 2: %v", err)
		}
		nothingLeft(t, out)
	})
}

// TestCLI_PatientsExportOut: patients export --out renamed its file over
// an existing one while audit export --out refused: now both write a
// private (0600) temporary file beside FILE, put in place only when
// complete, and refuse an existing FILE (before anything is exported or
// audited) unless --force.
func TestCLI_PatientsExportOut(t *testing.T) {
	c := newCLI(t)
	c.ok("", "patients", "add", "--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12", "--issue")
	exports := func() int {
		t.Helper()
		return strings.Count(c.ok("", "audit", "list", "--action", "patients.export"), "patients.export")
	}
	t.Run("Complete", func(t *testing.T) {
		c := &cli{t: t, db: c.db, env: c.env}
		dir := t.TempDir()
		out := filepath.Join(dir, "patients.csv")
		c.ok("", "patients", "export", "--out", out)
		fi, err := os.Stat(out)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("export: %v, %v (want mode 0600)", fi, err)
		}
		if b, _ := os.ReadFile(out); !bytes.Contains(b, []byte("Amina")) {
			t.Errorf("export: %q", b)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%d files in the export's directory, want 1 (no temporary file left)", len(ents))
		}
	})
	t.Run("ExistingFileKept", func(t *testing.T) {
		c := &cli{t: t, db: c.db, env: c.env}
		dir := t.TempDir()
		out := filepath.Join(dir, "patients.csv")
		os.WriteFile(out, []byte("yesterday's export\n"), 0o600)
		before := exports()
		c.fails(idcards.Conflict, "already exists", "", "patients", "export", "--format", "jsonl", "--out", out)
		if b, _ := os.ReadFile(out); string(b) != "yesterday's export\n" {
			t.Errorf("the existing file was changed: %q", b)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%d files in the export's directory, want 1 (no temporary file left)", len(ents))
		}
		if n := exports(); n != before {
			t.Errorf("a refused export was audited (%d patients.export rows, was %d)", n, before)
		}
	})
	t.Run("ForceReplaces", func(t *testing.T) {
		c := &cli{t: t, db: c.db, env: c.env}
		out := filepath.Join(t.TempDir(), "patients.csv")
		os.WriteFile(out, []byte("yesterday's export\n"), 0o644)
		c.ok("", "patients", "export", "--force", "--out", out)
		fi, err := os.Stat(out)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("replaced file: %v, %v (want mode 0600)", fi, err)
		}
		if b, _ := os.ReadFile(out); !bytes.Contains(b, []byte("Amina")) {
			t.Errorf("not replaced by the export: %q", b)
		}
	})
}
