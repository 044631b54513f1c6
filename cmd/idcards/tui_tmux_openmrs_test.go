package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards/openmrs/openmrstest"
)

// TestTUIInTmux_OpenMRSAlreadyHasThePerson: the real desk in tmux, the
// real sync against the OpenMRS stand-in. OpenMRS already holds Grace
// Nakato (registered there before idcards). The desk, whose duplicate
// warning sees only the registry, registers "Grace Nakatto"; the desk's
// background sync, kicked by the registration, holds it as a look-alike;
// when its round ends the patient screen is read again and shows who
// OpenMRS has and to ask the patient, while the patient is still there.
// The card still prints, and scanning it says NOT YET IN OPENMRS. The
// patient confirms an earlier visit: o, s and a note at the desk link the
// record to OpenMRS's, and the desk's sync puts our MRN on it.
func TestTUIInTmux_OpenMRSAlreadyHasThePerson(t *testing.T) {
	dir := t.TempDir()
	d := newTmuxDesk(t, dir)
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %d\n%s", r.code, r.stderr)
	}
	grace := e.fake.AddPatient(openmrstest.Patient{GivenName: "Grace", FamilyName: "Nakato", Gender: "F", Birthdate: "1990-04-12",
		Identifiers: []openmrstest.Identifier{{Identifier: "1003EY", TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID, Preferred: true}}})
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("initial pass 1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A supervisor's desk: the look-alike is settled there (a clerk's desk
	// asks for the supervisor's password: the tui package's tests).
	e.must("users", "add", "okot", "--role", "supervisor", "--password-file", pw)

	d.start("desk", "IDCARDS_DB="+e.db(), "HOME="+e.env["HOME"], "XDG_DATA_HOME="+e.env["XDG_DATA_HOME"])
	d.firstSignIn("okot", "initial pass 1234", "blue river morning")
	d.key("C-n")
	d.waitFor("Register a new patient")
	d.typeFields("Tab", "Grace", "Nakatto", "F", "1990-04-12")
	saved := time.Now()
	d.key("C-s")
	screen := d.waitFor("Registered Grace Nakatto with MRN")
	mrn := strings.TrimSuffix(strings.Fields(screen[strings.Index(screen, "with MRN ")+len("with MRN "):])[0], ".")
	// The desk's own background sync is kicked by the registration.
	d.waitFor("HELD, not sent", "OPENMRS MAY ALREADY HAVE THIS PERSON", "Grace Nakato, F, born 1990-04-12", "1003EY", "Ask the patient now")
	t.Logf("ctrl+s to the look-alike on the clerk's screen: %v (a figure, not an assertion)", time.Since(saved).Round(time.Millisecond))
	if h := e.fake.PatientsWithIdentifier(mrn); len(h) != 0 {
		t.Errorf("%s reached OpenMRS while held: %+v", mrn, h)
	}
	d.key("p")
	d.waitFor("saved as", "1 card(s) ever")
	d.key("-l", mrn+"\r") // a scanner: one write, Enter
	d.waitFor("NOT YET IN OPENMRS", "Grace Nakatto")
	d.key("Escape")
	d.waitFor("Patient · Grace Nakatto", "press o")

	// The patient remembers the 2019 visit: one person. The desk reads
	// OpenMRS's record, the registry patient becomes it, and the desk's
	// sync puts our MRN onto it: no second record in OpenMRS.
	d.key("o")
	d.waitFor("Is Grace Nakatto the same person as OpenMRS's Grace Nakato")
	d.key("s")
	d.waitFor("how do you know?")
	d.typeSlowly("patient confirmed the 2019 visit")
	d.key("Enter")
	d.waitFor("One person: Grace Nakatto is OpenMRS's record now", "Patient · Grace Nakato")
	deadline := time.Now().Add(60 * time.Second) // bounds a hung sync, not a timing assertion
	for {
		h := e.fake.PatientsWithIdentifier(mrn)
		if len(h) == 1 && h[0].UUID == grace {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after the desk's judgement: held in OpenMRS by %+v, want OpenMRS's own Grace %s", mrn, h, grace)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(openmrsNamed(e.fake, "Grace", "Nakato")); n != 1 {
		t.Errorf("OpenMRS holds %d Grace Nakatos, want the one it had", n)
	}
	d.waitFor("OpenMRS         sent, up to date")
	wantIn(t, "audit", e.must("audit", "list"), "sync.link")
}
