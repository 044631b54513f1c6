package registry

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/idcards/idcards"
)

// DefaultSkipAhead is how far every series jumps when a backup is restored
// with no readable registry to take the high-water marks from (the disk was
// lost): numbers issued after the backup was taken are unknown, and a
// number already printed on a card must never be handed out again. 10,000
// is months of registrations at a busy clinic; pass more when more may
// have been issued since the backup.
const DefaultSkipAhead = 10_000

// PullRequiredSetting is set by a restore that could not read the
// registry it replaced while OpenMRS sync is configured: no ID is issued
// until `idcards sync --once` has pulled OpenMRS's identifiers (and
// cleared it with ClearPullRequired).
const PullRequiredSetting = "sync_pull_required"

// RestoreOptions says how to read a backup and where to put it.
type RestoreOptions struct {
	// To is the registry path to restore into. It must not exist unless
	// Force is set; with Force an existing registry is kept beside it as
	// To+".before-restore-<time>".
	To    string
	Force bool
	// Identities decrypt an age-encrypted backup (X25519 key or
	// age.NewScryptIdentity for a passphrase).
	Identities []age.Identity
	// Actor is recorded in the restored registry's audit trail. When the
	// registry being replaced is readable and has cli_sign_in on, it must
	// be an admin signed in to that registry.
	Actor idcards.Actor
	// Now stamps the kept file's name; nil means time.Now.
	Now func() time.Time
	// KeyPath is the registry's audit chain key; "" means
	// DefaultKeyPath(To).
	KeyPath string
	// InstallKey copies the key from KeyPath to DefaultKeyPath(To) (mode
	// 0600), where the restored registry will look for it: for a key put
	// back from its own backup after a lost disk. Leave it false when the
	// key is deliberately kept elsewhere ($IDCARDS_AUDIT_KEY).
	InstallKey bool
	// NewKey starts a new chain key when the registry's key is lost: the
	// backup's keyed rows are then checked for their links only, and the
	// restore row anchors the trail under the new key.
	NewKey bool
	// AcceptUnexplained restores a backup in which some rows' state no
	// audit row explains (one taken with KeepUnexplained): they stay
	// named by every verify.
	AcceptUnexplained bool
	// OtherRegistry accepts a backup of a different registry than the one
	// being replaced (or than the key's).
	OtherRegistry bool
	// foreign: the registry replaced is another registry (set by Restore).
	foreign bool
	// SkipAhead is how far every series jumps when the registry being
	// replaced is missing, unreadable or another registry's; 0 means DefaultSkipAhead, a
	// negative value means none (a scratch restore to look at a backup).
	SkipAhead int64
	// DB opens a PostgreSQL target (To is a postgres:// URL): its password
	// file (restore_postgres.go).
	DB Options
	// Keep is where a restore over a PostgreSQL registry exports the
	// registry it replaces; "" means a file in the user's data directory
	// (pgKeptPath). A SQLite registry is kept beside itself.
	Keep string

	// liveID is the identity of the PostgreSQL registry a restore
	// replaces, for the scratch restore that checks the backup first
	// (restore_postgres.go): a backup of another registry is named so.
	liveID, liveTo string
	// stagedFor names the PostgreSQL target of a scratch restore in its
	// audit row (rather than the private temporary file).
	stagedFor string
}

// SeriesMark is what a restore did to one series.
type SeriesMark struct {
	Prefix string `json:"prefix"`
	From   int64  `json:"next_from"` // the backup's next number
	To     int64  `json:"next_to"`   // after the restore
}

// RestoreReport says how a restore kept numbers from being issued twice.
type RestoreReport struct {
	// Live: the backup was copied into the running registry in one SQLite
	// write transaction (other desks waited on the lock); otherwise the
	// file was installed.
	Live bool `json:"live"`
	// Kept is the copy of the replaced registry.
	Kept string `json:"kept,omitempty"`
	// Marks: per series, the backup's next number and the one after the
	// restore (the replaced registry's high-water mark, or the backup's
	// plus SkipAhead).
	Marks     []SeriesMark `json:"series"`
	SkipAhead int64        `json:"skip_ahead,omitempty"`
	// LostIDs were issued in the replaced registry after the backup was
	// taken: they are not in the restored one, and their numbers are not
	// issued again.
	LostIDs int64 `json:"lost_ids"`
	// OtherRegistryIDs (--other-registry, instead of LostIDs): the IDs
	// the replaced registry held that the restored one does not. They are
	// that other registry's, not issued after this one's backup: verify
	// answers "never issued by this registry" for them (no id_gaps row),
	// their patients are in the kept copy (to register again here, with
	// new IDs), and their numbers are not issued here (every series moved
	// past the replaced registry's marks, then skipped ahead).
	OtherRegistryIDs int64 `json:"other_registry_ids,omitempty"`
	// PoolKept: idgen pool numbers (pool.go) issued or withdrawn in the
	// replaced registry, or fetched after the backup, carried into the
	// restored pool so none is handed out again. PoolWithdrawn: free pool
	// numbers withdrawn because the replaced registry could not be read
	// (any of them may have been issued after the backup).
	PoolKept      int64 `json:"pool_kept,omitempty"`
	PoolWithdrawn int64 `json:"pool_withdrawn,omitempty"`
	PullRequired  bool  `json:"sync_pull_required,omitempty"`
	NewKey        bool  `json:"new_key,omitempty"`
	// OtherRegistry: the registry replaced was another registry than the
	// backup's, so its marks said nothing of the backup's: SkipAhead
	// applied as for a lost disk.
	OtherRegistry bool `json:"other_registry,omitempty"`
	// Carried: security state the replaced registry changed after the
	// backup, carried into the restored one (restore_accounts.go), each
	// audited (restore.carry): tokens revoked, accounts disabled, newer
	// passwords, lowered roles, lock-outs.
	Carried []string `json:"carried,omitempty"`
	// NotRestored: what the replaced registry had that the restored one
	// does not (accounts and tokens created after the backup, an account
	// enabled or a role raised since): for IT to redo if still wanted.
	NotRestored []string `json:"not_restored,omitempty"`
	// AccountsAsOfBackup: the replaced registry could not be read (or was
	// another registry): accounts, passwords and tokens are as of the
	// backup. Revoke, disable or change again what changed since.
	AccountsAsOfBackup bool `json:"accounts_as_of_backup,omitempty"`
}

// Restore checks a backup file and installs it as a registry, never moving
// a series backwards: the checksum file next to it (when present) must
// match, an encrypted backup is decrypted, and the copy must pass
// CheckFileKey (integrity, the keyed audit chain, the state of every
// protected row) before anything is replaced.
//
// When the registry at To is readable, the backup is copied into it inside
// one SQLite write transaction (BEGIN IMMEDIATE): every idcards process
// waits on that lock, so no write is lost in a swap and no reader sees half
// a registry; inside it the high-water mark of every series is read from
// the registry being replaced and the restored series are moved up to it.
// A copy of the replaced registry is kept first. When To is missing or
// unreadable (the disk was lost), the file is installed and every series
// jumps SkipAhead numbers; when OpenMRS sync is configured, issuing is
// blocked until a pull (PullRequiredSetting). Either way the restore is
// audited in the restored registry, with what it did.
func Restore(ctx context.Context, backup string, opt RestoreOptions) (BackupReport, error) {
	if opt.To == "" {
		return BackupReport{}, idcards.Errorf(idcards.Invalid, "restore: no target path")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if IsPostgresURL(opt.To) {
		return restorePG(ctx, backup, opt) // copy.go
	}
	keyPath := opt.KeyPath
	if keyPath == "" {
		keyPath = DefaultKeyPath(opt.To)
	}
	_, statErr := os.Lstat(opt.To)
	exists := statErr == nil
	if exists && !opt.Force {
		return BackupReport{}, idcards.Errorf(idcards.Conflict, "restore: %s already exists; restore into a new path, or pass --force to replace it (the old file is kept)", opt.To)
	}
	// The registry being replaced, read first: who may restore, which
	// registry it is, and its high-water marks.
	var old *oldRegistry
	if exists {
		o, err := readOld(ctx, opt.To)
		if err == nil {
			old = o
		}
	}
	if old != nil && old.signIn && opt.Actor.Role != idcards.RoleAdmin {
		return BackupReport{}, idcards.Errorf(idcards.Forbidden, "restore: sign-in is on for the registry at %s: restoring needs an admin (--user ADMIN)", opt.To)
	}
	sumOK, err := checkSumFile(backup, opt.target())
	if err != nil {
		return BackupReport{}, err
	}
	if err := os.MkdirAll(filepath.Dir(opt.To), 0o700); err != nil {
		return BackupReport{}, fmt.Errorf("registry: restore: the directory of %s: %w", opt.target(), err)
	}
	cleanStale(filepath.Dir(opt.To))
	dir, err := os.MkdirTemp(filepath.Dir(opt.To), privatePrefix+"restore-"+fmt.Sprint(os.Getpid())+"-")
	if err != nil {
		return BackupReport{}, fmt.Errorf("registry: restore: nothing was restored to %s: cannot make a private directory for the checked copy of %s next to it (%w): check that directory's permissions and free space", opt.target(), backup, osReason(err))
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "registry.db")
	encrypted, err := copyBackup(backup, tmp, opt)
	if err != nil {
		return BackupReport{}, err
	}
	// The key: the registry's own, or a new one when it is lost.
	key, err := ReadChainKey(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !opt.NewKey:
		return BackupReport{}, idcards.Errorf(idcards.NotFound, "restore: the audit chain key is not at %s: put the key file back from where it was backed up (it is kept apart from the registry) or name it with --audit-key; if it is lost for good, --new-key starts a new one", keyPath)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return BackupReport{}, err
	}
	if opt.NewKey {
		key = nil
	}
	// Identity first: the backup must be of the registry it replaces (or
	// of the key's registry when nothing readable is replaced).
	bid, bfirst := peekIdentity(ctx, tmp)
	if !opt.OtherRegistry {
		switch {
		case old != nil && old.id != "" && bid != "" && old.id != bid,
			old != nil && old.firstHash != "" && bfirst != "" && old.firstHash != bfirst:
			return BackupReport{}, idcards.Errorf(idcards.Conflict, "restore: %s is a backup of another registry (%s) than the one at %s (%s): pass --other-registry if that is what you mean", backup, orUnknown(bid), opt.To, orUnknown(old.id))
		case old == nil && opt.liveID != "" && bid != "" && opt.liveID != bid:
			return BackupReport{}, idcards.Errorf(idcards.Conflict, "restore: %s is a backup of another registry (%s) than the one in %s (%s): pass --other-registry if that is what you mean", backup, bid, RedactURL(opt.liveTo), opt.liveID)
		case old == nil && key != nil && bid != "" && key.Registry != bid:
			return BackupReport{}, idcards.Errorf(idcards.Conflict, "restore: %s is a backup of registry %s, but the chain key at %s is of registry %s: pass --other-registry (with that registry's key, or --new-key) if that is what you mean", backup, bid, keyPath, key.Registry)
		}
	}
	// A registry being replaced that is another registry than the
	// backup's (--other-registry: often one just created on the machine
	// that replaces a lost disk) says nothing of what the backup's
	// registry issued after the backup: its marks are kept, and every
	// series also jumps ahead as for a lost disk.
	foreign := old != nil && ((old.id != "" && bid != "" && old.id != bid) || (old.firstHash != "" && bfirst != "" && old.firstHash != bfirst))
	if key != nil && bid != "" && key.Registry != bid {
		return BackupReport{}, idcards.Errorf(idcards.Conflict, "restore: the chain key at %s is of registry %s, not of the backup's (%s): name that registry's key with --audit-key, or pass --new-key", keyPath, key.Registry, bid)
	}
	// The checks name the backup the user gave, never the private copy.
	r, err := checkFileKey(ctx, tmp, "the backup "+backup, key)
	if err != nil && !acceptUnexplained(err, opt.AcceptUnexplained, &r) {
		return r, restoreCheckFailed(backup, keyPath, opt, err)
	}
	unexplained := r.Unexplained
	// Bring the copy to this program's schema, under the key it will have.
	ts, err := openForRestore(ctx, tmp, key, opt.NewKey)
	if err != nil {
		return r, fmt.Errorf("registry: restore: nothing was restored to %s: the backup %s could not be brought to this program's schema: %w", opt.target(), backup, err)
	}
	key = ts.key
	rep := &RestoreReport{NewKey: opt.NewKey}
	if opt.NewKey {
		if err := ts.replaceKeyAnchor(ctx, opt.Actor, r.KeyID); err != nil {
			ts.Close()
			return r, fmt.Errorf("registry: restore: nothing was restored to %s: the checked copy of %s: %w", opt.target(), backup, err)
		}
	}
	detail := fmt.Sprintf("from=%s checksum_file=%t encrypted=%t backup_audit_rows=%d backup_head=%s", filepath.Base(backup), sumOK, encrypted, r.AuditRows, r.AuditHead)
	if unexplained > 0 {
		detail += fmt.Sprintf(" unexplained_rows=%d", unexplained)
	}
	opt.foreign = foreign
	if old != nil && old.schemaMatches(ctx, ts) {
		ts.Close()
		if err := restoreLive(ctx, backup, tmp, key, opt, rep, detail); err != nil {
			return r, err
		}
	} else {
		// Nothing readable (or from another schema) to copy into: install
		// the file, jumping ahead where the marks are unknown.
		err = ts.tx(ctx, func(tx *sql.Tx) error {
			var err error
			if old != nil {
				lostAt := opt.Now().UTC().Format(TimeFormat)
				if foreign {
					lostAt = "" // another registry's numbers
				}
				err = applyMarksTx(ctx, tx, old.marks, rep, lostAt)
			}
			// Nothing carried over: the accounts are the backup's (a
			// scratch restore for a live PostgreSQL registry carries
			// them there, restore_postgres.go).
			rep.AccountsAsOfBackup = opt.liveID == "" && opt.liveTo == ""
			if err == nil && (old == nil || foreign) {
				if foreign {
					rep.OtherRegistry, rep.Marks = true, nil // skipAheadTx reports every series from its mark now
				}
				err = skipAheadTx(ctx, tx, opt.SkipAhead, rep, opt.Now().UTC().Format(TimeFormat))
			}
			if err != nil {
				return err
			}
			subject := opt.To
			if opt.stagedFor != "" {
				subject, detail = RedactURL(opt.stagedFor), detail+" staged=true" // checked here, copied in next
			}
			return ts.insertAudit(ctx, tx, actorName(opt.Actor), "backup.restore", subject, detail+" "+rep.detail())
		})
		ts.Close()
		if err != nil {
			return r, fmt.Errorf("registry: restore: nothing was restored to %s: preparing the checked copy of %s: %w", opt.target(), backup, err)
		}
		if exists {
			if rep.Kept, err = keepOld(ctx, opt.To, opt.Now(), old != nil); err != nil {
				return r, err
			}
		}
		if err := os.Rename(tmp, opt.To); err != nil {
			if rep.Kept != "" {
				return r, fmt.Errorf("registry: restore: the checked copy of %s could not be put at %s (%w): the replaced registry is at %s; move it back, then restore again", backup, opt.target(), osReason(err), rep.Kept)
			}
			return r, fmt.Errorf("registry: restore: nothing was restored to %s: the checked copy of %s could not be put there (%w)", opt.target(), backup, osReason(err))
		}
		syncDir(filepath.Dir(opt.To))
	}
	// The key goes where the registry will look for it.
	openKey := opt.KeyPath
	if opt.InstallKey || opt.NewKey || opt.KeyPath == "" {
		if err := installKey(key, DefaultKeyPath(opt.To), true, opt.Now()); err != nil {
			return r, err
		}
		openKey = ""
	}
	s, err := OpenWith(ctx, opt.To, Options{KeyPath: openKey})
	if err != nil {
		return r, fmt.Errorf("registry: restore: %s was restored to %s, but it does not open: %w", backup, opt.target(), err)
	}
	defer s.Close()
	v, err := s.VerifyAuditDetail(ctx)
	if err != nil && !acceptUnexplained(err, opt.AcceptUnexplained, &r) {
		return r, fmt.Errorf("registry: restore: %s was restored to %s, but its audit trail does not verify after the restore (run `idcards audit verify`): %w", backup, opt.target(), err)
	}
	r.Unexplained = max(r.Unexplained, unexplained)
	r.Path, r.Encrypted, r.AuditRows, r.AuditHead, r.KeyID, r.StateRows = opt.To, encrypted, v.Rows, v.Head, v.KeyID, v.StateRows
	r.Restore = rep
	return r, nil
}

// target is the registry a restore writes, as the user named it: for the
// scratch restore that checks a backup for a PostgreSQL registry first,
// that database, never the private file.
func (o RestoreOptions) target() string {
	if o.stagedFor != "" {
		return RedactURL(o.stagedFor)
	}
	return o.To
}

// osReason is the reason of a file operation's error without the path it
// names: the restore's private copies are named by what the user knows.
func osReason(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// restoreCheckFailed is the refusal of a backup that failed a check
// (checkFileKey, run on the private copy): it names the backup and the
// registry, and says what to do.
func restoreCheckFailed(backup, keyPath string, opt RestoreOptions, err error) error {
	hint := "restore an older backup"
	var ce *checkError
	var se *StateError
	if errors.As(err, &ce) {
		switch {
		case ce.step == stepOpen:
			hint = "it is not a registry backup: name the file `idcards backup --out` wrote (not its .sha256), or another backup"
		case ce.step == stepIntegrity:
			hint = "the backup file is damaged (a failing disk or USB stick, or a copy cut short): restore an older backup, from another medium if there is one"
		case ce.step == stepSchema:
			hint = "it is a SQLite file but not a backup of an idcards registry: name the file `idcards backup --out` wrote, or another backup"
		case errors.As(err, &se) && len(se.Triggers) == 0:
			hint = "a backup taken with `idcards backup --keep-unexplained` restores with --accept-unexplained; otherwise keep this file as evidence and restore an older backup (docs/security.md, \"When verify fails\")"
		default:
			hint = "it was changed after it was taken, or its trail is keyed with another chain key than the one at " + keyPath + " (name the registry's key with --audit-key): keep this file as evidence and restore an older backup (docs/security.md, \"When verify fails\")"
		}
	}
	return fmt.Errorf("registry: restore: nothing was restored to %s: %w; %s", opt.target(), err, hint)
}

func orUnknown(s string) string {
	if s == "" {
		return "identity unknown"
	}
	return s
}

// privatePrefix names the private directories backup and restore keep
// plain copies in, next to the registry; stale ones (their process died)
// are removed by the next backup or restore.
const privatePrefix = ".idcards-"

// cleanStale removes private directories left by a backup or restore whose
// process is gone (killed mid-way: the plain copy must not stay).
func cleanStale(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, privatePrefix) {
			continue
		}
		rest := strings.TrimPrefix(name, privatePrefix)
		var kind string
		var pid int
		var tail string
		rest = strings.Replace(rest, "-", " ", 2)
		if n, _ := fmt.Sscanf(rest, "%s %d %s", &kind, &pid, &tail); n < 2 || (kind != "backup" && kind != "restore") {
			// Old-style names (no pid): stale once an hour old.
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(filepath.Join(dir, name))
			}
			continue
		}
		if !processAlive(pid) {
			os.RemoveAll(filepath.Join(dir, name))
		}
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// copyBackup writes the backup's plain bytes to tmp (created 0600, O_EXCL),
// decrypting it when it is age-encrypted with opt.Identities. Its errors
// name the backup and the registry, not tmp.
func copyBackup(backup, tmp string, opt RestoreOptions) (bool, error) {
	ids := opt.Identities
	f, err := os.Open(backup)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, idcards.Errorf(idcards.NotFound, "restore: no backup file %s: check the path (nothing was restored to %s)", backup, opt.target())
		}
		return false, fmt.Errorf("registry: restore: cannot read the backup %s (%w): nothing was restored to %s", backup, osReason(err), opt.target())
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var src io.Reader = br
	head, _ := br.Peek(len(ageMagic))
	encrypted := bytes.Equal(head, []byte(ageMagic))
	if encrypted {
		if len(ids) == 0 {
			return true, idcards.Errorf(idcards.Invalid, "restore: %s is encrypted: give the passphrase (--passphrase-file) or the age identity file (--identity-file); nothing was restored to %s", backup, opt.target())
		}
		if src, err = age.Decrypt(br, ids...); err != nil {
			return true, idcards.Errorf(idcards.Forbidden, "restore: cannot decrypt %s (wrong passphrase or key?): %v; nothing was restored to %s", backup, err, opt.target())
		}
	}
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return encrypted, fmt.Errorf("registry: restore: nothing was restored to %s: cannot make the private copy of %s next to it (%w): check that directory's permissions and free space", opt.target(), backup, osReason(err))
	}
	_, rerr := io.Copy(writerOnly{out, &err}, src)
	werr := err // a write to the private copy (its disk is full)
	if rerr != nil && werr == nil {
		err = rerr
	}
	if err == nil {
		err = out.Sync()
		werr = err
	}
	if cerr := out.Close(); err == nil {
		err, werr = cerr, cerr
	}
	switch {
	case werr != nil:
		return encrypted, fmt.Errorf("registry: restore: nothing was restored to %s: writing the private copy of %s next to it failed (%w): free space there, then try again", opt.target(), backup, osReason(werr))
	case err != nil && encrypted:
		return encrypted, idcards.Errorf(idcards.Invalid, "restore: reading %s: %v: the encrypted backup is damaged or cut short; restore an older backup (nothing was restored to %s)", backup, osReason(err), opt.target())
	case err != nil:
		return encrypted, idcards.Errorf(idcards.Invalid, "restore: reading %s: %v (nothing was restored to %s)", backup, osReason(err), opt.target())
	}
	return encrypted, nil
}

// writerOnly records the error of a write in *err, so that a copy can tell
// a write failure (the private copy) from a read failure (the backup).
type writerOnly struct {
	w   io.Writer
	err *error
}

func (w writerOnly) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil && *w.err == nil {
		*w.err = err
	}
	return n, err
}

// oldRegistry is what a restore reads from the registry it replaces.
type oldRegistry struct {
	id, firstHash string
	signIn        bool
	marks         map[string]int64 // series prefix → first number never issued
	schema        []string
	ids           int64
}

// readOld reads the registry at path without changing it. Any error means
// it is unreadable (corrupt, or not a registry).
func readOld(ctx context.Context, path string) (*oldRegistry, error) {
	v := url.Values{}
	v.Set("mode", "ro")
	v.Add("_pragma", "busy_timeout(15000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	o := &oldRegistry{}
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		return nil, fmt.Errorf("quick_check: %v %s", err, check)
	}
	db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'registry_id'`).Scan(&o.id)
	db.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = 1`).Scan(&o.firstHash)
	var on string
	db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'cli_sign_in'`).Scan(&on)
	o.signIn = on == "on"
	if o.marks, err = seriesMarks(ctx, db); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		o.schema = append(o.schema, n)
	}
	rows.Close()
	return o, rows.Err()
}

// seriesMarks is, per series prefix, the first number the registry has
// never issued: past next_seq and past every recorded identifier.
func seriesMarks(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[string]int64, error) {
	// Portable SQL (SQLite's scalar max is PostgreSQL's greatest): the
	// larger of the two is taken here.
	rows, err := q.QueryContext(ctx, `SELECT s.prefix, s.next_seq, coalesce((SELECT max(i.seq) + 1 FROM identifiers i WHERE i.series_id = s.id), 0) FROM series s`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var p string
		var next, used int64
		if err := rows.Scan(&p, &next, &used); err != nil {
			return nil, err
		}
		m[p] = max(next, used)
	}
	return m, rows.Err()
}

func (o *oldRegistry) schemaMatches(ctx context.Context, ts *Store) bool {
	rows, err := ts.db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return false
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	return strings.Join(names, ",") == strings.Join(o.schema, ",")
}

// openForRestore opens the decrypted copy (applying this program's
// migrations) under key; with newKey a new key is made in memory and
// written out by installKey.
func openForRestore(ctx context.Context, tmp string, key *ChainKey, newKey bool) (*Store, error) {
	if newKey {
		var regID string
		if db, err := sql.Open("sqlite", "file:"+tmp+"?mode=ro"); err == nil {
			db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'registry_id'`).Scan(&regID)
			db.Close()
		}
		if regID == "" {
			regID = newRegistryID()
		}
		k, err := newChainKey(filepath.Join(filepath.Dir(tmp), "new.auditkey"), regID)
		if err != nil {
			return nil, err
		}
		key = k
	}
	s, err := open(ctx, tmp, Options{KeyPath: filepath.Join(filepath.Dir(tmp), "none.auditkey")}, key)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// replaceKeyAnchor starts a keyed stretch under the store's (new) key: the
// rows before it were keyed with oldKeyID, which is lost.
func (s *Store) replaceKeyAnchor(ctx context.Context, a idcards.Actor, oldKeyID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		detail := fmt.Sprintf("key_id=%s replaces=%s the earlier key was lost; rows keyed with it can be checked for their links only", s.key.ID(), orUnknown(oldKeyID))
		return s.insertAudit(ctx, tx, actorName(a), "audit.key_replaced", "", detail)
	})
}

// applyMarks moves every series of s up to the marks (never down), adding
// series the marks know and s does not, inside tx. With lostAt (the
// restore's time) the numbers passed over are recorded as lost (id_gaps):
// the replaced registry issued them after the backup. Empty when the
// replaced registry was another one, whose numbers are not this one's.
func applyMarksTx(ctx context.Context, tx *sql.Tx, marks map[string]int64, rep *RestoreReport, lostAt string) error {
	have, err := seriesMarks(ctx, tx)
	if err != nil {
		return err
	}
	prefixes := make([]string, 0, len(marks))
	for p := range marks {
		prefixes = append(prefixes, p)
	}
	for p := range have {
		if _, ok := marks[p]; !ok {
			prefixes = append(prefixes, p)
		}
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		from, ok := have[p]
		to := max(from, marks[p])
		if !ok {
			// A series added after the backup: kept (not current) so its
			// numbers are never issued again.
			from = 0
		}
		rep.Marks = append(rep.Marks, SeriesMark{Prefix: p, From: from, To: to})
		if ok && to == from {
			continue
		}
		if !ok {
			continue // added by restoreLive from the old registry's row
		}
		if _, err := tx.ExecContext(ctx, `UPDATE series SET next_seq = ? WHERE prefix = ?`, to, p); err != nil {
			return err
		}
		if lostAt != "" {
			if err := recordGap(ctx, tx, p, from, to, "lost", lostAt); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordGap notes numbers [from, to) of the series with prefix p as
// passed over by a restore (id_gaps), so verify can say what a card with
// one of them is, and Bind can give it back to its patient.
func recordGap(ctx context.Context, tx *sql.Tx, p string, from, to int64, kind, at string) error {
	if to <= from {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO id_gaps(prefix, from_seq, to_seq, kind, restored_at) VALUES (?,?,?,?,?)
		ON CONFLICT(prefix, from_seq) DO UPDATE SET to_seq = excluded.to_seq, kind = excluded.kind, restored_at = excluded.restored_at`, p, from, to, kind, at)
	return err
}

// skipAheadTx moves every series n numbers on (the disk was lost: how many
// were issued after the backup is unknown) and, when OpenMRS sync is
// configured, blocks issuing until a pull.
func skipAheadTx(ctx context.Context, tx *sql.Tx, n int64, rep *RestoreReport, now string) error {
	if n == 0 {
		n = DefaultSkipAhead
	}
	if n < 0 {
		n = 0
	}
	rep.SkipAhead = n
	have, err := seriesMarks(ctx, tx)
	if err != nil {
		return err
	}
	prefixes := make([]string, 0, len(have))
	for p := range have {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		rep.Marks = append(rep.Marks, SeriesMark{Prefix: p, From: have[p], To: have[p] + n})
		if n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE series SET next_seq = ? WHERE prefix = ?`, have[p]+n, p); err != nil {
			return err
		}
		if err := recordGap(ctx, tx, p, have[p], have[p]+n, "skipped", now); err != nil {
			return err
		}
	}
	if n > 0 {
		if rep.PoolWithdrawn, err = withdrawFreePool(ctx, tx, now); err != nil {
			return err
		}
	}
	var url string
	tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'openmrs_url'`).Scan(&url)
	if url != "" {
		rep.PullRequired = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, 'restore') ON CONFLICT(key) DO UPDATE SET value = excluded.value`, PullRequiredSetting); err != nil {
			return err
		}
	}
	return nil
}

// poolRow is one number of the idgen pool (pool.go).
type poolRow struct {
	identifier, source, fetched, state string
	changed, note                      sql.NullString
}

// livePool reads the idgen pool rows a restore must carry over from the
// registry being replaced (table prefix "main." on SQLite's attached
// copy, "" on PostgreSQL): every number no longer free, and every number
// fetched after the backup (it is exported from idgen for good).
func livePool(ctx context.Context, q queryer, table string) ([]poolRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT identifier, source, fetched_at, state, changed_at, note FROM `+table+` ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []poolRow
	for rows.Next() {
		var r poolRow
		if err := rows.Scan(&r.identifier, &r.source, &r.fetched, &r.state, &r.changed, &r.note); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// carryPool merges the replaced registry's pool rows into the restored
// pool inside tx: a number issued or withdrawn there is issued or
// withdrawn here (never the other way: a number is never given back), and
// a number the backup does not have is added as it was.
func carryPool(ctx context.Context, tx *sql.Tx, live []poolRow) (int64, error) {
	var n int64
	for _, r := range live {
		res, err := tx.ExecContext(ctx, `INSERT INTO id_pool(identifier, source, fetched_at, state, changed_at, note) VALUES (?,?,?,?,?,?)
			ON CONFLICT(identifier) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at, note = excluded.note
			WHERE id_pool.state = 'free' AND excluded.state <> 'free'`,
			r.identifier, r.source, r.fetched, r.state, r.changed, r.note)
		if err != nil {
			return n, fmt.Errorf("carry the idgen pool: %w", err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}

// poolRestoreNote begins the note of a pool number a restore withdrew
// (verify's poolLost reads it).
const poolRestoreNote = "restore:"

// withdrawFreePool withdraws every free pool number inside tx: the
// registry that may have issued them after the backup cannot be read.
// idgen numbers are cheap; the next refill fetches fresh ones.
func withdrawFreePool(ctx context.Context, tx *sql.Tx, now string) (int64, error) {
	var has int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM id_pool WHERE state = 'free'`).Scan(&has); err != nil || has == 0 {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE id_pool SET state = 'withdrawn', changed_at = ?, note = ? WHERE state = 'free'`,
		now, poolRestoreNote+" the replaced registry could not be read; this number may have been issued after the backup")
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (rep *RestoreReport) detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "live=%t lost_ids=%d", rep.Live, rep.LostIDs)
	if rep.SkipAhead > 0 {
		fmt.Fprintf(&b, " skip_ahead=%d", rep.SkipAhead)
	}
	if rep.OtherRegistry {
		b.WriteString(" other_registry=true")
	}
	if rep.OtherRegistryIDs > 0 {
		fmt.Fprintf(&b, " other_registry_ids=%d", rep.OtherRegistryIDs)
	}
	for _, m := range rep.Marks {
		fmt.Fprintf(&b, " series:%s=%d->%d", m.Prefix, m.From, m.To)
	}
	if rep.PoolKept > 0 {
		fmt.Fprintf(&b, " pool_kept=%d", rep.PoolKept)
	}
	if rep.PoolWithdrawn > 0 {
		fmt.Fprintf(&b, " pool_withdrawn=%d", rep.PoolWithdrawn)
	}
	if rep.PullRequired {
		b.WriteString(" sync_pull_required=true")
	}
	if len(rep.Carried) > 0 {
		fmt.Fprintf(&b, " carried=%d", len(rep.Carried))
	}
	if len(rep.NotRestored) > 0 {
		fmt.Fprintf(&b, " not_restored=%d", len(rep.NotRestored))
	}
	if rep.AccountsAsOfBackup {
		b.WriteString(" accounts_as_of_backup=true")
	}
	if rep.Kept != "" {
		fmt.Fprintf(&b, " kept=%s", filepath.Base(rep.Kept))
	}
	return b.String()
}

// installKey puts key at path when it is not there (copied from where it
// was read, or new); replace moves an existing different key aside first.
func installKey(key *ChainKey, path string, replace bool, now time.Time) error {
	if key == nil {
		return nil
	}
	if have, err := ReadChainKey(path); err == nil {
		if bytes.Equal(have.Secret, key.Secret) {
			return nil
		}
		if !replace {
			return idcards.Errorf(idcards.Conflict, "a different chain key is already at %s (another registry's, or one replaced since): move it away first if it is stale", path)
		}
		if err := os.Rename(path, keptName(path, now)); err != nil {
			return fmt.Errorf("registry: restore: %w", err)
		}
	}
	k, err := writeKeyFile(path, key)
	if err != nil {
		return err
	}
	_ = k
	return nil
}

// writeKeyFile writes key to path (0600, O_EXCL).
func writeKeyFile(path string, key *ChainKey) (*ChainKey, error) {
	b, err := os.ReadFile(key.Path)
	if err != nil {
		return nil, fmt.Errorf("registry: chain key: %w", err)
	}
	// A new machine may not have the config directory yet.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("registry: chain key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("registry: chain key: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("registry: chain key: %w", err)
	}
	return &ChainKey{Registry: key.Registry, Secret: key.Secret, Path: path}, nil
}

// keepOld moves a registry that is not copied into aside (with its
// -wal/-shm). When it is readable its WAL is checkpointed into it first,
// and it is refused while another process holds it open: renaming a file
// under a running desk would split its writes from the restored registry.
func keepOld(ctx context.Context, path string, now time.Time, readable bool) (string, error) {
	if readable {
		db, err := sql.Open("sqlite", dsn(path))
		if err != nil {
			return "", fmt.Errorf("registry: restore: %w", err)
		}
		_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		db.Close()
		if err != nil {
			return "", idcards.Errorf(idcards.Conflict, "restore: cannot checkpoint the registry at %s (%v): stop every desk first", path, err)
		}
		if _, err := os.Lstat(path + "-wal"); err == nil {
			return "", idcards.Errorf(idcards.Conflict, "restore: the registry at %s is open in another process (desk, TUI or endpoint): stop it first", path)
		}
	}
	kept := keptName(path, now)
	if err := os.Rename(path, kept); err != nil {
		return "", fmt.Errorf("registry: restore: keep %s: %w", path, err)
	}
	for _, sfx := range []string{"-wal", "-shm"} {
		if _, err := os.Lstat(path + sfx); err == nil {
			os.Rename(path+sfx, kept+sfx)
		}
	}
	return kept, nil
}

// pullRequired refuses to issue while a restore waits for an OpenMRS pull.
func pullRequired(ctx context.Context, tx *sql.Tx) error {
	var v string
	err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, PullRequiredSetting).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return idcards.Errorf(idcards.Unavailable, "no ID can be issued yet: the registry was restored from a backup without the registry it replaced, and OpenMRS may hold numbers issued since; run `idcards sync --once` first (it pulls OpenMRS's identifiers, so none is issued twice)")
}

// clearPullRequired lifts the block after a successful pull, audited.
func (s *Store) clearPullRequired(ctx context.Context, tx *sql.Tx) error {
	r, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, PullRequiredSetting)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil
	}
	a, _ := idcards.ActorFrom(ctx)
	return s.insertAudit(ctx, tx, actorName(a), "setting.unset", PullRequiredSetting, "OpenMRS identifiers pulled after the restore: issuing may resume")
}

// PullRequired reports whether issuing waits for an OpenMRS pull after a
// restore (for status lines).
func (s *Store) PullRequired(ctx context.Context) (bool, error) {
	v, err := s.Setting(ctx, PullRequiredSetting, "")
	return v != "", err
}

// peekIdentity reads a registry file's identity and first audit hash
// without checking anything ("" when it has none or is not readable).
func peekIdentity(ctx context.Context, path string) (id, first string) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return "", ""
	}
	defer db.Close()
	db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'registry_id'`).Scan(&id)
	db.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = 1`).Scan(&first)
	return id, first
}

// keptName is where a restore keeps what it replaces: path.before-restore-TIME,
// with -2, -3 … added when two restores fall in the same second, so an
// earlier copy is never overwritten.
func keptName(path string, now time.Time) string {
	base := path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}
