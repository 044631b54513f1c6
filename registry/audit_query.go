package registry

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// AuditFilter selects audit rows; zero fields select everything.
type AuditFilter struct {
	Since   time.Time // rows at or after
	Actor   string
	Action  string // exact, or a prefix ending in '.' ("user.")
	Subject string
	Limit   int // 0 = no limit
}

// EachAudit streams matching audit rows in chain order to fn without
// holding them all in memory (exports of years of rows). Reading the audit
// trail needs PermReadAudit.
func (s *Store) EachAudit(ctx context.Context, f AuditFilter, fn func(idcards.AuditEvent) error) error {
	if _, err := idcards.Require(ctx, idcards.PermReadAudit); err != nil {
		return err
	}
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, f.Since.UTC().Format(TimeFormat))
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Subject != "" {
		where, args = append(where, "subject = ?"), append(args, f.Subject)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			where, args = append(where, "substr(action, 1, ?) = ?"), append(args, len(f.Action), f.Action)
		} else {
			where, args = append(where, "action = ?"), append(args, f.Action)
		}
	}
	q := `SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e idcards.AuditEvent
		var at string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return err
		}
		e.At = parseTime(at)
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}
