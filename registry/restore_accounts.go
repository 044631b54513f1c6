package registry

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/idcards/idcards"
)

// Security state across a restore. A backup is older than the registry it
// replaces: a scanner token revoked since, an account disabled since, a
// password changed since (a leaver's, a leaked one) would all come back
// with it. When the replaced registry can be read (a live restore), what
// changed there after the backup is carried into the restored registry,
// inside the restore's transaction, each change audited (restore.carry).
// The rule: what an admin took away after the backup stays taken away,
// what an admin granted after the backup is not granted again by the
// restore (it is listed, for IT to redo):
//
//   - a token revoked in the replaced registry is revoked; one whose
//     secret differs there is revoked too (neither secret is to be
//     trusted); a token created after the backup is not in the backup and
//     stays absent (listed: scanners using it are refused until a new one
//     is made);
//   - an account disabled there is disabled; one enabled there after the
//     backup stays disabled (listed);
//   - a password changed there is the one kept (its hash, time and
//     must-change flag): the old one may be a leaver's or a leaked one;
//   - a role changed there is kept unless it only adds permissions to the
//     backup's role or is admin (a raise is not carried; listed); a lowered
//     role, or one changed sideways (some permission taken away), is kept;
//   - a lock-out still running there is kept;
//   - an account created after the backup is not carried over (listed),
//     except that when the restored registry would otherwise have no
//     enabled admin, the replaced registry's enabled admins are carried, so
//     no one is locked out of the registry.
//
// When the replaced registry cannot be read (or is another registry),
// accounts, passwords and tokens are as of the backup: the report says so
// (AccountsAsOfBackup).

// accountRow is one account as a restore compares it.
type accountRow struct {
	username, role, hash, created, createdBy    string
	fullName, lockedUntil, pwChanged, lastLogin sql.NullString
	disabled, mustChange                        bool
	failed                                      int64
}

// tokenRow is one scanner token as a restore compares it.
type tokenRow struct {
	name, scope, hash, created string
	revoked                    sql.NullString
}

// securityState is the accounts and tokens of one registry.
type securityState struct {
	users  []accountRow
	tokens []tokenRow
}

const qAccounts = `SELECT username, role, password_hash, created_at, created_by, full_name, locked_until, password_changed_at, last_login_at,
	disabled, must_change_password, failed_attempts FROM `

// readSecurity reads the accounts and tokens of a registry (table prefix
// "main." for SQLite's live registry beside the attached backup, "" on
// PostgreSQL).
func readSecurity(ctx context.Context, q queryer, prefix string) (*securityState, error) {
	st := &securityState{}
	rows, err := q.QueryContext(ctx, qAccounts+prefix+`users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var u accountRow
		if err := scanAccount(rows, &u); err != nil {
			rows.Close()
			return nil, err
		}
		st.users = append(st.users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT name, scope, token_hash, created_at, revoked_at FROM `+prefix+`tokens ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t tokenRow
		if err := rows.Scan(&t.name, &t.scope, &t.hash, &t.created, &t.revoked); err != nil {
			return nil, err
		}
		st.tokens = append(st.tokens, t)
	}
	return st, rows.Err()
}

func scanAccount(r interface{ Scan(...any) error }, u *accountRow) error {
	var disabled, must int64
	err := r.Scan(&u.username, &u.role, &u.hash, &u.created, &u.createdBy, &u.fullName, &u.lockedUntil, &u.pwChanged, &u.lastLogin,
		&disabled, &must, &u.failed)
	u.disabled, u.mustChange = disabled != 0, must != 0
	return err
}

// carryChange is one change a restore carries over: the statement, and
// its audit row.
type carryChange struct {
	subject, detail string
	query           string
	args            []any
}

// planCarry compares the replaced registry's security state (live) with
// the restored one inside tx and fills rep.Carried and rep.NotRestored;
// the changes are made by applyCarry (after the restore's own audit row).
func planCarry(ctx context.Context, tx *sql.Tx, live *securityState, rep *RestoreReport, now string) ([]carryChange, error) {
	restored, err := readSecurity(ctx, tx, "")
	if err != nil {
		return nil, err
	}
	users := map[string]accountRow{}
	for _, u := range restored.users {
		users[u.username] = u
	}
	var plan []carryChange
	add := func(subject, detail, query string, args ...any) {
		plan = append(plan, carryChange{subject: subject, detail: detail, query: query, args: args})
		rep.Carried = append(rep.Carried, subject+": "+detail)
	}
	note := func(s string) { rep.NotRestored = append(rep.NotRestored, s) }
	admins := 0 // enabled admins after the carry
	var newAdmins []accountRow
	for _, l := range live.users {
		r, ok := users[l.username]
		if !ok {
			if !l.disabled && idcards.Role(l.role) == idcards.RoleAdmin {
				newAdmins = append(newAdmins, l)
			}
			state := "enabled"
			if l.disabled {
				state = "disabled"
			}
			note(fmt.Sprintf("user %s (%s, %s, created %s after the backup): not in the restored registry; add it again if still needed", l.username, l.role, state, l.created))
			continue
		}
		disabled, role := r.disabled, idcards.Role(r.role)
		if l.hash != r.hash {
			add(r.username, fmt.Sprintf("password changed after the backup (%s): the newer one is kept", l.pwChanged.String),
				`UPDATE users SET password_hash = ?, password_changed_at = ?, must_change_password = ? WHERE username = ?`,
				l.hash, l.pwChanged, boolInt(l.mustChange), r.username)
		}
		switch {
		case l.disabled && !r.disabled:
			disabled = true
			add(r.username, "disabled after the backup: stays disabled", `UPDATE users SET disabled = 1 WHERE username = ?`, r.username)
		case !l.disabled && r.disabled:
			note(fmt.Sprintf("user %s: enabled after the backup, stays disabled (users enable it again if still wanted)", r.username))
		}
		if lr := idcards.Role(l.role); lr != role {
			if role.Within(lr) || lr == idcards.RoleAdmin {
				note(fmt.Sprintf("user %s: role raised after the backup (%s -> %s) not carried over: set it again if still wanted", r.username, role, lr))
			} else {
				add(r.username, fmt.Sprintf("role changed after the backup (%s -> %s): kept", role, lr), `UPDATE users SET role = ? WHERE username = ?`, l.role, r.username)
				role = lr
			}
		}
		if l.lockedUntil.Valid && l.lockedUntil.String > now && l.lockedUntil.String > r.lockedUntil.String {
			add(r.username, fmt.Sprintf("locked out after the backup (until %s): stays locked", l.lockedUntil.String),
				`UPDATE users SET locked_until = ?, failed_attempts = ? WHERE username = ?`, l.lockedUntil.String, max(l.failed, r.failed), r.username)
		}
		delete(users, r.username)
		if !disabled && role == idcards.RoleAdmin {
			admins++
		}
	}
	for _, r := range users { // accounts the replaced registry lacks (another registry's, or removed behind the program's back)
		if !r.disabled && idcards.Role(r.role) == idcards.RoleAdmin {
			admins++
		}
	}
	if admins == 0 {
		// Every enabled admin of the replaced registry was made after the
		// backup: carried over, or no one could manage the registry.
		for _, l := range newAdmins {
			add(l.username, fmt.Sprintf("admin created after the backup (%s by %s): carried over, or the restored registry would have no enabled admin", l.created, l.createdBy),
				`INSERT INTO users(username, full_name, role, password_hash, disabled, failed_attempts, locked_until, created_at, created_by, last_login_at, password_changed_at, must_change_password)
				VALUES (?,?,?,?,0,?,?,?,?,?,?,?)`,
				l.username, l.fullName, l.role, l.hash, l.failed, l.lockedUntil, l.created, l.createdBy, l.lastLogin, l.pwChanged, boolInt(l.mustChange))
			rep.NotRestored = dropNote(rep.NotRestored, "user "+l.username+" ")
		}
	}
	tokens := map[string]tokenRow{}
	for _, t := range restored.tokens {
		tokens[t.name] = t
	}
	for _, l := range live.tokens {
		r, ok := tokens[l.name]
		switch {
		case !ok && !l.revoked.Valid:
			note(fmt.Sprintf("token %s (%s, created %s after the backup): not in the restored registry, so scanners using it are refused: make a new one (idcards tokens add)", l.name, l.scope, l.created))
		case !ok:
		case r.revoked.Valid:
		case l.revoked.Valid:
			add("token:"+r.name, fmt.Sprintf("revoked after the backup (%s): stays revoked", l.revoked.String),
				`UPDATE tokens SET revoked_at = ? WHERE name = ?`, l.revoked.String, r.name)
		case l.hash != r.hash:
			add("token:"+r.name, "its secret differs from the replaced registry's: revoked (make a new one)",
				`UPDATE tokens SET revoked_at = ? WHERE name = ?`, now, r.name)
		}
	}
	return plan, nil
}

// applyCarry makes the planned changes inside tx, each with its audit row
// (action restore.carry).
func applyCarry(ctx context.Context, tx *sql.Tx, s *Store, actor string, plan []carryChange) error {
	for _, c := range plan {
		if _, err := tx.ExecContext(ctx, c.query, c.args...); err != nil {
			return fmt.Errorf("carry over %s: %w", c.subject, err)
		}
		if err := s.auditTx(ctx, tx, actor, "restore.carry", c.subject, c.detail); err != nil {
			return err
		}
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func dropNote(notes []string, prefix string) []string {
	out := notes[:0]
	for _, n := range notes {
		if len(n) < len(prefix) || n[:len(prefix)] != prefix {
			out = append(out, n)
		}
	}
	return out
}
