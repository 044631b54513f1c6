package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
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

// TooManyAttempts is the answer while a user name is locked out, the same
// for an account and for a name no account has, so it reveals nothing.
func tooManyAttempts(wait time.Duration) error {
	m := int((wait + time.Minute - 1) / time.Minute)
	m = max(m, 1)
	unit := "minutes"
	if m == 1 {
		unit = "minute"
	}
	return idcards.Errorf(idcards.Forbidden, "too many attempts, try again in %d %s", m, unit)
}

// throttleKey names an attempted user name in signin_throttle: an HMAC
// of the normalised name under the chain key, so the table holds no typed
// text (people type their password into the user field) and cannot be
// turned back into names without the key.
func (s *Store) throttleKey(name string) string {
	var secret []byte
	if s.key != nil {
		secret = s.key.Secret
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("sign-in throttle\x00" + name))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// throttled returns how long the name is still locked (0: not locked).
func (s *Store) throttled(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	var until string
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(locked_until, '') FROM signin_throttle WHERE name_hash = ?`, key).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) || until == "" {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(parseTime(until).Sub(now), 0), nil
}

// countFailure counts one failure for the name inside tx and returns the
// lock it now earns (0: none).
func countFailure(ctx context.Context, tx *sql.Tx, key string, now time.Time) (time.Duration, int, error) {
	nowS := now.Format(TimeFormat)
	var n int
	if err := tx.QueryRowContext(ctx, `INSERT INTO signin_throttle(name_hash, failures, last_at) VALUES (?, 1, ?)
		ON CONFLICT(name_hash) DO UPDATE SET failures = signin_throttle.failures + 1, last_at = excluded.last_at RETURNING failures`, key, nowS).Scan(&n); err != nil {
		return 0, 0, err
	}
	d := lockFor(n)
	if d > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE signin_throttle SET locked_until = ? WHERE name_hash = ?`, now.Add(d).Format(TimeFormat), key); err != nil {
			return 0, 0, err
		}
	}
	// Old entries of names nobody retried are dropped as they go by.
	if _, err := tx.ExecContext(ctx, `DELETE FROM signin_throttle WHERE last_at < ? AND coalesce(locked_until, '') < ?`, now.Add(-24*time.Hour).Format(TimeFormat), nowS); err != nil {
		return 0, 0, err
	}
	return d, n, nil
}

// checkCredentials is the one path every password check takes. Every
// outcome but success is audited here, in the transaction that counts the
// failure; the password never is, and neither is a name no account has
// (people type their password into the user field).
//
// What a guesser can learn is nothing: a locked name, known or not, is
// answered "too many attempts, try again in N minutes" after the same
// password hashing (against a dummy hash when there is no account), and
// failures are counted per attempted name in signin_throttle whether or not
// an account has it, so an unknown name locks after as many tries as a
// real one, with the same words. A locked account is refused without its
// password being accepted, so guessing does not continue while locked. A
// disabled account is reported only after the right password.
func (s *Store) checkCredentials(ctx context.Context, username, password string) (credentials, error) {
	c := credentials{username: normUsername(username), at: s.Now().UTC()}
	if a, ok := idcards.ActorFrom(ctx); ok && a.Name != "" {
		c.via = " via=" + a.Name
	}
	bad := idcards.Errorf(idcards.Forbidden, "wrong user name or password")
	key := s.throttleKey(c.username)
	var (
		role, lockedUntil string
		disabled          bool
		failed            int
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, role, password_hash, disabled, failed_attempts, coalesce(locked_until,''), must_change_password FROM users WHERE username = ?`, c.username).
		Scan(&c.id, &role, &c.hash, &disabled, &failed, &lockedUntil, &c.mustChange)
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("registry: sign in: %w", err)
	}
	c.role = idcards.Role(role)
	wait, err := s.throttled(ctx, key, c.at)
	if err != nil {
		return c, fmt.Errorf("registry: sign in: %w", err)
	}
	if known && lockedUntil != "" {
		wait = max(wait, parseTime(lockedUntil).Sub(c.at)) // a lock from before signin_throttle
	}
	// The hashing is done on every path, so the time taken tells nothing.
	ok, used := false, s.argon2()
	if known {
		if ok, used, err = checkPasswordHash(c.hash, password); err != nil {
			return c, fmt.Errorf("registry: sign in %s: %w", c.username, err)
		}
	} else {
		dummyCheck(password, used)
	}
	c.used = used
	subject, actor := "", "unknown"
	if known {
		subject, actor = c.username, c.username
	}
	if wait > 0 {
		until := c.at.Add(wait).Format(TimeFormat)
		if aerr := s.tx(ctx, func(tx *sql.Tx) error {
			return s.insertAudit(ctx, tx, actor, "user.sign_in_refused", subject, "locked until "+until+c.via)
		}); aerr != nil {
			return c, aerr
		}
		return c, tooManyAttempts(wait)
	}
	if !ok {
		var lock time.Duration
		err := s.tx(ctx, func(tx *sql.Tx) error {
			d, n, err := countFailure(ctx, tx, key, c.at)
			if err != nil {
				return err
			}
			lock = d
			detail := "unknown user"
			if known {
				if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_attempts = ?, locked_until = ? WHERE id = ?`, n, nullStr(lockUntil(c.at, d)), c.id); err != nil {
					return err
				}
				detail = fmt.Sprintf("wrong password; %d consecutive failures", n)
			}
			if d > 0 {
				detail += "; locked until " + lockUntil(c.at, d)
			}
			return s.insertAudit(ctx, tx, actor, "user.sign_in_failed", subject, detail+c.via)
		})
		if err != nil {
			return c, err
		}
		if lock > 0 {
			return c, tooManyAttempts(lock)
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

func lockUntil(now time.Time, d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return now.Add(d).Format(TimeFormat)
}

// clearThrottle forgets a name's failures (a success, an admin's reset).
func (s *Store) clearThrottle(ctx context.Context, tx *sql.Tx, name string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM signin_throttle WHERE name_hash = ?`, s.throttleKey(normUsername(name)))
	return err
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
			if err := s.clearThrottle(ctx, tx, c.username); err != nil {
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
		if err := s.clearThrottle(ctx, tx, c.username); err != nil {
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
		if err := s.clearThrottle(ctx, tx, c.username); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, c.username, "user.passwd", c.username, "changed by the user"+c.via)
	})
	if err != nil {
		return idcards.Actor{}, err
	}
	return idcards.Actor{Name: c.username, Role: c.role}, nil
}
