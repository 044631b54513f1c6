package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/idcards/idcards"
	sqlite3 "modernc.org/sqlite/lib"
)

// ageMagic starts every age-encrypted file.
const ageMagic = "age-encryption.org/v1\n"

// BackupOptions says where a backup goes and how it is protected.
type BackupOptions struct {
	// Out is the backup file; it must not exist yet. A checksum file
	// Out+".sha256" (sha256sum format) is written next to it.
	Out string
	// KeepUnexplained keeps a backup of a registry in which verify names
	// rows changed behind the program's back (evidence, and backups must go
	// on); the report counts them, and restoring it needs the same consent.
	// Any other failed check still refuses.
	KeepUnexplained bool
	// Recipients, when set, encrypt the backup with age (an X25519 public
	// key, or a passphrase via age.NewScryptRecipient). The plain copy
	// exists only in a private temporary directory next to Out and is
	// removed before Backup returns.
	Recipients []age.Recipient
}

// BackupReport is what a backup or restore holds, after its checks passed.
type BackupReport struct {
	Path      string           `json:"path"`
	Bytes     int64            `json:"bytes"`
	SHA256    string           `json:"sha256"` // of the file as written (encrypted or not)
	Encrypted bool             `json:"encrypted"`
	Integrity string           `json:"integrity"` // PRAGMA integrity_check: "ok"
	AuditRows int64            `json:"audit_rows"`
	AuditHead string           `json:"audit_head"` // hash of the last audit row
	Counts    map[string]int64 `json:"counts"`
	Schema    []string         `json:"schema_migrations"`
	// RegistryID is the identity of the registry the file holds ("" for a
	// registry from before identities); FirstHash is its first audit
	// row's hash (its creation), the same in every backup of it.
	RegistryID string `json:"registry_id,omitempty"`
	FirstHash  string `json:"first_hash,omitempty"`
	// KeyID is the chain key the trail is keyed with; NotChecked counts
	// keyed rows that could not be checked because that key was not given.
	KeyID      string `json:"key_id,omitempty"`
	NotChecked int64  `json:"audit_rows_not_key_checked,omitempty"`
	StateRows  int64  `json:"state_rows_checked"` // protected rows whose state matched the trail
	// Unexplained counts rows whose state no audit row explains, kept only
	// with KeepUnexplained / AcceptUnexplained.
	Unexplained int `json:"unexplained_rows,omitempty"`
	// Restore only: what was done so no number is handed out twice.
	Restore *RestoreReport `json:"restore,omitempty"`
}

// countedTables are reported by a backup so a person can see at a glance
// that it holds what they expect (and scan_log, when there is one).
var countedTables = []string{"patients", "identifiers", "cards", "users", "audit", "outbox"}

// Backup takes a consistent online copy of the registry with VACUUM INTO:
// one read transaction, so desks keep issuing IDs meanwhile (WAL readers
// do not block the writer) and the copy is the registry as of one commit.
// The copy is checked before it is kept (integrity_check, the audit hash
// chain, row counts), optionally encrypted, checksummed, and the backup
// itself is audited in the live registry. Needs PermBackup.
func (s *Store) Backup(ctx context.Context, opt BackupOptions) (BackupReport, error) {
	a, err := idcards.Require(ctx, idcards.PermBackup)
	if err != nil {
		return BackupReport{}, err
	}
	if opt.Out == "" {
		return BackupReport{}, idcards.Errorf(idcards.Invalid, "backup: no output file")
	}
	for _, p := range []string{opt.Out, opt.Out + ".sha256"} {
		if _, err := os.Lstat(p); err == nil {
			return BackupReport{}, idcards.Errorf(idcards.Conflict, "backup: %s already exists; refusing to overwrite it", p)
		}
	}
	// The plain copy is made in a private directory next to the registry,
	// never next to Out (a removable medium is what encryption is for),
	// and removed on every way out; one left by a killed backup is removed
	// by the next backup or restore (cleanStale).
	base := filepath.Dir(s.path)
	if s.dialect.postgres() {
		// A URL has no directory: the user's private data directory
		// (not /tmp, often a small tmpfs shared by every user).
		var err error
		if base, err = pgLocalDir(); err != nil {
			return BackupReport{}, err
		}
	}
	cleanStale(base)
	dir, err := os.MkdirTemp(base, privatePrefix+"backup-"+fmt.Sprint(os.Getpid())+"-")
	if err != nil {
		return BackupReport{}, fmt.Errorf("registry: backup: %w", err)
	}
	defer os.RemoveAll(dir)
	plain := filepath.Join(dir, "registry.db")
	if s.dialect.postgres() {
		if err := s.exportSQLite(ctx, plain); err != nil { // copy.go
			return BackupReport{}, fmt.Errorf("registry: backup: %w", err)
		}
	} else if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, plain); err != nil {
		return BackupReport{}, fmt.Errorf("registry: backup: vacuum into: %w", err)
	}
	if err := os.Chmod(plain, 0o600); err != nil { // VACUUM INTO honours the umask only
		return BackupReport{}, fmt.Errorf("registry: backup: %w", err)
	}
	// Checked under its name for the user (the copy of this registry),
	// not the private directory's.
	r, err := checkFileKey(ctx, plain, "the copy of "+s.Path(), s.key)
	if err != nil && !acceptUnexplained(err, opt.KeepUnexplained, &r) {
		return r, fmt.Errorf("registry: backup: nothing was written to %s: %w (run `idcards audit verify` on the registry)", opt.Out, err)
	}
	if err := writeOut(plain, opt.Out, opt.Recipients); err != nil {
		return r, err
	}
	r.Path, r.Encrypted = opt.Out, len(opt.Recipients) > 0
	if r.SHA256, r.Bytes, err = fileSHA256(opt.Out); err != nil {
		return r, err
	}
	sum := r.SHA256 + "  " + filepath.Base(opt.Out) + "\n"
	if err := WriteNewFile(opt.Out+".sha256", []byte(sum)); err != nil {
		os.Remove(opt.Out)
		return r, fmt.Errorf("registry: backup: checksum: %w", err)
	}
	detail := fmt.Sprintf("sha256=%s bytes=%d encrypted=%t audit_rows=%d audit_head=%s", r.SHA256, r.Bytes, r.Encrypted, r.AuditRows, r.AuditHead)
	if r.Unexplained > 0 {
		detail += fmt.Sprintf(" unexplained_rows=%d", r.Unexplained)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error { return s.insertAudit(ctx, tx, a.Name, "backup.create", opt.Out, detail) })
	return r, err
}

// writeOut moves (or encrypts) the checked plain copy to out, created with
// mode 0600 and O_EXCL, and fsyncs it.
func writeOut(plain, out string, recipients []age.Recipient) error {
	if len(recipients) == 0 {
		if err := os.Link(plain, out); err == nil {
			return syncFile(out)
		}
	}
	src, err := os.Open(plain)
	if err != nil {
		return fmt.Errorf("registry: backup: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("registry: backup: %w", err)
	}
	var w io.WriteCloser = dst
	if len(recipients) > 0 {
		if w, err = age.Encrypt(dst, recipients...); err != nil {
			dst.Close()
			os.Remove(out)
			return fmt.Errorf("registry: backup: encrypt: %w", err)
		}
	}
	_, err = io.Copy(w, src)
	if err == nil && w != io.WriteCloser(dst) {
		err = w.Close()
	}
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("registry: backup: write %s: %w", out, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// CheckFile opens a registry file read-only and checks it the way a backup
// and a restore do: PRAGMA integrity_check is "ok", the audit hash chain
// verifies from the first row to the last, and the expected tables are
// there. It returns what the file holds. It needs no permission: it reads
// a file the caller could already read.
func CheckFile(ctx context.Context, path string) (BackupReport, error) {
	return CheckFileKey(ctx, path, nil)
}

// CheckFileKey is CheckFile with the registry's chain key: the keyed rows'
// hashes are checked too (without it only their links are), and the
// state of every protected row is compared with the trail.
func CheckFileKey(ctx context.Context, path string, key *ChainKey) (BackupReport, error) {
	return checkFileKey(ctx, path, path, key)
}

// checkStep is the step of a file check that failed, so that the caller
// can say what to do about it (restoreCheckFailed).
type checkStep int

const (
	stepOpen      checkStep = iota + 1 // not a SQLite file (or not readable)
	stepIntegrity                      // integrity_check failed: the file is damaged
	stepSchema                         // a SQLite file, but not an idcards registry
	stepTrail                          // the audit chain or a row's state
)

// checkError is a failed file check: the step, and the error (which keeps
// its kind, and a *StateError for acceptUnexplained).
type checkError struct {
	step checkStep
	err  error
}

func (e *checkError) Error() string { return e.err.Error() }
func (e *checkError) Unwrap() error { return e.err }

// checkFileKey is CheckFileKey for a file that messages call name: a
// backup's or restore's private copy is named by what the user knows (the
// backup file they gave, the registry being backed up), never by its
// scratch path.
func checkFileKey(ctx context.Context, path, name string, key *ChainKey) (BackupReport, error) {
	fail := func(step checkStep, err error) error { return &checkError{step: step, err: err} }
	r := BackupReport{Path: path, Counts: map[string]int64{}}
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		// SQLite reads an empty file as an empty database.
		return r, fail(stepOpen, idcards.Errorf(idcards.Invalid, "%s is empty", name))
	}
	v := url.Values{}
	v.Set("mode", "ro")
	v.Add("_pragma", "busy_timeout(15000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return r, fail(stepOpen, idcards.Errorf(idcards.Invalid, "%s cannot be opened: %v", name, err))
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&r.Integrity); err != nil {
		step := stepOpen
		if sqliteCode(err) == sqlite3.SQLITE_CORRUPT {
			step = stepIntegrity // a SQLite file, damaged (cut short, bad pages)
		}
		return r, fail(step, idcards.Errorf(idcards.Invalid, "%s is not a readable SQLite registry: %v", name, err))
	}
	if r.Integrity != "ok" {
		return r, fail(stepIntegrity, idcards.Errorf(idcards.Invalid, "%s failed integrity_check: %s", name, r.Integrity))
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return r, fail(stepSchema, idcards.Errorf(idcards.Invalid, "%s is not an idcards registry (no schema_migrations): %v", name, err))
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		r.Schema = append(r.Schema, n)
	}
	rows.Close()
	for _, t := range countedTables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			return r, fail(stepSchema, idcards.Errorf(idcards.Invalid, "%s: table %s: %v", name, t, err))
		}
		r.Counts[t] = n
	}
	// The scan log (migration 0009) is counted when the file has one: a
	// backup taken before it existed must still restore.
	var hasScanLog int
	db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'scan_log'`).Scan(&hasScanLog)
	if hasScanLog > 0 {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM scan_log`).Scan(&n); err != nil {
			return r, fail(stepSchema, idcards.Errorf(idcards.Invalid, "%s: table scan_log: %v", name, err))
		}
		r.Counts["scan_log"] = n
	}
	db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'registry_id'`).Scan(&r.RegistryID)
	db.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = 1`).Scan(&r.FirstHash)
	ro := &Store{db: db, path: path, Now: time.Now, key: key, dialect: sqliteDialect}
	av, err := ro.VerifyAuditDetail(ctx)
	r.AuditRows, r.KeyID, r.NotChecked, r.StateRows, r.AuditHead = av.Rows, av.KeyID, av.NotChecked, av.StateRows, av.Head
	if err != nil {
		return r, fail(stepTrail, &idcards.Error{Kind: idcards.Invalid, Msg: name, Err: err})
	}
	return r, nil
}

// checkSumFile verifies backup against backup+".sha256" when that exists;
// to is the registry being restored, for the messages.
func checkSumFile(backup, to string) (bool, error) {
	b, err := os.ReadFile(backup + ".sha256")
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("registry: restore: cannot read the checksum file of %s (%w): nothing was restored to %s", backup, err, to)
	}
	want, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	got, _, err := fileSHA256(backup)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, idcards.Errorf(idcards.NotFound, "restore: no backup file %s: check the path (nothing was restored to %s)", backup, to)
		}
		return false, fmt.Errorf("registry: restore: cannot read the backup %s (%w): nothing was restored to %s", backup, osReason(err), to)
	}
	if !strings.EqualFold(want, got) {
		return false, idcards.Errorf(idcards.Invalid, "restore: %s does not match its checksum file (sha256 %s, expected %s): the file is damaged or was changed; nothing was restored to %s: copy it again from where it was kept, or restore an older backup", backup, got, want, to)
	}
	return true, nil
}

// acceptUnexplained reports whether err is only a *StateError and the
// caller consented to it; it records the count in r.
func acceptUnexplained(err error, consent bool, r *BackupReport) bool {
	var se *StateError
	if !consent || !errors.As(err, &se) || len(se.Triggers) > 0 {
		return false
	}
	r.Unexplained = len(se.Findings)
	return true
}
