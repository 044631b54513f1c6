package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// TestSyncCLI_VoidedAndMergedSaySo: the outbox's account of rows it closes
// without a request told a voided MRN and one a merge moved apart: both
// read "no longer an active MRN of this patient", and a voided MRN that
// never reached OpenMRS was "already in OpenMRS".
func TestSyncCLI_VoidedAndMergedSaySo(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	keep := e.register("Amina")
	dup := e.registerTwin()
	moved := strings.TrimSpace(e.must("patients", "issue", dup, "--reason", "second card"))
	e.must("patients", "merge", dup, keep, "--reason", "same person, confirmed")
	other := strings.TrimSpace(e.must("patients", "add", "--given", "Nakku", "--family", "Okello", "--sex", "F", "--dob", "1985-01-02", "--issue"))
	voided := strings.TrimSpace(e.must("patients", "issue", other, "--reason", "second card"))
	e.must("patients", "void", voided, "--reason", "given in error")
	e.must("sync", "--once")
	if h := e.fake.PatientsWithIdentifier(moved); len(h) != 1 || h[0].GivenName != "Amina" {
		t.Errorf("%s (moved by the merge) in OpenMRS: %+v", moved, h)
	}
	if h := e.fake.PatientsWithIdentifier(voided); len(h) != 0 {
		t.Errorf("%s (voided before it was sent) in OpenMRS: %+v", voided, h)
	}
	var events []idcards.AuditEvent
	if err := json.Unmarshal([]byte(e.must("audit", "list", "--action", "sync.push", "--json")), &events); err != nil {
		t.Fatal(err)
	}
	// What each row closed without a request says, by kind and MRN.
	said := map[string]string{}
	for _, ev := range events {
		f := strings.Fields(ev.Detail)
		if len(f) >= 4 && f[3] != "->" {
			said[f[0]+" "+f[3]] += ev.Detail + "\n"
		}
	}
	for _, tc := range []struct{ row, want, not string }{
		{"add_identifier " + moved, "moved to patient", "no longer an active MRN"},
		{"add_identifier " + dup, "moved to patient", "no longer an active MRN"},
		{"add_identifier " + voided, "voided here", "no longer an active MRN"},
		{"void_identifier " + voided, "not on the patient in OpenMRS", "already in OpenMRS"},
	} {
		got := said[tc.row]
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) {
			t.Errorf("%s: %q, want %q", tc.row, got, tc.want)
		}
	}
}

// TestSyncCLI_VoidOfAnMRNAMergeMoved: two records of one person both
// reached OpenMRS, then were merged here (not yet in OpenMRS); the MRN the
// merge moved onto the kept record is voided here. The void looked only at
// the kept record's OpenMRS patient, which never had that number, so the
// number stayed active on the merged-away record in OpenMRS. It is voided
// where OpenMRS holds it, on our own merged-away record only.
func TestSyncCLI_VoidOfAnMRNAMergeMoved(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	keep := e.register("Amina")
	dup := e.registerTwin()
	e.must("sync", "--once")
	if h := e.fake.PatientsWithIdentifier(dup); len(h) != 1 || h[0].GivenName != "Aminah" {
		t.Fatalf("%s in OpenMRS before the merge: %+v", dup, h)
	}
	e.must("patients", "merge", dup, keep, "--reason", "same person, confirmed")
	e.must("patients", "void", dup, "--reason", "one card is enough")
	if r := e.run("", "sync", "--once"); r.code != 0 {
		t.Fatalf("sync after the void: exit %d %s", r.code, r.stderr)
	}
	if h := e.fake.PatientsWithIdentifier(dup); len(h) != 0 {
		t.Errorf("%s voided here is still active in OpenMRS on %+v", dup, h)
	}
	if h := e.fake.PatientsWithIdentifier(keep); len(h) != 1 || h[0].GivenName != "Amina" {
		t.Errorf("%s (the kept record's) in OpenMRS: %+v", keep, h)
	}
}
