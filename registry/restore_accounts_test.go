package registry_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestRestore_CarriesSecurityState is the tester's case: a backup taken
// before a scanner token was revoked, an account disabled and a password
// changed must not bring the token, the account or the old password back.
// What the replaced registry took away after the backup stays taken away;
// what it granted after the backup is listed, not restored. Each carried
// change is audited, and the trail verifies.
func TestRestore_CarriesSecurityState(t *testing.T) {
	s, ctx := newStore(t)
	s.Argon2 = cheap
	addUser(t, ctx, s, "sarah", idcards.RoleClerk)
	addUser(t, ctx, s, "pete", idcards.RoleClerk)
	addUser(t, ctx, s, "sam", idcards.RoleSupervisor)
	addUser(t, ctx, s, "rose", idcards.RoleClerk)
	addUser(t, ctx, s, "ann", idcards.RoleAdmin)
	ward3, err := s.CreateToken(ctx, "ward3", registry.ScopeVerify)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DisableUser(ctx, "rose"); err != nil {
		t.Fatal(err)
	}
	b := backupTo(t, ctx, s, "b.db")

	// After the backup.
	if err := s.RevokeToken(ctx, "ward3"); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableUser(ctx, "sarah"); err != nil {
		t.Fatal(err)
	}
	const newPW = "a whole new passphrase"
	if err := s.ResetPassword(ctx, "pete", newPW, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, "sam", idcards.RoleClerk); err != nil { // lowered
		t.Fatal(err)
	}
	if err := s.EnableUser(ctx, "rose"); err != nil { // granted since: not restored
		t.Fatal(err)
	}
	addUser(t, ctx, s, "newbie", idcards.RoleClerk)
	if _, err := s.CreateToken(ctx, "ward9", registry.ScopeVerify); err != nil {
		t.Fatal(err)
	}

	r, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}})
	if err != nil {
		t.Fatal(err)
	}
	rp := r.Restore
	if rp.AccountsAsOfBackup || len(rp.Carried) != 4 {
		t.Fatalf("carried: %q (as of backup %t)", rp.Carried, rp.AccountsAsOfBackup)
	}
	carried := strings.Join(rp.Carried, "\n")
	for _, want := range []string{"token:ward3: revoked after the backup", "sarah: disabled after the backup", "pete: password changed after the backup", "sam: role changed after the backup (supervisor -> clerk)"} {
		if !strings.Contains(carried, want) {
			t.Errorf("carried %q lacks %q", rp.Carried, want)
		}
	}
	notRestored := strings.Join(rp.NotRestored, "\n")
	for _, want := range []string{"user newbie", "token ward9", "user rose: enabled after the backup, stays disabled"} {
		if !strings.Contains(notRestored, want) {
			t.Errorf("not restored %q lacks %q", rp.NotRestored, want)
		}
	}

	// The restored registry, as another process opens it.
	s2, err := registry.OpenWith(ctx, s.Path(), registry.Options{KeyPath: s.KeyPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Argon2 = cheap
	if _, err := s2.LookupToken(ctx, ward3); !errors.Is(err, registry.ErrBadToken) {
		t.Errorf("revoked token works again after the restore: %v", err)
	}
	if _, err := s2.Authenticate(ctx, "sarah", goodPW); err == nil {
		t.Error("disabled account signs in after the restore")
	}
	if _, err := s2.Authenticate(ctx, "pete", goodPW); err == nil {
		t.Error("pete's old password works after the restore")
	}
	if _, err := s2.Authenticate(ctx, "pete", newPW); err != nil {
		t.Errorf("pete's new password: %v", err)
	}
	if a, err := s2.Authenticate(ctx, "sam", goodPW); err != nil || a.Role != idcards.RoleClerk {
		t.Errorf("sam after the restore: %+v %v", a, err)
	}
	if _, err := s2.Authenticate(ctx, "rose", goodPW); err == nil {
		t.Error("rose, disabled in the backup, signs in")
	}
	var n int
	s2.DB().QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE action = 'restore.carry'`).Scan(&n)
	if n != 4 {
		t.Errorf("%d carried changes audited, want 4", n)
	}
	if _, err := s2.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRestore_KeepsAnAdmin: when every enabled admin of the replaced
// registry was made after the backup (the backup's admin disabled since),
// they are carried over: no one is locked out of the registry.
func TestRestore_KeepsAnAdmin(t *testing.T) {
	s, ctx := newStore(t)
	s.Argon2 = cheap
	addUser(t, ctx, s, "old", idcards.RoleAdmin)
	b := backupTo(t, ctx, s, "b.db")
	addUser(t, ctx, s, "new", idcards.RoleAdmin)
	if err := s.DisableUser(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	r, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := strings.Join(r.Restore.Carried, "\n"); !strings.Contains(c, "old: disabled") || !strings.Contains(c, "new: admin created after the backup") || strings.Contains(strings.Join(r.Restore.NotRestored, "\n"), "user new ") {
		t.Fatalf("report: %+v", r.Restore)
	}
	s2, err := registry.OpenWith(ctx, s.Path(), registry.Options{KeyPath: s.KeyPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Argon2 = cheap
	if a, err := s2.Authenticate(ctx, "new", goodPW); err != nil || a.Role != idcards.RoleAdmin {
		t.Fatalf("the admin made after the backup: %+v %v", a, err)
	}
	if _, err := s2.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRestore_LostDiskWarnsAccountsAsOfBackup: with nothing to read the
// changes from, the report says the accounts are the backup's.
func TestRestore_LostDiskWarnsAccountsAsOfBackup(t *testing.T) {
	s, ctx := newStore(t)
	b := backupTo(t, ctx, s, "b.db")
	to := filepath.Join(t.TempDir(), "new-disk", "registry.db")
	r, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: to, KeyPath: s.KeyPath(), InstallKey: true, Actor: idcards.Actor{Name: "os:test"}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Restore.AccountsAsOfBackup || len(r.Restore.Carried) != 0 {
		t.Fatalf("lost-disk report: %+v", r.Restore)
	}
}

// TestRestore_OverAnotherRegistryReportsItsIDs: the IDs of the registry
// replaced with --other-registry are that registry's, not IDs this one
// issued after its backup: the report does not call them lost (verify
// answers "never issued by this registry" for them, as the report says),
// and their numbers are still never issued again.
func TestRestore_OverAnotherRegistryReportsItsIDs(t *testing.T) {
	lost, lctx := newStore(t)
	if _, err := lost.Reserve(lctx, 3); err != nil {
		t.Fatal(err)
	}
	b := backupTo(t, lctx, lost, "lost.db")
	s, ctx := newStore(t)
	theirs, err := s.Reserve(ctx, 6) // 1-3 are the backup's numbers too; 4-6 only the replaced registry's
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.Restore(context.Background(), b, registry.RestoreOptions{To: s.Path(), Force: true, OtherRegistry: true, KeyPath: lost.KeyPath(), InstallKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if rp := r.Restore; rp.LostIDs != 0 || rp.OtherRegistryIDs != 3 || !rp.AccountsAsOfBackup || len(rp.Carried) != 0 {
		t.Fatalf("restore report: %+v", rp)
	}
	s2, err := registry.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	v, err := s2.Verify(ctx, theirs[4])
	if err != nil || v.Status != idcards.StatusUnknown || v.RestoredAt != "" || !strings.Contains(v.Detail, "never issued") {
		t.Fatalf("the replaced registry's ID: %+v %v", v, err)
	}
	next, err := s2.Reserve(ctx, 1)
	if err != nil || slices.Contains(theirs, next[0]) {
		t.Fatalf("next number %v after the replaced registry's %v: %v", next, theirs, err)
	}
}
