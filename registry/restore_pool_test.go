package registry_test

import (
	"context"
	"path/filepath"
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
