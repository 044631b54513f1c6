package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// openmrsNamed counts OpenMRS's non-voided patients with this name.
func openmrsNamed(f *openmrstest.Server, given, family string) []openmrstest.Patient {
	var out []openmrstest.Patient
	for _, p := range f.Patients() {
		if !p.Voided && p.GivenName == given && p.FamilyName == family {
			out = append(out, p)
		}
	}
	return out
}

func openConflicts(t *testing.T, e *syncEnv) []idcards.SyncConflict {
	t.Helper()
	var cs []idcards.SyncConflict
	if err := json.Unmarshal([]byte(e.must("sync", "conflicts", "--json")), &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestSyncCLI_PatientAlreadyInOpenMRS: a clinic's OpenMRS holds patients
// from before idcards. A person registered at the desk whom OpenMRS
// already has must not become a second OpenMRS record: the push searches
// OpenMRS by name, holds the registration as a look-alike conflict, and
// the supervisor links the two (our MRN goes onto OpenMRS's record) or
// says they are two people (the patient is created, and that OpenMRS
// patient is not raised again). A namesake of another age and a
// same-born sister are not held.
func TestSyncCLI_PatientAlreadyInOpenMRS(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %d\n%s", r.code, r.stderr)
	}
	oid := func(v string) []openmrstest.Identifier {
		return []openmrstest.Identifier{{Identifier: v, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID, Preferred: true}}
	}
	grace := e.fake.AddPatient(openmrstest.Patient{GivenName: "Grace", FamilyName: "Nakato", Gender: "F", Birthdate: "1990-04-12", Identifiers: oid("1003EY")})
	e.fake.AddPatient(openmrstest.Patient{GivenName: "Grace", FamilyName: "Nakato", Gender: "F", Birthdate: "1951-02-02", Identifiers: oid("1004CW")})
	e.fake.AddPatient(openmrstest.Patient{GivenName: "Sarah", FamilyName: "Nakato", Gender: "F", Birthdate: "1990-04-12", Identifiers: oid("1005AU")})
	joseph := e.fake.AddPatient(openmrstest.Patient{GivenName: "Joseph", MiddleName: "Kato", FamilyName: "Okello", Gender: "M", Birthdate: "1985-06-01", Identifiers: oid("1006YR")})

	add := func(args ...string) string {
		return strings.TrimSpace(e.must(append([]string{"patients", "add", "--issue", "--force", "--reason", "test"}, args...)...))
	}
	// The clerk's spelling differs a little from OpenMRS's.
	graceMRN := add("--given", "Grace", "--family", "Nakatto", "--sex", "F", "--dob", "1990-04-12")
	josephMRN := add("--given", "Joseph Kato", "--family", "Okello", "--sex", "M", "--dob", "1985-06-01")
	aminaMRN := add("--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12")

	r := e.run("", "sync", "--once")
	if r.code != 1 {
		t.Errorf("sync --once with held registrations: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantIn(t, "push", r.stdout, "pushed 1,", "conflicts 2")
	if h := e.fake.PatientsWithIdentifier(aminaMRN); len(h) != 1 {
		t.Errorf("Amina (no look-alike in OpenMRS) held by %d OpenMRS patients, want 1", len(h))
	}
	for _, m := range []string{graceMRN, josephMRN} {
		if h := e.fake.PatientsWithIdentifier(m); len(h) != 0 {
			t.Errorf("%s reached OpenMRS while OpenMRS may hold its patient already: %+v", m, h)
		}
	}
	if n := len(openmrsNamed(e.fake, "Grace", "Nakato")); n != 2 {
		t.Errorf("OpenMRS holds %d Grace Nakatos, want the 2 it had", n)
	}
	byMRN := map[string]idcards.SyncConflict{}
	for _, c := range openConflicts(t, e) {
		if c.Kind != idcards.ConflictLookalike {
			t.Errorf("conflict %d kind %q, want lookalike", c.ID, c.Kind)
		}
		byMRN[c.Identifier] = c
	}
	gc, jc := byMRN[graceMRN], byMRN[josephMRN]
	if gc.RemotePatientUUID != grace || jc.RemotePatientUUID != joseph {
		t.Fatalf("look-alikes: Grace %+v, Joseph %+v; want OpenMRS patients %s and %s", gc, jc, grace, joseph)
	}
	wantIn(t, "conflict detail", gc.Detail, "OpenMRS may already hold", "Grace Nakato, F, born 1990-04-12", "1003EY", "--same", "--different")
	wantIn(t, "conflicts table", e.must("sync", "conflicts"), graceMRN, grace)
	// The desk's words: who OpenMRS has and why, no commands.
	wantIn(t, "conflict summary", gc.Summary, "Grace Nakato, F, born 1990-04-12", "1003EY", "%")
	if strings.Contains(gc.Summary, "--same") || strings.Contains(gc.Summary, "resolve") {
		t.Errorf("the desk's summary holds the supervisor's commands: %s", gc.Summary)
	}
	// patients show says the registration is held, and why.
	wantIn(t, "patients show (held)", e.must("patients", "show", graceMRN), "OpenMRS:    HELD, not sent: OpenMRS may already have this person",
		"sync conflict "+strconv.FormatInt(gc.ID, 10)+" (lookalike): OpenMRS may already hold")
	wantIn(t, "patients show (sent)", e.must("patients", "show", aminaMRN), "OpenMRS:    sent, up to date")
	var held struct {
		OpenMRS struct {
			Conflicts []idcards.SyncConflict `json:"conflicts"`
		} `json:"openmrs"`
	}
	if err := json.Unmarshal([]byte(e.must("patients", "show", graceMRN, "--json")), &held); err != nil || len(held.OpenMRS.Conflicts) != 1 || held.OpenMRS.Conflicts[0].Summary != gc.Summary {
		t.Errorf("patients show --json: %v %+v", err, held)
	}
	// The desk is told, when the card is scanned, that OpenMRS is not in
	// agreement yet.
	wantIn(t, "verify", e.must("verify", graceMRN), "OpenMRS may already hold")

	gid, jid := strconv.FormatInt(gc.ID, 10), strconv.FormatInt(jc.ID, 10)
	r = e.run("", "sync", "resolve", gid, "--retry", "--note", "try again")
	if r.code == 0 || !strings.Contains(r.stderr, "--same") {
		t.Errorf("resolve --retry of a look-alike: exit %d %s", r.code, r.stderr)
	}
	r = e.run("", "sync", "resolve", gid, "--same")
	if r.code == 0 || !strings.Contains(r.stderr, "note") {
		t.Errorf("resolve --same without a note: exit %d %s", r.code, r.stderr)
	}

	// Grace is OpenMRS's Grace: our record becomes hers there.
	wantIn(t, "resolve --same", e.must("sync", "resolve", gid, "--same", "--note", "same mother; patient confirmed the 2019 visit"), "one person")
	// Joseph is a namesake born the same day.
	wantIn(t, "resolve --different", e.must("sync", "resolve", jid, "--different", "--note", "different father, born in Gulu"), "two people")

	r = e.run("", "sync", "--once")
	if r.code != 0 {
		t.Fatalf("sync --once after the judgements: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if h := e.fake.PatientsWithIdentifier(graceMRN); len(h) != 1 || h[0].UUID != grace {
		t.Errorf("%s after --same: held by %+v, want OpenMRS's own Grace %s", graceMRN, h, grace)
	}
	if n := len(openmrsNamed(e.fake, "Grace", "Nakato")); n != 2 {
		t.Errorf("after --same OpenMRS holds %d Grace Nakatos, want still 2", n)
	}
	if h := e.fake.PatientsWithIdentifier(josephMRN); len(h) != 1 || h[0].UUID == joseph {
		t.Errorf("%s after --different: held by %+v, want a new OpenMRS patient", josephMRN, h)
	}
	var shown struct {
		Patient idcards.Patient `json:"patient"`
	}
	// The registry record is OpenMRS's now: its uuid and its spelling.
	if err := json.Unmarshal([]byte(e.must("patients", "show", graceMRN, "--json")), &shown); err != nil || shown.Patient.UUID != grace || shown.Patient.FamilyName != "Nakato" {
		t.Errorf("registry patient after --same: %v %+v, want uuid %s, family name Nakato", err, shown.Patient, grace)
	}
	wantIn(t, "conflicts", e.must("sync", "conflicts"), "no open conflicts")
	wantIn(t, "audit", e.must("audit", "list"), "sync.link", "sync.resolve")
	wantIn(t, "audit --json", e.must("audit", "list", "--json"), `details from OpenMRS: family_name \"Nakatto\"`)
	// Nothing is raised again.
	if r := e.run("", "sync", "--once"); r.code != 0 || len(openConflicts(t, e)) != 0 {
		t.Errorf("a second sync: exit %d, conflicts %+v", r.code, openConflicts(t, e))
	}
	wantIn(t, "audit verify", e.must("audit", "verify"), "")
}

// TestSyncCLI_LookalikesOff: a site that checked OpenMRS another way turns
// the search off, and registrations go straight through.
func TestSyncCLI_LookalikesOff(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure("--lookalikes", "sometimes"); r.code == 0 || !strings.Contains(r.stderr, "possible") {
		t.Errorf("configure --lookalikes sometimes: exit %d %s", r.code, r.stderr)
	}
	if r := e.configure("--lookalikes", "off"); r.code != 0 {
		t.Fatalf("configure: %d\n%s", r.code, r.stderr)
	}
	e.fake.AddPatient(openmrstest.Patient{GivenName: "Grace", FamilyName: "Nakato", Gender: "F", Birthdate: "1990-04-12"})
	m := e.register("Grace")
	wantIn(t, "push", e.must("sync", "--once"), "pushed 1,")
	if h := e.fake.PatientsWithIdentifier(m); len(h) != 1 {
		t.Errorf("%s held by %d OpenMRS patients, want 1", m, len(h))
	}
}

// TestSyncCLI_LinkedPatientKeepsOpenMRSName: OpenMRS's record has a middle
// name, which the registry writes as part of the given name. After the
// link, a correction of the village at the desk sends the village only,
// and OpenMRS's name is left as it was (not "Peter Paul Paul").
func TestSyncCLI_LinkedPatientKeepsOpenMRSName(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %d\n%s", r.code, r.stderr)
	}
	peter := e.fake.AddPatient(openmrstest.Patient{GivenName: "Peter", MiddleName: "Paul", FamilyName: "Ocen", Gender: "M", Birthdate: "1979-07-01", BirthdateEstimated: true})
	m := strings.TrimSpace(e.must("patients", "add", "--issue", "--force", "--reason", "test", "--given", "Peter Paul", "--family", "Ocen", "--sex", "M", "--dob", "1979-07-01"))
	if r := e.run("", "sync", "--once"); r.code != 1 {
		t.Fatalf("sync --once: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cs := openConflicts(t, e)
	if len(cs) != 1 || cs[0].RemotePatientUUID != peter {
		t.Fatalf("conflicts %+v, want one for %s", cs, peter)
	}
	// A supervisor cannot close it with a note alone: the patient would
	// never reach OpenMRS.
	if r := e.run("", "sync", "resolve", strconv.FormatInt(cs[0].ID, 10), "--note", "looked"); r.code == 0 || !strings.Contains(r.stderr, "--same") {
		t.Errorf("resolve --note of a look-alike: exit %d %s", r.code, r.stderr)
	}
	e.run("", "sync", "--once") // the MRN's row waits for the held registration
	e.must("sync", "resolve", strconv.FormatInt(cs[0].ID, 10), "--same", "--note", "same person")
	// The MRN goes onto OpenMRS's record at the very next sync, not
	// after the back-off of its wait for the patient.
	e.must("sync", "--once")
	if h := e.fake.PatientsWithIdentifier(m); len(h) != 1 || h[0].UUID != peter {
		t.Errorf("after the link and one sync %s is held by %+v, want OpenMRS's Peter", m, h)
	}
	e.must("patients", "edit", m, "--village", "Kireka")
	e.must("sync", "--once")
	for _, p := range e.fake.Patients() {
		if p.UUID != peter {
			continue
		}
		if p.GivenName != "Peter" || p.MiddleName != "Paul" || p.FamilyName != "Ocen" || !p.BirthdateEstimated {
			t.Errorf("OpenMRS's record after the link and a village correction: %+v", p)
		}
	}
	if v := e.fake.Address(peter); v["cityVillage"] != "Kireka" {
		t.Errorf("village in OpenMRS: %+v, want Kireka", v)
	}
	// A correction of the family name alone keeps OpenMRS's given and
	// middle name; a corrected given name is sent whole, the middle name
	// then cleared (the registry writes it inside the given name).
	e.must("patients", "edit", m, "--family", "Ocenn", "--reason", "spelling per ID card")
	e.must("sync", "--once")
	if p := remotePatient(e, peter); p.GivenName != "Peter" || p.MiddleName != "Paul" || p.FamilyName != "Ocenn" {
		t.Errorf("OpenMRS's name after a family-name correction: %q %q %q, want Peter Paul Ocenn", p.GivenName, p.MiddleName, p.FamilyName)
	}
	e.must("patients", "edit", m, "--given", "Peter", "--reason", "no middle name on the ID card")
	e.must("sync", "--once")
	if p := remotePatient(e, peter); p.GivenName != "Peter" || p.MiddleName != "" || p.FamilyName != "Ocenn" {
		t.Errorf("OpenMRS's name after a given-name correction: %q %q %q, want Peter Ocenn", p.GivenName, p.MiddleName, p.FamilyName)
	}
	if h := e.fake.PatientsWithIdentifier(m); len(h) != 1 || h[0].UUID != peter {
		t.Errorf("%s held by %+v, want OpenMRS's Peter", m, h)
	}
	if n := len(e.fake.Patients()); n != 1 {
		t.Errorf("OpenMRS holds %d patients, want 1", n)
	}
}

// TestSyncCLI_LookalikeEdges: linking needs OpenMRS's record as it is now,
// so with OpenMRS down --same is refused and the conflict stays open; a
// patient merged into another record here since cannot be linked, and
// its conflict is closed with --note --retry, which settles the held
// registration (the kept record carries the MRNs).
func TestSyncCLI_LookalikeEdges(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %d\n%s", r.code, r.stderr)
	}
	e.fake.AddPatient(openmrstest.Patient{GivenName: "Rose", FamilyName: "Achieng", Gender: "F", Birthdate: "1988-03-03"})
	add := func(given string) string {
		return strings.TrimSpace(e.must("patients", "add", "--issue", "--force", "--reason", "test", "--given", given, "--family", "Achieng", "--sex", "F", "--dob", "1988-03-03"))
	}
	dup := add("Rose")
	keep := add("Rosa")
	e.run("", "sync", "--once")
	var c idcards.SyncConflict
	for _, x := range openConflicts(t, e) {
		if x.Identifier == dup {
			c = x
		}
	}
	if c.ID == 0 {
		t.Fatalf("no look-alike conflict for %s: %+v", dup, openConflicts(t, e))
	}
	id := strconv.FormatInt(c.ID, 10)

	e.fake.SetFaults(openmrstest.Faults{Down: true})
	if r := e.run("", "sync", "resolve", id, "--same", "--note", "same"); r.code != 5 || !strings.Contains(r.stderr, "as it is now") {
		t.Errorf("resolve --same with OpenMRS down: exit %d %s", r.code, r.stderr)
	}
	e.fake.SetFaults(openmrstest.Faults{})
	if len(openConflicts(t, e)) == 0 {
		t.Fatal("a refused link closed the conflict")
	}

	e.must("patients", "merge", dup, keep, "--reason", "registered twice at the desk")
	if r := e.run("", "sync", "resolve", id, "--same", "--note", "same"); r.code == 0 || !strings.Contains(r.stderr, "merged into") {
		t.Errorf("resolve --same of a merged patient: exit %d %s", r.code, r.stderr)
	}
	e.must("sync", "resolve", id, "--note", "merged here", "--retry")
	e.run("", "sync", "--once")
	for _, x := range openConflicts(t, e) {
		if x.Identifier == dup {
			t.Errorf("conflict for the merged record still open: %+v", x)
		}
	}
	var rows []idcards.OutboxItem
	if err := json.Unmarshal([]byte(e.must("sync", "outbox", "--state", "conflict", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.MRN == dup || r.Kind == idcards.OutboxRegister && r.PatientID == c.LocalPatientID {
			t.Errorf("held row of the merged record left: %+v", r)
		}
	}
}

// remotePatient is the stand-in's patient uuid.
func remotePatient(e *syncEnv, uuid string) openmrstest.Patient {
	for _, p := range e.fake.Patients() {
		if p.UUID == uuid {
			return p
		}
	}
	return openmrstest.Patient{}
}
