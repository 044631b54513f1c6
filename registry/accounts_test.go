package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// cheap keeps tests fast; production uses registry.DefaultArgon2.
var cheap = registry.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// accountsStore is newStore with cheap hashing and a controllable clock.
func accountsStore(t testing.TB) (*registry.Store, context.Context, *time.Time) {
	t.Helper()
	s, ctx := newStore(t)
	s.Argon2 = cheap
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	return s, ctx, &now
}

const goodPW = "correct horse battery"

func addUser(t testing.TB, ctx context.Context, s *registry.Store, name string, role idcards.Role) {
	t.Helper()
	if err := s.AddUser(ctx, registry.NewUser{Username: name, Role: role, Password: goodPW}); err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, k idcards.Kind, sub string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %v error containing %q, got nil", k, sub)
	}
	if idcards.ErrorKind(err) != k || !strings.Contains(err.Error(), sub) {
		t.Fatalf("want a %v error containing %q, got %v: %v", k, sub, idcards.ErrorKind(err), err)
	}
}

func TestAuthenticate_RoundTrip(t *testing.T) {
	s, ctx, _ := accountsStore(t)
	addUser(t, ctx, s, "alice", idcards.RoleClerk)
	a, err := s.Authenticate(context.Background(), "Alice ", goodPW)
	if err != nil {
		t.Fatal(err)
	}
	if a != (idcards.Actor{Name: "alice", Role: idcards.RoleClerk}) {
		t.Fatalf("actor = %+v", a)
	}
	_, err = s.Authenticate(context.Background(), "alice", goodPW+"x")
	wantKind(t, err, idcards.Forbidden, "wrong user name or password")
	_, err = s.Authenticate(context.Background(), "nobody", goodPW)
	wantKind(t, err, idcards.Forbidden, "wrong user name or password")
	var stored string
	s.DB().QueryRow(`SELECT password_hash FROM users WHERE username='alice'`).Scan(&stored)
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(stored, goodPW) {
		t.Fatalf("stored hash %q", stored)
	}
}

// TestAuthenticate_UnicodeNormalised: the same password typed as composed
// or decomposed characters (different keyboards, OSes) signs in.
func TestAuthenticate_UnicodeNormalised(t *testing.T) {
	s, ctx, _ := accountsStore(t)
	composed, decomposed := "caf\u00e9 au lait noir", "cafe\u0301 au lait noir"
	if err := s.AddUser(ctx, registry.NewUser{Username: "alice", Role: idcards.RoleClerk, Password: composed}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(context.Background(), "alice", decomposed); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticate_UpgradesWeakHash(t *testing.T) {
	s, ctx, _ := accountsStore(t)
	addUser(t, ctx, s, "alice", idcards.RoleClerk)
	s.Argon2 = registry.Argon2Params{Memory: 128, Time: 2, Threads: 1}
	if _, err := s.Authenticate(context.Background(), "alice", goodPW); err != nil {
		t.Fatal(err)
	}
	var stored string
	s.DB().QueryRow(`SELECT password_hash FROM users WHERE username='alice'`).Scan(&stored)
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("hash not upgraded: %q", stored)
	}
	if _, err := s.Authenticate(context.Background(), "alice", goodPW); err != nil {
		t.Fatalf("sign in after upgrade: %v", err)
	}
}

func TestAuthenticate_LockoutWithBackoff(t *testing.T) {
	s, ctx, now := accountsStore(t)
	addUser(t, ctx, s, "alice", idcards.RoleClerk)
	bg := context.Background()
	for i := 1; i <= 4; i++ {
		_, err := s.Authenticate(bg, "alice", "wrong password "+string(rune('a'+i)))
		wantKind(t, err, idcards.Forbidden, "wrong user name or password")
	}
	_, err := s.Authenticate(bg, "alice", "wrong again!!")
	wantKind(t, err, idcards.Forbidden, "too many attempts, try again in 1 minute")
	// Locked: even the right password is refused.
	_, err = s.Authenticate(bg, "alice", goodPW)
	wantKind(t, err, idcards.Forbidden, "too many attempts, try again in 1 minute")
	*now = now.Add(61 * time.Second)
	_, err = s.Authenticate(bg, "alice", "sixth wrong one")
	wantKind(t, err, idcards.Forbidden, "too many attempts, try again in 2 minutes") // back-off doubles
	*now = now.Add(2*time.Minute + time.Second)
	if _, err := s.Authenticate(bg, "alice", goodPW); err != nil {
		t.Fatalf("after the lock expired: %v", err)
	}
	// Success resets the count.
	_, err = s.Authenticate(bg, "alice", "wrong once more")
	wantKind(t, err, idcards.Forbidden, "wrong user name or password")
	if strings.Contains(err.Error(), "locked") {
		t.Fatalf("count not reset: %v", err)
	}
	// An admin reset unlocks.
	for range 5 {
		s.Authenticate(bg, "alice", "wrong wrong wrong")
	}
	if err := s.ResetPassword(ctx, "alice", "a brand new password", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(bg, "alice", "a brand new password"); err != nil {
		t.Fatalf("after reset: %v", err)
	}
}

// TestAuthenticate_UnknownNameLooksTheSame: a name no account has gets the
// same answers, in the same order, as a real account being guessed at, so
// the answers reveal no account; and the typed name is never stored.
func TestAuthenticate_UnknownNameLooksTheSame(t *testing.T) {
	answers := func(name string) []string {
		s, ctx, now := accountsStore(t)
		addUser(t, ctx, s, "alice", idcards.RoleClerk)
		bg := context.Background()
		var got []string
		try := func(pw string) {
			_, err := s.Authenticate(bg, name, pw)
			got = append(got, err.Error())
		}
		for i := range 5 {
			try("wrong password " + string(rune('a'+i)))
		}
		try(goodPW) // locked: refused
		*now = now.Add(30 * time.Second)
		try(goodPW)
		*now = now.Add(31 * time.Second)
		try("sixth wrong one")
		var typed int
		s.DB().QueryRow(`SELECT count(*) FROM audit WHERE detail LIKE '%' || ? || '%' OR subject = ?`, "okot", "okot").Scan(&typed)
		if typed != 0 {
			t.Fatalf("the typed name is in the audit trail")
		}
		return got
	}
	known, unknown := answers("alice"), answers("okot green lake morning")
	if strings.Join(known, "|") != strings.Join(unknown, "|") {
		t.Fatalf("the answers tell the names apart:\n known:   %q\n unknown: %q", known, unknown)
	}
	if known[4] != "too many attempts, try again in 1 minute" || known[7] != "too many attempts, try again in 2 minutes" {
		t.Fatalf("answers: %q", known)
	}
}

func TestAuthenticate_DisabledAndForcedChange(t *testing.T) {
	s, ctx, _ := accountsStore(t)
	bg := context.Background()
	if err := s.AddUser(ctx, registry.NewUser{Username: "bob", Role: idcards.RolePrinter, Password: goodPW, MustChange: true}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Authenticate(bg, "bob", goodPW)
	if !errors.Is(err, registry.ErrMustChangePassword) || idcards.ErrorKind(err) != idcards.Forbidden {
		t.Fatalf("want ErrMustChangePassword, got %v", err)
	}
	_, err = s.ChangePassword(bg, "bob", goodPW, goodPW)
	wantKind(t, err, idcards.Invalid, "must differ")
	_, err = s.ChangePassword(bg, "bob", goodPW, "short")
	wantKind(t, err, idcards.Invalid, "too short")
	_, err = s.ChangePassword(bg, "bob", "not the old one", "a fresh long password")
	wantKind(t, err, idcards.Forbidden, "wrong user name or password")
	a, err := s.ChangePassword(bg, "bob", goodPW, "a fresh long password")
	if err != nil || a.Name != "bob" || a.Role != idcards.RolePrinter {
		t.Fatalf("change: %+v %v", a, err)
	}
	if _, err := s.Authenticate(bg, "bob", "a fresh long password"); err != nil {
		t.Fatal(err)
	}
	// Admin reset forces a change again.
	if err := s.ResetPassword(ctx, "bob", "temporary password 1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(bg, "bob", "temporary password 1"); !errors.Is(err, registry.ErrMustChangePassword) {
		t.Fatalf("after reset: %v", err)
	}
	if err := s.DisableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(bg, "bob", "temporary password 1")
	wantKind(t, err, idcards.Forbidden, "disabled")
	_, err = s.Authenticate(bg, "bob", "a wrong password")
	wantKind(t, err, idcards.Forbidden, "wrong user name or password") // a guesser learns nothing
	if err := s.EnableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangePassword(bg, "bob", "temporary password 1", "another long password"); err != nil {
		t.Fatal(err)
	}
}

func TestUsers_BadInput(t *testing.T) {
	s, ctx, _ := accountsStore(t)
	addUser(t, ctx, s, "alice", idcards.RoleAdmin)
	for _, tc := range []struct {
		name string
		u    registry.NewUser
		kind idcards.Kind
		msg  string
	}{
		{"ShortPassword", registry.NewUser{Username: "carol", Role: idcards.RoleClerk, Password: "abc"}, idcards.Invalid, "too short"},
		{"CommonPassword", registry.NewUser{Username: "carol", Role: idcards.RoleClerk, Password: "1234567890"}, idcards.Invalid, "commonly used"},
		{"CommonPasswordAnyCase", registry.NewUser{Username: "carol", Role: idcards.RoleClerk, Password: "Password123"}, idcards.Invalid, "commonly used"},
		{"ContainsUserName", registry.NewUser{Username: "carol", Role: idcards.RoleClerk, Password: "Carol-is-the-best"}, idcards.Invalid, "user name"},
		{"TooLong", registry.NewUser{Username: "carol", Role: idcards.RoleClerk, Password: strings.Repeat("x", 300)}, idcards.Invalid, "too long"},
		{"BadUTF8", registry.NewUser{Username: "carol", Role: idcards.RoleClerk, Password: "abcdefghij\xff"}, idcards.Invalid, "UTF-8"},
		{"BadName", registry.NewUser{Username: "os:carol", Role: idcards.RoleClerk, Password: goodPW}, idcards.Invalid, "user name"},
		{"NameWithSpace", registry.NewUser{Username: "car ol", Role: idcards.RoleClerk, Password: goodPW}, idcards.Invalid, "user name"},
		{"UnknownRole", registry.NewUser{Username: "carol", Role: "root", Password: goodPW}, idcards.Invalid, "role"},
		{"OperatorRole", registry.NewUser{Username: "carol", Role: idcards.RoleOperator, Password: goodPW}, idcards.Invalid, "role"},
		{"Duplicate", registry.NewUser{Username: "ALICE", Role: idcards.RoleClerk, Password: goodPW}, idcards.Conflict, "already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantKind(t, s.AddUser(ctx, tc.u), tc.kind, tc.msg)
		})
	}
	t.Run("LastAdmin", func(t *testing.T) {
		wantKind(t, s.DisableUser(ctx, "alice"), idcards.Conflict, "last enabled admin")
		wantKind(t, s.SetRole(ctx, "alice", idcards.RoleClerk), idcards.Conflict, "last enabled admin")
	})
	t.Run("NoSuchUser", func(t *testing.T) {
		wantKind(t, s.DisableUser(ctx, "zed"), idcards.NotFound, "no user zed")
	})
	t.Run("NotAnAdmin", func(t *testing.T) {
		clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "alice2", Role: idcards.RoleClerk})
		wantKind(t, s.AddUser(clerk, registry.NewUser{Username: "dave", Role: idcards.RoleAdmin, Password: goodPW}), idcards.Forbidden, "may not manage_users")
		wantKind(t, s.ResetPassword(clerk, "alice", goodPW+"1", false), idcards.Forbidden, "may not manage_users")
	})
}

func TestCreateFirstAdmin_OnlyOnce(t *testing.T) {
	s, _, _ := accountsStore(t)
	bg := context.Background()
	if ok, _ := s.HasUsers(bg); ok {
		t.Fatal("a fresh registry must have no account (no default admin)")
	}
	if err := s.CreateFirstAdmin(bg, "amina", "Amina K", goodPW); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.CreateFirstAdmin(bg, "mallory", "", goodPW), idcards.Conflict, "accounts already exist")
	if a, err := s.Authenticate(bg, "amina", goodPW); err != nil || a.Role != idcards.RoleAdmin {
		t.Fatalf("%+v %v", a, err)
	}
}

func TestReviewUsers(t *testing.T) {
	s, ctx, now := accountsStore(t)
	for _, n := range []string{"a1", "a2", "a3", "a4", "a5"} {
		addUser(t, ctx, s, n, idcards.RoleAdmin)
	}
	addUser(t, ctx, s, "old", idcards.RoleClerk)
	addUser(t, ctx, s, "gone", idcards.RoleClerk)
	s.Authenticate(context.Background(), "old", goodPW)
	s.Authenticate(context.Background(), "a1", goodPW)
	s.DisableUser(ctx, "gone")
	*now = now.Add(100 * 24 * time.Hour)
	s.Authenticate(context.Background(), "a1", goodPW)
	r, err := s.ReviewUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := func(us []registry.User) string {
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return strings.Join(out, ",")
	}
	if !r.TooManyAdmins || len(r.Admins) != 5 || names(r.Unused) != "old" || names(r.Disabled) != "gone" || names(r.NeverUsed) != "a2,a3,a4,a5" {
		t.Fatalf("review = %+v", r)
	}
}

// TestPermissions is every role × store action: allowed ones succeed,
// the rest are refused with a Forbidden error naming the permission,
// never a silent no-op.
func TestPermissions(t *testing.T) {
	type action struct {
		perm idcards.Permission
		do   func(ctx context.Context, s *registry.Store) error
	}
	patient := registry.NewPatient{GivenName: "Ama", FamilyName: "Owusu", Sex: idcards.SexFemale, BirthDate: "1990-01-02"}
	actions := map[string]action{
		"Register": {idcards.PermRegister, func(ctx context.Context, s *registry.Store) error {
			_, _, err := s.Register(ctx, registry.Registration{Patient: patient, NoID: true, Decision: "test: a second record on purpose"})
			return err
		}},
		"IssueID": {idcards.PermIssue, func(ctx context.Context, s *registry.Store) error { _, err := s.IssueID(ctx, 1, "test"); return err }},
		"Void": {idcards.PermVoid, func(ctx context.Context, s *registry.Store) error {
			return s.Void(ctx, fixtureMRN(ctx), "entered twice")
		}},
		"PrintCard": {idcards.PermPrintCard, func(ctx context.Context, s *registry.Store) error {
			_, err := s.RecordCards(ctx, []string{fixtureMRN(ctx)}, "cr80", "", "")
			return err
		}},
		"PrintBatch": {idcards.PermPrintBatch, func(ctx context.Context, s *registry.Store) error {
			_, err := s.RecordCards(ctx, []string{fixtureMRN(ctx), fixtureMRN(ctx)}, "cr80", "b1", "")
			return err
		}},
		"AddUser": {idcards.PermUsers, func(ctx context.Context, s *registry.Store) error {
			return s.AddUser(ctx, registry.NewUser{Username: "newbie", Role: idcards.RoleClerk, Password: goodPW})
		}},
		"ListUsers":   {idcards.PermUsers, func(ctx context.Context, s *registry.Store) error { _, err := s.ListUsers(ctx); return err }},
		"DisableUser": {idcards.PermUsers, func(ctx context.Context, s *registry.Store) error { return s.DisableUser(ctx, "victim") }},
		"SetRole": {idcards.PermUsers, func(ctx context.Context, s *registry.Store) error {
			return s.SetRole(ctx, "victim", idcards.RolePrinter)
		}},
		"Reset": {idcards.PermUsers, func(ctx context.Context, s *registry.Store) error {
			return s.ResetPassword(ctx, "victim", "a reset password", true)
		}},
		"ReadAudit": {idcards.PermReadAudit, func(ctx context.Context, s *registry.Store) error {
			return s.EachAudit(ctx, registry.AuditFilter{}, func(idcards.AuditEvent) error { return nil })
		}},
		"SetSetting": {idcards.PermSettings, func(ctx context.Context, s *registry.Store) error {
			return s.SetKnownSetting(ctx, "idle_lock_minutes", "7")
		}},
		"Approvals": {idcards.PermOverride, func(ctx context.Context, s *registry.Store) error { _, err := s.Approvals(ctx, true); return err }},
		"Reserve":   {idcards.PermReserve, func(ctx context.Context, s *registry.Store) error { _, err := s.Reserve(ctx, 1); return err }},
		// The review list shows possible duplicates' names and birth
		// dates: the supervisor's, as judging it is (a clerk could read it).
		"ReviewList": {idcards.PermMerge, func(ctx context.Context, s *registry.Store) error { _, err := s.ReviewList(ctx, false, 10); return err }},
		"ExportAudit": {idcards.PermReadAudit, func(ctx context.Context, s *registry.Store) error {
			n, err := s.ExportAudit(ctx, registry.AuditFilter{Action: "user."}, func(idcards.AuditEvent) error { return nil })
			if err == nil {
				// Every export of the trail is on record, like patients export.
				var actor, detail string
				s.DB().QueryRow(`SELECT actor, detail FROM audit WHERE action = 'audit.export' ORDER BY seq DESC LIMIT 1`).Scan(&actor, &detail)
				if want := fmt.Sprintf("rows=%d action=\"user.\"", n); n != 2 || actor != "tester" || detail != want {
					return fmt.Errorf("export of %d rows audited as %s %q", n, actor, detail)
				}
				if _, err := s.VerifyAudit(ctx); err != nil {
					return err
				}
			}
			return err
		}},
		"Export": {idcards.PermExport, func(ctx context.Context, s *registry.Store) error {
			n, err := s.Export(ctx, func(idcards.Patient, []string) error { return nil })
			if err == nil {
				// Every export is on record, with what it wrote.
				var detail string
				s.DB().QueryRow(`SELECT detail FROM audit WHERE action = 'patients.export' ORDER BY seq DESC LIMIT 1`).Scan(&detail)
				if n != 1 || detail != "rows=1" {
					return fmt.Errorf("export of %d rows audited as %q", n, detail)
				}
			}
			return err
		}},
	}
	for _, role := range idcards.Roles {
		for name, act := range actions {
			t.Run(string(role)+"/"+name, func(t *testing.T) {
				s, op, _ := accountsStore(t)
				addUser(t, op, s, "boss", idcards.RoleAdmin)
				addUser(t, op, s, "victim", idcards.RoleClerk)
				p, mrn, err := s.Register(op, registry.Registration{Patient: patient})
				if err != nil || p.ID != 1 {
					t.Fatalf("fixture: %+v %v", p, err)
				}
				ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "tester", Role: role})
				ctx = context.WithValue(ctx, tempDirKey{}, t.TempDir())
				ctx = context.WithValue(ctx, mrnKey{}, mrn)
				err = act.do(ctx, s)
				if idcards.Allowed(role, act.perm) {
					if err != nil {
						t.Fatalf("%s may %s but got %v", role, act.perm, err)
					}
					return
				}
				wantKind(t, err, idcards.Forbidden, "may not "+string(act.perm))
			})
		}
	}
}

type tempDirKey struct{}
type mrnKey struct{}

func fixtureMRN(ctx context.Context) string { return ctx.Value(mrnKey{}).(string) }

func tempOut(ctx context.Context) string { return ctx.Value(tempDirKey{}).(string) + "/b.db" }

// TestAudit_EveryChangeAudited: user changes leave one row each, naming
// the actor; the password never appears.
func TestAudit_EveryChangeAudited(t *testing.T) {
	s, ctx, _ := accountsStore(t)
	addUser(t, ctx, s, "alice", idcards.RoleClerk)
	s.Authenticate(context.Background(), "alice", "wrong password x")
	s.Authenticate(context.Background(), "alice", goodPW)
	s.SetRole(ctx, "alice", idcards.RoleSupervisor)
	s.DisableUser(ctx, "alice")
	var got []string
	err := s.EachAudit(ctx, registry.AuditFilter{Action: "user."}, func(e idcards.AuditEvent) error {
		got = append(got, e.Actor+" "+e.Action+" "+e.Subject)
		if strings.Contains(e.Detail, goodPW) || strings.Contains(e.Detail, "wrong password x") {
			t.Errorf("password in audit row %d: %q", e.Seq, e.Detail)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "os:test user.add alice|alice user.sign_in_failed alice|alice user.sign_in alice|os:test user.role alice|os:test user.disable alice"
	if strings.Join(got, "|") != want {
		t.Fatalf("audit:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n < 5 {
		t.Fatalf("verify: %d %v", n, err)
	}
}

// TestVerifyAudit_Tampering edits, deletes and inserts rows by hand in
// SQLite; each is detected and the right row named.
func TestVerifyAudit_Tampering(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sql     string
		wantSeq int64
		reason  string
	}{
		{"Edited", `UPDATE audit SET detail = 'nothing to see' WHERE seq = 3`, 3, "edited"},
		{"EditedActor", `UPDATE audit SET actor = 'someone' WHERE seq = 4`, 4, "edited"},
		{"Deleted", `DELETE FROM audit WHERE seq = 3`, 3, "deleted"},
		// Deleting the last row leaves the chain whole, but the user it
		// recorded is now a row no audit row explains.
		{"DeletedLast", `DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)`, 0, "users"},
		{"InsertedRenumbered", `UPDATE audit SET seq = seq + 100 WHERE seq >= 3; UPDATE audit SET seq = seq - 99 WHERE seq >= 103;
			INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash) SELECT 3, at, 'mallory', 'user.add', 'mallory', '', hash, hash FROM audit WHERE seq = 2`, 3, "edited"},
		// Without the chain key even row 3's own hash cannot be forged.
		{"InsertedWithRecomputedHash", "", 3, "keyed hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx, _ := accountsStore(t)
			for _, n := range []string{"u1", "u2", "u3", "u4"} {
				addUser(t, ctx, s, n, idcards.RoleClerk)
			}
			if tc.sql == "" {
				// A careful forger recomputes row 3's own hash but cannot
				// fix every later row without rewriting the whole tail.
				forgeInsert(t, s)
			} else if _, err := s.DB().Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := s.VerifyAudit(ctx)
			if tc.wantSeq == 0 {
				var se *registry.StateError
				if !errors.As(err, &se) || len(se.Findings) != 1 || se.Findings[0].Table != tc.reason {
					t.Fatalf("want one unexplained %s row, got %v", tc.reason, err)
				}
				return
			}
			var ce *registry.ChainError
			if !errors.As(err, &ce) || ce.Seq != tc.wantSeq || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("want row %d (%s), got %v", tc.wantSeq, tc.reason, err)
			}
		})
	}
}

func forgeInsert(t *testing.T, s *registry.Store) {
	t.Helper()
	db := s.DB()
	if _, err := db.Exec(`UPDATE audit SET seq = seq + 1000 WHERE seq >= 3; UPDATE audit SET seq = seq - 999 WHERE seq >= 1003`); err != nil {
		t.Fatal(err)
	}
	var prev, at string
	db.QueryRow(`SELECT hash, at FROM audit WHERE seq = 2`).Scan(&prev, &at)
	e := idcards.AuditEvent{Seq: 3, Actor: "mallory", Action: "user.add", Subject: "mallory", PrevHash: prev}
	e.Hash = registry.AuditHashForTest(e, at)
	if _, err := db.Exec(`INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)`,
		e.Seq, at, e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash); err != nil {
		t.Fatal(err)
	}
}
