package registry_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// stateFixture is a registry with one of everything a desk relies on: a
// patient with an active ID and a card, a voided ID and card, a clerk and
// an admin, a revoked scanner token, cli_sign_in on.
func stateFixture(t *testing.T) (*registry.Store, context.Context, string) {
	t.Helper()
	s, ctx, _ := accountsStore(t)
	addUser(t, ctx, s, "admin1", idcards.RoleAdmin)
	addUser(t, ctx, s, "clerk1", idcards.RoleClerk)
	np := registry.NewPatient{GivenName: "Amina", FamilyName: "Okello", Sex: "F", BirthDate: "1990-04-12"}
	_, mrn, err := s.Register(ctx, registry.Registration{Patient: np, Decision: "no candidates"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordCards(ctx, []string{mrn}, "cr80", "", ""); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Reserve(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	cards, err := s.RecordCards(ctx, ids[:1], "cr80", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VoidCard(ctx, cards[0].Serial, "lost"); err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, ids[0], "card damaged"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateToken(ctx, "ward3", "verify"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "ward3"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetKnownSetting(ctx, "cli_sign_in", "on"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "clerk1", "wrong password!"); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := s.Authenticate(ctx, "clerk1", goodPW); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatalf("a registry used only through the program must verify: %v", err)
	}
	return s, ctx, mrn
}

// TestVerifyAudit_DirectEdits: each edit the drill made with sqlite3 behind
// the program's back is named by verify, with its table and key.
func TestVerifyAudit_DirectEdits(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sql        string // %[1]s is the patient's MRN
		table, key string
	}{
		{"PatientRenamed", `UPDATE patients SET given_name = 'Mallory' WHERE id = 1`, "patients", "1"},
		{"IDSetBackToUnassigned", `UPDATE identifiers SET state = 'unassigned', patient_id = NULL WHERE mrn = '%[1]s'`, "identifiers", "%[1]s"},
		{"VoidedCardActive", `UPDATE cards SET state = 'active' WHERE state = 'voided'`, "cards", ""},
		{"ClerkPromoted", `UPDATE users SET role = 'admin' WHERE username = 'clerk1'`, "users", "2"},
		{"PasswordHashSwapped", `UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = 'clerk1') WHERE username = 'admin1'`, "users", "1"},
		{"TokenUnrevoked", `UPDATE tokens SET revoked_at = NULL`, "tokens", "1"},
		{"TokenScopeRaised", `UPDATE tokens SET scope = 'read:patient'`, "tokens", "1"},
		{"SignInTurnedOff", `UPDATE settings SET value = 'off' WHERE key = 'cli_sign_in'`, "settings", "cli_sign_in"},
		{"SeriesRewound", `UPDATE series SET next_seq = 1`, "series", "1"},
		{"PatientDeleted", `DELETE FROM cards; DELETE FROM outbox; UPDATE identifiers SET patient_id = NULL, state = 'unassigned'; DELETE FROM patients WHERE id = 1`, "patients", "1"},
		{"UserInserted", `INSERT INTO users(username, role, password_hash, created_at, created_by) SELECT 'mallory', 'admin', password_hash, created_at, 'x' FROM users WHERE id = 1`, "users", "3"},
		{"TriggersDroppedFirst", dropTriggerSQL("audit_state_users_upd", "users") + `; UPDATE users SET role = 'admin' WHERE username = 'clerk1'`, "users", "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx, mrn := stateFixture(t)
			q := tc.sql
			if strings.Contains(q, "%[1]s") {
				q = fmt.Sprintf(q, mrn)
			}
			if _, err := s.DB().Exec(q); err != nil {
				t.Fatal(err)
			}
			_, err := s.VerifyAudit(ctx)
			var se *registry.StateError
			if !errors.As(err, &se) {
				t.Fatalf("verify did not notice: %v", err)
			}
			key := strings.ReplaceAll(tc.key, "%[1]s", mrn)
			found := false
			for _, f := range se.Findings {
				if f.Table == tc.table && (key == "" || f.Key == key) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want %s %s named, got %v", tc.table, key, se)
			}
			if tc.name == "TriggersDroppedFirst" && len(se.Triggers) != 1 {
				t.Fatalf("the dropped trigger is not named: %v", se.Triggers)
			}
			// A later program write does not launder the edit: it is
			// still unexplained after another audited change.
			if err := s.SetKnownSetting(ctx, "idle_lock_minutes", "9"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyAudit(ctx); !errors.As(err, &se) {
				t.Fatalf("the next audited write explained the edit away: %v", err)
			}
		})
	}
}

// TestVerifyAudit_EditThenProgramWrite: an edit behind the program's back
// stays named after the program next changes the same row (a clerk
// promoted, then signing in; a patient renamed, then a phone edited; a
// series rewound, then IDs issued): the program's audit row records the
// state it found, which is not the state the chain last recorded.
func TestVerifyAudit_EditThenProgramWrite(t *testing.T) {
	for _, tc := range []struct {
		name, sql  string
		table, key string
		write      func(*registry.Store, context.Context) error
	}{
		{"ClerkPromotedThenSignsIn", `UPDATE users SET role = 'admin' WHERE username = 'clerk1'`, "users", "2", func(s *registry.Store, ctx context.Context) error {
			_, err := s.Authenticate(ctx, "clerk1", "wrong password!")
			if err == nil {
				return errors.New("wrong password accepted")
			}
			_, err = s.Authenticate(ctx, "clerk1", goodPW)
			return err
		}},
		{"PatientRenamedThenPhoneEdited", `UPDATE patients SET given_name = 'Mallory' WHERE id = 1`, "patients", "1", func(s *registry.Store, ctx context.Context) error {
			phone := "0772123456"
			_, _, err := s.EditPatient(ctx, registry.PatientEdit{ID: 1, Phone: &phone})
			return err
		}},
		{"SeriesRewoundThenIssued", `UPDATE series SET next_seq = 1`, "series", "1", func(s *registry.Store, ctx context.Context) error {
			_, err := s.Reserve(ctx, 2)
			return err
		}},
		{"TriggersDroppedThenReopened", dropTriggerSQL("audit_state_users_upd", "users") + `; UPDATE users SET role = 'admin' WHERE username = 'clerk1'`, "users", "2", func(s *registry.Store, ctx context.Context) error {
			s2, err := registry.Open(ctx, s.Path())
			if err != nil {
				return err
			}
			defer s2.Close()
			_, err = s2.Authenticate(ctx, "clerk1", goodPW)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx, _ := stateFixture(t)
			if _, err := s.DB().Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(s, ctx); err != nil {
				t.Logf("program write: %v", err) // refused or not, the edit must stay named
			}
			for range 2 { // and again after another audited write elsewhere
				_, err := s.VerifyAudit(ctx)
				var se *registry.StateError
				if !errors.As(err, &se) {
					t.Fatalf("the program's write explained the edit away: %v", err)
				}
				found := false
				for _, f := range se.Findings {
					found = found || (f.Table == tc.table && f.Key == tc.key)
				}
				if !found {
					t.Fatalf("want %s %s named, got %v", tc.table, tc.key, se)
				}
				if err := s.SetKnownSetting(ctx, "idle_lock_minutes", "9"); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestVerifyAudit_ReopenRestoresTriggers: a dropped trigger comes back at
// the next open.
func TestVerifyAudit_ReopenRestoresTriggers(t *testing.T) {
	s, ctx, _ := stateFixture(t)
	if _, err := s.DB().Exec(dropTriggerSQL("audit_state_patients_upd", "patients")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := registry.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.VerifyAudit(ctx); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	// ... and the trail keeps on record that it was missing.
	var detail string
	if err := s2.DB().QueryRow(`SELECT detail FROM audit WHERE action = 'audit.triggers' ORDER BY seq DESC LIMIT 1`).Scan(&detail); err != nil || detail != "recreated=audit_state_patients_upd reason=missing-or-altered" {
		t.Fatalf("no audit row names the recreated trigger: %q %v", detail, err)
	}
}

// TestVerifyAudit_KeyedChain: a forger who recomputes every hash without
// the key fails; an empty trail fails; the wrong key fails.
func TestVerifyAudit_KeyedChain(t *testing.T) {
	t.Run("RecomputedUnkeyed", func(t *testing.T) {
		s, ctx, _ := stateFixture(t)
		db := s.DB()
		// Edit row 2 and recompute every hash after it as plain SHA-256.
		rows, _ := db.Query(`SELECT seq, at, actor, action, subject, detail FROM audit ORDER BY seq`)
		type r struct {
			e  idcards.AuditEvent
			at string
		}
		var all []r
		for rows.Next() {
			var x r
			rows.Scan(&x.e.Seq, &x.at, &x.e.Actor, &x.e.Action, &x.e.Subject, &x.e.Detail)
			all = append(all, x)
		}
		rows.Close()
		prev := strings.Repeat("0", 64)
		for i := range all {
			e := all[i].e
			if e.Seq == 2 {
				e.Actor = "mallory"
			}
			e.PrevHash = prev
			e.Hash = registry.AuditHashForTest(e, all[i].at)
			db.Exec(`UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?`, e.Actor, e.PrevHash, e.Hash, e.Seq)
			prev = e.Hash
		}
		var ce *registry.ChainError
		if _, err := s.VerifyAudit(ctx); !errors.As(err, &ce) || ce.Seq != 1 {
			t.Fatalf("a recomputed unkeyed chain verified: %v", err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		s, ctx, _ := stateFixture(t)
		s.DB().Exec(`DELETE FROM audit`)
		var ce *registry.ChainError
		if _, err := s.VerifyAudit(ctx); !errors.As(err, &ce) || !strings.Contains(ce.Reason, "empty") {
			t.Fatalf("an empty trail: %v", err)
		}
	})
	t.Run("FirstRowNotCreation", func(t *testing.T) {
		s, ctx, _ := stateFixture(t)
		s.DB().Exec(`DELETE FROM audit WHERE seq = 1`)
		if _, err := s.VerifyAudit(ctx); err == nil {
			t.Fatal("a trail without its first row verified")
		}
	})
	t.Run("WrongKeyFile", func(t *testing.T) {
		s, ctx, _ := stateFixture(t)
		other, _ := newStore(t)
		s.Close()
		_, err := registry.OpenWith(ctx, s.Path(), registry.Options{KeyPath: other.KeyPath()})
		wantKind(t, err, idcards.Conflict, "belongs to registry")
	})
	t.Run("KeyMissing", func(t *testing.T) {
		s, ctx, _ := stateFixture(t)
		s.Close()
		os.Rename(s.KeyPath(), s.KeyPath()+".away")
		_, err := registry.Open(ctx, s.Path())
		wantKind(t, err, idcards.Unavailable, "audit chain key of the registry is missing")
	})
	t.Run("KeyFileMode", func(t *testing.T) {
		s, _, _ := stateFixture(t)
		fi, err := os.Stat(s.KeyPath())
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v %v", fi.Mode(), err)
		}
	})
}

// TestOpen_KeysALegacyRegistry: a registry from before chain keys (made by
// this test as the old version did: no state column, plain SHA-256 rows)
// gets a key, an anchor row and a baseline at its first open, and verifies.
func TestOpen_KeysALegacyRegistry(t *testing.T) {
	pgtest.SQLiteOnlyBecause(t, "builds a pre-0013a registry file by hand with SQLite statements; PostgreSQL registries start keyed")
	s, ctx, _ := stateFixture(t)
	path := s.Path()
	s.Close()
	legacy := filepath.Join(t.TempDir(), "legacy.db")
	if err := registry.DowngradeForTest(ctx, path, legacy); err != nil {
		t.Fatal(err)
	}
	s2, err := registry.Open(ctx, legacy)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	v, err := s2.VerifyAuditDetail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Unkeyed == 0 || v.Keyed == 0 || v.StateRows == 0 {
		t.Fatalf("legacy upgrade: %+v", v)
	}
	if fi, err := os.Stat(registry.DefaultKeyPath(legacy)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("no key file made: %v", err)
	}
	// The old rows are anchored: editing one breaks the chain.
	s2.DB().Exec(`UPDATE audit SET actor = 'x' WHERE seq = 2`)
	var ce *registry.ChainError
	if _, err := s2.VerifyAudit(ctx); !errors.As(err, &ce) {
		t.Fatalf("an edited legacy row: %v", err)
	}
}

// TestOpen_RebaselinesWhenColumnsChange: a migration that adds a column
// with a default to a protected table (simulated here by the ALTER alone)
// changes every row's digest; the next open re-baselines without calling
// any row unexplained, but a row edited behind the program's back before
// stays named.
func TestOpen_RebaselinesWhenColumnsChange(t *testing.T) {
	s, ctx, _ := stateFixture(t)
	for _, q := range []string{
		`ALTER TABLE cards ADD COLUMN print_state TEXT NOT NULL DEFAULT 'printed'`,
		`UPDATE patients SET family_name = 'Mallory' WHERE id = 1`,
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s2, err := registry.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var baselines int
	s2.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'audit.baseline' AND detail LIKE '%columns-changed%'`).Scan(&baselines)
	if baselines == 0 {
		t.Fatal("no re-baseline after the columns changed")
	}
	_, err = s2.VerifyAudit(ctx)
	var se *registry.StateError
	if !errors.As(err, &se) || len(se.Findings) != 1 || se.Findings[0].Table != "patients" || !strings.Contains(se.Findings[0].Reason, "already unexplained") {
		t.Fatalf("want only the edited patient named, got %v", err)
	}
}
