package registry_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// sameRecord checks that the mirror's VerifyRecord answers code exactly
// as the file does (Store.VerifyRecord: VerifyScan, then PatientRecord
// without details — the SQL path of a FHIR identifier search), and says
// whether the record came from memory.
func (f *mirrorFixture) sameRecord(step, code string) bool {
	f.t.Helper()
	want, wrec, werr := f.server.VerifyRecord(f.ctx, code)
	before := registry.MirrorRecordHitsForTest(f.m)
	got, grec, gerr := f.m.VerifyRecord(f.ctx, code)
	memory := registry.MirrorRecordHitsForTest(f.m) > before
	got.CheckedAt = want.CheckedAt
	if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(grec, wrec) {
		f.t.Errorf("%s: %q record (memory %v):\nmirror: %+v %+v %v\nfile:   %+v %+v %v", step, code, memory, got, grec, gerr, want, wrec, werr)
	}
	return memory
}

// memory checks (after same) that each code's record is answered from
// memory, or, with want false, from the file.
func (f *mirrorFixture) memory(step string, want bool, codes ...string) {
	f.t.Helper()
	for _, c := range codes {
		for _, form := range []string{c, " " + c + " ", "]C1" + c} {
			if got := f.sameRecord(step, form); got != want {
				f.t.Errorf("%s: %q answered from memory: %v, want %v", step, form, got, want)
			}
		}
	}
}

// done marks the patient's registration as confirmed by OpenMRS under
// remote, as sync does.
func (f *mirrorFixture) done(s *registry.Store, pid int64, remote string) {
	f.t.Helper()
	ctx := idcards.WithActor(f.ctx, idcards.Actor{Name: "os:sync", Role: idcards.RoleSupervisor})
	items, err := s.Outbox(ctx, "pending", 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, it := range items {
		if it.Kind == idcards.OutboxRegister && it.PatientID == pid {
			if err := s.OutboxDone(ctx, it.ID, remote, "test"); err != nil {
				f.t.Fatal(err)
			}
			return
		}
	}
	f.t.Fatalf("no pending registration of patient %d", pid)
}

// TestMirror_RecordAnswersAsPatientRecord: the record a FHIR identifier
// search shows a verify-scope token (UUID, active MRNs newest first,
// OpenMRS UUID, the record it was merged into) is answered from memory
// for every ordinary patient, equals the file's answer in every state and
// after every kind of change another process makes, and comes from the
// file where memory cannot vouch for it.
func TestMirror_RecordAnswersAsPatientRecord(t *testing.T) {
	f := newMirrorFixture(t)
	s, ctx := f.server, f.ctx
	one, m1 := f.register(s, "Amina") // one MRN, not synced
	two, m2 := f.register(s, "Grace")
	second, err := s.IssueID(ctx, two.ID, "lost card, test") // two active MRNs
	if err != nil {
		t.Fatal(err)
	}
	f.codes = append(f.codes, second.MRN)
	synced, m3 := f.register(s, "Ruth")
	f.done(s, synced.ID, synced.UUID) // OpenMRS holds it under its UUID
	other, m4 := f.register(s, "Esther")
	const otherUUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
	f.done(s, other.ID, otherUUID) // under another
	away, m5 := f.register(s, "Amena")
	if err := s.Merge(ctx, away.ID, one.ID, "same person"); err != nil { // m5 is now one's
		t.Fatal(err)
	}
	_, m6 := f.register(s, "Okello")
	if err := s.Void(ctx, m6, "typo"); err != nil {
		t.Fatal(err)
	}
	reserved, err := s.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.codes = append(f.codes, reserved...)
	if _, err := s.RecordCards(ctx, []string{m1}, "card", "", ""); err != nil {
		t.Fatal(err)
	}
	f.m, err = registry.NewMirror(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.m.Close)
	f.same("built")
	f.memory("built", true, m1, m2, second.MRN, m3, m4, m5)
	if rec := f.record(m4); rec.OpenMRSUUID != otherUUID || len(f.record(m2).MRNs) != 2 || len(f.record(m1).MRNs) != 2 {
		t.Fatalf("fixture: %+v / %+v / %+v", rec, f.record(m2), f.record(m1))
	}
	f.memory("built: voided, unassigned", false, m6, reserved[0])

	// Changes by another process.
	third, err := f.cli.IssueID(ctx, one.ID, "second card, test")
	if err != nil {
		t.Fatal(err)
	}
	f.codes = append(f.codes, third.MRN)
	f.same("ID issued to a patient elsewhere")
	f.memory("ID issued to a patient elsewhere", true, m1, m5, third.MRN)
	f.done(f.cli, one.ID, one.UUID)
	f.same("sync confirmed elsewhere")
	f.memory("sync confirmed elsewhere", true, m1, third.MRN)
	if err := f.cli.Void(ctx, second.MRN, "duplicate"); err != nil {
		t.Fatal(err)
	}
	f.same("second ID voided elsewhere")
	f.memory("second ID voided elsewhere", true, m2)
	late, m7 := f.register(f.cli, "Nakku")
	f.same("registered elsewhere")
	f.memory("registered elsewhere", true, m7)
	if err := f.cli.Bind(ctx, reserved[0], late.ID); err != nil {
		t.Fatal(err)
	}
	f.same("pre-printed card bound elsewhere")
	f.memory("pre-printed card bound elsewhere", true, m7, reserved[0])
	if err := f.cli.Merge(ctx, late.ID, two.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	f.same("merged elsewhere")
	f.memory("merged elsewhere", true, m2, m7, reserved[0])

	// Changes made by hand in the file, which no code path makes: the
	// feed still carries them, and what memory cannot vouch for is read
	// from the file.
	db := f.cli.DB()
	if _, err := db.ExecContext(ctx, `UPDATE outbox SET state = 'pending' WHERE patient_id = ? AND kind = 'register_patient'`, synced.ID); err != nil {
		t.Fatal(err)
	}
	f.same("sync forgotten")
	f.memory("sync forgotten", true, m3)
	if _, err := db.ExecContext(ctx, `INSERT INTO outbox(kind, patient_id, state, remote_uuid, created_at) VALUES ('register_patient', ?, 'done', ?, '2026-01-01T00:00:00Z')`,
		other.ID, strings.ToUpper(otherUUID)); err != nil {
		t.Fatal(err)
	}
	f.same("second confirmation")
	f.memory("second confirmation", true, m4) // re-read: the statement's pick is held
	if _, err := db.ExecContext(ctx, `UPDATE patients SET uuid = upper(uuid) WHERE id = ?`, synced.ID); err != nil {
		t.Fatal(err)
	}
	f.same("UUID not canonical")
	f.memory("UUID not canonical", false, m3)
	if _, err := db.ExecContext(ctx, `UPDATE patients SET uuid = lower(uuid) WHERE id = ?`, synced.ID); err != nil {
		t.Fatal(err)
	}
	f.same("UUID canonical again")
	f.memory("UUID canonical again", true, m3)
	if _, err := db.ExecContext(ctx, `DELETE FROM outbox WHERE patient_id = ? AND kind = 'register_patient'`, one.ID); err != nil {
		t.Fatal(err)
	}
	f.same("done registration deleted")
	f.memory("done registration deleted", true, m1)

	// Rebuilt from the file (the feed was trimmed under it), with two
	// confirmations that disagree: the file answers that patient.
	// A write that feeds (a no-op update fires the merge trigger), then a
	// feed row one past the next (as a restore writes): the mirror sees a
	// gap whether or not it read the first row already (on PostgreSQL,
	// NOTIFY may wake it in between; deleting the first row raced that).
	for _, q := range []string{`UPDATE patients SET merged_into = merged_into WHERE id = ?`,
		`INSERT INTO verify_changes(seq, mrn) SELECT max(seq) + 2, NULL FROM verify_changes WHERE ? > 0`,
		`UPDATE patients SET merged_into = merged_into WHERE id = ?`} {
		if _, err := db.ExecContext(ctx, q, away.ID); err != nil {
			t.Fatal(err)
		}
	}
	f.same("rebuilt")
	f.memory("rebuilt", true, m1, m2, m3, m5, third.MRN, m7, reserved[0])
	f.memory("rebuilt: confirmations disagree", false, m4)
}

// record is the file's record of the patient holding code.
func (f *mirrorFixture) record(code string) registry.PatientRecord {
	f.t.Helper()
	_, rec, err := f.server.VerifyRecord(f.ctx, code)
	if err != nil || rec == nil {
		f.t.Fatalf("%s: %v %v", code, rec, err)
	}
	return *rec
}
