package registry_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

var testFormat = idcards.Format{Prefix: "12", Width: 7, Scheme: "luhn"}

func operator(ctx context.Context) context.Context {
	return idcards.WithActor(ctx, idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
}

// newStore creates a registry in a temp dir: a real SQLite file, or a new
// PostgreSQL database when IDCARDS_TEST_POSTGRES names a server (pgtest).
func newStore(t testing.TB) (*registry.Store, context.Context) {
	t.Helper()
	ctx := operator(context.Background())
	path := pgtest.Location(t)
	s, err := registry.Create(ctx, path, testFormat)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, ctx
}

func TestCreate_RefusesOverwriteAndSetsMode(t *testing.T) {
	s, ctx := newStore(t)
	if !pgtest.Enabled() {
		st, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("registry mode = %v, want 0600", st.Mode().Perm())
		}
	}
	_, err := registry.Create(ctx, s.Path(), testFormat)
	if idcards.ErrorKind(err) != idcards.Conflict {
		t.Fatalf("second Create: err = %v, want Conflict", err)
	}
}

func TestCreate_RefusesBadFormat(t *testing.T) {
	ctx := operator(context.Background())
	for _, tc := range []struct {
		name string
		f    idcards.Format
	}{
		{"prefix letters with digit scheme", idcards.Format{Prefix: "KLA", Width: 6, Scheme: "luhn"}},
		{"unknown scheme", idcards.Format{Prefix: "1", Width: 6, Scheme: "nope"}},
		{"zero width", idcards.Format{Prefix: "1", Width: 0, Scheme: "luhn"}},
		{"lower-case prefix", idcards.Format{Prefix: "kla", Width: 6, Scheme: "luhn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.db")
			_, err := registry.Create(ctx, path, tc.f)
			if idcards.ErrorKind(err) != idcards.Invalid {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("a refused init left a registry file behind")
			}
		})
	}
}

func TestOpen_MissingFileSaysHowToCreate(t *testing.T) {
	_, err := registry.Open(context.Background(), filepath.Join(t.TempDir(), "none.db"))
	if idcards.ErrorKind(err) != idcards.NotFound || !strings.Contains(err.Error(), "idcards init") {
		t.Fatalf("err = %v", err)
	}
}

func TestMigrations_Idempotent(t *testing.T) {
	s, ctx := newStore(t)
	path := s.Path()
	ids, err := s.Reserve(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for i := 0; i < 3; i++ {
		s2, err := registry.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		var n int
		if err := s2.DB().QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n < 1 {
			t.Fatalf("schema_migrations: %d, %v", n, err)
		}
		v, err := s2.Verify(ctx, ids[0])
		if err != nil || v.Status != idcards.StatusUnassigned {
			t.Fatalf("after reopen: %+v %v", v, err)
		}
		s2.Close()
	}
}

func TestStore_IssueID(t *testing.T) {
	s, ctx := newStore(t)
	p, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Zoë", FamilyName: "Nsɛkɛ", Sex: "F", BirthDate: "1990-02-03"}})
	if err != nil {
		t.Fatal(err)
	}
	if mrn != mustMake(t, 1) {
		t.Errorf("first MRN = %s, want %s", mrn, mustMake(t, 1))
	}
	id, err := s.IssueID(ctx, p.ID, "second card for the school clinic")
	if err != nil {
		t.Fatal(err)
	}
	if id.MRN != mustMake(t, 2) {
		t.Errorf("second MRN = %s", id.MRN)
	}
	if _, err := s.IssueID(ctx, 999, ""); idcards.ErrorKind(err) != idcards.NotFound {
		t.Errorf("IssueID(unknown patient) err = %v", err)
	}
	v, err := s.Verify(ctx, strings.ToLower(" "+id.MRN+" "))
	if err != nil || v.Status != idcards.StatusActive || v.Patient == nil || v.Patient.GivenName != "Zoë" {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
	c, _ := s.Counts(ctx)
	if c.PendingOutbox != 3 { // register_patient + 2 × add_identifier
		t.Errorf("outbox = %d, want 3", c.PendingOutbox)
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n < 4 {
		t.Errorf("audit: %d rows, %v", n, err)
	}
}

func mustMake(t testing.TB, seq int64) string {
	c, err := barcode.NewCodec(testFormat)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Make(seq)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStore_SkipsExternalAndLegacy(t *testing.T) {
	s, ctx := newStore(t)
	// OpenMRS already holds #2; a legacy import already holds #3.
	if _, err := s.DB().Exec(`INSERT INTO external_identifiers(identifier, source, seen_at) VALUES (?, 'openmrs', 'x')`, mustMake(t, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO identifiers(mrn, state, legacy, issued_at, issued_by) VALUES (?, 'unassigned', 1, 'x', 'import')`, mustMake(t, 3)); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Reserve(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{mustMake(t, 1), mustMake(t, 4), mustMake(t, 5)}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("Reserve = %v, want %v", ids, want)
	}
	v, _ := s.Verify(ctx, mustMake(t, 2))
	if v.Status != idcards.StatusUnknown || !strings.Contains(v.Detail, "OpenMRS") {
		t.Errorf("external id: %+v", v)
	}
}

func TestStore_FormatLockedOnceIssued(t *testing.T) {
	s, ctx := newStore(t)
	if err := s.SetFormat(ctx, idcards.Format{Prefix: "13", Width: 6, Scheme: "luhn"}); err != nil {
		t.Fatalf("change before any issue: %v", err)
	}
	if _, err := s.Reserve(ctx, 1); err != nil {
		t.Fatal(err)
	}
	err := s.SetFormat(ctx, idcards.Format{Prefix: "14", Width: 6, Scheme: "luhn"})
	if idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), "new series") {
		t.Fatalf("err = %v", err)
	}
	if err := s.AddSeries(ctx, idcards.Format{Prefix: "1", Width: 6, Scheme: "luhn"}); idcards.ErrorKind(err) != idcards.Conflict {
		t.Errorf("overlapping prefix: %v", err)
	}
	if err := s.AddSeries(ctx, idcards.Format{Prefix: "20", Width: 6, Scheme: "luhn"}); err != nil {
		t.Fatal(err)
	}
	ids, _ := s.Reserve(ctx, 1)
	if !strings.HasPrefix(ids[0], "20") {
		t.Errorf("new series not current: %v", ids)
	}
}

func TestStore_Void(t *testing.T) {
	s, ctx := newStore(t)
	ids, _ := s.Reserve(ctx, 1)
	if err := s.Void(ctx, ids[0], ""); idcards.ErrorKind(err) != idcards.Invalid {
		t.Errorf("void without reason: %v", err)
	}
	if err := s.Void(ctx, ids[0], "card damaged in print"); err != nil {
		t.Fatal(err)
	}
	v, _ := s.Verify(ctx, ids[0])
	if v.Status != idcards.StatusVoided {
		t.Errorf("status = %s", v.Status)
	}
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "amy", Role: idcards.RoleClerk})
	if err := s.Void(clerk, ids[0], "x"); idcards.ErrorKind(err) != idcards.Forbidden {
		t.Errorf("clerk void: %v", err)
	}
	// A second desk that still shows the ID active voids it again: refused,
	// the first reason stays and the trail holds one void.
	b, err := registry.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Void(ctx, ids[0], "registered twice"); idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), "already voided") {
		t.Errorf("second void: %v, want Conflict already voided", err)
	}
	if id, _ := s.Identifier(ctx, ids[0]); id.VoidReason != "card damaged in print" {
		t.Errorf("void reason now %q", id.VoidReason)
	}
	if n := len(auditRows(t, s, registry.AuditFilter{Action: "id.void", Subject: ids[0]})); n != 1 {
		t.Errorf("%d id.void audit rows, want 1", n)
	}
}

// TestStore_IssueConcurrentDesks: 8 goroutines issue on one file at once.
func TestStore_IssueConcurrentDesks(t *testing.T) {
	s, ctx := newStore(t)
	const desks, each = 8, 40
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, desks)
	for d := 0; d < desks; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each desk its own Store handle, as separate desks would have.
			s2, err := registry.Open(ctx, s.Path())
			if err != nil {
				errs <- err
				return
			}
			defer s2.Close()
			for i := 0; i < each; i++ {
				ids, err := s2.Reserve(ctx, 1)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if seen[ids[0]] {
					errs <- fmt.Errorf("%s issued twice", ids[0])
				}
				seen[ids[0]] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != desks*each {
		t.Fatalf("%d distinct IDs, want %d", len(seen), desks*each)
	}
	checkAllValid(t, s, ctx, seen)
}

func checkAllValid(t *testing.T, s *registry.Store, ctx context.Context, ids map[string]bool) {
	t.Helper()
	c, _ := barcode.NewCodec(testFormat)
	for id := range ids {
		if _, _, err := c.Parse(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM identifiers`).Scan(&n)
	if n != len(ids) {
		t.Errorf("registry holds %d identifiers, callers saw %d", n, len(ids))
	}
}

// The child process side of the multi-process tests: reserve IDs one
// transaction at a time and print each after commit.
func TestMain(m *testing.M) {
	if path := os.Getenv("IDCARDS_TEST_CHILD_DB"); path != "" {
		if b := os.Getenv("IDCARDS_TEST_CHILD_RESTORE"); b != "" {
			os.Exit(childRestore(path, b))
		}
		os.Exit(child(path))
	}
	os.Exit(m.Run())
}

func child(path string) int {
	ctx := operator(context.Background())
	s, err := registry.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer s.Close()
	n, _ := strconv.Atoi(os.Getenv("IDCARDS_TEST_CHILD_N"))
	batch, _ := strconv.Atoi(os.Getenv("IDCARDS_TEST_CHILD_BATCH"))
	if batch < 1 {
		batch = 1
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; n == 0 || i < n; i++ {
		ids, err := s.Reserve(ctx, batch)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 4
		}
		for _, id := range ids {
			fmt.Fprintln(w, id)
		}
		w.Flush() // the caller "prints the card" as soon as the ID is committed
		if d, err := time.ParseDuration(os.Getenv("IDCARDS_TEST_CHILD_PAUSE")); err == nil {
			time.Sleep(d) // a desk's pace rather than a benchmark's
		}
	}
	return 0
}

// completeLines sends every complete line read from r (without its
// newline) and closes out. A child killed in the middle of writing leaves
// a partial last line ("1200" of 1200000014): it was never printed, so it
// is not counted (bufio.Scanner would yield it at EOF).
func completeLines(r io.Reader, out chan<- string) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break // EOF: whatever is left has no newline
		}
		out <- strings.TrimSuffix(line, "\n")
	}
	close(out)
}

func childCmd(t *testing.T, path string, n, batch int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IDCARDS_TEST_CHILD_DB="+path,
		"IDCARDS_TEST_CHILD_N="+strconv.Itoa(n), "IDCARDS_TEST_CHILD_BATCH="+strconv.Itoa(batch))
	cmd.Stderr = os.Stderr
	return cmd
}

// TestStore_IssueConcurrentProcesses: 4 OS processes issue on one file.
func TestStore_IssueConcurrentProcesses(t *testing.T) {
	s, ctx := newStore(t)
	const procs, each = 4, 50
	outs := make([]*strings.Builder, procs)
	var cmds []*exec.Cmd
	for i := range procs {
		outs[i] = &strings.Builder{}
		c := childCmd(t, s.Path(), each, 1)
		c.Stdout = outs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	seen := map[string]bool{}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
		for _, id := range strings.Fields(outs[i].String()) {
			if seen[id] {
				t.Fatalf("%s issued twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != procs*each {
		t.Fatalf("%d IDs, want %d", len(seen), procs*each)
	}
	checkAllValid(t, s, ctx, seen)
}

// TestStore_CrashSafety kills a child that is reserving IDs with SIGKILL at
// random moments, many times. Every ID it ever printed must be in the
// registry, none issued again, and the file must pass integrity_check.
func TestStore_CrashSafety(t *testing.T) {
	s, ctx := newStore(t)
	rounds := 25
	if testing.Short() {
		rounds = 5
	}
	rng := rand.New(rand.NewPCG(1, 2))
	printed := map[string]bool{}
	for r := 0; r < rounds; r++ {
		c := childCmd(t, s.Path(), 0, 1+rng.IntN(200))
		pipe, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go completeLines(pipe, lines)
		// Let it run a random while (first ID seen, then 0-60 ms more).
		first := <-lines
		time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		for id := range func(yield func(string) bool) {
			if !yield(first) {
				return
			}
			for l := range lines {
				if !yield(l) {
					return
				}
			}
		} {
			if id == "" {
				continue
			}
			if printed[id] {
				t.Fatalf("round %d: %s printed twice", r, id)
			}
			printed[id] = true
		}
	}
	if len(printed) == 0 {
		t.Fatal("child printed nothing")
	}
	// Every printed ID is recorded; the next IDs issued are all new.
	for id := range printed {
		v, err := s.Verify(ctx, id)
		if err != nil || v.Status != idcards.StatusUnassigned {
			t.Fatalf("printed %s: %+v %v", id, v, err)
		}
	}
	more, err := s.Reserve(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range more {
		if printed[id] {
			t.Fatalf("%s issued again after crash", id)
		}
	}
	if r, err := s.IntegrityCheck(ctx); err != nil || r != "ok" {
		t.Fatalf("integrity_check = %q, %v", r, err)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rounds, %d IDs printed before kills", rounds, len(printed))
}

// TestCheckFile_RegistryFileMoved: the registry file moved away (or deleted,
// or replaced) under an open desk. The desk went on registering into the
// file nobody would open again, and the day's patients were lost. Every
// change is now refused with words that say what happened; put back, the
// desk goes on.
func TestCheckFile_RegistryFileMoved(t *testing.T) {
	pgtest.SQLiteOnlyBecause(t, "a PostgreSQL registry has no file")
	s, ctx := newStore(t)
	if _, err := s.Reserve(ctx, 1); err != nil {
		t.Fatal(err)
	}
	moved := s.Path() + ".moved"
	if err := os.Rename(s.Path(), moved); err != nil {
		t.Fatal(err)
	}
	_, err := s.Reserve(ctx, 1)
	wantKind(t, err, idcards.Unavailable, "was moved or deleted while this program had it open: nothing was saved")
	// Another file in its place (a restore, a copy) is not this one either.
	if err := os.WriteFile(s.Path(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Reserve(ctx, 1)
	wantKind(t, err, idcards.Unavailable, "was replaced by another file")
	os.Remove(s.Path())
	if err := os.Rename(moved, s.Path()); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckFile(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, 1); err != nil {
		t.Fatalf("put back: %v", err)
	}
}
