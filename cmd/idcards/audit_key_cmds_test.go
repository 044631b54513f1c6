package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestCLI_AuditKeyInstall: a new desk of the registry has no chain key
// and records nothing; `audit key install` checks a copy against the
// registry and puts it where the desk looks; another registry's key, or
// a file that is not a key, is refused and nothing is installed. Both
// engines (a PostgreSQL registry's desks each need the key).
func TestCLI_AuditKeyInstall(t *testing.T) {
	c := newCLI(t)
	c.ok("", "issue")
	home := registry.DefaultKeyPath(c.db)
	if out := c.ok("", "audit", "key"); !strings.Contains(out, "chain key ") || !strings.Contains(out, home) {
		t.Fatalf("audit key: %s", out)
	}
	usb := filepath.Join(t.TempDir(), "usb.auditkey")
	b, err := os.ReadFile(home)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(usb, b, 0o600)

	// A new desk: its key place is empty.
	desk := filepath.Join(t.TempDir(), "desk", "registry.auditkey")
	c.env["IDCARDS_AUDIT_KEY"] = desk
	if out := c.ok("", "audit", "key"); !strings.Contains(out, "no chain key at "+desk) {
		t.Fatalf("audit key on a new desk: %s", out)
	}
	c.fails(idcards.Unavailable, "audit chain key", "", "issue")
	// Another registry's key, and a file that is not a key: refused.
	other := newCLI(t)
	c.fails(idcards.Conflict, "belongs to registry", "", "audit", "key", "install", registry.DefaultKeyPath(other.db))
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("not a key\n"), 0o600)
	if _, _, err := c.run("", "audit", "key", "install", junk); err == nil {
		t.Fatal("a file that is not a key was installed")
	}
	if _, err := os.Stat(desk); err == nil {
		t.Fatal("a refused key was installed")
	}
	out := c.ok("", "audit", "key", "install", usb)
	if !strings.Contains(out, "installed chain key") || !strings.Contains(out, desk) {
		t.Fatalf("install: %s", out)
	}
	if st, err := os.Stat(desk); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("installed key: %v %v", st, err)
	}
	c.ok("", "issue")                        // the desk records again
	c.ok("", "audit", "key", "install", usb) // the same key again: nothing to do
	c.ok("", "audit", "verify")
}
