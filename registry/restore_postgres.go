package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcards/idcards"
)

// Restore on PostgreSQL. The backup file gets every check a file restore
// gives it (Restore into a private scratch file: checksum, decryption,
// integrity, the keyed audit chain, every row's state), then its tables are
// copied into the database. Never twice holds as on SQLite:
//
//   - into a database that holds this registry (--force), the copy is made
//     inside one write transaction holding the registry's writer lock
//     (pgWriteLock), which every desk's write waits on: the high-water mark
//     of every series and the idgen pool are read from the registry being
//     replaced under that lock, a copy of it is exported to a local
//     registry file first, the tables are emptied and refilled, the series
//     move up to their marks, and the restore is audited — all committed
//     together or not at all;
//   - into an empty database (the server and its data were lost), nothing
//     says what was issued after the backup: every series jumps SkipAhead
//     numbers, free pool numbers are withdrawn and, when OpenMRS sync is
//     configured, issuing waits for a pull, as for a lost SQLite file.

// restorePG is Restore for a postgres:// target.
func restorePG(ctx context.Context, backup string, opt RestoreOptions) (BackupReport, error) {
	to, keyPath := opt.To, opt.KeyPath
	if keyPath == "" {
		keyPath = DefaultKeyPath(to)
	}
	occupied, liveID, err := pgHoldsRegistry(ctx, to, opt.DB)
	if err != nil {
		return BackupReport{}, fmt.Errorf("registry: restore: %w", err)
	}
	var live *Store
	if occupied {
		if !opt.Force {
			return BackupReport{}, idcards.Errorf(idcards.Conflict, "restore: a registry already exists in database %s: pass --force to copy the backup into it under its write lock (desks may keep running; the replaced registry is exported to a local file first), or restore into a new, empty database", RedactURL(to))
		}
		if opt.NewKey {
			return BackupReport{}, idcards.Errorf(idcards.Invalid, "restore: --new-key is for a lost key; the registry in %s has one (%s)", RedactURL(to), DefaultKeyPath(to))
		}
		// The replaced registry's own key (to open it and key its kept
		// copy): the one named, or the one at its default place.
		var key *ChainKey
		for _, p := range []string{keyPath, DefaultKeyPath(to)} {
			if k, err := ReadChainKey(p); err == nil && (liveID == "" || k.Registry == liveID) {
				key = k
				break
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return BackupReport{}, err
			}
		}
		if key == nil {
			return BackupReport{}, idcards.Errorf(idcards.NotFound, "restore: the audit chain key of the registry in %s is not at %s: copy it there from the desk that created the registry, or name it with --audit-key", RedactURL(to), DefaultKeyPath(to))
		}
		if live, err = openPG(ctx, to, false, opt.DB, key); err != nil {
			return BackupReport{}, fmt.Errorf("registry: restore: %w", err)
		}
		defer live.Close()
		var on string
		live.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'cli_sign_in'`).Scan(&on)
		if on == "on" && opt.Actor.Role != idcards.RoleAdmin {
			return BackupReport{}, idcards.Errorf(idcards.Forbidden, "restore: sign-in is on for the registry in %s: restoring needs an admin (--user ADMIN)", RedactURL(to))
		}
	}
	// The plain scratch copy lives in the user's private data directory,
	// in a directory named after this process: one left by a killed
	// restore is removed by the next (cleanStale), never left in /tmp.
	home, err := pgLocalDir()
	if err != nil {
		return BackupReport{}, err
	}
	dir, err := privateDir(home)
	if err != nil {
		return BackupReport{}, err
	}
	defer os.RemoveAll(dir)
	// The scratch restore: every check. Into an empty database its
	// skip-ahead is the restore's (nothing to read marks from); over a
	// live registry none (the marks come from it, under the lock).
	scratch := opt
	scratch.To, scratch.Force = filepath.Join(dir, "registry.db"), false
	scratch.KeyPath, scratch.InstallKey, scratch.stagedFor = keyPath, false, to
	if occupied {
		scratch.SkipAhead = -1
		scratch.liveID, scratch.liveTo = liveID, to
	}
	r, err := Restore(ctx, backup, scratch)
	if err != nil {
		return r, err
	}
	// Into an empty database, the scratch restore's report is the
	// restore's (its skip-ahead); over a live registry this one is.
	rep := r.Restore
	if rep == nil || occupied {
		rep = &RestoreReport{NewKey: opt.NewKey}
	}
	if !occupied && opt.NewKey {
		// Restore wrote the new key into the scratch directory's
		// default place; it goes with the database.
		keyPath = DefaultKeyPath(scratch.To)
	}
	key, err := ReadChainKey(keyPath)
	if err != nil {
		return r, fmt.Errorf("registry: restore: the chain key: %w", err)
	}
	src, err := OpenWith(ctx, scratch.To, Options{KeyPath: keyPath})
	if err != nil {
		return r, fmt.Errorf("registry: restore: nothing was restored to %s: the checked copy of %s does not open: %w", RedactURL(to), backup, err)
	}
	defer src.Close()
	detail := fmt.Sprintf("from=%s encrypted=%t backup_audit_rows=%d", filepath.Base(backup), r.Encrypted, r.AuditRows)
	if occupied {
		// The replaced registry is exported to a private directory
		// beside its final name and renamed there once whole (before the
		// commit): a killed restore leaves no half-written copy.
		var keep, kdir string
		if keep, err = pgKeptPath(to, opt); err == nil {
			kdir, err = privateDir(filepath.Dir(keep))
		}
		if err == nil {
			defer os.RemoveAll(kdir)
			err = restorePGLive(ctx, src, live, key, opt, rep, filepath.Join(kdir, "kept.db"), keep, detail)
		}
	} else {
		var dst *Store
		if dst, err = openPG(ctx, to, true, opt.DB, key); err != nil {
			return r, err
		}
		defer dst.Close()
		if _, err = copyRegistry(ctx, src, dst, true); err == nil {
			err = dst.tx(ctx, func(tx *sql.Tx) error {
				return dst.insertAudit(ctx, tx, actorName(opt.Actor), "backup.restore", dst.Path(), detail+" "+rep.detail())
			})
		}
	}
	if err != nil {
		return r, fmt.Errorf("registry: restore: %s into %s: %w", backup, RedactURL(to), err)
	}
	// The key goes where the desks look for it: always for a new
	// database; over a live one as a file restore does (not when it is
	// deliberately kept elsewhere, --audit-key without installing).
	if !occupied || opt.InstallKey || opt.NewKey || opt.KeyPath == "" {
		if err := installKey(key, DefaultKeyPath(to), opt.InstallKey || opt.NewKey, opt.Now()); err != nil {
			return r, err
		}
	}
	// Checked as the desks will open it: under the restored chain's key.
	after, err := openPG(ctx, to, false, opt.DB, key)
	if err != nil {
		return r, fmt.Errorf("registry: restore: open the restored registry: %w", err)
	}
	defer after.Close()
	v, err := after.VerifyAuditDetail(ctx)
	if err != nil && !acceptUnexplained(err, opt.AcceptUnexplained, &r) {
		return r, fmt.Errorf("registry: restore: the audit trail after restore: %w", err)
	}
	r.Path, r.AuditRows, r.AuditHead, r.KeyID, r.StateRows = after.Path(), v.Rows, v.Head, v.KeyID, v.StateRows
	// The counts of the registry as restored (the restore's own audit row
	// included).
	for t := range r.Counts {
		var n int64
		if err := after.db.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&n); err == nil {
			r.Counts[t] = n
		}
	}
	r.Restore = rep
	return r, nil
}

// pgHoldsRegistry reports whether the database at loc holds a registry
// (anything beyond the settings opening an empty one records), and its
// identity.
func pgHoldsRegistry(ctx context.Context, loc string, oc Options) (bool, string, error) {
	cfg, err := pgConfig(loc, oc)
	if err != nil {
		return false, "", err
	}
	db := openPostgres(cfg)
	defer db.Close()
	has, others, err := pgProbe(ctx, db)
	if err != nil {
		return false, "", Unreachable(err)
	}
	if !has {
		// Empty: the restore fills it. Another program's tables (a
		// "series" of its own, say): refused, nothing changed.
		return false, "", pgNotRegistry(RedactURL(loc), others, true)
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM series) + (SELECT count(*) FROM audit)`).Scan(&n); err != nil {
		return false, "", Unreachable(err)
	}
	var id string
	db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'registry_id'`).Scan(&id)
	return n > 0, id, nil
}

// pgKeptPath is where a restore over a PostgreSQL registry exports the
// registry it replaces: opt.Keep, or a file in the user's data directory
// ($XDG_DATA_HOME/idcards, else ~/.local/share/idcards), mode 0600 in a
// 0700 directory. It holds patient data in the clear, like the registry.
func pgKeptPath(loc string, opt RestoreOptions) (string, error) {
	if opt.Keep != "" {
		if _, err := os.Lstat(opt.Keep); err == nil {
			return "", idcards.Errorf(idcards.Conflict, "restore: --keep %s already exists; name a new file", opt.Keep)
		}
		return opt.Keep, nil
	}
	dir, err := pgLocalDir()
	if err != nil {
		return "", err
	}
	return keptName(filepath.Join(dir, pgLocalName(loc)+".db"), opt.Now()), nil
}

// pgLocalDir is the user's private idcards data directory
// ($XDG_DATA_HOME/idcards, else ~/.local/share/idcards; mode 0700).
func pgLocalDir() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", idcards.Errorf(idcards.Invalid, "restore: no home directory for the restore's private files: set XDG_DATA_HOME")
		}
		dir = filepath.Join(home, ".local", "share")
	}
	dir = filepath.Join(dir, "idcards")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("registry: restore: %w", err)
	}
	return dir, nil
}

// privateDir makes a private directory for this process's plain copies in
// parent, first removing those of processes that are gone.
func privateDir(parent string) (string, error) {
	cleanStale(parent)
	dir, err := os.MkdirTemp(parent, privatePrefix+"restore-"+fmt.Sprint(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("registry: restore: %w", err)
	}
	return dir, nil
}

// restorePGLive copies the checked scratch registry src into the live
// PostgreSQL registry dst inside one write transaction (see the top of this
// file).
func restorePGLive(ctx context.Context, src, dst *Store, key *ChainKey, opt RestoreOptions, rep *RestoreReport, staged, keep, detail string) error {
	rep.Live = true
	cr := CopyReport{From: src.Path(), To: dst.Path(), Tables: map[string]int64{}} // the rows copied, per table (fillTx)
	conn, err := src.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, src.dialect.beginRead); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	srcTables, err := src.tables(ctx, conn)
	if err != nil {
		return err
	}
	tx, err := dst.beginWriteTx(ctx)
	if err != nil {
		return Unreachable(err)
	}
	defer tx.Rollback()
	// The backup must be of this registry.
	var liveID, backupID string
	tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'registry_id'`).Scan(&liveID)
	conn.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'registry_id'`).Scan(&backupID)
	if !opt.OtherRegistry && liveID != "" && backupID != "" && liveID != backupID {
		return idcards.Errorf(idcards.Conflict, "restore: the backup is of another registry (%s) than the one in %s (%s): pass --other-registry if that is what you mean", backupID, dst.Path(), liveID)
	}
	dstTables, err := dst.tables(ctx, tx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, t := range dstTables {
		have[t] = true
	}
	for _, t := range srcTables {
		if !have[t] {
			return idcards.Errorf(idcards.Internal, "restore: %s has no table %s: its schema is older or newer than this program's", dst.Path(), t)
		}
	}
	// What the registry being replaced knows, under the lock.
	marks, err := seriesMarks(ctx, tx)
	if err != nil {
		return err
	}
	defs, err := readSeriesDefs(ctx, tx, `SELECT prefix, width, scheme, created_at FROM series ORDER BY id`)
	if err != nil {
		return err
	}
	pool, err := livePool(ctx, tx, "id_pool")
	if err != nil {
		return err
	}
	foreign := liveID != "" && backupID != "" && liveID != backupID
	var sec *securityState // carried over unless another registry's (restore_accounts.go)
	if !foreign {
		if sec, err = readSecurity(ctx, tx, ""); err != nil {
			return err
		}
	}
	inBackup := map[string]bool{}
	var rows *sql.Rows
	if rows, err = conn.QueryContext(ctx, `SELECT mrn FROM identifiers`); err != nil {
		return err
	}
	for rows.Next() {
		var m string
		rows.Scan(&m)
		inBackup[m] = true
	}
	rows.Close()
	if rows, err = tx.QueryContext(ctx, `SELECT mrn FROM identifiers`); err != nil {
		return err
	}
	for rows.Next() {
		var m string
		rows.Scan(&m)
		if !inBackup[m] {
			rep.LostIDs++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if foreign {
		// Another registry's IDs: not lost from this one (restore.go).
		rep.OtherRegistryIDs, rep.LostIDs = rep.LostIDs, 0
	}
	// The copy of the registry as replaced, every desk's last write
	// included: exported through this transaction.
	err = exportThrough(ctx, dst, tx, staged)
	if err == nil {
		err = os.Rename(staged, keep)
	}
	if err != nil {
		return fmt.Errorf("nothing was replaced: a copy of the registry in %s could not be kept at %s before replacing it (%w): free space there or name another file with --keep", dst.Path(), keep, osReason(err))
	}
	syncDir(filepath.Dir(keep))
	rep.Kept = keep
	fail := func(err error) error {
		os.Remove(keep)
		rep.Kept = ""
		if pgCode(err) == "42501" {
			return idcards.Errorf(idcards.Forbidden, "restore: this role may not empty the registry's tables (%v): restore over a PostgreSQL registry as the database owner (the role that ran idcards init)", err)
		}
		return Unreachable(err)
	}
	// Empty and refill. TRUNCATE fires no row triggers; the refill's
	// inserts note their rows (audit_pending, match_pending,
	// verify_changes), which fillTx and the feed reset below clear.
	var trunc []string
	for _, t := range dstTables {
		if !copySkipped[t] {
			trunc = append(trunc, quoteIdent(t))
		}
	}
	trunc = append(trunc, "audit_pending")
	if _, err := tx.ExecContext(ctx, `TRUNCATE `+strings.Join(trunc, ", ")); err != nil {
		return fail(err)
	}
	if err := fillTx(ctx, conn, srcTables, dst.dialect, tx, &cr, true); err != nil {
		return fail(err)
	}
	// Running mirrors (idcards serve on any machine) see a gap in the
	// feed and rebuild from the restored registry.
	if _, err := tx.ExecContext(ctx, `DELETE FROM verify_changes`); err != nil {
		return fail(err)
	}
	var floor int64
	if err := tx.QueryRowContext(ctx, `SELECT last FROM verify_changes_floor WHERE one = 1`).Scan(&floor); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO verify_changes(seq, mrn) VALUES (?, NULL)`, floor+2); err != nil {
		return fail(err)
	}
	// Never backwards: the replaced registry's marks, its series the
	// backup lacks, its pool.
	lostAt := opt.Now().UTC().Format(TimeFormat)
	if liveID != "" && backupID != "" && liveID != backupID {
		lostAt = "" // another registry's numbers
	}
	if err := applyMarksTx(ctx, tx, marks, rep, lostAt); err != nil {
		return fail(err)
	}
	if liveID != "" && backupID != "" && liveID != backupID {
		// --other-registry: the replaced registry's marks say nothing of
		// what the backup's issued after the backup (restore.go).
		rep.OtherRegistry, rep.Marks = true, nil
		if err := skipAheadTx(ctx, tx, opt.SkipAhead, rep, opt.Now().UTC().Format(TimeFormat)); err != nil {
			return fail(err)
		}
	}
	restored := map[string]bool{}
	if rows, err = tx.QueryContext(ctx, `SELECT prefix FROM series`); err != nil {
		return fail(err)
	}
	for rows.Next() {
		var p string
		rows.Scan(&p)
		restored[p] = true
	}
	rows.Close()
	for _, d := range defs {
		if restored[d.prefix] {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO series(prefix, width, scheme, next_seq, is_current, created_at) VALUES (?,?,?,?,0,?)`, d.prefix, d.width, d.scheme, marks[d.prefix], d.created); err != nil {
			return fail(err)
		}
	}
	if rep.PoolKept, err = carryPool(ctx, tx, pool); err != nil {
		return fail(err)
	}
	// Audited through the transaction alone: preparing a statement on
	// another connection would wait on the TRUNCATE's locks.
	// The restored chain is the backup's, continued under its key.
	bare := &Store{Now: opt.Now, key: key, hasPending: true, dialect: dst.dialect}
	var plan []carryChange
	if sec != nil {
		if plan, err = planCarry(ctx, tx, sec, rep, bare.now()); err != nil {
			return fail(err)
		}
	} else {
		rep.AccountsAsOfBackup = true
	}
	if err := bare.auditTx(ctx, tx, actorName(opt.Actor), "backup.restore", dst.Path(), detail+" "+rep.detail()); err != nil {
		return fail(err)
	}
	if err := applyCarry(ctx, tx, bare, actorName(opt.Actor), plan); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// exportThrough writes the registry s as q sees it (a transaction holding
// the writer lock) to a new SQLite registry file at path.
func exportThrough(ctx context.Context, s *Store, q queryer, path string) error {
	dst, err := createEmptySQLite(ctx, path, s.key)
	if err != nil {
		return err
	}
	defer dst.Close()
	_, err = copyFrom(ctx, s, q, dst)
	return err
}

// pgContinueIdentities sets each identity column's sequence after the
// copied values (tables with rows copied, counts); with neverBack it never
// moves one down.
func pgContinueIdentities(ctx context.Context, tx *sql.Tx, counts map[string]int64, neverBack bool) error {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	type idSeq struct{ table, col, seq string }
	var seqs []idSeq
	for rows.Next() {
		var s idSeq
		if err := rows.Scan(&s.table, &s.col, &s.seq); err != nil {
			rows.Close()
			return err
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range seqs {
		if counts[s.table] == 0 {
			continue
		}
		top := `(SELECT max(` + quoteIdent(s.col) + `) FROM ` + quoteIdent(s.table) + `)`
		if neverBack {
			top = `greatest(` + top + `, (SELECT last_value FROM ` + s.seq + `))`
		}
		if _, err := tx.ExecContext(ctx, `SELECT setval(?, `+top+`)`, s.seq); err != nil {
			return err
		}
	}
	return nil
}
