package registry

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"

	"github.com/idcards/idcards"
)

// Countersign checks a supervisor's (or admin's) password at a clerk's desk; ctx carries the clerk.
// It returns a context for ONE action in which the supervisor is the actor and the clerk is recorded,
// so every audit row made with it names both ("approved at the desk of okot by sarah").
//
// The password check is the sign-in's own (checkCredentials): a wrong
// password counts towards the supervisor's lock-out, a locked or disabled
// account is refused, and every failure is audited with via=CLERK. An
// account whose password an admin reset must choose a new one by signing
// in first. A user who is neither supervisor nor admin is refused
// (Forbidden) after the password check, so the answer reveals nothing to
// a guesser. The approval itself is audited (user.countersign).
//
// The returned context carries the supervisor's own role, so permissions
// are the supervisor's, and it is good for ONE action: the first
// transaction that writes an audit row with it (every change does) uses
// it up; a later change made with the same context is refused
// (Forbidden, "ask again"), as is one made more than CountersignTTL after
// the password was typed. Reads are not limited. A context that already
// carries a countersignature is refused: approvals do not chain.
func (s *Store) Countersign(ctx context.Context, user, pass string) (context.Context, error) {
	clerk, ok := idcards.ActorFrom(ctx)
	if !ok || clerk.Name == "" {
		return nil, idcards.Errorf(idcards.Forbidden, "a supervisor approves at a signed-in user's desk: nobody is signed in")
	}
	if clerk.OnBehalfOf != "" {
		return nil, idcards.Errorf(idcards.Invalid, "this action is already approved by %s", clerk.Name)
	}
	if normUsername(user) == clerk.Name {
		return nil, idcards.Errorf(idcards.Invalid, "%s is the user signed in here: a countersignature must come from another person", clerk.Name)
	}
	c, err := s.checkCredentials(ctx, user, pass)
	if err != nil {
		return nil, err
	}
	refuse := func(why string, e error) (context.Context, error) {
		if aerr := s.tx(ctx, func(tx *sql.Tx) error {
			return s.insertAudit(ctx, tx, c.username, "user.countersign_refused", c.username, why+" via="+clerk.Name)
		}); aerr != nil {
			return nil, aerr
		}
		return nil, e
	}
	if c.mustChange {
		return refuse("password change required", idcards.Errorf(idcards.Forbidden, "%s must choose a new password (sign in once) before approving at a desk", c.username))
	}
	if c.role != idcards.RoleSupervisor && c.role != idcards.RoleAdmin {
		return refuse("role "+string(c.role), idcards.Errorf(idcards.Forbidden, "%s is a %s: only a supervisor or an admin can approve this", c.username, c.role))
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// A good password ends a run of failures, as a sign-in does.
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?`, c.id); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, c.username, "user.countersign", c.username, "at the desk of "+clerk.Name)
	})
	if err != nil {
		return nil, err
	}
	out := idcards.WithActor(ctx, idcards.Actor{Name: c.username, Role: c.role, OnBehalfOf: clerk.Name})
	return context.WithValue(out, grantKey{}, &grant{at: s.Now()}), nil
}

// CountersignTTL is how long a supervisor's approval at a desk may wait
// for its action.
const CountersignTTL = 5 * time.Minute

type grantKey struct{}

// grant is one countersignature: the transaction it was spent in.
type grant struct {
	mu sync.Mutex
	at time.Time
	tx *sql.Tx
}

// countersigned adds "approved at the desk of CLERK by SUPERVISOR" to the
// detail of an audit row written by a countersigned actor, so the row
// names both people, and spends the countersignature on tx (see
// Countersign); other rows are unchanged.
func (s *Store) countersigned(ctx context.Context, tx *sql.Tx, actor, detail string) (string, error) {
	a, ok := idcards.ActorFrom(ctx)
	if !ok || a.OnBehalfOf == "" || a.Name != actor {
		return detail, nil
	}
	if g, ok := ctx.Value(grantKey{}).(*grant); ok {
		g.mu.Lock()
		defer g.mu.Unlock()
		switch {
		case g.tx != nil && g.tx != tx:
			return "", idcards.Errorf(idcards.Forbidden, "%s's approval was for one action and has been used: ask %s to approve again", a.Name, a.Name)
		case g.tx == nil && s.Now().Sub(g.at) > CountersignTTL:
			return "", idcards.Errorf(idcards.Forbidden, "%s's approval has expired (it lasts %s): ask %s to approve again", a.Name, CountersignTTL, a.Name)
		}
		g.tx = tx
	}
	note := "approved at the desk of " + a.OnBehalfOf + " by " + a.Name
	if strings.TrimSpace(detail) == "" {
		return note, nil
	}
	return detail + "; " + note, nil
}
