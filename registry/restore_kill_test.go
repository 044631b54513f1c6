package registry_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// childRestore is the child side of TestRestore_KilledMidWay: one restore
// of backup over the registry at path, "restored" printed once it is done.
func childRestore(path, backup string) int {
	_, err := registry.Restore(context.Background(), backup, registry.RestoreOptions{To: path, Force: true, Actor: idcards.Actor{Name: "os:child"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 5
	}
	fmt.Println("restored")
	return 0
}

// TestRestore_KilledMidWay: a restore over the live registry killed with
// SIGKILL at a random moment leaves the registry as it was or as restored,
// never between — sound, its audit trail verified, no number issued twice
// — and no plain copy behind: a later restore removes the dead one's
// private directory, and no half-written "kept" copy appears. Both engines.
func TestRestore_KilledMidWay(t *testing.T) {
	s, ctx := newStore(t)
	for range 5 {
		if _, err := s.Reserve(ctx, 10_000); err != nil {
			t.Fatal(err)
		}
	}
	b := backupTo(t, ctx, s, "b.db")
	issued := map[string]bool{}
	private := filepath.Dir(s.Path())
	if registry.IsPostgresURL(s.Path()) {
		private = filepath.Join(os.Getenv("XDG_DATA_HOME"), "idcards")
	}
	trials := 6
	if testing.Short() {
		trials = 2
	}
	// How long one whole restore takes in a child here: the kills are
	// spread over it (the checks of the backup first, then the copy under
	// the writer lock).
	run := func() (*exec.Cmd, *strings.Builder) {
		c := exec.Command(os.Args[0], "-test.run=^$")
		c.Env = append(os.Environ(), "IDCARDS_TEST_CHILD_DB="+s.Path(), "IDCARDS_TEST_CHILD_RESTORE="+b)
		var out strings.Builder
		c.Stdout, c.Stderr = &out, os.Stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c, &out
	}
	t0 := time.Now()
	c, out := run()
	if err := c.Wait(); err != nil || !strings.Contains(out.String(), "restored") {
		t.Fatalf("a whole restore in a child: %v %q", err, out)
	}
	whole := time.Since(t0)
	rng := rand.New(rand.NewPCG(1, 2))
	restored, changed := 0, 0
	for trial := range trials {
		ids, err := s.Reserve(ctx, 3) // printed after the backup
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			issued[id] = true
		}
		before, _ := s.VerifyAudit(ctx)
		c, out := run()
		time.Sleep(time.Duration(float64(whole) * (0.3 + 0.8*rng.Float64())))
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		if strings.Contains(out.String(), "restored") {
			restored++
		}
		if r, err := s.IntegrityCheck(ctx); err != nil || r != "ok" {
			t.Fatalf("trial %d: integrity %q %v", trial, r, err)
		}
		after, err := s.VerifyAudit(ctx)
		if err != nil {
			t.Fatalf("trial %d: audit after a killed restore: %v", trial, err)
		}
		// Either nothing happened, or the restore did all of its work.
		if after != before {
			changed++
			var detail string
			s.DB().QueryRow(`SELECT detail FROM audit WHERE action = 'backup.restore' ORDER BY seq DESC LIMIT 1`).Scan(&detail)
			if !strings.Contains(detail, "live=true") || !strings.Contains(detail, "lost_ids=") {
				t.Fatalf("trial %d: the trail changed (%d -> %d rows) without a whole restore: %q", trial, before, after, detail)
			}
		}
		next, err := s.Reserve(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range next {
			if issued[id] {
				t.Fatalf("trial %d: %s issued twice", trial, id)
			}
			issued[id] = true
		}
	}
	// A restore that finishes cleans what the killed ones left.
	if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(private)
	kept := 0
	mine := filepath.Base(s.Path()) + ".before-restore-"
	if u, err := url.Parse(s.Path()); err == nil && registry.IsPostgresURL(s.Path()) {
		mine = "_" + strings.TrimPrefix(u.Path, "/") + ".db.before-restore-"
		for i, e := range ents { // other tests keep theirs here too
			if !strings.Contains(e.Name(), mine) {
				ents[i] = nil
			}
		}
	}
	for _, e := range ents {
		if e == nil {
			continue
		}
		if strings.HasPrefix(e.Name(), ".idcards-") {
			t.Errorf("a private plain copy was left: %s", e.Name())
		}
		// Every copy kept under a "before-restore" name is whole.
		if strings.Contains(e.Name(), mine) && !strings.HasSuffix(e.Name(), "-wal") && !strings.HasSuffix(e.Name(), "-shm") {
			if _, err := registry.CheckFileKey(ctx, filepath.Join(private, e.Name()), s.ChainKey()); err != nil {
				t.Errorf("kept copy %s: %v", e.Name(), err)
			}
			kept++
		}
	}
	t.Logf("a whole restore takes %v; %d killed at 30-110%% of that: %d had committed (%d printed it), %d left the registry as it was; %d IDs issued, none twice; %d kept copies, each whole",
		whole.Round(time.Millisecond), trials, changed, restored, trials-changed, len(issued), kept)
}
