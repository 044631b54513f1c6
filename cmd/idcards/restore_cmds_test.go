package main

import (
	"os"
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

// TestCLI_RestoreCarriesSecurityState is the tester's repro: a restore
// over the registry keeps a token revoked, an account disabled and a
// password changed after the backup, says so, and lists what it did not
// restore; a restore onto a new disk warns that accounts are the backup's.
func TestCLI_RestoreCarriesSecurityState(t *testing.T) {
	c := newCLI(t)
	c.ok(adminPW+"\n", "users", "add", "sarah", "--role", "clerk", "--must-change=false")
	c.ok(adminPW+"\n", "users", "add", "pete", "--role", "clerk", "--must-change=false")
	c.ok("", "tokens", "add", "ward3")
	b := filepath.Join(t.TempDir(), "fb2.db")
	c.ok("", "backup", "--out", b)
	c.ok("", "tokens", "revoke", "ward3")
	c.ok("", "users", "disable", "sarah")
	c.ok("", "users", "passwd", "pete", "--password-file", c.passwordFile("a whole new passphrase"), "--must-change=false")
	c.ok("", "tokens", "add", "ward9")
	out := c.ok("", "restore", b, "--force")
	for _, want := range []string{"carried    token:ward3: revoked after the backup", "carried    sarah: disabled after the backup", "carried    pete: password changed after the backup",
		"NOT RESTORED token ward9"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WARNING") {
		t.Errorf("a live restore warns:\n%s", out)
	}
	for _, line := range strings.Split(c.ok("", "tokens", "list"), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "ward3" && f[len(f)-1] == "-" {
			t.Errorf("ward3 active again after the restore: %s", line)
		}
	}
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	if _, _, err := c.run("", "--user", "pete", "users", "list"); err == nil || !strings.Contains(err.Error(), "wrong user name or password") {
		// pete's old password must not sign him in (a clerk may not list users: a wrong password fails before that).
		t.Errorf("pete's old password after the restore: %v", err)
	}
	delete(c.env, "IDCARDS_PASSWORD_FILE")
	if c.ok("", "audit", "list", "--action", "restore.carry") == "" {
		t.Error("carried changes not audited")
	}
	// A new disk: nothing to carry from, a plain warning.
	nd := filepath.Join(t.TempDir(), "new-disk.db")
	if out := c.ok("", "restore", b, "--to", nd); !strings.Contains(out, "WARNING    accounts, passwords and scanner tokens are as they were in the backup") {
		t.Errorf("lost-disk restore output:\n%s", out)
	}
}

// TestCLI_RestoreRefusalNamesTheBackup: the drill restored a damaged
// backup to /tmp/check.db and was told about
// /tmp/.idcards-restore-PID-N/registry.db. The refusal names the backup
// file given and the registry, and says what to do.
func TestCLI_RestoreRefusalNamesTheBackup(t *testing.T) {
	c := newCLI(t)
	c.ok("", "issue", "--count", "3")
	dir := t.TempDir()
	b := filepath.Join(dir, "b.db")
	c.ok("", "backup", "--out", b)
	raw, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.db")
	os.WriteFile(cut, raw[:5000], 0o600)
	check := filepath.Join(t.TempDir(), "check.db")
	for _, args := range [][]string{
		{"restore", cut, "--to", check, "--skip-ahead", "-1"},
		{"restore", cut, "--force"},
	} {
		_, stderr, err := c.run("", args...)
		code := exitCode(err, &strings.Builder{})
		if code != 2 {
			t.Errorf("idcards %s: exit %d (%v)", strings.Join(args, " "), code, err)
		}
		msg := userMessage(err)
		if strings.Contains(msg, ".idcards-") || strings.Contains(stderr, ".idcards-") {
			t.Errorf("idcards %s names a private copy:\n%s", strings.Join(args, " "), msg)
		}
		to := check
		if len(args) == 3 {
			to = c.db
		}
		for _, want := range []string{cut, to, "restore an older backup"} {
			if !strings.Contains(msg, want) {
				t.Errorf("idcards %s: message lacks %q:\n%s", strings.Join(args, " "), want, msg)
			}
		}
	}
}
