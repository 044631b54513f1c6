package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idcards/idcards"
)

// Flood protection. A stolen or shared clerk account, or a script run by
// mistake, can create thousands of patients and IDs in minutes, and every
// one of them may end up on a card. Setting flood_cap_per_hour caps how many
// registrations and IDs one account makes in a sliding hour; beyond it the
// action is refused and an approval request is recorded. A supervisor who
// approves it lets the clerk go on for N more within the next hour.

// floodWindow is the sliding window of the cap and the lifetime of a grant.
const floodWindow = time.Hour

// floodError is the refusal; Request is filled in after the rollback, when
// the approval request has been recorded in its own transaction.
type floodError struct {
	Actor          string
	Used, Limit, N int
	Request        int64
}

func (e *floodError) Error() string {
	msg := fmt.Sprintf("%s has made %d registrations/IDs in the last hour; the cap is %d per hour (setting flood_cap_per_hour): a supervisor must approve more",
		e.Actor, e.Used, e.Limit)
	if e.Request != 0 {
		msg += fmt.Sprintf(" (approval request %d: `idcards approvals approve %d`)", e.Request, e.Request)
	}
	return msg
}

// overCap counts what a did in the window: each patient registered, plus
// each ID issued other than to a patient registered in the same window (a
// registration with its new MRN counts once). Beyond limit an approved,
// unexpired grant is drawn on, inside tx, so a failed action uses nothing.
func (s *Store) overCap(ctx context.Context, tx *sql.Tx, a idcards.Actor, n, limit int) error {
	now := s.Now().UTC()
	since := now.Add(-floodWindow).Format(TimeFormat)
	var used int
	err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM patients WHERE created_by = ?1 AND created_at >= ?2) +
		(SELECT count(*) FROM identifiers WHERE issued_by = ?1 AND issued_at >= ?2
			AND (patient_id IS NULL OR patient_id NOT IN (SELECT id FROM patients WHERE created_by = ?1 AND created_at >= ?2)))`,
		a.Name, since).Scan(&used)
	if err != nil {
		return fmt.Errorf("registry: flood cap: %w", err)
	}
	if used+n <= limit {
		return nil
	}
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM approvals WHERE actor = ? AND approved_at >= ? AND grant_count - used >= ? ORDER BY approved_at LIMIT 1`,
		a.Name, since, n).Scan(&id)
	switch {
	case err == nil:
		_, err = tx.ExecContext(ctx, `UPDATE approvals SET used = used + ? WHERE id = ?`, n, id)
		return err
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("registry: flood cap: %w", err)
	}
	return &idcards.Error{Kind: idcards.Forbidden, Err: &floodError{Actor: a.Name, Used: used, Limit: limit, N: n}}
}

// afterRollback records the approval request of a flood refusal. It runs
// after the refused transaction rolled back (a request written inside it
// would vanish with it). Failing to record it leaves the refusal as it is.
func (s *Store) afterRollback(ctx context.Context, err error) error {
	var fe *floodError
	if !errors.As(err, &fe) || fe.Request != 0 {
		return err
	}
	_ = s.tx(ctx, func(tx *sql.Tx) error {
		detail := fmt.Sprintf("%d in the last hour, cap %d", fe.Used, fe.Limit)
		// One open request per clerk: repeated refusals refresh it.
		e := tx.QueryRowContext(ctx, `SELECT id FROM approvals WHERE actor = ? AND approved_at IS NULL ORDER BY id LIMIT 1`, fe.Actor).Scan(&fe.Request)
		switch {
		case errors.Is(e, sql.ErrNoRows):
			if e := tx.QueryRowContext(ctx, `INSERT INTO approvals(actor, action, requested_at, detail) VALUES (?, 'exceed_flood_cap', ?, ?) RETURNING id`,
				fe.Actor, s.now(), detail).Scan(&fe.Request); e != nil {
				return e
			}
			return s.insertAudit(ctx, tx, fe.Actor, "approval.request", fmt.Sprint(fe.Request), detail)
		case e != nil:
			return e
		}
		_, e = tx.ExecContext(ctx, `UPDATE approvals SET requested_at = ?, detail = ? WHERE id = ?`, s.now(), detail, fe.Request)
		return e
	})
	return err
}

// Approval is one request to exceed the flood cap.
type Approval struct {
	ID          int64     `json:"id"`
	Actor       string    `json:"actor"`
	Action      string    `json:"action"`
	Detail      string    `json:"detail,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	ApprovedBy  string    `json:"approved_by,omitempty"`
	ApprovedAt  time.Time `json:"approved_at,omitzero"`
	Granted     int       `json:"granted,omitempty"`
	Used        int       `json:"used,omitempty"`
}

// Approvals lists open requests, or all when all is true (supervisor).
func (s *Store) Approvals(ctx context.Context, all bool) ([]Approval, error) {
	if _, err := idcards.Require(ctx, idcards.PermOverride); err != nil {
		return nil, err
	}
	q := `SELECT id, actor, action, detail, requested_at, coalesce(approved_by,''), coalesce(approved_at,''), grant_count, used FROM approvals`
	if !all {
		q += ` WHERE approved_at IS NULL`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("registry: approvals: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var x Approval
		var req, appr string
		if err := rows.Scan(&x.ID, &x.Actor, &x.Action, &x.Detail, &req, &x.ApprovedBy, &appr, &x.Granted, &x.Used); err != nil {
			return nil, err
		}
		x.RequestedAt, x.ApprovedAt = parseTime(req), parseTime(appr)
		out = append(out, x)
	}
	return out, rows.Err()
}

// Approve grants request id n more actions within the next hour
// (supervisor). Nobody approves their own request.
func (s *Store) Approve(ctx context.Context, id int64, n int) error {
	a, err := idcards.Require(ctx, idcards.PermOverride)
	if err != nil {
		return err
	}
	if n < 1 || n > 10_000 {
		return idcards.Errorf(idcards.Invalid, "count %d: approve between 1 and 10,000 more", n)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var actor string
		var approved sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT actor, approved_at FROM approvals WHERE id = ?`, id).Scan(&actor, &approved)
		if errors.Is(err, sql.ErrNoRows) {
			return idcards.Errorf(idcards.NotFound, "no approval request %d", id)
		}
		if err != nil {
			return err
		}
		if approved.Valid {
			return idcards.Errorf(idcards.Conflict, "request %d was already approved", id)
		}
		if actor == a.Name {
			return idcards.Errorf(idcards.Forbidden, "%s may not approve their own request", a.Name)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE approvals SET approved_by = ?, approved_at = ?, grant_count = ? WHERE id = ?`, a.Name, s.now(), n, id); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, a.Name, "approval.grant", actor, fmt.Sprintf("request=%d count=%d", id, n))
	})
}
