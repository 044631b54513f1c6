package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxDesk runs the real binary in tmux sessions of 80×24 on a private
// server, for tests that drive the desk as a clerk does.
type tmuxDesk struct {
	t      *testing.T
	bin    string
	sock   string
	target string // the session keys go to and the pane is read from
}

// newTmuxDesk builds the binary into dir and skips (or, with
// IDCARDS_REQUIRE_TOOLS=1, fails) when tmux is missing or -short is set.
func newTmuxDesk(t *testing.T, dir string) *tmuxDesk {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("IDCARDS_REQUIRE_TOOLS") == "1" {
			t.Fatal("tmux is required (IDCARDS_REQUIRE_TOOLS=1)")
		}
		t.Skip("tmux not installed")
	}
	if testing.Short() {
		t.Skip("short")
	}
	d := &tmuxDesk{t: t, bin: buildBinary(t, dir), sock: filepath.Join(dir, "tmux.sock")}
	t.Cleanup(func() { exec.Command("tmux", "-S", d.sock, "kill-server").Run() })
	return d
}

// tmux runs a tmux command on the private server.
func (d *tmuxDesk) tmux(args ...string) string {
	d.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", d.sock}, args...)...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// start opens session name running the binary with env (KEY=value) and
// TERM=xterm-256color, and makes it the target.
func (d *tmuxDesk) start(name string, env ...string) {
	d.t.Helper()
	d.target = name
	args := append([]string{"new-session", "-d", "-s", name, "-x", "80", "-y", "24", "env"}, env...)
	d.tmux(append(args, "TERM=xterm-256color", d.bin)...)
}

// key sends tmux key names (or, after "-l", literal text) to the target.
func (d *tmuxDesk) key(k ...string) {
	d.t.Helper()
	d.tmux(append([]string{"send-keys", "-t", d.target}, k...)...)
}

// typeSlowly types s a key at a time, as a person does (a fast run of
// keys is a scanner's).
func (d *tmuxDesk) typeSlowly(s string) {
	d.t.Helper()
	for _, r := range s {
		d.key("-l", string(r))
		time.Sleep(80 * time.Millisecond)
	}
}

// waitFor polls the pane until it shows all of want (not a timing
// assertion: the deadline only bounds a hung program).
func (d *tmuxDesk) waitFor(want ...string) string {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		screen = d.tmux("capture-pane", "-p", "-t", d.target)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(screen, w)
		}
		if ok {
			return screen
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("screen never showed %q:\n%s", want, screen)
	return ""
}

// typeFields types each value slowly, pressing key after each (Enter
// through a sign-in, Tab between a form's fields: then not after the
// last).
func (d *tmuxDesk) typeFields(key string, values ...string) {
	d.t.Helper()
	for i, v := range values {
		if key == "Tab" && i > 0 {
			d.key(key)
		}
		d.typeSlowly(v)
		if key != "Tab" {
			d.key(key)
		}
	}
}

// firstSignIn signs user in with the password an admin gave and chooses
// their own, as the desk requires the first time.
func (d *tmuxDesk) firstSignIn(user, given, chosen string) {
	d.t.Helper()
	d.waitFor("Sign in", "User")
	d.typeFields("Enter", user, given)
	d.waitFor("choose your own password", "an admin gave you")
	d.typeFields("Enter", chosen, chosen)
	d.waitFor("Find or register", "Signed in as "+user)
}

// buildBinary builds the idcards binary into dir, for tests that run it
// as a process of its own.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "idcards")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}
