package registry_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// seqOf is the sequence number inside an MRN of testFormat ("12" + 7 digits + check).
func seqOf(t *testing.T, mrn string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(mrn[2:9], 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", mrn, err)
	}
	return n
}

func backupTo(t *testing.T, ctx context.Context, s *registry.Store, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if _, err := s.Backup(ctx, registry.BackupOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRestore_NeverMovesASeriesBack is the drill's case: restoring an older
// backup over the registry must not issue again the numbers issued since.
func TestRestore_NeverMovesASeriesBack(t *testing.T) {
	s, ctx := newStore(t)
	early, _ := s.Reserve(ctx, 5)
	b1 := backupTo(t, ctx, s, "b1.db")
	later, _ := s.Reserve(ctx, 20) // printed on cards after the backup
	r, err := registry.Restore(context.Background(), b1, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}})
	if err != nil {
		t.Fatal(err)
	}
	rp := r.Restore
	if !rp.Live || rp.LostIDs != 20 || len(rp.Marks) != 1 || rp.Marks[0].From != 6 || rp.Marks[0].To != 26 {
		t.Fatalf("restore report: %+v", rp)
	}
	// The replaced registry is kept whole, taken under the write lock.
	k, err := registry.CheckFileKey(ctx, rp.Kept, s.ChainKey())
	if err != nil || k.Counts["identifiers"] != 25 {
		t.Fatalf("kept copy: %+v %v", k.Counts, err)
	}
	next, err := s.Reserve(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range next {
		for _, old := range append(early, later...) {
			if id == old {
				t.Fatalf("%s issued twice after the restore", id)
			}
		}
		if seqOf(t, id) < 26 {
			t.Fatalf("the series moved back: %s", id)
		}
	}
	var detail string
	s.DB().QueryRow(`SELECT detail FROM audit WHERE action = 'backup.restore' ORDER BY seq DESC LIMIT 1`).Scan(&detail)
	if !strings.Contains(detail, "series:12=6->26") || !strings.Contains(detail, "lost_ids=20") {
		t.Fatalf("restore not audited with what it did: %q", detail)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRestore_DiskLost: with no readable registry to replace, every series
// skips ahead; with OpenMRS sync configured, issuing waits for a pull.
func TestRestore_DiskLost(t *testing.T) {
	for _, tc := range []struct {
		name       string
		skip, want int64 // want: the first sequence number issued
		sync       bool
		corrupt    bool // a file is there, but not readable
	}{
		{"Default", 0, 3 + registry.DefaultSkipAhead, false, false},
		{"Explicit", 250, 253, false, false},
		{"ScratchCopy", -1, 3, false, false},
		{"SyncConfigured", 0, 3 + registry.DefaultSkipAhead, true, false},
		{"CorruptFileReplaced", 0, 3 + registry.DefaultSkipAhead, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := newStore(t)
			s.Reserve(ctx, 2)
			if tc.sync {
				if err := s.SaveSyncConfig(ctx, registry.SyncConfig{URL: "http://127.0.0.1:1/openmrs", Username: "u", IdentifierType: "t"}); err != nil {
					t.Fatal(err)
				}
			}
			b := backupTo(t, ctx, s, "b.db")
			to := filepath.Join(t.TempDir(), "new-disk", "registry.db")
			opt := registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true, SkipAhead: tc.skip, Actor: idcards.Actor{Name: "os:test"}}
			if tc.corrupt {
				os.MkdirAll(filepath.Dir(to), 0o700)
				os.WriteFile(to, []byte("SQLite format 3\x00 but torn by a dying disk"), 0o600)
				opt.Force = true
			}
			r, err := registry.Restore(context.Background(), b, opt)
			if err != nil {
				t.Fatal(err)
			}
			if r.Restore.Live || r.Restore.PullRequired != tc.sync || (tc.corrupt && r.Restore.Kept == "") {
				t.Fatalf("report: %+v", r.Restore)
			}
			s2, err := registry.Open(ctx, to)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if tc.sync {
				_, err := s2.Reserve(ctx, 1)
				wantKind(t, err, idcards.Unavailable, "sync --once")
				if err := s2.SetSyncState(ctx, map[string]string{"last_pull_at": "2026-03-01T09:00:00.000000Z"}); err != nil {
					t.Fatal(err)
				}
			}
			ids, err := s2.Reserve(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqOf(t, ids[0]); got != tc.want {
				t.Fatalf("first number after restore %d, want %d", got, tc.want)
			}
			if _, err := s2.VerifyAudit(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRestore_Identity: a backup of another registry is refused without
// OtherRegistry; with sign-in on, only an admin restores.
func TestRestore_Identity(t *testing.T) {
	s, ctx := newStore(t)
	s.Argon2 = cheap
	other, octx := newStore(t)
	ob := backupTo(t, octx, other, "other.db")
	_, err := registry.Restore(context.Background(), ob, registry.RestoreOptions{To: s.Path(), Force: true})
	wantKind(t, err, idcards.Conflict, "backup of another registry")
	// A scratch restore with this desk's key: the key is of another registry.
	_, err = registry.Restore(context.Background(), ob, registry.RestoreOptions{To: filepath.Join(t.TempDir(), "x.db"), KeyPath: s.KeyPath()})
	wantKind(t, err, idcards.Conflict, "chain key")
	// Explicitly, with that registry's key.
	if _, err := registry.Restore(context.Background(), ob, registry.RestoreOptions{To: s.Path(), Force: true, OtherRegistry: true, KeyPath: other.KeyPath(), InstallKey: true}); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.RegistryID(ctx); id == "" {
		t.Fatal("no registry id")
	}

	t.Run("AdminWhenSignInOn", func(t *testing.T) {
		s, ctx := newStore(t)
		s.Argon2 = cheap
		addUser(t, ctx, s, "admin1", idcards.RoleAdmin)
		b := backupTo(t, ctx, s, "b.db")
		if err := s.SetKnownSetting(ctx, "cli_sign_in", "on"); err != nil {
			t.Fatal(err)
		}
		for _, a := range []idcards.Actor{{Name: "os:root", Role: idcards.RoleOperator}, {Name: "clerk1", Role: idcards.RoleClerk}, {}} {
			_, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: a})
			wantKind(t, err, idcards.Forbidden, "needs an admin")
		}
		if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "admin1", Role: idcards.RoleAdmin}}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRestore_OverAnotherRegistrySkipsAhead: a lost disk, and a new
// registry created on the replacement machine before the backup was
// restored over it (--other-registry): the new registry's marks say nothing
// of what the lost one issued after the backup, so every series jumps ahead.
func TestRestore_OverAnotherRegistrySkipsAhead(t *testing.T) {
	lost, lctx := newStore(t)
	if _, err := lost.Reserve(lctx, 3); err != nil {
		t.Fatal(err)
	}
	b := backupTo(t, lctx, lost, "lost.db")
	after, err := lost.Reserve(lctx, 5) // on cards, then the disk was lost
	if err != nil {
		t.Fatal(err)
	}
	s, ctx := newStore(t)
	r, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, OtherRegistry: true, KeyPath: lost.KeyPath(), InstallKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if rp := r.Restore; !rp.OtherRegistry || rp.SkipAhead != registry.DefaultSkipAhead {
		t.Fatalf("restore report: %+v", rp)
	}
	s2, err := registry.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	next, err := s2.Reserve(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range next {
		if slices.Contains(after, id) || seqOf(t, id) < 4+registry.DefaultSkipAhead {
			t.Fatalf("%s: a number the lost registry may have issued (it issued %v after the backup)", id, after)
		}
	}
}

// TestRestore_ChecksEveryRowState: an unencrypted backup whose patient
// bytes were edited, with no checksum file, is refused (the drill's item 7).
func TestRestore_ChecksEveryRowState(t *testing.T) {
	s, ctx := newStore(t)
	np := registry.NewPatient{GivenName: "Amina", FamilyName: "Okello", Sex: "F", BirthDate: "1990-04-12"}
	if _, _, err := s.Register(ctx, registry.Registration{Patient: np}); err != nil {
		t.Fatal(err)
	}
	b := backupTo(t, ctx, s, "b.db")
	os.Remove(b + ".sha256")
	raw, _ := os.ReadFile(b)
	if bytes.Count(raw, []byte("Amina")) != 1 {
		t.Fatalf("the name is stored %d times", bytes.Count(raw, []byte("Amina")))
	}
	os.WriteFile(b, bytes.Replace(raw, []byte("Amina"), []byte("Anima"), 1), 0o600)
	to := filepath.Join(t.TempDir(), "r.db")
	_, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: to, KeyPath: s.KeyPath()})
	wantKind(t, err, idcards.Invalid, "behind the program's back")
	if _, err := os.Stat(to); err == nil {
		t.Fatal("a refused restore left a registry")
	}
}

// TestBackup_PlainCopyStaysHome: the plain copy of an encrypted backup is
// made next to the registry, not next to the output (a USB stick), and one
// left by a killed backup is removed by the next.
func TestBackup_PlainCopyStaysHome(t *testing.T) {
	s, ctx := newStore(t)
	home := filepath.Dir(s.Path())
	stale := filepath.Join(home, ".idcards-backup-999999999-x")
	os.Mkdir(stale, 0o700)
	os.WriteFile(filepath.Join(stale, "registry.db"), []byte("plain patient data"), 0o600)
	usb := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	out := filepath.Join(usb, "b.db.age")
	if _, err := s.Backup(ctx, registry.BackupOptions{Out: out, Recipients: []age.Recipient{id.Recipient()}}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(usb)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "b.db.age b.db.age.sha256" {
		t.Fatalf("the medium holds %v", names)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("a stale plain copy was left")
	}
	// A checksum file name that is a symlink is refused, not followed.
	out2 := filepath.Join(usb, "c.db")
	target := filepath.Join(usb, "elsewhere")
	os.Symlink(target, out2+".sha256")
	_, err := s.Backup(ctx, registry.BackupOptions{Out: out2})
	wantKind(t, err, idcards.Conflict, "already exists")
	if _, err := os.Stat(target); err == nil {
		t.Fatal("the symlink was followed")
	}
}

// TestRestore_WhileOtherProcessesIssue restores into the live registry again
// and again while child processes issue IDs as fast as they can. The file
// must stay sound, and no number any child printed may be printed again.
func TestRestore_WhileOtherProcessesIssue(t *testing.T) {
	s, ctx := newStore(t)
	s.Reserve(ctx, 3)
	backups := []string{backupTo(t, ctx, s, "b0.db")}
	s.Reserve(ctx, 50)
	backups = append(backups, backupTo(t, ctx, s, "b1.db"))
	trials := 30
	if n, err := strconv.Atoi(os.Getenv("IDCARDS_RESTORE_TRIALS")); err == nil {
		trials = n
	} else if testing.Short() {
		trials = 5
	}
	const procs = 2
	var cmds []*exec.Cmd
	lines := make([]chan string, procs)
	for i := range procs {
		c := childCmd(t, s.Path(), 0, 1+i*7)
		c.Env = append(c.Env, "IDCARDS_TEST_CHILD_PAUSE=2ms")
		pipe, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
		lines[i] = make(chan string, 1<<16)
		go completeLines(pipe, lines[i])
	}
	exited := make(chan int, procs)
	for i, c := range cmds {
		go func() { c.Wait(); exited <- i }()
	}
	printed := map[string]int{}
	drain := func() {
		for i := range lines {
			for {
				select {
				case id, ok := <-lines[i]:
					if !ok {
						lines[i] = nil
						goto next
					}
					if id == "" {
						continue
					}
					if p, dup := printed[id]; dup {
						t.Fatalf("%s printed by child %d and again by child %d", id, p, i)
					}
					printed[id] = i
				default:
					goto next
				}
			}
		next:
		}
	}
	for trial := range trials {
		time.Sleep(20 * time.Millisecond)
		select {
		case i := <-exited:
			t.Fatalf("child %d stopped during trial %d (see its error above)", i, trial)
		default:
		}
		_, err := registry.Restore(context.Background(), backups[trial%2], registry.RestoreOptions{To: s.Path(), Force: true,
			Actor: idcards.Actor{Name: "os:test"}, Now: func() time.Time { return time.Unix(int64(trial), 0) }})
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if r, err := s.IntegrityCheck(ctx); err != nil || r != "ok" {
			t.Fatalf("trial %d: integrity_check %q %v", trial, r, err)
		}
		drain()
	}
	for _, c := range cmds {
		c.Process.Signal(syscall.SIGKILL)
	}
	for range cmds {
		<-exited
	}
	drain()
	if len(printed) < trials {
		t.Fatalf("the children issued only %d IDs in %d trials", len(printed), trials)
	}
	more, err := s.Reserve(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range more {
		if _, dup := printed[id]; dup {
			t.Fatalf("%s issued again after the restores", id)
		}
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d restores under 2 writers; %d IDs printed, none twice", trials, len(printed))
}

// TestRestore_MirrorFollows: a running serve's in-memory mirror answers
// from the restored registry after a live restore (it sees the feed jump
// and rebuilds), never from the replaced one.
func TestRestore_MirrorFollows(t *testing.T) {
	s, ctx := newStore(t)
	early, _ := s.Reserve(ctx, 2)
	b := backupTo(t, ctx, s, "b.db")
	s.Void(ctx, early[0], "damaged")
	later, _ := s.Reserve(ctx, 1)
	m, err := registry.NewMirror(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, code := range append(early, later...) {
		m.VerifyScan(ctx, code, false) // held in the mirror
	}
	if _, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code string
		want idcards.Status
	}{{early[0], idcards.StatusUnassigned}, {later[0], idcards.StatusUnknown}} {
		got, err := m.VerifyScan(ctx, tc.code, false)
		want, _ := s.Verify(ctx, tc.code)
		if err != nil || got.Status != tc.want || want.Status != tc.want {
			t.Errorf("%s: mirror %s, file %s, want %s (%v)", tc.code, got.Status, want.Status, tc.want, err)
		}
	}
}

// TestBackup_KeepUnexplained: a registry with a row changed behind the
// program's back can still be backed up and restored, by consent, and the
// row stays named.
func TestBackup_KeepUnexplained(t *testing.T) {
	s, ctx, _ := stateFixture(t)
	s.DB().Exec(`UPDATE patients SET given_name = 'Mallory' WHERE id = 1`)
	out := filepath.Join(t.TempDir(), "b.db")
	_, err := s.Backup(ctx, registry.BackupOptions{Out: out})
	wantKind(t, err, idcards.Invalid, "behind the program's back")
	r, err := s.Backup(ctx, registry.BackupOptions{Out: out, KeepUnexplained: true})
	if err != nil || r.Unexplained != 1 {
		t.Fatalf("kept backup: %+v %v", r.Unexplained, err)
	}
	to := filepath.Join(t.TempDir(), "r.db")
	_, err = registry.Restore(context.Background(), out, registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true})
	wantKind(t, err, idcards.Invalid, "behind the program's back")
	rr, err := registry.Restore(context.Background(), out, registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true, AcceptUnexplained: true})
	if err != nil || rr.Unexplained != 1 {
		t.Fatalf("restore: %+v %v", rr.Unexplained, err)
	}
	s2, err := registry.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var se *registry.StateError
	if _, err := s2.VerifyAudit(ctx); !errors.As(err, &se) || len(se.Findings) != 1 || se.Findings[0].Table != "patients" {
		t.Fatalf("the restored registry must still name the row: %v", err)
	}
}
