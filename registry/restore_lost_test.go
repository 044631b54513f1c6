package registry_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// TestRestore_LostIDGoesBackToItsPatient: a patient registered after the
// backup holds a genuine card whose record the restore lost. Verify must
// not call it "never issued" (the card is real); the desk gives the same
// number back to the patient, registered again, and the series still
// never issues it to anyone else.
func TestRestore_LostIDGoesBackToItsPatient(t *testing.T) {
	s, ctx := newStore(t)
	reg := func(given string, bind string) (string, error) {
		_, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: given, FamilyName: "Okot", Sex: idcards.SexFemale, BirthDate: "1990-03-04"},
			Decision: "test", BindMRN: bind})
		return mrn, err
	}
	if _, err := reg("Early", ""); err != nil {
		t.Fatal(err)
	}
	b := backupTo(t, ctx, s, "b.db")
	lost, err := reg("Akello", "") // after the backup: its card is printed, its record will be lost
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Verify(ctx, lost)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != idcards.StatusUnknown || v.RestoredAt == "" || !v.Rebindable() || strings.Contains(v.Detail, "never issued") || !strings.Contains(v.Detail, "lost with the restore") {
		t.Fatalf("lost ID after the restore: %+v", v)
	}
	// A number the registry never reached is still "never issued".
	never, err := s.Verify(ctx, mustMake(t, 5000))
	if err != nil || never.RestoredAt != "" || !strings.Contains(never.Detail, "never issued") {
		t.Fatalf("unreached number: %+v %v", never, err)
	}
	if _, err := reg("Other", never.Code); err == nil {
		t.Fatal("a number never issued was given to a patient")
	}
	// The patient comes back with the card: registered again onto it.
	got, err := reg("Akello", lost)
	if err != nil || got != lost {
		t.Fatalf("registering onto the lost card: %q %v", got, err)
	}
	v, err = s.Verify(ctx, lost)
	if err != nil || v.Status != idcards.StatusActive || v.Patient == nil || v.Patient.GivenName != "Akello" {
		t.Fatalf("after registering again: %+v %v", v, err)
	}
	if _, err := reg("Someone", lost); err == nil {
		t.Fatal("the card's number was given to a second patient")
	}
	next, err := reg("Next", "")
	if err != nil || next == lost || seqOf(t, next) <= seqOf(t, lost) {
		t.Fatalf("next number %q after the lost %q: %v", next, lost, err)
	}
	wantReboundOnce(t, s, ctx, lost)
}

// TestRestore_SkippedIDsCanGoBack: with the replaced registry lost, the
// numbers the series jumped over may have been issued after the backup;
// verify says so, and one can be given back.
func TestRestore_SkippedIDsCanGoBack(t *testing.T) {
	s, ctx := newStore(t)
	s.Reserve(ctx, 2)
	b := backupTo(t, ctx, s, "b.db")
	to := filepath.Join(t.TempDir(), "new-disk", "registry.db")
	if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true, SkipAhead: 100, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
		t.Fatal(err)
	}
	s2, err := registry.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	code := mustMake(t, 7)
	v, err := s2.Verify(ctx, code)
	if err != nil || !v.Rebindable() || !strings.Contains(v.Detail, "may have been issued after that backup") {
		t.Fatalf("skipped number: %+v %v", v, err)
	}
	if _, mrn, err := s2.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Opio", FamilyName: "Okot", Sex: idcards.SexMale, BirthDate: "1985-01-02"}, Decision: "test", BindMRN: code}); err != nil || mrn != code {
		t.Fatalf("giving back a skipped number: %q %v", mrn, err)
	}
	if past, _ := s2.Verify(ctx, mustMake(t, 103)); past.RestoredAt != "" {
		t.Fatalf("a number past the jump: %+v", past)
	}
}

// wantReboundOnce checks that mrn was given back once (audited id.rebind)
// and that the audit trail verifies.
func wantReboundOnce(t *testing.T, s *registry.Store, ctx context.Context, mrn string) {
	t.Helper()
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'id.rebind' AND subject = ?`, mrn).Scan(&n)
	if n != 1 {
		t.Fatalf("giving back %s audited %d times", mrn, n)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRestore_CardPrintedAfterBackup: a card printed after the backup
// (for a patient the backup has) is genuine, but its print record is lost
// with the restore. Its 2D symbol must not scan as "never printed" (which
// reads as forged): verify says it may have been printed after the backup,
// machine-readably, and the MRN is not offered to be given out again.
func TestRestore_CardPrintedAfterBackup(t *testing.T) {
	s, ctx := newStore(t)
	_, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Akello", FamilyName: "Okot", Sex: idcards.SexFemale, BirthDate: "1990-03-04"}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// Before any restore, an unknown serial is "never printed".
	if v, err := s.Verify(ctx, barcode.Format2D(mrn, "CZZZZZZZ9")); err != nil || v.RestoredAt != "" || v.CardRecordLost || !strings.Contains(v.Detail, "never printed") {
		t.Fatalf("unknown serial, no restore: %+v %v", v, err)
	}
	b := backupTo(t, ctx, s, "b.db")
	cards, err := s.RecordCards(ctx, []string{mrn}, "card", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Verify(ctx, barcode.Format2D(mrn, cards[0].Serial))
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != idcards.StatusUnknown || v.RestoredAt == "" || !v.CardRecordLost || v.Rebindable() || v.CardSerial != cards[0].Serial ||
		strings.Contains(v.Detail, "never printed") || !strings.Contains(v.Detail, "printed after that backup") || !strings.Contains(v.Detail, "reprint") {
		t.Fatalf("card printed after the backup: %+v", v)
	}
	// The MRN alone still answers as the patient's.
	if v, err := s.Verify(ctx, mrn); err != nil || v.Status != idcards.StatusActive || v.RestoredAt != "" {
		t.Fatalf("the MRN after the restore: %+v %v", v, err)
	}
	// The scanner endpoint's mirror answers the same (mirror_test.go
	// compares every code).
	m, err := registry.NewMirror(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got, err := m.VerifyScan(ctx, barcode.Format2D(mrn, cards[0].Serial), true)
	got.CheckedAt = v.CheckedAt
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("mirror: %+v %v\nverify: %+v", got, err, v)
	}
}
