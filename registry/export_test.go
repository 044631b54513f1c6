package registry

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
)

// AuditHashForTest lets tests forge a row the way a careful attacker would.
func AuditHashForTest(e idcards.AuditEvent, at string) string { return auditHash(e, at) }

// DowngradeForTest writes to dst a copy of the registry at src as a
// version before chain keys would have left it: no 0013a migration, no
// state column, no triggers, every audit row a plain SHA-256 chain.
func DowngradeForTest(ctx context.Context, src, dst string) error {
	s, err := Open(ctx, src)
	if err != nil {
		if s, err = OpenWith(ctx, src, Options{KeyPath: src + ".nokey"}); err != nil {
			return err
		}
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		s.Close()
		return err
	}
	s.Close()
	db, err := sql.Open("sqlite", dsn(dst))
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{
		`DELETE FROM audit WHERE action IN ('registry.migrate', 'audit.baseline', 'audit.state')`,
		`DELETE FROM settings WHERE key = 'registry_id'`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_state_%'`)
	if err != nil {
		return err
	}
	var trigs []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		trigs = append(trigs, n)
	}
	rows.Close()
	for _, t := range trigs {
		if _, err := db.ExecContext(ctx, `DROP TRIGGER `+t); err != nil {
			return err
		}
	}
	for _, q := range []string{`DROP TABLE audit_pending`, `DROP TABLE signin_throttle`, `ALTER TABLE audit DROP COLUMN state`,
		`DELETE FROM schema_migrations WHERE name = '0013a_audit_state.sql'`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	// Renumber and rechain as plain SHA-256, the old way.
	type row struct {
		e  idcards.AuditEvent
		at string
	}
	var all []row
	r2, err := db.QueryContext(ctx, `SELECT seq, at, actor, action, subject, detail FROM audit ORDER BY seq`)
	if err != nil {
		return err
	}
	for r2.Next() {
		var x row
		r2.Scan(&x.e.Seq, &x.at, &x.e.Actor, &x.e.Action, &x.e.Subject, &x.e.Detail)
		all = append(all, x)
	}
	r2.Close()
	if _, err := db.ExecContext(ctx, `DELETE FROM audit`); err != nil {
		return err
	}
	prev := genesisHash
	for i, x := range all {
		e := x.e
		e.Seq = int64(i + 1)
		if e.Seq == 1 {
			e.Detail = strings.Fields(e.Detail)[0] + " " + strings.Fields(e.Detail)[1] // scheme= width=
		}
		e.PrevHash = prev
		e.Hash = auditHash(e, x.at)
		if _, err := db.ExecContext(ctx, `INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)`,
			e.Seq, x.at, e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash); err != nil {
			return err
		}
		prev = e.Hash
	}
	return nil
}
