package registry

import (
	"bufio"
	"bytes"
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
)

// ageMagic starts every age-encrypted file.
const ageMagic = "age-encryption.org/v1\n"

// BackupOptions says where a backup goes and how it is protected.
type BackupOptions struct {
	// Out is the backup file; it must not exist yet. A checksum file
	// Out+".sha256" (sha256sum format) is written next to it.
	Out string
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
	if _, err := os.Lstat(opt.Out); err == nil {
		return BackupReport{}, idcards.Errorf(idcards.Conflict, "backup: %s already exists; refusing to overwrite it", opt.Out)
	}
	dir, err := os.MkdirTemp(filepath.Dir(opt.Out), ".idcards-backup-")
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
	r, err := CheckFile(ctx, plain)
	if err != nil {
		return r, fmt.Errorf("registry: backup: the copy failed its check: %w", err)
	}
	if err := writeOut(plain, opt.Out, opt.Recipients); err != nil {
		return r, err
	}
	r.Path, r.Encrypted = opt.Out, len(opt.Recipients) > 0
	if r.SHA256, r.Bytes, err = fileSHA256(opt.Out); err != nil {
		return r, err
	}
	sum := r.SHA256 + "  " + filepath.Base(opt.Out) + "\n"
	if err := os.WriteFile(opt.Out+".sha256", []byte(sum), 0o600); err != nil {
		return r, fmt.Errorf("registry: backup: checksum: %w", err)
	}
	detail := fmt.Sprintf("sha256=%s bytes=%d encrypted=%t audit_rows=%d audit_head=%s", r.SHA256, r.Bytes, r.Encrypted, r.AuditRows, r.AuditHead)
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
	r := BackupReport{Path: path, Counts: map[string]int64{}}
	v := url.Values{}
	v.Set("mode", "ro")
	v.Add("_pragma", "busy_timeout(15000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return r, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&r.Integrity); err != nil {
		return r, idcards.Errorf(idcards.Invalid, "%s is not a readable SQLite registry: %v", path, err)
	}
	if r.Integrity != "ok" {
		return r, idcards.Errorf(idcards.Invalid, "%s failed integrity_check: %s", path, r.Integrity)
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return r, idcards.Errorf(idcards.Invalid, "%s is not an idcards registry (no schema_migrations): %v", path, err)
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
			return r, idcards.Errorf(idcards.Invalid, "%s: table %s: %v", path, t, err)
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
			return r, idcards.Errorf(idcards.Invalid, "%s: table scan_log: %v", path, err)
		}
		r.Counts["scan_log"] = n
	}
	ro := &Store{db: db, path: path, Now: time.Now, dialect: sqliteDialect}
	if r.AuditRows, err = ro.VerifyAudit(ctx); err != nil {
		return r, &idcards.Error{Kind: idcards.Invalid, Msg: path, Err: err}
	}
	if r.AuditRows > 0 {
		db.QueryRowContext(ctx, `SELECT hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&r.AuditHead)
	}
	return r, nil
}

// RestoreOptions says how to read a backup and where to put it.
type RestoreOptions struct {
	// To is the registry path to restore into. It must not exist unless
	// Force is set; with Force an existing registry is kept beside it as
	// To+".before-restore-<time>" (stop every desk first).
	To    string
	Force bool
	// Identities decrypt an age-encrypted backup (X25519 key or
	// age.NewScryptIdentity for a passphrase).
	Identities []age.Identity
	// Actor is recorded in the restored registry's audit trail.
	Actor idcards.Actor
	// Now stamps the kept file's name; nil means time.Now.
	Now func() time.Time

	// staging: restorePG's checked copy on its way into PostgreSQL, which
	// is audited there rather than here.
	staging bool
	// Open options for a PostgreSQL target (WithPasswordFile).
	Open []Option
}

// Restore checks a backup file and installs it as a registry: the checksum
// file next to it (when present) must match, an encrypted backup is
// decrypted, and the copy must pass CheckFile before it replaces anything.
// After the rename, the restored registry is opened (applying any newer
// migrations), its audit chain is verified again and the restore is
// audited in it. Restore is a function, not a method: the registry it
// replaces is not open.
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
	if _, err := os.Lstat(opt.To); err == nil && !opt.Force {
		return BackupReport{}, idcards.Errorf(idcards.Conflict, "restore: %s already exists; restore into a new path, or stop every desk and pass --force (the old file is kept)", opt.To)
	}
	sumOK, err := checkSumFile(backup)
	if err != nil {
		return BackupReport{}, err
	}
	f, err := os.Open(backup)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return BackupReport{}, idcards.Errorf(idcards.NotFound, "restore: no backup file %s", backup)
		}
		return BackupReport{}, fmt.Errorf("registry: restore: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var src io.Reader = br
	head, _ := br.Peek(len(ageMagic))
	encrypted := bytes.Equal(head, []byte(ageMagic))
	if encrypted {
		if len(opt.Identities) == 0 {
			return BackupReport{}, idcards.Errorf(idcards.Invalid, "restore: %s is encrypted: give the passphrase or the age identity file", backup)
		}
		if src, err = age.Decrypt(br, opt.Identities...); err != nil {
			return BackupReport{}, idcards.Errorf(idcards.Forbidden, "restore: cannot decrypt %s (wrong passphrase or key?): %v", backup, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(opt.To), 0o700); err != nil {
		return BackupReport{}, fmt.Errorf("registry: restore: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(opt.To), ".idcards-restore-")
	if err != nil {
		return BackupReport{}, fmt.Errorf("registry: restore: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "registry.db")
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return BackupReport{}, fmt.Errorf("registry: restore: %w", err)
	}
	_, err = io.Copy(out, src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BackupReport{}, idcards.Errorf(idcards.Invalid, "restore: reading %s: %v", backup, err)
	}
	r, err := CheckFile(ctx, tmp)
	if err != nil {
		return r, fmt.Errorf("registry: restore: %s failed its check, nothing was replaced: %w", backup, err)
	}
	if _, err := os.Lstat(opt.To); err == nil {
		if err := keepOld(ctx, opt.To, opt.Now()); err != nil {
			return r, err
		}
	}
	if err := os.Rename(tmp, opt.To); err != nil {
		return r, fmt.Errorf("registry: restore: %w", err)
	}
	s, err := Open(ctx, opt.To)
	if err != nil {
		return r, err
	}
	defer s.Close()
	n, err := s.VerifyAudit(ctx)
	if err != nil {
		return r, fmt.Errorf("registry: restore: audit chain after restore: %w", err)
	}
	r.Path, r.Encrypted, r.AuditRows = opt.To, encrypted, n
	if opt.staging {
		return r, nil
	}
	detail := fmt.Sprintf("from=%s checksum_file=%t encrypted=%t audit_rows=%d", filepath.Base(backup), sumOK, encrypted, n)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		return s.insertAudit(ctx, tx, actorName(opt.Actor), "backup.restore", opt.To, detail)
	})
	if err == nil {
		r.AuditRows++
	}
	return r, err
}

// checkSumFile verifies backup against backup+".sha256" when that exists.
func checkSumFile(backup string) (bool, error) {
	b, err := os.ReadFile(backup + ".sha256")
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("registry: restore: %w", err)
	}
	want, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	got, _, err := fileSHA256(backup)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, idcards.Errorf(idcards.NotFound, "restore: no backup file %s", backup)
		}
		return false, fmt.Errorf("registry: restore: %w", err)
	}
	if !strings.EqualFold(want, got) {
		return false, idcards.Errorf(idcards.Invalid, "restore: %s does not match its checksum file (sha256 %s, expected %s): the file is damaged or was changed", backup, got, want)
	}
	return true, nil
}

// keepOld checkpoints an existing registry's WAL into the main file and
// renames it (with its -wal/-shm) aside, so a forced restore loses nothing.
// It refuses while another process has the registry open: the last
// connection to close a WAL database deletes the -wal file, so a -wal file
// that survives our own open-checkpoint-close means someone else (a desk,
// the TUI, the endpoint) still holds it, and renaming the file under them
// would split their writes from the restored registry.
func keepOld(ctx context.Context, path string, now time.Time) error {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return fmt.Errorf("registry: restore: %w", err)
	}
	_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	db.Close()
	if err != nil {
		return idcards.Errorf(idcards.Conflict, "restore: cannot checkpoint the registry at %s (%v): stop every desk first", path, err)
	}
	if _, err := os.Lstat(path + "-wal"); err == nil {
		return idcards.Errorf(idcards.Conflict, "restore: the registry at %s is open in another process (desk, TUI or endpoint): stop it first", path)
	}
	kept := path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, kept); err != nil {
		return fmt.Errorf("registry: restore: keep %s: %w", path, err)
	}
	for _, sfx := range []string{"-wal", "-shm"} {
		if _, err := os.Lstat(path + sfx); err == nil {
			os.Rename(path+sfx, kept+sfx)
		}
	}
	return nil
}
