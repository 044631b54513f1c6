package registry

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/idcards/idcards"
)

// CopyReport is what a copy between registries moved and checked.
type CopyReport struct {
	From      string           `json:"from"`
	To        string           `json:"to"`
	Tables    map[string]int64 `json:"tables"` // rows copied, per table; equal on both sides
	AuditRows int64            `json:"audit_rows"`
	AuditHead string           `json:"audit_head"` // the last audit row's hash, the same on both sides
}

// copySkipped are tables a copy leaves out: each engine's own bookkeeping,
// and the mirrors' change feed, which the copy's own inserts refill in the
// target (a mirror of the target starts from a full read anyway).
var copySkipped = map[string]bool{
	"schema_migrations": true, "sqlite_sequence": true,
	"verify_changes": true, "verify_changes_floor": true,
	// Notes of changed rows not yet folded into an audit row (auditstate.go):
	// the copy's own inserts note every row; the copied audit rows already
	// hold their digests, so the notes are cleared before commit.
	"audit_pending": true,
}

// refilled are tables that triggers fill as the copy inserts rows; they are
// copied last, after the triggers' rows are removed.
var refilled = map[string]bool{"match_pending": true}

// MigrateTo copies this registry into the registry at to — typically a
// SQLite registry moving up to PostgreSQL (`idcards migrate --to URL`). The
// target gets the schema if it has none and must hold no rows; every table
// is copied from one read snapshot of s in one transaction on the target;
// then the row counts of both sides are compared and the audit chain is
// verified on both sides (the target's head must be the source's). Stop
// the desks first: what they write after the snapshot is not copied.
//
// The target continues the same keyed audit chain, so it takes the source's
// chain key: it is written to opt's key path (DefaultKeyPath(to) unless
// given; for a URL, in the user's config directory), and every desk of the
// target needs a copy of it (docs/deploy.md).
func (s *Store) MigrateTo(ctx context.Context, to string, opt Options) (CopyReport, error) {
	if _, err := idcards.Require(ctx, idcards.PermBackup); err != nil {
		return CopyReport{}, err
	}
	if s.key == nil {
		return CopyReport{}, errNoChainKey
	}
	var dst *Store
	var err error
	if IsPostgresURL(to) {
		dst, err = openPG(ctx, to, true, opt, s.key)
	} else {
		dst, err = createEmptySQLite(ctx, to, s.key)
	}
	if err != nil {
		return CopyReport{}, err
	}
	defer dst.Close()
	// The key first: a machine without a config directory yet, or a key
	// file in the way, fails here with the target still empty (a re-run
	// finds the same key in place and goes on).
	if err := installKey(s.key, opt.keyPath(to), false, s.Now()); err != nil {
		return CopyReport{}, err
	}
	r, err := copyRegistry(ctx, s, dst, true)
	if err != nil {
		return r, err
	}
	a, _ := idcards.ActorFrom(ctx)
	detail := fmt.Sprintf("from=%s audit_rows=%d audit_head=%s", s.Path(), r.AuditRows, r.AuditHead)
	err = dst.tx(ctx, func(tx *sql.Tx) error {
		return dst.insertAudit(ctx, tx, actorName(a), "registry.migrate", dst.Path(), detail)
	})
	if err != nil {
		return r, err
	}
	// The source is retired: a desk left running on it would issue the
	// numbers the new registry issues next.
	to = dst.Path()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		return s.setSetting(ctx, tx, actorName(a), MovedToSetting, to)
	})
	if err != nil {
		return r, fmt.Errorf("registry: migrate: the copy is complete, but this registry could not be marked as moved (stop every desk on it): %w", err)
	}
	return r, nil
}

// createEmptySQLite makes a new SQLite file with the schema and no rows,
// whose audit rows (copied in) are keyed with key.
func createEmptySQLite(ctx context.Context, path string, key *ChainKey) (*Store, error) {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if os.IsExist(err) {
			return nil, idcards.Errorf(idcards.Conflict, "%s already exists; refusing to overwrite it", path)
		}
		return nil, fmt.Errorf("registry: copy: %w", err)
	}
	fh.Close()
	return open(ctx, path, Options{KeyPath: DefaultKeyPath(path)}, key)
}

// tables lists the registry's tables that a copy moves.
func (s *Store) tables(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if s.dialect.postgres() {
		query = `SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()`
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if !copySkipped[n] {
			out = append(out, n)
		}
	}
	// Trigger-filled tables last (copyRegistry empties them first).
	sort.SliceStable(out, func(i, j int) bool {
		if refilled[out[i]] != refilled[out[j]] {
			return !refilled[out[i]]
		}
		return out[i] < out[j]
	})
	return out, rows.Err()
}

// copyRegistry copies every table of src into dst (which must be empty).
// With verify, the audit chain is verified on both sides afterwards (a
// backup's export leaves that to CheckFile, which may accept rows changed
// behind the program's back: BackupOptions.KeepUnexplained).
func copyRegistry(ctx context.Context, src, dst *Store, verify bool) (CopyReport, error) {
	conn, err := src.db.Conn(ctx)
	if err != nil {
		return CopyReport{From: src.Path(), To: dst.Path()}, fmt.Errorf("registry: copy %s to %s: %w", src.Path(), dst.Path(), Unreachable(err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, src.dialect.beginRead); err != nil {
		return CopyReport{From: src.Path(), To: dst.Path()}, fmt.Errorf("registry: copy %s to %s: %w", src.Path(), dst.Path(), Unreachable(err))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	r, err := copyFrom(ctx, src, conn, dst)
	if err != nil || !verify {
		return r, err
	}
	// The audit chain on both sides, and the same head.
	if _, err := src.VerifyAudit(ctx); err != nil {
		return r, fmt.Errorf("registry: copy: the source's audit chain: %w", err)
	}
	n, err := dst.VerifyAudit(ctx)
	if err != nil {
		return r, fmt.Errorf("registry: copy: the target's audit chain: %w", err)
	}
	var head string
	if n > 0 {
		if err := dst.db.QueryRowContext(ctx, qAuditHead).Scan(new(int64), &head); err != nil {
			return r, fmt.Errorf("registry: copy %s to %s: %w", r.From, r.To, Unreachable(err))
		}
	}
	if n != r.AuditRows || head != r.AuditHead {
		return r, idcards.Errorf(idcards.Internal, "copy: the target's audit chain ends at row %d (%s), the copy's at %d (%s)", n, head, r.AuditRows, r.AuditHead)
	}
	return r, nil
}

// copyFrom copies every table of src, read through from (one snapshot: a
// read transaction, or a write transaction holding the registry's lock),
// into the empty registry dst in one transaction on it, and compares the
// row counts of both sides.
func copyFrom(ctx context.Context, src *Store, from queryer, dst *Store) (CopyReport, error) {
	r := CopyReport{From: src.Path(), To: dst.Path(), Tables: map[string]int64{}}
	fail := func(err error) (CopyReport, error) {
		return r, fmt.Errorf("registry: copy %s to %s: %w", r.From, r.To, Unreachable(err))
	}
	srcTables, err := src.tables(ctx, from)
	if err != nil {
		return fail(err)
	}
	dstTables, err := dst.tables(ctx, dst.db)
	if err != nil {
		return fail(err)
	}
	have := map[string]bool{}
	for _, t := range dstTables {
		var n int64
		if err := dst.db.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			return fail(err)
		}
		// Opening a registry records a setting or two (name_fold); a
		// target that holds nothing else is empty, and gets the source's.
		if n > 0 && t != "settings" {
			return r, idcards.Errorf(idcards.Conflict, "the target %s is not empty (table %s has %d rows): copy only into a new, empty registry", r.To, t, n)
		}
		have[t] = true
	}
	for _, t := range srcTables {
		if !have[t] {
			return r, idcards.Errorf(idcards.Internal, "the target %s has no table %s: its schema is older or newer than the source's", r.To, t)
		}
	}
	tx, err := dst.beginWriteTx(ctx)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := fillTx(ctx, from, srcTables, dst.dialect, tx, &r, false); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	// Counts on both sides: the source's in its snapshot, the target's now.
	for _, t := range srcTables {
		var a, b int64
		if err := from.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&a); err != nil {
			return fail(err)
		}
		if err := dst.db.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&b); err != nil {
			return fail(err)
		}
		if a != r.Tables[t] || b != r.Tables[t] {
			return r, idcards.Errorf(idcards.Internal, "copy: table %s: %d rows in the source, %d copied, %d in the target", t, a, r.Tables[t], b)
		}
	}
	return r, nil
}

// fillTx copies the rows of tables, read through from, into tx on an
// emptied registry of dialect d, recording the counts (and the audit head)
// in r. On PostgreSQL the identity columns continue after the copied ids;
// with neverBack (a restore over a live registry) never below where they
// were, so an id the replaced registry used is not used again.
func fillTx(ctx context.Context, from queryer, tables []string, d *dialect, tx *sql.Tx, r *CopyReport, neverBack bool) error {
	// Rows go in primary-key order, which a self-reference (a patient
	// merged into a later one, a card replaced by a later one) may not
	// follow: the foreign keys are checked at commit.
	deferFK := `PRAGMA defer_foreign_keys = ON`
	if d.postgres() {
		deferFK = `SET CONSTRAINTS ALL DEFERRED`
	}
	if _, err := tx.ExecContext(ctx, deferFK); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM settings`); err != nil {
		return err
	}
	for _, t := range tables {
		if refilled[t] {
			// Filled by the target's own triggers as rows are copied in
			// (match_pending): emptied, then given the source's rows.
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
				return err
			}
		}
		n, last, err := copyTable(ctx, from, tx, t)
		if err != nil {
			return fmt.Errorf("table %s: %w", t, err)
		}
		r.Tables[t] = n
		if t == "audit" {
			r.AuditRows, r.AuditHead = n, last
		}
	}
	if d.postgres() {
		if err := pgContinueIdentities(ctx, tx, r.Tables, neverBack); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM audit_pending`)
	return err
}

// copyTable copies one table's rows in primary-key order, in multi-row
// INSERTs. It returns the row count and, for audit, the last row's hash.
func copyTable(ctx context.Context, from queryer, to *sql.Tx, table string) (int64, string, error) {
	rows, err := from.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY 1`)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, "", err
	}
	hashCol := -1
	for i, c := range cols {
		if table == "audit" && c == "hash" {
			hashCol = i
		}
	}
	per := max(1, min(500, 30000/len(cols)))
	head := `INSERT INTO ` + table + `(` + strings.Join(cols, ", ") + `)`
	var (
		batch   []any
		nInRows int
		total   int64
		last    string
		stmts   = map[int]*sql.Stmt{}
	)
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	flush := func() error {
		if nInRows == 0 {
			return nil
		}
		st, ok := stmts[nInRows]
		if !ok {
			var err error
			if st, err = to.PrepareContext(ctx, multiRowInsert(head, len(cols), nInRows)); err != nil {
				return err
			}
			stmts[nInRows] = st
		}
		if _, err := st.ExecContext(ctx, batch...); err != nil {
			return err
		}
		batch, nInRows = batch[:0], 0
		return nil
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return total, last, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok { // TEXT read as bytes by some drivers
				v = string(b)
			}
			if i == hashCol {
				last, _ = v.(string)
			}
			batch = append(batch, v)
		}
		nInRows++
		total++
		if nInRows == per {
			if err := flush(); err != nil {
				return total, last, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return total, last, err
	}
	return total, last, flush()
}

// exportSQLite writes s, as of one snapshot, into a new SQLite registry
// file at path: a backup of a PostgreSQL registry is a registry file like
// any other (the same checks, encryption and restore apply).
func (s *Store) exportSQLite(ctx context.Context, path string) error {
	dst, err := createEmptySQLite(ctx, path, s.key)
	if err != nil {
		return err
	}
	defer dst.Close()
	_, err = copyRegistry(ctx, s, dst, false)
	return err
}
