package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards/internal/pgtest"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	_ "modernc.org/sqlite"
)

// cli runs the program in-process against one registry.
type cli struct {
	t   *testing.T
	db  string
	env map[string]string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	c := &cli{t: t, db: pgtest.Location(t), env: map[string]string{}}
	c.ok("", "init", "--site", "12", "--scheme", "luhn", "--width", "6")
	return c
}

func (c *cli) run(stdin string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	args = append([]string{"--db", c.db}, args...)
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return c.env[k] })
	return out.String(), errb.String(), err
}

func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, _, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("idcards %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (c *cli) fails(kind idcards.Kind, sub, stdin string, args ...string) {
	c.t.Helper()
	_, _, err := c.run(stdin, args...)
	if err == nil || idcards.ErrorKind(err) != kind || !strings.Contains(err.Error(), sub) {
		c.t.Fatalf("idcards %s: want %v error containing %q, got %v", strings.Join(args, " "), kind, sub, err)
	}
}

func (c *cli) passwordFile(pw string) string {
	p := filepath.Join(c.t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

const adminPW = "long passphrase for the boss"

func TestCLI_UsersAndSignIn(t *testing.T) {
	c := newCLI(t)
	// The OS user creates the first admin; there is no default account.
	c.ok(adminPW+"\n", "users", "add", "amina", "--role", "admin", "--must-change=false", "--full-name", "Amina K")
	var users []map[string]any
	json.Unmarshal([]byte(c.ok("", "users", "list", "--json")), &users)
	if len(users) != 1 || users[0]["username"] != "amina" || users[0]["role"] != "admin" {
		t.Fatalf("users list: %v", users)
	}
	c.ok("", "settings", "set", "cli_sign_in", "on")
	// Signed out: changes are refused with a hint; reading codes still works.
	c.fails(idcards.Forbidden, "cli_sign_in is on, pass --user", "", "issue", "--count", "1")
	c.fails(idcards.Forbidden, "cli_sign_in is on, pass --user", "", "users", "list")
	if _, _, err := c.run("", "verify", "1200000"); err != nil && idcards.ErrorKind(err) != idcards.Other {
		t.Fatalf("verify while signed out: %v", err)
	}
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile("not her password")
	c.fails(idcards.Forbidden, "wrong user name or password", "", "--user", "amina", "issue", "--count", "1")
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	if out := c.ok("", "--user", "amina", "issue", "--count", "2"); len(strings.Fields(out)) != 2 {
		t.Fatalf("issue: %q", out)
	}
	// A clerk created by the admin must choose a password first.
	c.ok("first password of the clerk\n", "--user", "amina", "users", "add", "john", "--role", "clerk")
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile("first password of the clerk")
	c.fails(idcards.Forbidden, "change-password john", "", "--user", "john", "issue", "--count", "1")
	delete(c.env, "IDCARDS_PASSWORD_FILE")
	c.fails(idcards.Invalid, "too short", "first password of the clerk\nshort\n", "users", "change-password", "john")
	c.ok("first password of the clerk\nthe clerk's own secret words\n", "users", "change-password", "john")
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile("the clerk's own secret words")
	// A clerk may not reserve batches or manage users: a clear refusal.
	c.fails(idcards.Forbidden, "john (role clerk) may not reserve", "", "--user", "john", "issue", "--count", "1")
	c.fails(idcards.Forbidden, "may not manage_users", "", "--user", "john", "users", "disable", "amina")
	// Refused before a new user's password is asked for (it said "no
	// password given" to the clerk).
	c.fails(idcards.Forbidden, "may not manage_users", "", "--user", "john", "users", "add", "mallory", "--role", "admin")
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	c.fails(idcards.Conflict, "last enabled admin", "", "--user", "amina", "users", "disable", "amina")
	c.ok("", "--user", "amina", "users", "disable", "john")
	c.ok("", "--user", "amina", "users", "role", "john", "printer")
	var review map[string]any
	json.Unmarshal([]byte(c.ok("", "--user", "amina", "users", "review", "--json")), &review)
	if d, _ := review["disabled"].([]any); len(d) != 1 {
		t.Fatalf("review: %v", review)
	}
	// Every change above is in the audit trail with the acting user.
	out := c.ok("", "--user", "amina", "audit", "list", "--action", "user.", "--json")
	var events []idcards.AuditEvent
	if err := json.Unmarshal([]byte(out), &events); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Actor+":"+e.Action)
	}
	for _, want := range []string{"amina:user.sign_in_failed", "amina:user.add", "john:user.passwd", "john:user.sign_in_refused", "amina:user.disable", "amina:user.role"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("audit has no %s: %v", want, got)
		}
	}
}

func TestCLI_BadInput(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		name  string
		kind  idcards.Kind
		sub   string
		stdin string
		args  []string
	}{
		{"UnknownRole", idcards.Invalid, "role", "a long password 1\n", []string{"users", "add", "x1", "--role", "root"}},
		{"NoPassword", idcards.Invalid, "password-file flag", "", []string{"users", "add", "x1", "--role", "clerk"}},
		{"NoSignInPassword", idcards.Invalid, "set $IDCARDS_PASSWORD_FILE", "", []string{"--user", "amina", "users", "list"}},
		{"CommonPassword", idcards.Invalid, "commonly used", "1234567890\n", []string{"users", "add", "x1", "--role", "clerk"}},
		{"BadSince", idcards.Invalid, "--since", "", []string{"audit", "list", "--since", "yesterday"}},
		{"BadFormat", idcards.Invalid, "--format", "", []string{"audit", "export", "--format", "xml"}},
		{"UnknownSetting", idcards.Invalid, "unknown setting", "", []string{"settings", "set", "colour", "red"}},
		{"BadSettingValue", idcards.Invalid, "use one of on, off", "", []string{"settings", "set", "cli_sign_in", "yes"}},
		{"SignInWithoutAdmin", idcards.Conflict, "needs an enabled admin", "", []string{"settings", "set", "cli_sign_in", "on"}},
		{"BadApprovalID", idcards.Invalid, "not a number", "", []string{"approvals", "approve", "x"}},
		{"NoSuchRequest", idcards.NotFound, "no approval request 5", "", []string{"approvals", "approve", "5"}},
		{"NoSuchUser", idcards.NotFound, "no user zed", "", []string{"users", "disable", "zed"}},
		{"BadRecipient", idcards.Invalid, "--recipient", "", []string{"backup", "--out", filepath.Join(t.TempDir(), "b"), "--recipient", "age1nope"}},
		{"RestoreOverLive", idcards.Conflict, "already exists", "", []string{"restore", c.db}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.fails(tc.kind, tc.sub, tc.stdin, tc.args...)
		})
	}
}

func TestCLI_ReviewAndSettings(t *testing.T) {
	c := newCLI(t)
	for _, n := range []string{"a1", "a2", "a3", "a4", "a5"} {
		c.ok("a long enough password\n", "users", "add", n, "--role", "admin")
	}
	out := c.ok("", "users", "review")
	for _, want := range []string{"admins (5): a1, a2, a3, a4, a5", "WARNING: more than 4 admins", "never used (5)", "disabled (0)"} {
		if !strings.Contains(out, want) {
			t.Errorf("review has no %q:\n%s", want, out)
		}
	}
	if out := c.ok("", "approvals", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("approvals: %q", out)
	}
	c.ok("", "settings", "set", "flood_cap_per_hour", "60")
	if out := c.ok("", "settings", "list"); !strings.Contains(out, "flood_cap_per_hour  60") {
		t.Fatalf("settings list:\n%s", out)
	}
}

func TestCLI_AuditVerifyAndExport(t *testing.T) {
	c := newCLI(t)
	c.ok("", "issue", "--count", "3")
	c.ok("", "settings", "set", "idle_lock_minutes", "10")
	if out := c.ok("", "audit", "verify"); !strings.HasPrefix(out, "ok: 3 audit rows verified (3 keyed") || !strings.Contains(out, "protected rows match") {
		t.Fatalf("verify: %q", out)
	}
	if out := c.ok("", "audit", "list", "--since", "1h", "--subject", "idle_lock_minutes"); !strings.Contains(out, "setting.set") {
		t.Fatalf("list: %q", out)
	}
	kept := strings.TrimSpace(c.ok("", "audit", "head"))
	if !strings.HasPrefix(kept, "3-") || len(kept) != 2+16 {
		t.Fatalf("audit head: %q", kept)
	}
	if out := c.ok("", "audit", "verify", "--head", kept); !strings.Contains(out, "kept head found at row 3") {
		t.Fatalf("verify --head: %q", out)
	}
	db := pgtest.OpenDB(t, c.db)
	// Deleting the last row keeps the chain whole, but the setting it
	// recorded is now unexplained; and the kept head is gone.
	db.Exec(`DELETE FROM audit WHERE seq = 3`)
	out, _, err := c.run("", "audit", "verify")
	if code := exitCode(err, &bytes.Buffer{}); code != 1 || !strings.Contains(out, "settings idle_lock_minutes: no audit row records this row") {
		t.Fatalf("verify after truncation: exit %d, %q", code, out)
	}
	out, _, err = c.run("", "audit", "verify", "--head", kept)
	if code := exitCode(err, &bytes.Buffer{}); code != 1 {
		t.Fatalf("verify --head after truncation: exit %d, %q", code, out)
	}
	db.Exec(`UPDATE audit SET detail = 'count=1' WHERE seq = 2`)
	db.Close()
	out, _, err = c.run("", "audit", "verify")
	if code := exitCode(err, &bytes.Buffer{}); code != 1 || !strings.Contains(out, "BROKEN at row 2") {
		t.Fatalf("verify after tampering: exit %d, %q", code, out)
	}
}

// TestCLI_AuditExportIsAudited: audit export takes away the whole trail
// (patient.edit rows hold names and phones), so each export is recorded
// like patients export — who, the filters, the rows — and the trail still
// verifies after it.
func TestCLI_AuditExportIsAudited(t *testing.T) {
	c := newCLI(t)
	c.ok("", "issue", "--count", "3")
	c.ok("", "settings", "set", "idle_lock_minutes", "10")
	csvOut := c.ok("", "audit", "export", "--format", "csv")
	if lines := strings.Split(strings.TrimSpace(csvOut), "\n"); len(lines) != 4 || lines[0] != "seq,at,actor,action,subject,detail,prev_hash,hash" {
		t.Fatalf("csv: %q", csvOut)
	}
	jl := c.ok("", "audit", "export", "--format", "jsonl", "--action", "setting.set", "--out", filepath.Join(t.TempDir(), "a.jsonl"))
	if jl != "" {
		t.Fatalf("--out printed %q", jl)
	}
	jl = c.ok("", "audit", "export", "--format", "jsonl", "--action", "setting.set")
	var e idcards.AuditEvent
	if err := json.Unmarshal([]byte(jl), &e); err != nil || e.Subject != "idle_lock_minutes" {
		t.Fatalf("jsonl: %q %v", jl, err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(c.ok("", "audit", "list", "--action", "audit.export")), "\n") {
		f := strings.Split(line, "\t")
		got = append(got, strings.SplitN(f[2], ":", 2)[0]+" "+f[len(f)-1])
	}
	want := []string{"os rows=3", `os rows=1 action="setting.set"`, `os rows=1 action="setting.set"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("audit.export rows: %q, want %q", got, want)
	}
	if out := c.ok("", "audit", "verify"); !strings.HasPrefix(out, "ok: 6 audit rows verified") {
		t.Fatalf("verify after exports: %q", out)
	}
}

// TestCLI_UsersPasswdNewPasswordFile: docs/security.md names
// --new-password-file for new passwords; users passwd refused it as an
// unknown flag (only change-password had it). --password-file still works.
func TestCLI_UsersPasswdNewPasswordFile(t *testing.T) {
	c := newCLI(t)
	c.ok("a long enough password\n", "users", "add", "john", "--role", "clerk")
	for _, flag := range []string{"--new-password-file", "--password-file"} {
		pw := "river chalk window " + flag
		c.ok("", "users", "passwd", "john", flag, c.passwordFile(pw), "--must-change=false")
		c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(pw)
		// Signed in with the new password: refused for the clerk's role,
		// not for a wrong password.
		c.fails(idcards.Forbidden, "john (role clerk) may not reserve", "", "--user", "john", "issue", "--count", "1")
		delete(c.env, "IDCARDS_PASSWORD_FILE")
	}
}

func TestCLI_BackupRestore(t *testing.T) {
	c := newCLI(t)
	c.ok("", "issue", "--count", "5")
	dir := t.TempDir()
	plain := filepath.Join(dir, "b.db")
	if out := c.ok("", "backup", "--out", plain); !strings.Contains(out, "identifiers 5") || !strings.Contains(out, "integrity  ok") {
		t.Fatalf("backup: %q", out)
	}
	if _, err := os.Stat(plain + ".sha256"); err != nil {
		t.Fatal(err)
	}
	c.fails(idcards.Conflict, "already exists", "", "backup", "--out", plain)
	to := filepath.Join(dir, "restored.db")
	if out := c.ok("", "restore", plain, "--to", to); !strings.Contains(out, "identifiers 5") {
		t.Fatalf("restore: %q", out)
	}
	// Encrypted with a passphrase.
	pass := c.passwordFile("a backup passphrase for tests")
	enc := filepath.Join(dir, "b.db.age")
	c.ok("", "backup", "--out", enc, "--passphrase-file", pass)
	c.fails(idcards.Invalid, "is encrypted", "", "restore", enc, "--to", filepath.Join(dir, "r2.db"))
	c.ok("", "restore", enc, "--to", filepath.Join(dir, "r2.db"), "--passphrase-file", pass)
	c2 := &cli{t: t, db: filepath.Join(dir, "r2.db"), env: map[string]string{}}
	if out := c2.ok("", "audit", "verify"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("verify restored: %q", out)
	}
}

// FuzzParseSince: --since never panics, and what it accepts is not in the
// future.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "7d", "24h", "2026-03-01", "2026-03-01T08:00:00Z", "-5h", "99999999d", "yesterday"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, now)
		if err == nil && !got.IsZero() && got.After(now) && !strings.Contains(s, "-") && !strings.Contains(s, "T") {
			t.Fatalf("parseSince(%q) = %v, after now", s, got)
		}
	})
}

func TestCreateFirstAdmin(t *testing.T) {
	c := newCLI(t)
	s, err := registry.Open(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := &app{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	if err := a.createFirstAdmin(context.Background(), s, "amina", c.passwordFile(adminPW)); err != nil {
		t.Fatal(err)
	}
	err = a.createFirstAdmin(context.Background(), s, "mallory", c.passwordFile(adminPW))
	if idcards.ErrorKind(err) != idcards.Conflict {
		t.Fatalf("second first admin: %v", err)
	}
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	c.ok("", "--user", "amina", "users", "list")
}

// FuzzReadLine: a password from standard input is one line, never more
// than 4 KiB, without its line ending, and reading stops at the newline so
// the next secret is still there.
func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"", "\n", "pw\r\nnext\n", "no newline", strings.Repeat("x", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := strings.NewReader(in)
		a := &app{stdin: r}
		got, err := a.readLine()
		if err != nil {
			return
		}
		if strings.Contains(got, "\n") || len(got) > 4096 {
			t.Fatalf("readLine(%q) = %q", in, got)
		}
		if i := strings.IndexByte(in, '\n'); i >= 0 && i < 4096 && r.Len() != len(in)-i-1 {
			t.Fatalf("readLine(%q) consumed past the newline", in)
		}
	})
}

// TestCLI_VerifyVoided: a voided ID's line names the status once, then the
// reason (it said "voided: voided: …").
func TestCLI_VerifyVoided(t *testing.T) {
	c := newCLI(t)
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "test", Role: idcards.RoleOperator})
	s, err := registry.Open(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.Reserve(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, ids[0], "card lost in the printer"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out, _, _ := c.run("", "verify", ids[0], ids[1]) // exit status 1: one input is not usable
	if want := ids[0] + "\tvoided: card lost in the printer\n"; !strings.HasPrefix(out, want) {
		t.Errorf("verify:\n%s\nwant first line %q", out, want)
	}
}

// TestCLI_AuditListHidesPatientsFromAdmins: an admin (no patient's
// details) read a patient edit's old and new name and phone in audit list.
func TestCLI_AuditListHidesPatientsFromAdmins(t *testing.T) {
	c := newCLI(t)
	c.ok(adminPW+"\n", "users", "add", "amina", "--role", "admin", "--must-change=false")
	mrn := strings.TrimSpace(c.ok("", "patients", "add", "--given", "Grace", "--family", "Nakato", "--sex", "F", "--age", "30", "--issue"))
	c.ok("", "patients", "edit", mrn, "--family", "Nakatto", "--phone", "0772999888", "--reason", "typing mistake at registration")
	if out := c.ok("", "audit", "list", "--action", "patient."); !strings.Contains(out, "Nakatto") {
		t.Fatalf("the operator's list: %s", out)
	}
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	out := c.ok("", "--user", "amina", "audit", "list", "--action", "patient.")
	if strings.Contains(out, "Nakat") || strings.Contains(out, "0772999888") || !strings.Contains(out, "for a supervisor") {
		t.Fatalf("an admin's list:\n%s", out)
	}
}

// TestCLI_UsersPasswdChecksPermissionFirst: users passwd asked for the
// new password (prompt or file) before the store refused a caller who may
// not reset passwords, so a clerk typed a password twice for nothing and a
// file was read on their behalf. The refusal comes first, and so does "no
// user" for an admin's typo; nothing is read from standard input.
func TestCLI_UsersPasswdChecksPermissionFirst(t *testing.T) {
	c := newCLI(t)
	c.ok(adminPW+"\n", "users", "add", "amina", "--role", "admin", "--must-change=false")
	c.ok(adminPW+"\n", "users", "add", "okot", "--role", "clerk", "--must-change=false")
	c.ok(adminPW+"\n", "users", "add", "john", "--role", "clerk", "--must-change=false")
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	newPW := "river chalk window seven"
	for _, tc := range []struct {
		name string
		kind idcards.Kind
		sub  string
		args []string
	}{
		{"ClerkRefused", idcards.Forbidden, "okot (role clerk) may not", []string{"--user", "okot", "users", "passwd", "john"}},
		{"NoSuchUser", idcards.NotFound, "no user jhon", []string{"--user", "amina", "users", "passwd", "jhon"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A new password on stdin: a refusal after reading it would
			// have consumed it.
			stdin := &countingReader{r: strings.NewReader(newPW + "\n")}
			var out, errb bytes.Buffer
			err := run(context.Background(), append([]string{"--db", c.db}, tc.args...), stdin, &out, &errb, func(k string) string { return c.env[k] })
			if err == nil || idcards.ErrorKind(err) != tc.kind || !strings.Contains(err.Error(), tc.sub) {
				t.Fatalf("want %v error containing %q, got %v", tc.kind, tc.sub, err)
			}
			if stdin.n > 0 {
				t.Errorf("%d bytes of the new password were read before the refusal", stdin.n)
			}
			if strings.Contains(errb.String(), "new password") {
				t.Errorf("asked for a new password: %q", errb.String())
			}
		})
	}
	// john's password is unchanged; an admin still resets it.
	c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(adminPW)
	c.ok("", "--user", "john", "users", "change-password", "john", "--new-password-file", c.passwordFile(newPW))
	c.ok("", "--user", "amina", "users", "passwd", "john", "--new-password-file", c.passwordFile("an entirely fresh passphrase"))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestCLI_UsersSignInRevealsNoAccount: --user answers a name nobody has, a
// wrong password, and a disabled account's wrong password in the same
// words and exit status, and so when locked out; only the right password
// of an account learns more (disabled, or that its role may not: "okot
// (role clerk) may not …"). Every command signs in this way (restore too).
func TestCLI_UsersSignInRevealsNoAccount(t *testing.T) {
	c := newCLI(t)
	c.ok(adminPW+"\n", "users", "add", "amina", "--role", "admin", "--must-change=false")
	c.ok(adminPW+"\n", "users", "add", "okot", "--role", "clerk", "--must-change=false")
	c.ok(adminPW+"\n", "users", "add", "gone", "--role", "supervisor", "--must-change=false")
	c.ok("", "users", "disable", "gone")
	answer := func(user, pw string, args ...string) string {
		c.env["IDCARDS_PASSWORD_FILE"] = c.passwordFile(pw)
		defer delete(c.env, "IDCARDS_PASSWORD_FILE")
		_, _, err := c.run("", append([]string{"--user", user}, args...)...)
		var stderr strings.Builder
		return fmt.Sprintf("exit %d: %s", exitCode(err, &stderr), stderr.String())
	}
	const wrong = "not the password at all"
	for _, args := range [][]string{{"audit", "list"}, {"restore", "/nonexistent/b.db", "--force"}} {
		want := answer("amina", wrong, args...)
		if !strings.Contains(want, "wrong user name or password") {
			t.Fatalf("wrong password: %s", want)
		}
		for _, who := range []string{"nobody", "gone"} {
			if got := answer(who, wrong, args...); got != want {
				t.Errorf("idcards --user %s %s: %q, but a wrong password of amina: %q", who, strings.Join(args, " "), got, want)
			}
		}
	}
	// Locked out: the same words for a real account and a made-up name.
	for i := 0; i < 5; i++ {
		answer("okot", wrong, "audit", "list")
		answer("nobody2", wrong, "audit", "list")
	}
	if a, b := answer("okot", adminPW, "audit", "list"), answer("nobody2", adminPW, "audit", "list"); a != b || !strings.Contains(a, "too many attempts") {
		t.Errorf("locked: okot %q, unknown %q", a, b)
	}
	// Only the right password learns about the account.
	if got := answer("gone", adminPW, "audit", "list"); !strings.Contains(got, "account gone is disabled") {
		t.Errorf("disabled, right password: %s", got)
	}
	if got := answer("amina", adminPW, "patients", "review"); strings.Contains(got, "wrong user name") {
		t.Errorf("admin, right password: %s", got)
	}
}
