package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// heldElsewhere files mrn in OpenMRS for a patient of its own, as another
// entry point would.
func (e *syncEnv) heldElsewhere(mrn string) string {
	e.t.Helper()
	return e.fake.AddPatient(openmrstest.Patient{GivenName: "Other", FamilyName: "Person", Gender: "M", Birthdate: "1970-01-01",
		Identifiers: []openmrstest.Identifier{{Identifier: mrn, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID, Preferred: true}}})
}

func (e *syncEnv) openConflicts() []idcards.SyncConflict {
	e.t.Helper()
	var cs []idcards.SyncConflict
	if err := json.Unmarshal([]byte(e.must("sync", "conflicts", "--json")), &cs); err != nil {
		e.t.Fatal(err)
	}
	return cs
}

// TestSyncCLI_ResolveRetryWhileHeldElsewhere: resolve --retry on a number
// OpenMRS holds for another patient re-queued the registration, and the
// same conflict came straight back while the MRN was still ours. Now
// --retry asks OpenMRS and refuses with the ways out while the cause
// stands; voiding the MRN and issuing a new one is one way out, after
// which --retry sends the new number, never the voided one.
func TestSyncCLI_ResolveRetryWhileHeldElsewhere(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	taken := e.register("Okello")
	other := e.heldElsewhere(taken)
	if r := e.run("", "sync", "--once"); r.code != 1 {
		t.Fatalf("sync with the number taken: exit %d %s", r.code, r.stderr)
	}
	cs := e.openConflicts()
	if len(cs) != 1 || cs[0].Identifier != taken || cs[0].RemotePatientUUID != other || cs[0].OutboxID == 0 {
		t.Fatalf("conflicts = %+v", cs)
	}
	id := strconv.FormatInt(cs[0].ID, 10)

	r := e.run("", "sync", "resolve", id, "--note", "try again", "--retry")
	if r.code != 1 {
		t.Fatalf("--retry while OpenMRS holds the number: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantIn(t, "refusal", r.stderr, "stays open", "still holds "+taken, other, "idcards patients void "+taken, "idcards patients issue "+taken,
		"sync resolve "+id, "--retry", "correct it there")
	if len(e.openConflicts()) != 1 {
		t.Fatal("the refused --retry closed the conflict")
	}

	e.fake.SetFaults(openmrstest.Faults{Down: true})
	if r := e.run("", "sync", "resolve", id, "--note", "try again", "--retry"); r.code != 5 || !strings.Contains(r.stderr, "stays open") {
		t.Errorf("--retry with OpenMRS down: exit %d %s", r.code, r.stderr)
	}
	// Someone who may not resolve is refused before OpenMRS is asked with
	// the stored account (an admin syncs but does not resolve): with
	// OpenMRS down, being asked would be exit 5. An empty note likewise.
	pw := filepath.Join(e.t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("river chalk window seven birch\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.must("users", "add", "amina", "--role", "admin", "--password-file", pw, "--must-change=false")
	e.env["IDCARDS_PASSWORD_FILE"] = pw
	for _, how := range []string{"--retry", "--same"} {
		if r := e.run("", "--user", "amina", "sync", "resolve", id, "--note", "try again", how); r.code != 4 || !strings.Contains(r.stderr, "may not") {
			t.Errorf("an admin's resolve %s: exit %d %s", how, r.code, r.stderr)
		}
	}
	delete(e.env, "IDCARDS_PASSWORD_FILE")
	if r := e.run("", "sync", "resolve", id, "--note", " ", "--retry"); r.code != 2 || !strings.Contains(r.stderr, "needs a note") {
		t.Errorf("--retry without a note: exit %d %s", r.code, r.stderr)
	}
	e.fake.SetFaults(openmrstest.Faults{})
	if len(e.openConflicts()) != 1 {
		t.Fatal("--retry with OpenMRS down closed the conflict")
	}

	// The way out the refusal gives.
	out := e.must("patients", "void", taken, "--reason", "held in OpenMRS by another patient")
	wantIn(t, "void names the conflict", out, "sync conflict "+id+" over "+taken+" is still open", "idcards sync resolve "+id)
	fresh := strings.TrimSpace(e.must("patients", "issue", taken))
	out = e.must("sync", "resolve", id, "--note", "voided here, new MRN issued", "--retry")
	wantIn(t, "resolve after the void", out, "queued again")
	if r := e.run("", "sync", "--once"); r.code != 0 {
		t.Fatalf("sync after the resolve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if h := e.fake.PatientsWithIdentifier(fresh); len(h) != 1 || h[0].GivenName != "Okello" {
		t.Errorf("%s (the new number) in OpenMRS: %+v", fresh, h)
	}
	if h := e.fake.PatientsWithIdentifier(taken); len(h) != 1 || h[0].UUID != other {
		t.Errorf("%s (voided here) in OpenMRS: %+v", taken, h)
	}
	if cs := e.openConflicts(); len(cs) != 0 {
		t.Errorf("conflicts after the new number went: %+v", cs)
	}
	var st idcards.SyncStatus
	if err := json.Unmarshal([]byte(e.must("sync", "status", "--json")), &st); err != nil || st.Pending != 0 {
		t.Errorf("status after the new number went: %+v %v", st, err)
	}
}

// TestSyncCLI_ResolveVoidedMRNSettles: the held change would add an MRN
// OpenMRS holds for someone else to a patient already there; once that MRN
// is voided here, resolving (with or without --retry) closes the held
// change instead of leaving it held for good or sending a voided number.
func TestSyncCLI_ResolveVoidedMRNSettles(t *testing.T) {
	for _, retry := range []bool{false, true} {
		t.Run("retry="+strconv.FormatBool(retry), func(t *testing.T) {
			e := newSyncEnv(t, openmrstest.Options{})
			if r := e.configure(); r.code != 0 {
				t.Fatalf("configure: %s", r.stderr)
			}
			first := e.register("Amina")
			e.must("sync", "--once")
			second := strings.TrimSpace(e.must("patients", "issue", first, "--reason", "second card for the ward"))
			other := e.heldElsewhere(second)
			e.run("", "sync", "--once") // exit 1: the conflict
			cs := e.openConflicts()
			if len(cs) != 1 || cs[0].Identifier != second || cs[0].RemotePatientUUID != other || cs[0].OutboxID == 0 {
				t.Fatalf("conflicts = %+v", cs)
			}
			id := strconv.FormatInt(cs[0].ID, 10)
			e.must("patients", "void", second, "--reason", "held in OpenMRS by another patient")
			args := []string{"sync", "resolve", id, "--note", "voided here"}
			if retry {
				args = append(args, "--retry")
			}
			wantIn(t, "resolve", e.must(args...), "closed", "voided here, so it is never sent")
			if out := e.must("sync", "outbox", "--state", "conflict"); strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("a change still held:\n%s", out)
			}
			if r := e.run("", "sync", "--once"); r.code != 0 {
				t.Fatalf("sync after the resolve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if h := e.fake.PatientsWithIdentifier(second); len(h) != 1 || h[0].UUID != other {
				t.Errorf("%s in OpenMRS: %+v", second, h)
			}
			if h := e.fake.PatientsWithIdentifier(first); len(h) != 1 || h[0].GivenName != "Amina" {
				t.Errorf("%s in OpenMRS: %+v", first, h)
			}
			wantIn(t, "audit", e.must("audit", "list", "--action", "sync.resolve"), "settled")
		})
	}
}
