package registry_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestRestore_RefusalsNameTheBackup is the drill's finding: a refused
// restore named its private copy (.idcards-restore-PID-N/registry.db,
// under /tmp for `--to /tmp/check.db`) instead of the backup the user
// gave. Every refusal names the backup and the registry, says what to do,
// and leaves nothing behind — into a new file and over the registry (on
// PostgreSQL, over the database: the checks run in a scratch file there
// too).
func TestRestore_RefusalsNameTheBackup(t *testing.T) {
	s, ctx := newStore(t)
	if _, err := s.Reserve(ctx, 3); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	if _, err := s.Backup(ctx, registry.BackupOptions{Out: good}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edited := write("edited.db", raw)
	{
		db, err := sql.Open("sqlite", "file:"+edited)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE series SET next_seq = 1`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	chain := write("chain.db", raw)
	{
		db, _ := sql.Open("sqlite", "file:"+chain)
		if _, err := db.Exec(`UPDATE audit SET actor = 'nobody' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	other := filepath.Join(dir, "other.db")
	{
		db, _ := sql.Open("sqlite", "file:"+other)
		if _, err := db.Exec(`CREATE TABLE t(a)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	rcp, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(dir, "enc.db.age")
	if _, err := s.Backup(ctx, registry.BackupOptions{Out: enc, Recipients: []age.Recipient{rcp.Recipient()}}); err != nil {
		t.Fatal(err)
	}
	os.Remove(enc + ".sha256")
	encRaw, _ := os.ReadFile(enc)
	encCut := write("enc-cut.db.age", encRaw[:len(encRaw)/2])
	wrong, _ := age.GenerateX25519Identity()
	sum := write("flipped.db", append(append([]byte(nil), raw[:len(raw)-1]...), raw[len(raw)-1]^1))
	sumFile, _ := os.ReadFile(good + ".sha256")
	write("flipped.db.sha256", sumFile)

	cases := []struct {
		name, file string
		ids        []age.Identity
		kind       idcards.Kind
		want       string // what to do, in words
	}{
		{"Truncated", write("cut.db", raw[:5000]), nil, idcards.Invalid, "restore an older backup"},
		{"Garbage", write("junk.db", []byte("hello, not a database at all")), nil, idcards.Invalid, "not a registry backup"},
		{"Empty", write("empty.db", nil), nil, idcards.Invalid, "is empty"},
		{"AnotherProgramsDatabase", other, nil, idcards.Invalid, "not a backup of an idcards registry"},
		{"RowEdited", edited, nil, idcards.Invalid, "--accept-unexplained"},
		{"ChainBroken", chain, nil, idcards.Invalid, "restore an older backup"},
		{"ChecksumMismatch", sum, nil, idcards.Invalid, "copy it again"},
		{"EncryptedNoKey", enc, nil, idcards.Invalid, "--identity-file"},
		{"EncryptedWrongKey", enc, []age.Identity{wrong}, idcards.Forbidden, "wrong passphrase or key"},
		{"EncryptedCutShort", encCut, []age.Identity{rcp}, idcards.Invalid, "restore an older backup"},
	}
	targets := []struct {
		name  string
		to    string
		force bool
	}{
		{"NewFile", filepath.Join(t.TempDir(), "check.db"), false},
		{"OverTheRegistry", s.Path(), true},
	}
	for _, tg := range targets {
		for _, tc := range cases {
			t.Run(tg.name+"/"+tc.name, func(t *testing.T) {
				_, err := registry.Restore(context.Background(), tc.file, registry.RestoreOptions{
					To: tg.to, Force: tg.force, KeyPath: s.KeyPath(), Identities: tc.ids, Actor: idcards.Actor{Name: "os:test"}})
				if err == nil {
					t.Fatal("restored")
				}
				msg := err.Error()
				if k := idcards.ErrorKind(err); k != tc.kind {
					t.Errorf("kind %v, want %v: %s", k, tc.kind, msg)
				}
				if !strings.Contains(msg, tc.file) {
					t.Errorf("the refusal does not name the backup %s:\n%s", tc.file, msg)
				}
				if !strings.Contains(msg, registry.RedactURL(tg.to)) {
					t.Errorf("the refusal does not name the registry %s:\n%s", registry.RedactURL(tg.to), msg)
				}
				if !strings.Contains(msg, tc.want) {
					t.Errorf("the refusal does not say %q:\n%s", tc.want, msg)
				}
				if strings.Contains(msg, ".idcards-") {
					t.Errorf("the refusal names a private copy:\n%s", msg)
				}
				if !tg.force {
					if _, err := os.Stat(tg.to); err == nil {
						t.Error("a refused restore left a file behind")
					}
				}
			})
		}
	}
	// The registry is as it was.
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}
