package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPrint_KilledLeavesNoPartialFile: a print killed while it renders (a
// SIGKILL, a power cut) left a hidden partial PDF of the run's cards in the
// user's directory (.idcards-print-*.pdf, patients' names and MRNs). The PDF
// now has no name until it is complete: the whole binary is stopped
// mid-render (its first cards recorded pending), the directory is empty,
// and after a SIGKILL it stays empty. The same file type serves exports
// (writeNewFileAtomic).
func TestPrint_KilledLeavesNoPartialFile(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	c := newPrintCLI(t)
	ids := c.issue("20000") // long enough to be caught mid-render (about a second)
	list := filepath.Join(c.dir, "ids.txt")
	if err := os.WriteFile(list, []byte(strings.Join(ids, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(c.dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	p := exec.Command(buildBinary(t, t.TempDir()), "print", "--ids", list, "-o", out+"/")
	p.Env = append(os.Environ(), "IDCARDS_DB="+c.env["IDCARDS_DB"], "USER="+c.env["USER"])
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	deadline := time.Now().Add(60 * time.Second) // bounds a hung print, not a timing assertion
	for {
		select {
		case err := <-exited:
			t.Fatalf("the print ended (%v) before its first cards were seen pending: give it more cards", err)
		default:
		}
		if strings.Contains(c.ok("", "cards", "list", "--state", "pending", "--limit", "1", "--json"), `"pending"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no card of the run was ever recorded pending")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	empty := func(when string) {
		t.Helper()
		es, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			t.Errorf("%s: %s in the output directory", when, e.Name())
		}
	}
	empty("stopped mid-render")
	p.Process.Kill()
	if err := <-exited; err == nil {
		empty("the print finished before it was stopped, so this run shows nothing")
		t.Fatal("the print finished before it was stopped")
	}
	empty("after SIGKILL")
}
