package registry_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestRestore_KeepsThePoolNeverTwice: a registry whose MRNs come from an
// OpenMRS idgen pool is restored from a backup in which numbers issued
// since were still free. Over the live registry (both engines) they stay
// issued and numbers fetched after the backup are kept; onto a new disk
// (nothing to read) every free number is withdrawn.
func TestRestore_KeepsThePoolNeverTwice(t *testing.T) {
	s, ctx := poolStore(t, "10000X", "10001V", "10002T", "10003R")
	first := registerDecided(t, s, ctx, "Amina")
	b := backupTo(t, ctx, s, "b.db")
	printed := []string{first, registerDecided(t, s, ctx, "Beatrice"), registerDecided(t, s, ctx, "Chausiku")}
	if _, err := s.FillPool(ctx, testSource, []string{"10004P", "10005M"}); err != nil {
		t.Fatal(err)
	}
	t.Run("LostDisk", func(t *testing.T) {
		to := filepath.Join(t.TempDir(), "new-disk.db")
		r, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true, Actor: idcards.Actor{Name: "os:test"}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Restore.PoolWithdrawn != 3 { // 10001V 10002T 10003R were free in the backup
			t.Fatalf("report %+v", r.Restore)
		}
		s2, err := registry.Open(ctx, to)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if p, _ := s2.Pool(ctx); p.Free != 0 || p.Withdrawn != 3 {
			t.Fatalf("pool after a lost-disk restore: %+v", p)
		}
	})
	r, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Restore.Live || r.Restore.LostIDs != 2 || r.Restore.PoolKept != 4 { // 2 issued since, 2 fetched since
		t.Fatalf("report %+v", r.Restore)
	}
	if p, _ := s.Pool(ctx); p.Free != 3 || p.Issued != 3 {
		t.Fatalf("pool after restore: %+v", p)
	}
	for range 3 {
		m := registerDecided(t, s, ctx, "Dorcas")
		for _, old := range printed {
			if m == old {
				t.Fatalf("%s issued twice across the restore", m)
			}
		}
		printed = append(printed, m)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRestore_LostPoolIDGoesBackToItsPatient: with MRNs from an idgen
// pool, a number issued after the backup is kept issued by the restore
// (never handed out twice) but its record is lost: verify says so instead
// of "never issued", and the patient is registered again onto the same
// number. On a lost disk the free numbers withdrawn by the restore may
// have been issued too, and can be given back the same way; a number no
// restore touched stays "never issued".
func TestRestore_LostPoolIDGoesBackToItsPatient(t *testing.T) {
	s, ctx := poolStore(t, "10000X", "10001V", "10002T", "10003R")
	registerDecided(t, s, ctx, "Amina")
	b := backupTo(t, ctx, s, "b.db")
	lost := registerDecided(t, s, ctx, "Beatrice")

	t.Run("LostDisk", func(t *testing.T) {
		to := filepath.Join(t.TempDir(), "new-disk.db")
		if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
			t.Fatal(err)
		}
		s2, err := registry.Open(ctx, to)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		v, err := s2.Verify(ctx, lost)
		if err != nil || v.RestoredAt == "" || !v.Rebindable() || !strings.Contains(v.Detail, "may have been issued after that backup") {
			t.Fatalf("withdrawn pool number after a lost-disk restore: %+v %v", v, err)
		}
		p, _, err := s2.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Beatrice", FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-12"},
			Decision: "test", BindMRN: lost})
		if err != nil || p.ID == 0 {
			t.Fatalf("registering onto the withdrawn number: %v", err)
		}
		if v, _ := s2.Verify(ctx, lost); v.Status != idcards.StatusActive {
			t.Fatalf("after registering again: %+v", v)
		}
	})

	if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Verify(ctx, lost)
	if err != nil || v.Status != idcards.StatusUnknown || !v.Rebindable() || !strings.Contains(v.Detail, "lost with the restore") {
		t.Fatalf("lost pool number after the restore: %+v %v", v, err)
	}
	never, err := s.Verify(ctx, "10003R")
	if err != nil || never.RestoredAt != "" || never.Rebindable() {
		t.Fatalf("a free pool number: %+v %v", never, err)
	}
	reg := func(given, bind string) (string, error) {
		_, m, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: given, FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-12"},
			Decision: "test", BindMRN: bind})
		return m, err
	}
	if _, err := reg("Other", "10003R"); err == nil {
		t.Fatal("a free pool number was given out as a lost one")
	}
	got, err := reg("Beatrice", lost)
	if err != nil || got != lost {
		t.Fatalf("registering onto the lost pool number: %q %v", got, err)
	}
	if _, err := reg("Someone", lost); err == nil {
		t.Fatal("the lost number was given to a second patient")
	}
	for range 2 {
		if m := registerDecided(t, s, ctx, "Dorcas"); m == lost {
			t.Fatalf("%s issued again", m)
		}
	}
	wantReboundOnce(t, s, ctx, lost)
}
