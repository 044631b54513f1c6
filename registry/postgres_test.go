package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// sqliteStore is a registry in a SQLite file whatever the suite's engine.
func sqliteStore(t *testing.T) (*registry.Store, context.Context) {
	t.Helper()
	ctx := operator(context.Background())
	s, err := registry.Create(ctx, filepath.Join(t.TempDir(), "registry.db"), testFormat)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, ctx
}

// fillRegistry gives s some of everything: patients with IDs, spare IDs,
// a voided ID, a merge, users, a token, scan log batches.
func fillRegistry(t *testing.T, ctx context.Context, s *registry.Store) []string {
	t.Helper()
	s.Argon2 = cheap
	addUser(t, ctx, s, "admin1", idcards.RoleAdmin)
	var ids []string
	var pids []int64
	for i, n := range []string{"Amina Nakato", "Zoë Nsɛkɛ", "John Okello", "Grace Achieng"} {
		given, family, _ := strings.Cut(n, " ")
		p, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: given, FamilyName: family, Sex: "F", BirthDate: fmt.Sprintf("19%02d-01-02", 60+i)}})
		if err != nil {
			t.Fatal(err)
		}
		ids, pids = append(ids, mrn), append(pids, p.ID)
	}
	more, err := s.Reserve(ctx, 25)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, more...)
	if err := s.Void(ctx, more[0], "misprinted"); err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(ctx, pids[3], pids[2], "same person"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateToken(ctx, "ward3", registry.ScopeVerify); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	if err := s.ScanLogBatch(ctx, scans(7, "ward3", t0), map[string]time.Time{"ward3": t0}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestPostgres_MigrateFromSQLite(t *testing.T) {
	pgtest.Require(t)
	src, ctx := sqliteStore(t)
	ids := fillRegistry(t, ctx, src)
	if _, err := src.FillPool(ctx, testSource, []string{"10000X", "10001V"}); err != nil {
		t.Fatal(err)
	}
	to := pgtest.NewDatabase(t)
	opt := registry.Options{KeyPath: filepath.Join(t.TempDir(), "pg.auditkey")}
	r, err := src.MigrateTo(ctx, to, opt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Tables["identifiers"] != int64(len(ids)) || r.Tables["patients"] != 4 || r.Tables["scan_log"] != 7 || r.AuditRows < 10 {
		t.Fatalf("report %+v", r)
	}
	dst, err := registry.OpenWith(ctx, to, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	// Every ID answers the same on both engines.
	for _, id := range append(ids, mustMake(t, 999)) {
		a, err1 := src.Verify(ctx, id)
		b, err2 := dst.Verify(ctx, id)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		a.CheckedAt, b.CheckedAt = time.Time{}, time.Time{}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s:\n sqlite   %s\n postgres %s", id, ja, jb)
		}
	}
	// The sequence continues, ids of new rows too; the chain goes on.
	next, err := dst.Reserve(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range next {
		for _, old := range ids {
			if id == old {
				t.Fatalf("%s issued again after migrate", id)
			}
		}
	}
	if _, _, err := dst.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "New", FamilyName: "Patient", Sex: "M", BirthDate: "2001-05-06"}}); err != nil {
		t.Fatal(err)
	}
	// Every identity column continues, not only those named id: the idgen
	// pool's arrival order (id_pool.seq) took a copied row's number before.
	if _, err := dst.FillPool(ctx, testSource, []string{"10002T", "10003R"}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	// A second copy into the now occupied database is refused.
	_, err = src.MigrateTo(ctx, to, registry.Options{KeyPath: filepath.Join(t.TempDir(), "pg.auditkey")})
	wantKind(t, err, idcards.Conflict, "already exists")
}

// TestPostgres_BackupRestoreRoundTrip: a PostgreSQL registry backs up to a
// registry file (checked like any backup) and restores into a new
// database, and into a file.
func TestPostgres_BackupRestoreRoundTrip(t *testing.T) {
	pgtest.Require(t)
	ctx := operator(context.Background())
	s, err := registry.Create(ctx, pgtest.NewDatabase(t), testFormat)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := fillRegistry(t, ctx, s)
	dir := t.TempDir()
	b, err := s.Backup(ctx, registry.BackupOptions{Out: filepath.Join(dir, "pg.db")})
	if err != nil {
		t.Fatal(err)
	}
	if b.Integrity != "ok" || b.Counts["identifiers"] != int64(len(ids)) || b.Counts["scan_log"] != 7 {
		t.Fatalf("backup %+v", b)
	}
	to := pgtest.NewDatabase(t)
	r, err := registry.Restore(ctx, b.Path, registry.RestoreOptions{To: to, Actor: idcards.Actor{Name: "os:test"}, KeyPath: s.KeyPath()})
	if err != nil {
		t.Fatal(err)
	}
	// Two audit rows: the checked staging copy's restore row, then the
	// restore into the database, naming it.
	if r.Counts["identifiers"] != b.Counts["identifiers"] || r.AuditRows != b.AuditRows+2 {
		t.Fatalf("restored %+v from %+v", r, b)
	}
	back, err := registry.Open(ctx, to) // the key was installed at DefaultKeyPath(to)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	for _, id := range ids {
		v, err := back.Verify(ctx, id)
		if err != nil || v.Status == idcards.StatusUnknown {
			t.Fatalf("%s after restore: %+v %v", id, v, err)
		}
	}
	// Into an empty database nothing says what was issued after the
	// backup: the series jumps, as for a lost SQLite file.
	if rp := r.Restore; rp == nil || rp.Live || rp.SkipAhead != registry.DefaultSkipAhead {
		t.Fatalf("report %+v", r.Restore)
	}
	next, err := back.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var top int64
	for _, id := range ids {
		top = max(top, seqOf(t, id))
	}
	if got := seqOf(t, next[0]); got != top+1+registry.DefaultSkipAhead {
		t.Fatalf("first number after restoring into an empty database: %d, want %d", got, top+1+registry.DefaultSkipAhead)
	}
	// Restoring over a registry needs --force (TestRestore_* cover it).
	_, err = registry.Restore(ctx, b.Path, registry.RestoreOptions{To: to, KeyPath: s.KeyPath()})
	wantKind(t, err, idcards.Conflict, "already exists")
	if _, err := registry.Restore(ctx, b.Path, registry.RestoreOptions{To: filepath.Join(dir, "file.db"), KeyPath: s.KeyPath(), InstallKey: true, SkipAhead: -1}); err != nil {
		t.Fatal(err)
	}
}

// TestPostgres_RuntimeRole follows docs/deploy.md's roles step by step: the
// superuser makes an owner role (no superuser, no CREATEROLE) owning the
// database and the desks' role; init runs as the owner; the owner runs
// docs/postgres-runtime-role.sql. Everything desks do works as that role, the
// audit trail cannot be rewritten nor the schema changed through it, and a
// table a later upgrade adds (made by the owner) is open to desks too,
// whether the file was run by the owner or by the superuser.
func TestPostgres_RuntimeRole(t *testing.T) {
	pgtest.Require(t)
	ctx := operator(context.Background())
	n := time.Now().UnixNano() % 1_000_000_000
	ownerRole, role, dbName := fmt.Sprintf("idcards_owner_%d", n), fmt.Sprintf("idcards_desk_%d", n), fmt.Sprintf("idcards_roles_%d", n)
	t.Cleanup(func() {
		pgtest.Exec(t, "postgres", `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`)
		pgtest.Exec(t, "postgres", `DROP ROLE IF EXISTS `+role)
		pgtest.Exec(t, "postgres", `DROP ROLE IF EXISTS `+ownerRole)
	})
	// Step 1, as the superuser.
	pgtest.Exec(t, "postgres", `CREATE ROLE `+ownerRole+` LOGIN`)
	pgtest.Exec(t, "postgres", `CREATE DATABASE `+dbName+` OWNER `+ownerRole+` TEMPLATE template0 ENCODING 'UTF8'`)
	u, err := url.Parse(pgtest.AdminURL(t, dbName))
	if err != nil {
		t.Fatal(err)
	}
	as := func(name string) string {
		c := *u
		c.User = url.User(name)
		return c.String()
	}
	sqlText, err := os.ReadFile("../docs/postgres-runtime-role.sql")
	if err != nil {
		t.Fatal(err)
	}
	// psql's meta-commands (\set ON_ERROR_STOP) are psql's, not SQL.
	var body []string
	for _, line := range strings.Split(strings.ReplaceAll(string(sqlText), "idcards_desk", role), "\n") {
		if !strings.HasPrefix(line, `\`) {
			body = append(body, line)
		}
	}
	runFile := func(loc string) error {
		db := pgtest.OpenDB(t, loc)
		defer db.Close()
		_, err := db.Exec(strings.Join(body, "\n"))
		return err
	}
	// The file says plainly what is missing when run too early.
	if err := runFile(as(ownerRole)); err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Fatalf("the role file before the desks' role exists: %v", err)
	}
	pgtest.Exec(t, "postgres", `CREATE ROLE `+role+` LOGIN`)
	if err := runFile(as(ownerRole)); err == nil || !strings.Contains(err.Error(), "holds no registry") {
		t.Fatalf("the role file before init: %v", err)
	}
	// Step 1 of the registry: init as the owner.
	owner, err := registry.Create(ctx, as(ownerRole), testFormat)
	if err != nil {
		t.Fatal(err)
	}
	owner.Close()
	// The owner runs the file (twice: harmless), then the superuser does.
	for _, loc := range []string{as(ownerRole), as(ownerRole), u.String()} {
		if err := runFile(loc); err != nil {
			t.Fatalf("the role file as %s: %v", loc, err)
		}
	}
	// A later upgrade's table, made by the owner, is open to desks.
	odb := pgtest.OpenDB(t, as(ownerRole))
	if _, err := odb.Exec(`CREATE TABLE later_upgrade (x int)`); err != nil {
		t.Fatal(err)
	}
	odb.Close()
	ddb := pgtest.OpenDB(t, as(role))
	if _, err := ddb.Exec(`INSERT INTO later_upgrade VALUES (1)`); err != nil {
		t.Errorf("a table a later upgrade adds, as the runtime role: %v", err)
	}
	ddb.Close()
	pgtest.Exec(t, dbName, `DROP TABLE later_upgrade`) // backups copy the registry's own tables only
	deskURL := as(role)
	s, err := registry.Open(ctx, deskURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := fillRegistry(t, ctx, s)
	m, err := registry.NewMirror(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, err := m.VerifyScan(ctx, ids[0], false)
	if err != nil || v.Status != idcards.StatusActive {
		t.Fatalf("mirror as the runtime role: %+v %v", v, err)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DELETE FROM audit`,
		`UPDATE audit SET actor = 'nobody'`,
		`DELETE FROM scan_log`,
		`CREATE TABLE x (y int)`,
		`DROP TABLE identifiers`,
		`ALTER TABLE identifiers ADD COLUMN z int`,
		`INSERT INTO schema_migrations(name, applied_at) VALUES ('9999_x.sql', '')`,
	} {
		if _, err := s.DB().ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("%s as the runtime role: %v, want permission denied (42501)", stmt, err)
		}
	}
	// Restoring over the registry empties every table: the owner's job.
	// The desk's role is refused plainly, and nothing changed.
	b, err := s.Backup(ctx, registry.BackupOptions{Out: filepath.Join(t.TempDir(), "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	s.Reserve(ctx, 2)
	before, _ := s.VerifyAudit(ctx)
	_, err = registry.Restore(ctx, b.Path, registry.RestoreOptions{To: deskURL, Force: true, Actor: idcards.Actor{Name: "os:test"},
		KeyPath: s.KeyPath(), Keep: filepath.Join(t.TempDir(), "kept.db")})
	wantKind(t, err, idcards.Forbidden, "as the database owner")
	if after, err := s.VerifyAudit(ctx); err != nil || after != before {
		t.Fatalf("a refused restore changed the trail: %d rows, then %d (%v)", before, after, err)
	}
}

// TestPostgres_ServerStopsMidTransaction stops the server (immediate
// shutdown: like a crash) while a child process issues in batches and while
// this process reserves a large batch; nothing is half done, the error
// says the database cannot be reached, and after a restart the registry
// goes on: every printed ID recorded, none issued again.
func TestPostgres_ServerStopsMidTransaction(t *testing.T) {
	c := pgtest.NewCluster(t)
	loc := c.Database("reg")
	ctx := operator(context.Background())
	s, err := registry.Create(ctx, loc, testFormat)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	child := childCmd(t, loc, 0, 50)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var childErr strings.Builder
	child.Stderr = &childErr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	printed := make(chan []string, 1)
	go func() {
		var ids []string
		buf := make([]byte, 0, 1<<16)
		tmp := make([]byte, 4096)
		for {
			n, err := out.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if err != nil {
				break
			}
		}
		text := string(buf)
		if i := strings.LastIndexByte(text, '\n'); i >= 0 {
			ids = strings.Fields(text[:i])
		}
		printed <- ids
	}()
	big := make(chan error, 1)
	time.Sleep(300 * time.Millisecond) // the child is issuing
	go func() {
		_, err := s.Reserve(ctx, 200_000)
		big <- err
	}()
	time.Sleep(200 * time.Millisecond)
	c.Stop()
	err = <-big
	if err == nil {
		t.Log("the large reservation committed before the stop")
	} else if idcards.ErrorKind(err) != idcards.Unavailable || !strings.Contains(err.Error(), "cannot be reached") {
		t.Errorf("Reserve during the stop: kind %v: %v, want Unavailable, \"cannot be reached\"", idcards.ErrorKind(err), err)
	}
	child.Wait()
	ids := <-printed
	if len(ids) == 0 {
		t.Fatalf("the child printed nothing: %s", childErr.String())
	}
	if !strings.Contains(childErr.String(), "cannot be reached") {
		t.Errorf("child's error: %q, want it to say the database cannot be reached", childErr.String())
	}
	// While the server is down a desk's call fails plainly.
	if _, err := s.Reserve(ctx, 1); idcards.ErrorKind(err) != idcards.Unavailable {
		t.Errorf("Reserve with the server down: %v (kind %v), want Unavailable", err, idcards.ErrorKind(err))
	}
	c.Start()
	var n int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM identifiers`).Scan(&n)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n%50 != 0 && n%50 != 200_000%50 {
		t.Errorf("%d identifiers: a batch was half written", n)
	}
	for _, id := range ids {
		v, err := s.Verify(ctx, id)
		if err != nil || v.Status != idcards.StatusUnassigned {
			t.Fatalf("printed %s: %+v %v", id, v, err)
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	more, err := s.Reserve(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range more {
		if seen[id] {
			t.Fatalf("%s issued again after the restart", id)
		}
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// A password never goes in the URL (shell history, ps, logs): refused, and
// the refusal does not repeat it. A password file that cannot be read is a
// clear error. Neither needs a server.
func TestPostgres_PasswordNeverFromTheURL(t *testing.T) {
	ctx := operator(context.Background())
	for _, loc := range []string{
		"postgres://desk:s3cretpw@db.clinic.lan/idcards",
		"postgresql://desk@db.clinic.lan/idcards?password=s3cretpw",
	} {
		_, err := registry.Open(ctx, loc)
		wantKind(t, err, idcards.Invalid, "password")
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
	_, err := registry.OpenWith(ctx, "postgres://desk@db.clinic.lan/idcards", registry.Options{PasswordFile: filepath.Join(t.TempDir(), "none")})
	wantKind(t, err, idcards.Invalid, "password file")
	if got := registry.RedactURL("postgres://desk:s3cretpw@h/db"); strings.Contains(got, "s3cretpw") {
		t.Errorf("RedactURL kept the password: %s", got)
	}
}

// dropTriggerSQL drops a trigger in the suite's engine's syntax.
func dropTriggerSQL(name, table string) string {
	if pgtest.Enabled() {
		return "DROP TRIGGER " + name + " ON " + table
	}
	return "DROP TRIGGER " + name
}

// TestMigrate_RetiresTheSource: after migrate the registry it copied takes
// no more changes — a desk left running on it (its own open handle) issued
// the numbers the new registry issued next. An admin can reopen it (a move
// undone). The key goes in first, into a config directory that does not
// exist yet (a new machine): migrate failed there after copying every row.
func TestMigrate_RetiresTheSource(t *testing.T) {
	src, ctx := newStore(t)
	running, err := registry.Open(ctx, src.Path()) // a desk not stopped
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	if _, err := src.Reserve(ctx, 3); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	to := filepath.Join(dir, "moved.db")
	opt := registry.Options{KeyPath: filepath.Join(dir, "new-machine", "config", "idcards", "moved.auditkey")}
	if _, err := src.MigrateTo(ctx, to, opt); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*registry.Store{src, running} {
		_, err := s.Reserve(ctx, 1)
		wantKind(t, err, idcards.Conflict, "was moved to "+to)
	}
	dst, err := registry.OpenWith(ctx, to, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got, err := dst.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Reading still works; the admin's reopening is the one change taken.
	if v, err := running.Verify(ctx, got[0]); err != nil || v.Status != idcards.StatusUnknown {
		t.Fatalf("verify on the retired registry: %+v %v", v, err)
	}
	if err := src.SetKnownSetting(ctx, registry.MovedToSetting, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := running.Reserve(ctx, 1); err != nil {
		t.Fatalf("reopened: %v", err)
	}
	if _, err := src.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPostgres_OpenNotARegistry: a URL naming an empty database, or one
// with another program's tables (its own schema_migrations too), is not
// migrated into a registry by a read command: Open says it is not an
// idcards registry (ErrNotRegistry, kind Invalid, as for a SQLite file)
// and what to run, and leaves the database as it was. Create (init) fills
// an empty database and refuses one with other tables; migrate --to into
// an empty database still works (TestPostgres_MigrateFromSQLite).
func TestPostgres_OpenNotARegistry(t *testing.T) {
	ctx := context.Background()
	tablesOf := func(t *testing.T, loc string) string {
		t.Helper()
		db := pgtest.OpenDB(t, loc)
		defer db.Close()
		var names string
		if err := db.QueryRow(`SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = current_schema()`).Scan(&names); err != nil {
			t.Fatal(err)
		}
		var funcs int
		if err := db.QueryRow(`SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()`).Scan(&funcs); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s; %d functions", names, funcs)
	}
	for _, tc := range []struct {
		name, setup, want, wantCreate string
	}{
		{"Empty", ``, "is empty: it is not an idcards registry (not initialised)", ""},
		{"OtherTables", `CREATE TABLE invoices (id int PRIMARY KEY); CREATE TABLE series (id int)`,
			"is not an idcards registry (tables invoices, series, but no idcards schema)", "is not empty (tables invoices, series)"},
		{"OtherMigrationTool", `CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (20240101, false)`,
			"is not an idcards registry (tables schema_migrations, but no idcards schema)", "is not empty (tables schema_migrations)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := pgtest.NewDatabaseWith(t, tc.setup)
			before := tablesOf(t, loc)
			_, err := registry.Open(ctx, loc)
			if !errors.Is(err, registry.ErrNotRegistry) || idcards.ErrorKind(err) != idcards.Invalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open: %v, want ErrNotRegistry %q", err, tc.want)
			}
			if tc.name == "Empty" && (!strings.Contains(err.Error(), "idcards init --db URL") || !strings.Contains(err.Error(), "migrate --to URL")) {
				t.Errorf("open of an empty database names neither init nor migrate: %v", err)
			}
			if after := tablesOf(t, loc); after != before {
				t.Fatalf("open changed the database: %s, was %s", after, before)
			}
			keyPath := filepath.Join(t.TempDir(), "k")
			s, err := registry.CreateWith(ctx, loc, testFormat, registry.Options{KeyPath: keyPath})
			if tc.wantCreate == "" {
				if err != nil {
					t.Fatalf("create in an empty database: %v", err)
				}
				s.Close()
				s, err := registry.OpenWith(ctx, loc, registry.Options{KeyPath: keyPath})
				if err != nil {
					t.Fatalf("open after create: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("create in a database with other tables succeeded")
			}
			if !errors.Is(err, registry.ErrNotRegistry) || !strings.Contains(err.Error(), tc.wantCreate) {
				t.Fatalf("create: %v, want %q", err, tc.wantCreate)
			}
			if after := tablesOf(t, loc); after != before {
				t.Fatalf("create changed the database: %s, was %s", after, before)
			}
			// A restore into it is refused the same way (another
			// program's "series" table met a raw error: no audit table).
			dir := t.TempDir()
			src, err := registry.CreateWith(ctx, filepath.Join(dir, "r.db"), testFormat, registry.Options{KeyPath: filepath.Join(dir, "r.key")})
			if err != nil {
				t.Fatal(err)
			}
			b, err := src.Backup(idcards.WithActor(ctx, idcards.Actor{Name: "os:test", Role: idcards.RoleAdmin}), registry.BackupOptions{Out: filepath.Join(dir, "b.db")})
			src.Close()
			if err != nil {
				t.Fatal(err)
			}
			_, err = registry.Restore(ctx, b.Path, registry.RestoreOptions{To: loc, Force: true, KeyPath: filepath.Join(dir, "r.key"), Actor: idcards.Actor{Name: "os:test"}})
			if !errors.Is(err, registry.ErrNotRegistry) || !strings.Contains(err.Error(), tc.wantCreate) {
				t.Fatalf("restore: %v, want %q", err, tc.wantCreate)
			}
			if after := tablesOf(t, loc); after != before {
				t.Fatalf("restore changed the database: %s, was %s", after, before)
			}
		})
	}
}
