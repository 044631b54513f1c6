package registry

import (
	"io/fs"
)

// sqliteDialect: one file, WAL mode; the connection string (dsn) makes
// every pooled transaction BEGIN IMMEDIATE, so writers are serialised by
// SQLite's own write lock.
var sqliteDialect = &dialect{
	name:       "sqlite",
	migrations: mustSub(migrationFS, "migrations"),
	beginWrite: `BEGIN IMMEDIATE`,
	beginRead:  `BEGIN`, // deferred: a snapshot from the first read, blocking no writer (WAL)
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
