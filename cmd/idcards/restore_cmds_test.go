package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
)

// TestCLI_RestoreNeverBackwards: the drill's case through the CLI, then a
// backup of another registry refused, then sign-in on: only an admin.
func TestCLI_RestoreNeverBackwards(t *testing.T) {
	c := newCLI(t)
	c.ok("", "issue", "--count", "3")
	b := filepath.Join(t.TempDir(), "b.db")
	c.ok("", "backup", "--out", b)
	c.ok("", "issue", "--count", "5")
	out := c.ok("", "restore", b, "--force")
	for _, want := range []string{"series 12  next number 4 -> 9 (never backwards)", "lost       5 IDs issued after the backup", "copied     into the running registry"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}
	if next := strings.TrimSpace(c.ok("", "issue")); !strings.HasPrefix(next, "12000009") {
		t.Fatalf("first ID after the restore: %s", next)
	}
	// A scratch copy with the desk's key: every series skips ahead unless -1.
	scratch := filepath.Join(t.TempDir(), "check.db")
	if out := c.ok("", "restore", b, "--to", scratch); !strings.Contains(out, "skip-ahead 10000") {
		t.Fatalf("scratch restore: %s", out)
	}
	// Another registry's backup.
	other := newCLI(t)
	ob := filepath.Join(t.TempDir(), "other.db")
	other.ok("", "backup", "--out", ob)
	c.fails(idcards.Conflict, "backup of another registry", "", "restore", ob, "--force")
	// Sign-in on: an admin restores, nobody else.
	c.ok(adminPW+"\n", "users", "add", "amina", "--role", "admin", "--must-change=false")
	c.ok("", "settings", "set", "cli_sign_in", "on")
	b2 := filepath.Join(t.TempDir(), "b2.db")
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	c.ok("", "--user", "amina", "backup", "--out", b2)
	delete(c.env, "IDCARDS_PASSWORD_FILE")
	c.fails(idcards.Forbidden, "needs an admin", "", "restore", b2, "--force")
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	c.ok("", "--user", "amina", "restore", b2, "--force")
	var actor string
	for _, line := range strings.Split(c.ok("", "--user", "amina", "audit", "list", "--action", "backup.restore"), "\n") {
		if f := strings.Split(line, "\t"); len(f) > 2 {
			actor = f[2]
		}
	}
	if actor != "amina" {
		t.Fatalf("the restore is audited as %q", actor)
	}
}
