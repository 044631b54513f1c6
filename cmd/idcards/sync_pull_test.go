package main

import (
	"strings"
	"testing"

	"github.com/idcards/idcards/openmrs/openmrstest"
)

// TestSyncCLI_PullReportsOwnMRNsAsOurs: after a push, the next pull said
// "2 new" for the two MRNs we had pushed ourselves, and configure run
// again warned that another system issues numbers of our prefix.
func TestSyncCLI_PullReportsOwnMRNsAsOurs(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	e.register("Amina")
	e.register("Babirye")
	wantIn(t, "push", e.must("sync", "--once"), "pushed 2,")
	wantIn(t, "pull after the push", e.must("sync", "--once", "--full-pull"), "pulled 2 identifiers", "0 new")
	r := e.configure()
	if r.code != 0 {
		t.Fatalf("configure again: %d %s", r.code, r.stderr)
	}
	wantIn(t, "configure again", r.stdout, "first pull: 2 identifier(s)", "0 new to this registry")
	if strings.Contains(r.stderr, "already holds") {
		t.Errorf("configure again warns about our own MRNs:\n%s", r.stderr)
	}
}
