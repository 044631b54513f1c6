package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// User is one personal account as the registry shows it. The password hash
// never leaves the package.
type User struct {
	Username          string       `json:"username"`
	FullName          string       `json:"full_name,omitempty"`
	Role              idcards.Role `json:"role"`
	Disabled          bool         `json:"disabled"`
	FailedAttempts    int          `json:"failed_attempts,omitempty"`
	LockedUntil       time.Time    `json:"locked_until,omitzero"`
	CreatedAt         time.Time    `json:"created_at"`
	CreatedBy         string       `json:"created_by"`
	LastLoginAt       time.Time    `json:"last_login_at,omitzero"`
	PasswordChangedAt time.Time    `json:"password_changed_at,omitzero"`
	// MustChangePassword: an admin set the password; the user must choose
	// a new one at the next sign-in.
	MustChangePassword bool `json:"must_change_password,omitempty"`
}

// Lock-out: after lockAfter consecutive failures the account is locked for
// firstLock, doubling with each further failure up to maxLock. A desk PC is
// reachable by anyone in the queue; this caps guessing at a few tries an
// hour without letting one mistyping clerk lock themselves out for long.
const (
	lockAfter = 5
	firstLock = time.Minute
	maxLock   = time.Hour
)

// lockFor is how long the account is locked after the n-th consecutive
// failure (0 = not locked).
func lockFor(n int) time.Duration {
	if n < lockAfter {
		return 0
	}
	if n-lockAfter >= 6 { // 2^6 minutes is past the cap; also avoids shift overflow
		return maxLock
	}
	return min(firstLock<<(n-lockAfter), maxLock)
}

// usernameRE: lower-case, starts with a letter, no ':' so a personal name can
// never look like "os:NAME", "token:NAME" or "system:NAME" in the audit trail.
var usernameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)

func normUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

func checkUsername(u string) error {
	if !usernameRE.MatchString(u) {
		return idcards.Errorf(idcards.Invalid, "user name %q: 2 to 32 characters, lower-case letters, digits, '.', '_' or '-', starting with a letter", u)
	}
	return nil
}

func checkRole(r idcards.Role) error {
	for _, x := range idcards.Roles {
		if r == x {
			return nil
		}
	}
	return idcards.Errorf(idcards.Invalid, "role %q: use clerk, printer, supervisor or admin", r)
}

func (s *Store) argon2() Argon2Params { return s.Argon2.orDefault() }

// newAccount validates and hashes outside any transaction: hashing takes
// ~0.1 s and must not hold the registry's write lock while desks issue IDs.
func (s *Store) newAccount(username, fullName string, role idcards.Role, password string) (string, string, error) {
	username = normUsername(username)
	if err := checkUsername(username); err != nil {
		return "", "", err
	}
	if err := checkRole(role); err != nil {
		return "", "", err
	}
	if len(fullName) > 200 {
		return "", "", idcards.Errorf(idcards.Invalid, "full name: at most 200 bytes")
	}
	if err := CheckPassword(username, password); err != nil {
		return "", "", err
	}
	h, err := hashPassword(password, s.argon2())
	return username, h, err
}

func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, actor string, u NewUser, hash, action string) error {
	now := s.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO users(username, full_name, role, password_hash, created_at, created_by, password_changed_at, must_change_password) VALUES (?,?,?,?,?,?,?,?)`,
		u.Username, nullStr(u.FullName), string(u.Role), hash, now, actor, now, u.MustChange)
	if isConstraint(err) {
		return idcards.Errorf(idcards.Conflict, "user %s already exists", u.Username)
	}
	if err != nil {
		return fmt.Errorf("registry: add user: %w", err)
	}
	return s.insertAudit(ctx, tx, actor, action, u.Username, fmt.Sprintf("role=%s must_change=%t", u.Role, u.MustChange))
}

// NewUser is an account to create. Password is the initial password; with
// MustChange the user must replace it at the first sign-in (the usual case
// when an admin types it for someone else).
type NewUser struct {
	Username   string
	FullName   string
	Role       idcards.Role
	Password   string
	MustChange bool
}

// AddUser creates a personal account (admin: PermUsers). The operating-
// system operator (CLI without cli_sign_in) may create the first admin this
// way; there is no default account.
func (s *Store) AddUser(ctx context.Context, u NewUser) error {
	a, err := idcards.Require(ctx, idcards.PermUsers)
	if err != nil {
		return err
	}
	u.FullName = strings.TrimSpace(u.FullName)
	var h string
	if u.Username, h, err = s.newAccount(u.Username, u.FullName, u.Role, u.Password); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.insertUser(ctx, tx, a.Name, u, h, "user.add")
	})
}

// CreateFirstAdmin creates the first personal admin account. It needs no
// permission but works only while the registry has no account at all; the
// check and the insert share one BEGIN IMMEDIATE transaction, so two
// first-run screens racing cannot both succeed. There is no default account.
func (s *Store) CreateFirstAdmin(ctx context.Context, username, fullName, password string) error {
	username, h, err := s.newAccount(username, fullName, idcards.RoleAdmin, password)
	if err != nil {
		return err
	}
	actor := "first-run"
	if a, ok := idcards.ActorFrom(ctx); ok && a.Name != "" {
		actor = a.Name
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return idcards.Errorf(idcards.Conflict, "accounts already exist: an admin must add users (idcards users add)")
		}
		u := NewUser{Username: username, FullName: strings.TrimSpace(fullName), Role: idcards.RoleAdmin}
		return s.insertUser(ctx, tx, actor, u, h, "user.first_admin")
	})
}

// HasUsers reports whether any account exists (the TUI shows its first-run
// screen when none does).
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return false, fmt.Errorf("registry: users: %w", err)
	}
	return n > 0, nil
}

const userCols = `username, coalesce(full_name,''), role, disabled, failed_attempts, coalesce(locked_until,''), created_at, created_by, coalesce(last_login_at,''), coalesce(password_changed_at,''), must_change_password`

func scanUser(r scanner) (User, error) {
	var u User
	var role, locked, created, last, changed string
	if err := r.Scan(&u.Username, &u.FullName, &role, &u.Disabled, &u.FailedAttempts, &locked, &created, &u.CreatedBy, &last, &changed, &u.MustChangePassword); err != nil {
		return u, err
	}
	u.Role = idcards.Role(role)
	u.LockedUntil, u.CreatedAt, u.LastLoginAt, u.PasswordChangedAt = parseTime(locked), parseTime(created), parseTime(last), parseTime(changed)
	return u, nil
}

// ListUsers returns every account by user name (admin).
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	if _, err := idcards.Require(ctx, idcards.PermUsers); err != nil {
		return nil, err
	}
	return s.listUsers(ctx)
}

func (s *Store) listUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("registry: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func findUser(ctx context.Context, tx *sql.Tx, username string) (User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return u, idcards.Errorf(idcards.NotFound, "no user %s", username)
	}
	return u, err
}

// keepsAnAdmin refuses a change that would leave no enabled admin: nobody
// could then manage users or settings without editing the file by hand.
func keepsAnAdmin(ctx context.Context, tx *sql.Tx, u User) error {
	if u.Role != idcards.RoleAdmin || u.Disabled {
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0`).Scan(&n); err != nil {
		return err
	}
	if n <= 1 {
		return idcards.Errorf(idcards.Conflict, "%s is the last enabled admin: add or enable another admin first", u.Username)
	}
	return nil
}

// DisableUser stops an account from signing in (admin). Accounts are never
// deleted: the audit trail names them.
func (s *Store) DisableUser(ctx context.Context, username string) error {
	return s.changeUser(ctx, username, "user.disable", func(tx *sql.Tx, u User) (string, error) {
		if err := keepsAnAdmin(ctx, tx, u); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 1 WHERE username = ?`, u.Username)
		return "", err
	})
}

// EnableUser lets a disabled account sign in again and clears its lock-out.
func (s *Store) EnableUser(ctx context.Context, username string) error {
	return s.changeUser(ctx, username, "user.enable", func(tx *sql.Tx, u User) (string, error) {
		_, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 0, failed_attempts = 0, locked_until = NULL WHERE username = ?`, u.Username)
		if err == nil {
			err = s.clearThrottle(ctx, tx, u.Username)
		}
		return "", err
	})
}

// SetRole changes an account's role (admin); demoting the last enabled
// admin is refused.
func (s *Store) SetRole(ctx context.Context, username string, role idcards.Role) error {
	if err := checkRole(role); err != nil {
		return err
	}
	return s.changeUser(ctx, username, "user.role", func(tx *sql.Tx, u User) (string, error) {
		if role != idcards.RoleAdmin {
			if err := keepsAnAdmin(ctx, tx, u); err != nil {
				return "", err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET role = ? WHERE username = ?`, string(role), u.Username)
		return fmt.Sprintf("%s -> %s", u.Role, role), err
	})
}

// ResetPassword sets a new password for an account (admin) and clears any
// lock-out. With mustChange the user has to choose their own password at
// the next sign-in (Authenticate refuses with ErrMustChangePassword until
// ChangePassword succeeds): whoever typed this one knows it.
func (s *Store) ResetPassword(ctx context.Context, username, password string, mustChange bool) error {
	if _, err := idcards.Require(ctx, idcards.PermUsers); err != nil {
		return err
	}
	username = normUsername(username)
	if err := CheckPassword(username, password); err != nil {
		return err
	}
	h, err := hashPassword(password, s.argon2())
	if err != nil {
		return err
	}
	return s.changeUserAs(ctx, username, "user.passwd_reset", func(tx *sql.Tx, u User) (string, error) {
		_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, must_change_password = ?, failed_attempts = 0, locked_until = NULL WHERE username = ?`,
			h, s.now(), mustChange, u.Username)
		if err == nil {
			err = s.clearThrottle(ctx, tx, u.Username) // signin.go: the lock-out ends too
		}
		return fmt.Sprintf("must_change=%t", mustChange), err
	})
}

// changeUser runs an admin change to one account in one transaction with
// its audit row; fn returns the audit detail.
func (s *Store) changeUser(ctx context.Context, username, action string, fn func(*sql.Tx, User) (string, error)) error {
	if _, err := idcards.Require(ctx, idcards.PermUsers); err != nil {
		return err
	}
	return s.changeUserAs(ctx, username, action, fn)
}

// changeUserAs is changeUser for callers that checked permission themselves.
func (s *Store) changeUserAs(ctx context.Context, username, action string, fn func(*sql.Tx, User) (string, error)) error {
	a, _ := idcards.ActorFrom(ctx)
	username = normUsername(username)
	return s.tx(ctx, func(tx *sql.Tx) error {
		u, err := findUser(ctx, tx, username)
		if err != nil {
			return err
		}
		detail, err := fn(tx, u)
		if err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, actorName(a), action, u.Username, detail)
	})
}

// UserReview is what a periodic access review looks at (the DHIS2 security
// guidance's list): how many admins, accounts unused for 90 days, accounts
// never used, and disabled accounts.
type UserReview struct {
	Admins        []string `json:"admins"`
	TooManyAdmins bool     `json:"too_many_admins"` // more than MaxAdmins enabled admins
	MaxAdmins     int      `json:"max_admins"`
	Unused        []User   `json:"unused_90_days"`
	NeverUsed     []User   `json:"never_used"`
	Disabled      []User   `json:"disabled"`
	Locked        []User   `json:"locked"`
}

// ReviewUsers builds a UserReview at Store.Now (admin).
func (s *Store) ReviewUsers(ctx context.Context) (UserReview, error) {
	r := UserReview{MaxAdmins: 4, Admins: []string{}, Unused: []User{}, NeverUsed: []User{}, Disabled: []User{}, Locked: []User{}}
	if _, err := idcards.Require(ctx, idcards.PermUsers); err != nil {
		return r, err
	}
	users, err := s.listUsers(ctx)
	if err != nil {
		return r, err
	}
	now := s.Now().UTC()
	for _, u := range users {
		switch {
		case u.Disabled:
			r.Disabled = append(r.Disabled, u)
			continue
		case u.LastLoginAt.IsZero():
			r.NeverUsed = append(r.NeverUsed, u)
		case now.Sub(u.LastLoginAt) > 90*24*time.Hour:
			r.Unused = append(r.Unused, u)
		}
		if u.Role == idcards.RoleAdmin {
			r.Admins = append(r.Admins, u.Username)
		}
		if u.LockedUntil.After(now) {
			r.Locked = append(r.Locked, u)
		}
	}
	r.TooManyAdmins = len(r.Admins) > r.MaxAdmins
	return r, nil
}
