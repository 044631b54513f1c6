package registry_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// TestOpen_DamagedOrNotARegistry: a registry file that is not one (empty,
// not SQLite, another program's SQLite database) or is damaged is refused
// in words that name the file and the way back (idcards restore), with the
// two cases told apart (ErrNotRegistry, kind Invalid; ErrDamaged, kind
// Unavailable), and another program's database is not changed by the
// attempt; a missing file still says "no registry at".
func TestOpen_DamagedOrNotARegistry(t *testing.T) {
	pgtest.SQLiteOnlyBecause(t, "checks SQLite files; a PostgreSQL server reports its own errors")
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	s, err := registry.Create(ctx, good, idcards.Format{Prefix: "12", Width: 6, Scheme: "luhn"})
	if err != nil {
		t.Fatal(err)
	}
	sctx := idcards.WithActor(ctx, idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	if _, err := s.Reserve(sctx, 50); err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.db")
	{
		db, _ := sql.Open("sqlite", "file:"+other)
		if _, err := db.Exec(`CREATE TABLE t(a); INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	otherRaw, _ := os.ReadFile(other)
	// Every page after the first two overwritten: the schema reads, the
	// tables do not.
	damaged := append([]byte(nil), raw...)
	for i := 2 * 4096; i < len(damaged); i++ {
		damaged[i] = 0xa5
	}
	for _, tc := range []struct {
		name string
		body []byte
		is   error
		kind idcards.Kind
		want string
	}{
		{"Truncated", raw[:5000], registry.ErrDamaged, idcards.Unavailable, "is damaged"},
		{"PagesOverwritten", damaged, registry.ErrDamaged, idcards.Unavailable, "is damaged"},
		{"Garbage", []byte("hello, not a database at all"), registry.ErrNotRegistry, idcards.Invalid, "not a SQLite database"},
		{"Empty", []byte{}, registry.ErrNotRegistry, idcards.Invalid, "the file is empty"},
		{"AnotherProgramsDatabase", otherRaw, registry.ErrNotRegistry, idcards.Invalid, "no schema_migrations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "registry.db")
			os.WriteFile(p, tc.body, 0o600)
			os.WriteFile(registry.DefaultKeyPath(p), mustRead(t, registry.DefaultKeyPath(good)), 0o600)
			s, err := registry.Open(ctx, p)
			if err == nil {
				// Damage the open did not meet is met by the first write.
				_, err = s.Reserve(sctx, 1)
				s.Close()
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			msg := err.Error()
			if k := idcards.ErrorKind(err); k != tc.kind {
				t.Errorf("kind %v, want %v", k, tc.kind)
			}
			for _, want := range []string{p, tc.want, "idcards restore BACKUP", "When the registry file is damaged"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			if now, _ := os.ReadFile(p); !bytes.Equal(now, tc.body) && tc.is == registry.ErrNotRegistry {
				t.Error("opening changed a file that is not a registry")
			}
		})
	}
	t.Run("Missing", func(t *testing.T) {
		_, err := registry.Open(ctx, filepath.Join(dir, "nope.db"))
		wantKind(t, err, idcards.NotFound, "no registry at")
	})
	t.Run("ReadError", func(t *testing.T) {
		// Damage met by a read, which does not know the path: Damaged says it.
		p := filepath.Join(t.TempDir(), "junk.db")
		os.WriteFile(p, []byte("this is not a database file, not at all, no"), 0o600)
		jdb, _ := sql.Open("sqlite", "file:"+p)
		defer jdb.Close()
		var n int
		rerr := jdb.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&n)
		err := registry.Damaged(p, rerr)
		if !errors.Is(err, registry.ErrNotRegistry) || !strings.Contains(err.Error(), p) {
			t.Fatalf("Damaged(%v) = %v", rerr, err)
		}
		if other := errors.New("something else"); registry.Damaged(p, other) != other {
			t.Fatal("Damaged changed an unrelated error")
		}
	})
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
