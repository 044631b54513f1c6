package idcards

import "context"

// Role is a user's role. Roles follow least privilege; see Allowed.
type Role string

const (
	RoleClerk      Role = "clerk"      // register, issue, print single cards, scan
	RolePrinter    Role = "printer"    // batch printing
	RoleSupervisor Role = "supervisor" // clerk's rights plus void, replace, resolve sync conflicts, read audit, merge
	RoleAdmin      Role = "admin"      // users, tokens, settings, backups and restores
	// RoleOperator is the operating-system user who can open the registry
	// file directly (CLI without cli_sign_in, recorded as "os:NAME"). Anyone
	// who can read the file can do anything to it, so pretending otherwise
	// would be theatre; the audit trail still names them.
	RoleOperator Role = "operator"
	// RoleSystem is used by background work (sync, the scanner endpoint's
	// audit writer); it may do only what that work needs.
	RoleSystem Role = "system"
)

// Roles lists the roles a personal account can have.
var Roles = []Role{RoleClerk, RolePrinter, RoleSupervisor, RoleAdmin}

// Permission is one thing an actor may be allowed to do.
type Permission string

const (
	PermVerify      Permission = "verify"       // scan / look up an ID
	PermReadPatient Permission = "read_patient" // see demographics
	PermRegister    Permission = "register"     // create/edit patients
	PermIssue       Permission = "issue"        // issue an MRN for a patient
	PermReserve     Permission = "reserve"      // reserve unassigned IDs for pre-printed runs
	PermPrintCard   Permission = "print_card"   // print one patient's card
	PermPrintBatch  Permission = "print_batch"  // batch printing
	PermVoid        Permission = "void"
	PermReplace     Permission = "replace" // reprint/replace a card
	PermMerge       Permission = "merge"
	PermResolve     Permission = "resolve_conflicts"
	PermReadAudit   Permission = "read_audit"
	PermUsers       Permission = "manage_users"
	PermTokens      Permission = "manage_tokens"
	PermSettings    Permission = "manage_settings"
	PermImport      Permission = "import"
	PermSync        Permission = "sync"
	PermOverride    Permission = "override_flood_cap"
	PermBackup      Permission = "backup"
	PermRestore     Permission = "restore"         // replace the registry from a backup, put its audit chain key back
	PermExport      Permission = "export_patients" // every patient's details at once (audited)
)

var rolePerms = map[Role][]Permission{
	RoleClerk:      {PermVerify, PermReadPatient, PermRegister, PermIssue, PermPrintCard, PermReplace},
	RolePrinter:    {PermVerify, PermReadPatient, PermReserve, PermPrintCard, PermPrintBatch},
	RoleSupervisor: {PermVerify, PermReadPatient, PermRegister, PermIssue, PermPrintCard, PermReplace, PermVoid, PermMerge, PermResolve, PermReadAudit, PermOverride, PermSync, PermExport},
	RoleAdmin:      {PermVerify, PermUsers, PermTokens, PermSettings, PermReadAudit, PermBackup, PermRestore, PermImport, PermSync, PermReserve},
	RoleSystem:     {PermVerify, PermReadPatient, PermSync},
}

// Allowed reports whether role r has permission p.
func Allowed(r Role, p Permission) bool {
	if r == RoleOperator {
		return true
	}
	for _, q := range rolePerms[r] {
		if q == p {
			return true
		}
	}
	return false
}

// Within reports whether every permission of r is one o has too: r is
// o's role or a lowered one (a restore keeps a role lowered after its
// backup, registry/restore_accounts.go).
func (r Role) Within(o Role) bool {
	for _, p := range rolePerms[r] {
		if !Allowed(o, p) {
			return false
		}
	}
	return rolePerms[r] != nil || r == o
}

// Actor is who is acting: a signed-in user ("alice"), an operating-system
// user ("os:alice"), a scanner token ("token:ward3") or "system:sync".
type Actor struct {
	Name string
	Role Role
	// OnBehalfOf is the signed-in user at whose desk Name approved one
	// action by typing their password (registry.Store.Countersign); every
	// audit row written for that action names both.
	OnBehalfOf string
}

type actorKey struct{}

// WithActor returns a context carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx; ok is false when none was set.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Require returns a Permission error unless ctx's actor may do p.
func Require(ctx context.Context, p Permission) (Actor, error) {
	a, ok := ActorFrom(ctx)
	if !ok || a.Name == "" {
		return a, Errorf(Forbidden, "no signed-in user: %s needs a user", p)
	}
	if !Allowed(a.Role, p) {
		return a, Errorf(Forbidden, "%s (role %s) may not %s", a.Name, a.Role, p)
	}
	return a, nil
}
