package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain Zoë", "plain Zoë"},
		{"exe\u202Etxt.exe", `exe\u202Etxt.exe`}, // right-to-left override
		{"a\u2066b\u2069", `a\u2066b\u2069`},     // isolates
		{"zero\u200Bwidth", `zero\u200Bwidth`},
		{"\x1b[2Jclear", `\u001B[2Jclear`},
		{"c1\u0085", `c1\u0085`},
		{"tab\tnl\n", `tab\tnl\n`},
		{"bad\xffutf8", "bad?utf8"},
		{strings.Repeat("x", 90), strings.Repeat("x", 80) + "…"},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCLI_RejectsFileIsPrivate: --rejects is created 0600 whatever the
// umask, never over an existing file, never through a symlink.
func TestCLI_RejectsFileIsPrivate(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("given_name,sex\nAmina,F\n,F\n"), 0o600)
	rej := filepath.Join(dir, "rejects.csv")
	c.run("", "patients", "import", in, "--skip-bad", "--rejects", rej) // exit 1: a row was refused
	if fi, err := os.Stat(rej); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("rejects file: %v %v", fi, err)
	}
	c.fails(idcards.Conflict, "already exists", "", "patients", "import", in, "--skip-bad", "--rejects", rej)
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link.csv")
	os.Symlink(target, link)
	c.fails(idcards.Conflict, "already exists", "", "patients", "import", in, "--skip-bad", "--rejects", link)
	if _, err := os.Stat(target); err == nil {
		t.Fatal("the symlink was followed")
	}
}

// TestCLI_AuditExportEscapesFormulas: a file name typed by someone ends up
// in the audit trail; the CSV export must not hand it to a spreadsheet as a
// formula.
func TestCLI_AuditExportEscapesFormulas(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "=HYPERLINK(x).csv")
	os.WriteFile(in, []byte("given_name,sex,birth_date\nAmina,F,1990-01-01\n"), 0o600)
	c.ok("", "patients", "import", in)
	out := c.ok("", "audit", "export", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("cell %q starts a formula", cell)
			}
			if cell == "'=HYPERLINK(x).csv" {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("the escaped subject is not in the export:\n%s", out)
	}
}
