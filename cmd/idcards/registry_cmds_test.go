package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards/barcode"
)

func TestCLI_Init(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"ok", []string{"init", "--site", "042", "--scheme", "luhn"}, 0, ""},
		{"unknown scheme", []string{"init", "--site", "042", "--scheme", "nope"}, 2, "nope"},
		{"prefix outside alphabet", []string{"init", "--site", "KLA", "--scheme", "luhn"}, 2, "K"},
		{"width zero", []string{"init", "--site", "042", "--scheme", "luhn", "--width", "0"}, 2, "width"},
		{"missing scheme", []string{"init", "--site", "042"}, 1, "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCLIEnv(t)
			r := e.run("", tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tt.wantErr)
			}
			if exists := registryExists(t, e.db()); (tt.wantCode == 0) != exists {
				t.Errorf("registry file exists=%v after exit %d", exists, r.code)
			}
		})
	}
}

func TestCLI_InitRefusesOverwrite(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "042", "--scheme", "luhn")
	ids := e.must("issue", "--count", "2")
	r := e.run("", "init", "--site", "043", "--scheme", "luhn")
	if r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("second init: exit %d, stderr %q; want a refusal that says the registry exists", r.code, r.stderr)
	}
	// The first registry is untouched: its IDs still verify.
	first := strings.Fields(ids)[0]
	if out := e.must("verify", first); !strings.Contains(out, "\tunassigned") {
		t.Errorf("after refused init, verify %s = %q", first, out)
	}
}

func TestCLI_NoRegistry(t *testing.T) {
	e := newCLIEnv(t)
	r := e.run("", "verify", "0420000017")
	if r.code == 0 || !strings.Contains(r.stderr, "idcards init") {
		t.Fatalf("verify without a registry: exit %d, stderr %q; want advice to run idcards init", r.code, r.stderr)
	}
}

func TestCLI_IssueAndVerify(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "042", "--scheme", "luhn", "--width", "5")
	out := e.must("issue", "--count", "3")
	ids := strings.Fields(out)
	if len(ids) != 3 {
		t.Fatalf("issue --count 3 printed %q", out)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !strings.HasPrefix(id, "042") || len(id) != 9 {
			t.Fatalf("bad or repeated id %q in %q", id, out)
		}
		seen[id] = true
	}

	var js struct{ IDs []string }
	if err := json.Unmarshal([]byte(e.must("issue", "--count", "2", "--json")), &js); err != nil || len(js.IDs) != 2 {
		t.Fatalf("issue --json: %v %v", js, err)
	}
	if seen[js.IDs[0]] || seen[js.IDs[1]] {
		t.Fatalf("--json reissued a number: %v", js.IDs)
	}

	luhn, _ := barcode.Lookup("luhn")
	never, err := barcode.Generate(luhn, "04299999")
	if err != nil {
		t.Fatal(err)
	}
	typo := ids[0][:len(ids[0])-1] + string("0123456789"[(int(ids[0][len(ids[0])-1]-'0')+1)%10])
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     []string
	}{
		{"issued id", []string{"verify", ids[0]}, "", 0, []string{ids[0] + "\tunassigned"}},
		{"scanner AIM prefix and spaces", []string{"verify", "]C0" + ids[1][:3] + " " + ids[1][3:]}, "", 0, []string{"\tunassigned"}},
		{"typo", []string{"verify", typo}, "", 1, []string{typo + "\tinvalid_check: ", "typo"}},
		{"never issued", []string{"verify", never}, "", 1, []string{never + "\tunknown"}},
		{"garbage", []string{"verify", "hello?"}, "", 1, []string{"hello?\tmalformed"}},
		{"stdin lines, blank skipped", []string{"verify"}, ids[0] + "\r\n\n" + ids[2] + "\n", 0, []string{ids[0] + "\tunassigned: ", "\n" + ids[2] + "\tunassigned: "}},
		{"one bad line fails the run", []string{"verify"}, ids[0] + "\n" + typo + "\n", 1, []string{ids[0] + "\tunassigned", typo + "\tinvalid_check"}},
		{"control characters are not echoed", []string{"verify", "04\x1b[2J2"}, "", 1, []string{`04\u001B[2J2` + "\tmalformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run(tt.stdin, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout %q lacks %q", r.stdout, w)
				}
			}
		})
	}
}

func TestCLI_IssueCountBounds(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "042", "--scheme", "luhn")
	for _, n := range []string{"0", "-1", "1000001"} {
		r := e.run("", "issue", "--count", n)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("issue --count %s: exit %d stdout %q stderr %q; want exit 2 and nothing issued", n, r.code, r.stdout, r.stderr)
		}
	}
}

func TestCLI_Series(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "042", "--scheme", "luhn", "--width", "4")
	e.must("issue", "--count", "1")
	if r := e.run("", "series", "add", "--site", "04"); r.code == 0 || !strings.Contains(r.stderr, "overlaps") {
		t.Fatalf("overlapping prefix: exit %d stderr %q", r.code, r.stderr)
	}
	e.must("series", "add", "--site", "77")
	list := e.must("series", "list")
	if !strings.Contains(list, "042\t4\tluhn\t2\t1\tfalse") || !strings.Contains(list, "77\t4\tluhn\t1\t0\ttrue") {
		t.Fatalf("series list:\n%s", list)
	}
	id := strings.TrimSpace(e.must("issue"))
	if !strings.HasPrefix(id, "77") {
		t.Fatalf("new IDs come from the current series; got %q", id)
	}
}

// Every command answers --help without a registry.
func TestCLI_HelpEverywhere(t *testing.T) {
	e := newCLIEnv(t)
	root := (&app{getenv: func(string) string { return "" }}).rootCmd()
	for _, c := range root.Commands() {
		paths := [][]string{{c.Name()}}
		for _, sub := range c.Commands() {
			paths = append(paths, []string{c.Name(), sub.Name()})
		}
		for _, p := range paths {
			r := e.run("", append(p, "--help")...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
				t.Errorf("idcards %s --help: exit %d, stdout %q", strings.Join(p, " "), r.code, r.stdout)
			}
		}
	}
}

func TestCLI_InitFirstAdmin(t *testing.T) {
	e := newCLIEnv(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.must("init", "--site", "042", "--scheme", "luhn", "--admin", "amina", "--admin-password-file", pw)
	if !strings.Contains(out, "first admin: amina") {
		t.Fatalf("init --admin printed %q", out)
	}
	if list := e.must("users", "list"); !strings.Contains(list, "amina") || !strings.Contains(list, "admin") {
		t.Fatalf("users list after init --admin:\n%s", list)
	}

	// A weak password is refused, but the registry stays and says how to retry.
	e2 := newCLIEnv(t)
	weak := filepath.Join(t.TempDir(), "weak")
	os.WriteFile(weak, []byte("short\n"), 0o600)
	r := e2.run("", "init", "--site", "042", "--scheme", "luhn", "--admin", "amina", "--admin-password-file", weak)
	if r.code == 0 || !strings.Contains(r.stderr, "users add --role admin amina") {
		t.Fatalf("weak first-admin password: exit %d stderr %q", r.code, r.stderr)
	}
	if !registryExists(t, e2.db()) {
		t.Fatalf("registry should remain after a refused admin password")
	}

	// Without --admin and without a terminal, init says how to add one later.
	e3 := newCLIEnv(t)
	if out := e3.must("init", "--site", "042", "--scheme", "luhn"); !strings.Contains(out, "no accounts yet") {
		t.Fatalf("init without admin printed %q", out)
	}
}
