package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
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

// ExportAudit streams the rows f selects to fn, like EachAudit, and records
// the export in the trail (audit.export, with the filters and the rows
// written; also one that stopped half-way): the trail holds patient
// details (patient.edit rows), so taking it away is audited like
// patients export.
func (s *Store) ExportAudit(ctx context.Context, f AuditFilter, fn func(idcards.AuditEvent) error) (n int, err error) {
	if _, err := idcards.Require(ctx, idcards.PermReadAudit); err != nil {
		return 0, err
	}
	defer func() {
		detail := fmt.Sprintf("rows=%d", n)
		if !f.Since.IsZero() {
			detail += " since=" + f.Since.UTC().Format(TimeFormat)
		}
		for _, kv := range [][2]string{{"actor", f.Actor}, {"action", f.Action}, {"subject", f.Subject}} {
			if kv[1] != "" {
				detail += " " + kv[0] + "=" + strconv.Quote(kv[1])
			}
		}
		if f.Limit > 0 {
			detail += fmt.Sprintf(" limit=%d", f.Limit)
		}
		if err != nil {
			detail += " incomplete=true"
		}
		if aerr := s.Audit(context.WithoutCancel(ctx), "audit.export", "", detail); aerr != nil && err == nil {
			err = aerr
		}
	}()
	err = s.EachAudit(ctx, f, func(e idcards.AuditEvent) error {
		if err := fn(e); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// ShortHead formats a head as SEQ-HASH16 (see AuditHead).
func ShortHead(seq int64, hash string) string {
	if len(hash) > 16 {
		hash = hash[:16]
	}
	return fmt.Sprintf("%d-%s", seq, hash)
}

// AuditHead is the trail's last row as SEQ-HASH16: short enough to write
// down or send elsewhere, and checked by AuditHeadMatches. It needs
// PermReadAudit.
func (s *Store) AuditHead(ctx context.Context) (string, error) {
	if _, err := idcards.Require(ctx, idcards.PermReadAudit); err != nil {
		return "", err
	}
	var seq int64
	var hash string
	if err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash); err != nil {
		return "", fmt.Errorf("registry: audit head: %w", err)
	}
	return ShortHead(seq, hash), nil
}

// AuditHeadMatches reports whether a kept head (SEQ-HASHPREFIX of at least
// 12 hex digits, or a full hash as older versions printed) names a row
// still in the trail, and which.
func (s *Store) AuditHeadMatches(ctx context.Context, head string) (int64, bool, error) {
	head = strings.ToLower(strings.TrimSpace(head))
	if seqS, prefix, ok := strings.Cut(head, "-"); ok {
		seq, err := strconv.ParseInt(seqS, 10, 64)
		if err != nil || len(prefix) < 12 {
			return 0, false, idcards.Errorf(idcards.Invalid, "--head %q: want SEQ-HASH as `idcards audit head` prints it (at least 12 hex digits)", head)
		}
		var hash string
		err = s.db.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = ?`, seq).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return seq, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		return seq, strings.HasPrefix(hash, prefix), nil
	}
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM audit WHERE hash = ?`, head).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return seq, err == nil, err
}
