package registry

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcards/idcards"
)

// restoreLive copies the checked, migrated backup at tmp into the registry
// at opt.To inside one write transaction on it. SQLite's lock is the lock
// every idcards process respects: writers in other processes wait on their
// busy timeout (or fail cleanly with "database is locked" when the copy
// takes longer), readers see the registry before or after, never between,
// and no file is renamed under anyone. Inside the transaction:
//   - the high-water mark of every series is read from the registry being
//     replaced (nothing can be issued meanwhile: the lock is held);
//   - every table is emptied and refilled from the backup, triggers off;
//   - every restored series moves up to its mark (series added after the
//     backup are carried over), and the IDs issued after the backup are
//     counted;
//   - the verify_changes feed is bumped, so a running `idcards serve`
//     rebuilds its in-memory mirror;
//   - the restore is audited, with its state digests, under the chain key.
//
// A copy of the replaced registry is kept first, under the same lock.
func restoreLive(ctx context.Context, backup, tmp string, key *ChainKey, opt RestoreOptions, rep *RestoreReport, detail string) error {
	rep.Live = true
	db, err := sql.Open("sqlite", dsn(opt.To))
	if err != nil {
		return fmt.Errorf("registry: restore: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("registry: restore: %w", err)
	}
	defer conn.Close()
	// The copy of the replaced registry is written in the restore's
	// private directory and renamed to its name beside the registry once
	// it is whole (before the commit: a restore killed after its commit
	// still leaves it). A restore killed while writing it leaves no
	// half-written copy under a name that says "kept" (cleanStale removes
	// the directory).
	kept := keptName(opt.To, opt.Now())
	staged := filepath.Join(filepath.Dir(tmp), "kept.db")
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS r`, "file:"+tmp+"?mode=ro"); err != nil {
		return fmt.Errorf("registry: restore: nothing was replaced: the checked copy of %s could not be read into %s: %w", backup, opt.To, osReason(err))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE r`)
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (the DSN's _txlock)
	if err != nil {
		return idcards.Errorf(idcards.Unavailable, "restore: the registry at %s stayed busy: %v", opt.To, err)
	}
	// The copy of the replaced registry is taken under the lock, with
	// SQLite's backup API reading through this connection: it is the
	// registry exactly as replaced, every desk's last write included.
	err = keepCopy(ctx, tx, staged)
	if err == nil {
		err = os.Rename(staged, kept)
	}
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("registry: restore: nothing was replaced: a copy of the registry %s could not be kept before replacing it (%w): free space next to it, then restore again", opt.To, osReason(err))
	}
	syncDir(filepath.Dir(kept))
	rep.Kept = kept
	err = copyInto(ctx, tx, key, opt, rep, detail)
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if err != nil {
		os.Remove(kept)
		rep.Kept = ""
		return fmt.Errorf("registry: restore: copying %s into the registry %s failed, nothing was replaced: %w", backup, opt.To, err)
	}
	return nil
}

// copyInto does restoreLive's work inside its transaction.
func copyInto(ctx context.Context, tx *sql.Tx, key *ChainKey, opt RestoreOptions, rep *RestoreReport, detail string) error {
	marks, err := seriesMarks(ctx, tx)
	if err != nil {
		return err
	}
	// The series rows of the replaced registry, for series the backup
	// does not have.
	defs, err := readSeriesDefs(ctx, tx, `SELECT prefix, width, scheme, created_at FROM main.series WHERE prefix NOT IN (SELECT prefix FROM r.series)`)
	if err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM main.identifiers WHERE mrn NOT IN (SELECT mrn FROM r.identifiers)`).Scan(&rep.LostIDs); err != nil {
		return err
	}
	if opt.foreign {
		// Another registry's IDs: not lost from this one (restore.go).
		rep.OtherRegistryIDs, rep.LostIDs = rep.LostIDs, 0
	}
	pool, err := livePool(ctx, tx, "main.id_pool")
	if err != nil {
		return err
	}
	// Accounts and tokens as the replaced registry has them: what changed
	// there after the backup is carried over (restore_accounts.go); not
	// from another registry, whose accounts are not this one's.
	var live *securityState
	if !opt.foreign {
		if live, err = readSecurity(ctx, tx, "main."); err != nil {
			return err
		}
	}
	var feed int64
	tx.QueryRowContext(ctx, `SELECT max(coalesce((SELECT seq FROM main.sqlite_sequence WHERE name = 'verify_changes'), 0), coalesce((SELECT seq FROM r.sqlite_sequence WHERE name = 'verify_changes'), 0))`).Scan(&feed)
	// Triggers off: the copy is not a change to record, it is the
	// backup's own recorded state.
	type trig struct{ name, sql string }
	var trigs []trig
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var t trig
		if err := rows.Scan(&t.name, &t.sql); err != nil {
			rows.Close()
			return err
		}
		trigs = append(trigs, t)
	}
	rows.Close()
	for _, t := range trigs {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER main.`+quoteIdent(t.name)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return err
	}
	var tables []string
	rows, err = tx.QueryContext(ctx, `SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, t := range tables {
		cols, err := tableColumns(ctx, tx, t)
		if err != nil {
			return err
		}
		q := make([]string, len(cols))
		for i, c := range cols {
			q[i] = quoteIdent(c)
		}
		list := strings.Join(q, ", ")
		if _, err := tx.ExecContext(ctx, `DELETE FROM main.`+quoteIdent(t)); err != nil {
			return fmt.Errorf("empty %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO main.`+quoteIdent(t)+`(`+list+`) SELECT `+list+` FROM r.`+quoteIdent(t)); err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM main.sqlite_sequence`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO main.sqlite_sequence(name, seq) SELECT name, seq FROM r.sqlite_sequence`); err != nil {
		return err
	}
	for _, t := range trigs {
		if _, err := tx.ExecContext(ctx, t.sql); err != nil {
			return fmt.Errorf("recreate trigger %s: %w", t.name, err)
		}
	}
	// A running mirror (idcards serve) sees a gap in the feed and rebuilds.
	if _, err := tx.ExecContext(ctx, `DELETE FROM verify_changes`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO verify_changes(seq, mrn) VALUES (?, NULL)`, feed+2); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_pending`); err != nil {
		return err
	}
	// Never backwards: the marks of the replaced registry; when that was
	// another registry, a jump as for a lost disk as well (restore.go).
	lostAt := opt.Now().UTC().Format(TimeFormat)
	if opt.foreign {
		lostAt = "" // another registry's numbers
	}
	if err := applyMarksTx(ctx, tx, marks, rep, lostAt); err != nil {
		return err
	}
	if opt.foreign {
		rep.OtherRegistry, rep.Marks = true, nil
		if err := skipAheadTx(ctx, tx, opt.SkipAhead, rep, opt.Now().UTC().Format(TimeFormat)); err != nil {
			return err
		}
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO series(prefix, width, scheme, next_seq, is_current, created_at) VALUES (?,?,?,?,0,?)`, d.prefix, d.width, d.scheme, marks[d.prefix], d.created); err != nil {
			return err
		}
	}
	if rep.PoolKept, err = carryPool(ctx, tx, pool); err != nil {
		return err
	}
	s := &Store{Now: opt.Now, key: key, hasPending: true}
	var plan []carryChange
	if live != nil {
		if plan, err = planCarry(ctx, tx, live, rep, s.now()); err != nil {
			return err
		}
	} else {
		rep.AccountsAsOfBackup = true
	}
	if err := s.auditTx(ctx, tx, actorName(opt.Actor), "backup.restore", opt.To, detail+" "+rep.detail()); err != nil {
		return err
	}
	return applyCarry(ctx, tx, s, actorName(opt.Actor), plan)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// keepCopy writes the main database as conn sees it inside tx (the write
// lock held) to path (mode 0600, O_EXCL), page by page through the
// sqlite_dbpage table: the online backup API refuses a source in a write
// transaction, and VACUUM INTO cannot run inside one. The copy is the
// registry exactly as replaced, every desk's last write included.
func keepCopy(ctx context.Context, tx *sql.Tx, path string) error {
	var pageSize int64
	if err := tx.QueryRowContext(ctx, `PRAGMA main.page_size`).Scan(&pageSize); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT pgno, data FROM sqlite_dbpage('main') ORDER BY pgno`)
	if err != nil {
		f.Close()
		return err
	}
	for rows.Next() {
		var pgno int64
		var data []byte
		if err = rows.Scan(&pgno, &data); err != nil {
			break
		}
		if pgno == 1 && len(data) > 19 {
			// Header bytes 18-19 say WAL (2); the copy stands alone as
			// a rollback-journal file (1) until someone opens it in WAL.
			data[18], data[19] = 1, 1
		}
		if _, err = f.WriteAt(data, (pgno-1)*pageSize); err != nil {
			break
		}
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// seriesDef is a series as a restore re-creates it.
type seriesDef struct {
	prefix, scheme, created string
	width                   int
}

// readSeriesDefs reads the series query selects (prefix, width, scheme,
// created_at).
func readSeriesDefs(ctx context.Context, q queryer, query string) ([]seriesDef, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var defs []seriesDef
	for rows.Next() {
		var d seriesDef
		if err := rows.Scan(&d.prefix, &d.width, &d.scheme, &d.created); err != nil {
			return nil, err
		}
		defs = append(defs, d)
	}
	return defs, rows.Err()
}
