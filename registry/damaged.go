package registry

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"

	"github.com/idcards/idcards"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A registry file that cannot be used says so in words, naming the file and
// what to do, instead of the driver's "file is not a database (26)" or
// "database disk image is malformed (11)". Two cases are told apart:
//
//   - ErrNotRegistry (kind Invalid): the file is not an idcards registry at
//     all — empty, not a SQLite database, or another program's SQLite
//     database. Usually --db names the wrong file; it is never migrated
//     into a registry (that would change someone else's file).
//   - ErrDamaged (kind Unavailable): a SQLite registry whose pages are
//     damaged (a bad disk, a copy cut short, a file edited by hand).
//
// Both point to docs/security.md, "When the registry file is damaged".
var (
	ErrNotRegistry = errors.New("not an idcards registry")
	ErrDamaged     = errors.New("the registry file is damaged")
)

// damagedHelp is where the recovery is described.
const damagedHelp = `docs/security.md, "When the registry file is damaged"`

// fileProblem is one of the two sentinels with the message: errors.Is
// finds the sentinel, idcards.ErrorKind the kind, and the text is the
// message followed by what SQLite said (the operator needs it).
type fileProblem struct {
	is  error
	msg *idcards.Error
}

func (e *fileProblem) Error() string   { return e.msg.Error() }
func (e *fileProblem) Unwrap() []error { return []error{e.is, e.msg} }

// driverSaid is the SQLite error in err's chain without the wrapping ops
// ("registry: begin: …"), or err.
func driverSaid(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se
	}
	return err
}

// notRegistry: the file at path is not an idcards registry, because why;
// err is what SQLite said, if anything.
func notRegistry(path, why string, err error) error {
	msg := "the file at " + path + " is not an idcards registry (" + why + "): check that --db or $IDCARDS_DB names the registry file; " +
		"if this is where the registry was kept, it was overwritten: restore the newest backup there with `idcards restore BACKUP --force` " +
		"(the file found there is kept beside it; " + damagedHelp + ")"
	e := &idcards.Error{Kind: idcards.Invalid, Msg: msg}
	if err != nil {
		e.Msg, e.Err = msg+"; SQLite said", driverSaid(err)
	}
	return &fileProblem{is: ErrNotRegistry, msg: e}
}

// corrupt: the registry file at path is damaged; err is what SQLite said.
func corrupt(path string, err error) error {
	msg := "the registry file " + path + " is damaged: stop every desk, TUI and `idcards serve` that uses it, keep a copy of the file as it is " +
		"(with its -wal and -shm files), then restore the newest backup with `idcards restore BACKUP --force` " +
		"(the damaged file is kept beside it; " + damagedHelp + "); SQLite said"
	return &fileProblem{is: ErrDamaged, msg: &idcards.Error{Kind: idcards.Unavailable, Msg: msg, Err: driverSaid(err)}}
}

// Damaged returns err in words when it is SQLite's "not a database" or
// "malformed" error about the registry file at path (ErrNotRegistry,
// ErrDamaged), and err unchanged otherwise. Store methods do it for their
// writes; a front end calls it for errors of reads, which do not know the
// path.
func Damaged(path string, err error) error {
	if err == nil || errors.Is(err, ErrNotRegistry) || errors.Is(err, ErrDamaged) || IsPostgresURL(path) {
		return err
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_NOTADB:
		return notRegistry(path, "it is not a SQLite database", err)
	case sqlite3.SQLITE_CORRUPT:
		return corrupt(path, err)
	}
	return err
}

// sqliteCode is the primary result code of the SQLite error in err's
// chain, 0 when there is none.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// sqliteMagic starts every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// probeRegistry looks at an existing file before it is opened as a
// registry, read-only: opening runs the migrations, which would turn any
// SQLite file (or an empty one) into a registry, and the connection's
// pragmas would switch another program's database to WAL. It refuses an
// empty file, a file that is not SQLite, and a SQLite database without
// schema_migrations; a damaged file is reported as such. Anything it cannot
// decide (the file being written, a read-only directory) is left to open.
func probeRegistry(ctx context.Context, path string) error {
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return nil // the newest pages are in the WAL: the main file may still be short
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	f.Close()
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return notRegistry(path, "the file is empty", nil)
	case string(head[:n]) != sqliteMagic:
		return notRegistry(path, "it is not a SQLite database", nil)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil
	}
	defer db.Close()
	var tables int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables)
	switch {
	case err != nil:
		if c := sqliteCode(err); c == sqlite3.SQLITE_NOTADB || c == sqlite3.SQLITE_CORRUPT {
			return Damaged(path, err)
		}
		return nil
	case tables == 0:
		return notRegistry(path, "a SQLite database without the registry's tables (no schema_migrations), perhaps another program's; nothing was changed in it", nil)
	}
	return nil
}
