package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTUIInTmux drives the real binary in tmux: first-run setup on a fresh
// data directory, register a patient, print, then a scanner burst (the
// whole code sent at once, ending in Enter) and slow typing of a code.
func TestTUIInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("IDCARDS_REQUIRE_TOOLS") == "1" {
			t.Fatal("tmux is required (IDCARDS_REQUIRE_TOOLS=1)")
		}
		t.Skip("tmux not installed")
	}
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "idcards")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "tmux.sock")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	data := filepath.Join(dir, "data")
	tmux("new-session", "-d", "-s", "t", "-x", "80", "-y", "24",
		"env", "HOME="+dir, "XDG_DATA_HOME="+data, "TERM=xterm-256color", bin)
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })

	// waitFor polls the pane until it shows all of want (not a timing assertion:
	// the deadline only bounds a hung program).
	waitFor := func(want ...string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		var screen string
		for time.Now().Before(deadline) {
			screen = tmux("capture-pane", "-p", "-t", "t")
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(screen, w)
			}
			if ok {
				return screen
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("screen never showed %q:\n%s", want, screen)
		return ""
	}
	typeSlowly := func(s string) {
		for _, r := range s {
			tmux("send-keys", "-t", "t", "-l", string(r))
			time.Sleep(80 * time.Millisecond)
		}
	}

	waitFor("No registry was found", "Site prefix")
	typeSlowly("042")
	tmux("send-keys", "-t", "t", "C-s")
	waitFor("Find or register", "registry.db")

	tmux("send-keys", "-t", "t", "C-n")
	waitFor("Register a new patient")
	for i, v := range []string{"Amina", "Okello", "F", "34"} {
		if i > 0 {
			tmux("send-keys", "-t", "t", "Tab")
		}
		typeSlowly(v)
	}
	tmux("send-keys", "-t", "t", "C-s")
	screen := waitFor("Registered Amina Okello with MRN")
	mrn := strings.Fields(screen[strings.Index(screen, "with MRN ")+len("with MRN "):])[0]
	mrn = strings.TrimSuffix(mrn, ".")
	tmux("send-keys", "-t", "t", "p")
	waitFor("sent to", "card(s) ever")

	// Scanner: the whole code in one write, then Enter.
	tmux("send-keys", "-t", "t", "-l", mrn+"\r")
	waitFor("ACTIVE", "Amina Okello", "Valid card")

	// Back home, a clerk typing the code slowly searches instead.
	tmux("send-keys", "-t", "t", "Escape")
	waitFor("Patient · Amina Okello")
	tmux("send-keys", "-t", "t", "Escape")
	waitFor("Find or register")
	typeSlowly(mrn)
	tmux("send-keys", "-t", "t", "Enter")
	waitFor("1 match(es)", "Amina Okello")

	tmux("send-keys", "-t", "t", "C-c")
	if _, err := os.Stat(filepath.Join(data, "idcards", "tui.log")); err != nil {
		t.Fatalf("no log file: %v", err)
	}
}
