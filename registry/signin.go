package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idcards/idcards"
)

// ErrMustChangePassword is in the chain of Authenticate's error when the
// password is right but an admin set it: the front end asks for a new one
// and calls ChangePassword, which signs the user in.
var ErrMustChangePassword = errors.New("a new password is required")

// credentials is a checked account: the password matched, the account is
// neither locked nor disabled.
type credentials struct {
	id         int64
	username   string
	role       idcards.Role
	hash       string
	mustChange bool
	used       Argon2Params // the parameters the stored hash was made with
	at         time.Time
	via        string // " via=os:NAME" when a front end signed in on someone's behalf
}

// checkCredentials is the one path every password check takes. Every
// outcome but success is audited here, in the transaction that counts the
// failure; the password never is. A locked account is refused without
// checking the password, so guessing does not continue while locked. A
// disabled account is reported only after the right password, so a guesser
// learns nothing about which accounts exist. An unknown user name costs the
// same hashing time as a wrong password, for the same reason.
func (s *Store) checkCredentials(ctx context.Context, username, password string) (credentials, error) {
	c := credentials{username: normUsername(username), at: s.Now().UTC()}
	if a, ok := idcards.ActorFrom(ctx); ok && a.Name != "" {
		c.via = " via=" + a.Name
	}
	bad := idcards.Errorf(idcards.Forbidden, "wrong user name or password")
	var (
		role, lockedUntil string
		disabled          bool
		failed            int
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, role, password_hash, disabled, failed_attempts, coalesce(locked_until,''), must_change_password FROM users WHERE username = ?`, c.username).
		Scan(&c.id, &role, &c.hash, &disabled, &failed, &lockedUntil, &c.mustChange)
	if errors.Is(err, sql.ErrNoRows) {
		dummyCheck(password, s.argon2())
		// The attempted name is not recorded: people type their password
		// into the user name field, and the audit trail must not keep it.
		if aerr := s.tx(ctx, func(tx *sql.Tx) error {
			return s.insertAudit(ctx, tx, "unknown", "user.sign_in_failed", "", "unknown user"+c.via)
		}); aerr != nil {
			return c, aerr
		}
		return c, bad
	}
	if err != nil {
		return c, fmt.Errorf("registry: sign in: %w", err)
	}
	c.role = idcards.Role(role)
	nowS := c.at.Format(TimeFormat)
	if lockedUntil != "" && lockedUntil > nowS {
		wait := parseTime(lockedUntil).Sub(c.at).Round(time.Second)
		if aerr := s.tx(ctx, func(tx *sql.Tx) error {
			return s.insertAudit(ctx, tx, c.username, "user.sign_in_refused", c.username, "locked until "+lockedUntil+c.via)
		}); aerr != nil {
			return c, aerr
		}
		return c, idcards.Errorf(idcards.Forbidden, "account %s is locked after %d failed sign-ins; try again in %s or ask an admin to reset the password",
			c.username, failed, wait)
	}
	ok, used, err := checkPasswordHash(c.hash, password)
	if err != nil {
		return c, fmt.Errorf("registry: sign in %s: %w", c.username, err)
	}
	c.used = used
	if !ok {
		var lockMsg string
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ? RETURNING failed_attempts`, c.id).Scan(&n); err != nil {
				return err
			}
			detail := fmt.Sprintf("wrong password; %d consecutive failures", n)
			if d := lockFor(n); d > 0 {
				until := c.at.Add(d).Format(TimeFormat)
				if _, err := tx.ExecContext(ctx, `UPDATE users SET locked_until = ? WHERE id = ?`, until, c.id); err != nil {
					return err
				}
				detail += "; locked until " + until
				lockMsg = fmt.Sprintf("; the account is now locked for %s", d)
			}
			return s.insertAudit(ctx, tx, c.username, "user.sign_in_failed", c.username, detail+c.via)
		})
		if err != nil {
			return c, err
		}
		if lockMsg != "" {
			return c, idcards.Errorf(idcards.Forbidden, "wrong user name or password%s", lockMsg)
		}
		return c, bad
	}
	if disabled {
		if aerr := s.tx(ctx, func(tx *sql.Tx) error {
			return s.insertAudit(ctx, tx, c.username, "user.sign_in_refused", c.username, "account disabled"+c.via)
		}); aerr != nil {
			return c, aerr
		}
		return c, idcards.Errorf(idcards.Forbidden, "account %s is disabled: ask an admin", c.username)
	}
	return c, nil
}

// Authenticate checks a user name and password and returns the actor to
// put in ctx (the TUI, the CLI with cli_sign_in and the HTTP endpoint all
// sign in here). Failures count towards the lock-out: after 5 in a row the
// account is locked for a minute, doubling with each further failure up to
// an hour. When an admin set the password, the error wraps
// ErrMustChangePassword and no actor is returned: call ChangePassword. A
// hash made with weaker parameters than Store.Argon2 is replaced on success.
func (s *Store) Authenticate(ctx context.Context, username, password string) (idcards.Actor, error) {
	c, err := s.checkCredentials(ctx, username, password)
	if err != nil {
		return idcards.Actor{}, err
	}
	if c.mustChange {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?`, c.id); err != nil {
				return err
			}
			return s.insertAudit(ctx, tx, c.username, "user.sign_in_refused", c.username, "password change required"+c.via)
		})
		if err != nil {
			return idcards.Actor{}, err
		}
		return idcards.Actor{}, &idcards.Error{Kind: idcards.Forbidden, Msg: c.username + " must choose a new password before signing in", Err: ErrMustChangePassword}
	}
	newHash := ""
	want := s.argon2()
	if c.used.weakerThan(want) {
		if newHash, err = hashPassword(password, want); err != nil {
			return idcards.Actor{}, err
		}
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = ? WHERE id = ?`, c.at.Format(TimeFormat), c.id); err != nil {
			return err
		}
		detail := "ok"
		if newHash != "" {
			// Guarded by the old hash: a password changed meanwhile wins.
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, newHash, c.id, c.hash); err != nil {
				return err
			}
			detail = fmt.Sprintf("ok; password rehashed m=%d,t=%d,p=%d", want.Memory, want.Time, want.Threads)
		}
		return s.insertAudit(ctx, tx, c.username, "user.sign_in", c.username, detail+c.via)
	})
	if err != nil {
		return idcards.Actor{}, err
	}
	return idcards.Actor{Name: c.username, Role: c.role}, nil
}

// ChangePassword replaces a user's own password after checking the old
// one (with the same lock-out as Authenticate), clears a pending forced
// change and signs the user in: it returns the actor. It needs no actor in
// ctx, because a user who must change their password cannot sign in first.
func (s *Store) ChangePassword(ctx context.Context, username, oldPassword, newPassword string) (idcards.Actor, error) {
	username = normUsername(username)
	// The new password is checked first: a weak choice is not a failed
	// sign-in and must not count towards the lock-out.
	if err := CheckPassword(username, newPassword); err != nil {
		return idcards.Actor{}, err
	}
	if oldPassword == newPassword {
		return idcards.Actor{}, idcards.Errorf(idcards.Invalid, "the new password must differ from the old one")
	}
	c, err := s.checkCredentials(ctx, username, oldPassword)
	if err != nil {
		return idcards.Actor{}, err
	}
	h, err := hashPassword(newPassword, s.argon2())
	if err != nil {
		return idcards.Actor{}, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := c.at.Format(TimeFormat)
		r, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, must_change_password = 0, failed_attempts = 0, locked_until = NULL, last_login_at = ?
			WHERE id = ? AND password_hash = ?`, h, now, now, c.id, c.hash)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return idcards.Errorf(idcards.Conflict, "the password of %s was changed meanwhile: sign in again", c.username)
		}
		return s.insertAudit(ctx, tx, c.username, "user.passwd", c.username, "changed by the user"+c.via)
	})
	if err != nil {
		return idcards.Actor{}, err
	}
	return idcards.Actor{Name: c.username, Role: c.role}, nil
}
