package registry_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// TestBackup_WhileAnotherProcessIssues takes a backup while a second OS
// process reserves IDs in a loop; the copy passes every check and restores.
func TestBackup_WhileAnotherProcessIssues(t *testing.T) {
	s, ctx := newStore(t)
	s.Argon2 = cheap
	addUser(t, ctx, s, "admin1", idcards.RoleAdmin)
	cmd := childCmd(t, s.Path(), 0, 5)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := out.Read(buf); err != nil { // the child is issuing
		t.Fatal(err)
	}
	dir := t.TempDir()
	var reports []registry.BackupReport
	for i := range 3 {
		r, err := s.Backup(ctx, registry.BackupOptions{Out: filepath.Join(dir, "b"+string(rune('0'+i))+".db")})
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for i, r := range reports {
		if r.Integrity != "ok" || r.AuditRows < 2 || r.Counts["users"] != 1 {
			t.Fatalf("backup %d: %+v", i, r)
		}
		if fi, _ := os.Stat(r.Path); fi.Mode().Perm() != 0o600 {
			t.Fatalf("backup mode %v", fi.Mode())
		}
		to := filepath.Join(dir, "restored"+string(rune('0'+i)), "registry.db")
		rr, err := registry.Restore(context.Background(), r.Path, registry.RestoreOptions{To: to, Actor: idcards.Actor{Name: "os:test"}, KeyPath: s.KeyPath()})
		if err != nil {
			t.Fatal(err)
		}
		if rr.Counts["identifiers"] != r.Counts["identifiers"] || rr.AuditRows != r.AuditRows+1 {
			t.Fatalf("restored %+v from %+v", rr, r)
		}
	}
	if reports[2].Counts["identifiers"] <= reports[0].Counts["identifiers"] && reports[0].Counts["identifiers"] == 0 {
		t.Fatalf("the child issued nothing during the backups: %+v", reports)
	}
}

func TestBackup_EncryptedRoundTrip(t *testing.T) {
	s, ctx := newStore(t)
	s.Argon2 = cheap
	addUser(t, ctx, s, "admin1", idcards.RoleAdmin)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := age.NewScryptRecipient("a long backup passphrase")
	pass.SetWorkFactor(10)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		rcp  age.Recipient
		ids  func() []age.Identity
	}{
		{"X25519", id.Recipient(), func() []age.Identity { return []age.Identity{id} }},
		{"Passphrase", pass, func() []age.Identity {
			i, _ := age.NewScryptIdentity("a long backup passphrase")
			return []age.Identity{i}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".db.age")
			r, err := s.Backup(ctx, registry.BackupOptions{Out: out, Recipients: []age.Recipient{tc.rcp}})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(out)
			if !r.Encrypted || !strings.HasPrefix(string(b), "age-encryption.org/v1\n") || strings.Contains(string(b), "SQLite format") {
				t.Fatal("backup is not encrypted")
			}
			to := filepath.Join(dir, tc.name, "r.db")
			_, err = registry.Restore(context.Background(), out, registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true})
			wantKind(t, err, idcards.Invalid, "is encrypted")
			other, _ := age.GenerateX25519Identity()
			_, err = registry.Restore(context.Background(), out, registry.RestoreOptions{To: to, Identities: []age.Identity{other}, KeyPath: s.KeyPath()})
			wantKind(t, err, idcards.Forbidden, "cannot decrypt")
			rr, err := registry.Restore(context.Background(), out, registry.RestoreOptions{To: to, Identities: tc.ids(), KeyPath: s.KeyPath()})
			if err != nil {
				t.Fatal(err)
			}
			if !rr.Encrypted || rr.Counts["users"] != 1 {
				t.Fatalf("%+v", rr)
			}
		})
	}
}

func TestRestore_Refusals(t *testing.T) {
	pgtest.SQLiteOnlyBecause(t, "refusals of restoring over SQLite files (--force keeps the old file); PostgreSQL targets: TestPostgres_BackupRestoreRoundTrip")
	s, ctx := newStore(t)
	s.Argon2 = cheap
	addUser(t, ctx, s, "admin1", idcards.RoleAdmin)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	if _, err := s.Backup(ctx, registry.BackupOptions{Out: good}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Backup(ctx, registry.BackupOptions{Out: good})
	wantKind(t, err, idcards.Conflict, "already exists")

	copyFile := func(name string, edit func([]byte) []byte, withSum bool) string {
		b, _ := os.ReadFile(good)
		p := filepath.Join(dir, name)
		os.WriteFile(p, edit(append([]byte(nil), b...)), 0o600)
		if withSum {
			sum, _ := os.ReadFile(good + ".sha256")
			os.WriteFile(p+".sha256", sum, 0o600)
		}
		return p
	}
	tampered := filepath.Join(dir, "tampered.db")
	{
		b, _ := os.ReadFile(good)
		os.WriteFile(tampered, b, 0o600)
		t2, err := registry.OpenWith(ctx, tampered, registry.Options{KeyPath: s.KeyPath()})
		if err != nil {
			t.Fatal(err)
		}
		t2.DB().Exec(`UPDATE audit SET actor = 'nobody' WHERE seq = 2`)
		t2.Close()
	}
	for _, tc := range []struct {
		name, file string
		opt        registry.RestoreOptions
		kind       idcards.Kind
		msg        string
	}{
		{"TargetExists", good, registry.RestoreOptions{To: s.Path()}, idcards.Conflict, "already exists"},
		{"Missing", filepath.Join(dir, "nope.db"), registry.RestoreOptions{To: filepath.Join(dir, "n1.db")}, idcards.NotFound, "no backup file"},
		{"ChecksumMismatch", copyFile("flipped.db", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, true),
			registry.RestoreOptions{To: filepath.Join(dir, "n2.db")}, idcards.Invalid, "does not match its checksum"},
		{"NotSQLite", copyFile("junk.db", func([]byte) []byte { return []byte("hello, not a database at all") }, false),
			registry.RestoreOptions{To: filepath.Join(dir, "n3.db")}, idcards.Invalid, "not"},
		{"AuditChainBroken", tampered, registry.RestoreOptions{To: filepath.Join(dir, "n4.db")}, idcards.Invalid, "audit chain broken at row 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Actor = idcards.Actor{Name: "os:test"}
			tc.opt.KeyPath = s.KeyPath()
			_, err := registry.Restore(context.Background(), tc.file, tc.opt)
			wantKind(t, err, tc.kind, tc.msg)
			if tc.name != "TargetExists" {
				if _, err := os.Stat(tc.opt.To); err == nil {
					t.Fatal("a refused restore left a file behind")
				}
			}
		})
	}
	t.Run("ForceRestoresIntoTheLiveRegistry", func(t *testing.T) {
		// The registry is open (s): the backup is copied into it under
		// SQLite's lock, and s goes on working on the restored content.
		rr, err := registry.Restore(context.Background(), good, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}})
		if err != nil {
			t.Fatal(err)
		}
		if rr.Restore == nil || !rr.Restore.Live || rr.Restore.Kept == "" {
			t.Fatalf("not a live restore: %+v", rr.Restore)
		}
		if _, err := s.Reserve(ctx, 1); err != nil {
			t.Fatalf("the live registry was disturbed: %v", err)
		}
		if _, err := s.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ForceKeepsTheOldFile", func(t *testing.T) {
		to := filepath.Join(dir, "live.db")
		if _, err := registry.Restore(context.Background(), good, registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := registry.Restore(context.Background(), good, registry.RestoreOptions{To: to, Force: true}); err != nil {
			t.Fatal(err)
		}
		kept, _ := filepath.Glob(to + ".before-restore-*")
		if len(kept) == 0 {
			t.Fatal("the replaced registry was not kept")
		}
	})
}

// BenchmarkBackup100k: a checked backup (VACUUM INTO, integrity_check,
// audit chain, counts, checksum) of a registry holding 100,000 IDs.
func BenchmarkBackup100k(b *testing.B) {
	s, ctx := newStore(b)
	for range 10 {
		if _, err := s.Reserve(ctx, 10_000); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Backup(ctx, registry.BackupOptions{Out: filepath.Join(dir, fmt.Sprint(i)+".db")}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreLive100k: restoring a backup of 100,000 IDs over the
// live registry (the whole job: checks of the backup, the copy under the
// writer lock, the kept copy of the replaced registry), on the engine the
// suite runs against (IDCARDS_TEST_POSTGRES for PostgreSQL).
func BenchmarkRestoreLive100k(b *testing.B) {
	s, ctx := newStore(b)
	for range 10 {
		if _, err := s.Reserve(ctx, 10_000); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	bk := filepath.Join(dir, "b.db")
	if _, err := s.Backup(ctx, registry.BackupOptions{Out: bk}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		s.Reserve(ctx, 10) // issued after the backup: lost, never again
		_, err := registry.Restore(context.Background(), bk, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:bench"},
			Keep: filepath.Join(dir, fmt.Sprintf("kept-%d.db", i)), Now: func() time.Time { return time.Unix(int64(i), 0) }})
		if err != nil {
			b.Fatal(err)
		}
	}
}
