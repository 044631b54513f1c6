package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// TestCLI_RolesEveryCommand: with --user the account's role applies to
// every command while cli_sign_in is off (the default), and a refusal comes
// before anything is done. restore let a clerk replace the live registry,
// audit key install ran as the OS user, patients review showed a clerk the
// supervisor's list, and sync configure's own --user hid the sign-in flag,
// so a clerk's configure ran as the OS user and contacted OpenMRS.
func TestCLI_RolesEveryCommand(t *testing.T) {
	c := newCLI(t)
	users := map[idcards.Role]string{idcards.RoleClerk: "okot", idcards.RolePrinter: "pete", idcards.RoleSupervisor: "sara", idcards.RoleAdmin: "amina"}
	pw := map[idcards.Role]string{}
	for role, name := range users {
		p := "river chalk window seven " + strings.Repeat("x", len(name))
		c.ok(p+"\n", "users", "add", name, "--role", string(role), "--must-change=false")
		pw[role] = c.passwordFile(p)
	}
	dir := t.TempDir()
	key := registry.DefaultKeyPath(c.db)
	const (
		clerk, printer, sup, admin = idcards.RoleClerk, idcards.RolePrinter, idcards.RoleSupervisor, idcards.RoleAdmin
	)
	for _, tc := range []struct {
		name    string
		args    []string
		allowed []idcards.Role
	}{
		// A backup that does not exist: allowed roles get past the check
		// and fail on the file.
		{"Restore", []string{"restore", filepath.Join(dir, "none.db"), "--force"}, []idcards.Role{admin}},
		{"AuditKeyInstall", []string{"audit", "key", "install", key}, []idcards.Role{admin}},
		{"PatientsReview", []string{"patients", "review"}, []idcards.Role{sup}},
		{"SyncConfigure", []string{"sync", "configure", "--url", "http://127.0.0.1:9/openmrs", "--openmrs-user", "desk", "--identifier-type", "x"}, []idcards.Role{admin}},
		{"AuditExport", []string{"audit", "export"}, []idcards.Role{sup, admin}},
		{"AuditList", []string{"audit", "list"}, []idcards.Role{sup, admin}},
		{"IssueCount", []string{"issue", "--count", "1"}, []idcards.Role{printer, admin}},
		{"Backup", []string{"backup", "--out", filepath.Join(dir, "b")}, []idcards.Role{admin}},
		{"SettingsSet", []string{"settings", "set", "idle_lock_minutes", "7"}, []idcards.Role{admin}},
		{"UsersList", []string{"users", "list"}, []idcards.Role{admin}},
		{"TokensList", []string{"tokens", "list"}, []idcards.Role{admin}},
		{"ApprovalsList", []string{"approvals", "list"}, []idcards.Role{sup}},
		{"PatientsExport", []string{"patients", "export"}, []idcards.Role{sup}},
		{"PatientsDuplicates", []string{"patients", "duplicates"}, []idcards.Role{sup}},
		{"PatientsSearch", []string{"patients", "search", "Nakato"}, []idcards.Role{clerk, printer, sup}},
		// The desk's void is a supervisor's (PermVoid); an unknown MRN gets
		// an allowed role past the check.
		{"PatientsVoid", []string{"patients", "void", "120000017", "--reason", "test"}, []idcards.Role{sup}},
		// A legacy ID goes through the import path: an admin's (it ran as
		// the OS user whatever --user said).
		{"PatientsAddLegacy", []string{"patients", "add", "--given", "Amina", "--family", "Nakato", "--sex", "F", "--age", "30", "--mrn", "OLD-17", "--legacy-unchecked"}, []idcards.Role{admin}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, role := range idcards.Roles {
				c.env["IDCARDS_PASSWORD_FILE"] = pw[role]
				out, _, err := c.run("", append([]string{"--user", users[role]}, tc.args...)...)
				refused := idcards.ErrorKind(err) == idcards.Forbidden && strings.Contains(err.Error(), "may not")
				if want := !slices.Contains(tc.allowed, role); refused != want {
					t.Errorf("%s (%s): refused=%v, want %v: %v %q", role, users[role], refused, want, err, out)
				}
			}
		})
	}
	delete(c.env, "IDCARDS_PASSWORD_FILE")
	// Nothing a refused role tried is on record as done.
	for _, action := range []string{"backup.restore", "sync.configure", "id.void"} {
		if out := c.ok("", "audit", "list", "--action", action); strings.TrimSpace(out) != "" {
			t.Errorf("audit has %s:\n%s", action, out)
		}
	}
}
