package tui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// TestRegisterWhileDatabaseUnreachable: the desk's PostgreSQL server goes
// away while a clerk fills in the form. Saving says plainly that the
// database cannot be reached, keeps every field, issues nothing; once the
// server is back, saving again registers the patient (the pool reconnects
// by itself).
func TestRegisterWhileDatabaseUnreachable(t *testing.T) {
	c := pgtest.NewCluster(t)
	ctx := idcards.WithActor(context.Background(), testActor)
	s, err := registry.Create(ctx, c.Database("desk"), testFmt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Now = func() time.Time { return testNow }
	m, _ := newModel(t, s, &fakePrinter{s: s}, slow, 80, 24)
	m = drive(t, m, regForm("Amina", "Okello", "F", "1990-03-04")...)
	c.Stop()
	m = drive(t, m, ctrl('s'))
	out := screenText(m)
	for _, want := range []string{"cannot be reached", "Nothing was", "entries are kept", "Amina", "Okello", "1990-03-04"} {
		if !strings.Contains(out, want) {
			t.Fatalf("with the database down the screen lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "internal error") {
		t.Fatalf("says internal error:\n%s", out)
	}
	c.Start()
	m = drive(t, m, ctrl('s'))
	out = screenText(m)
	if !strings.Contains(out, "Registered Amina Okello with MRN") {
		t.Fatalf("after the server came back:\n%s", out)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM identifiers`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d identifiers (%v), want 1", n, err)
	}
}

// TestFriendly_MaybeSaved: a connection lost at the commit is not "nothing
// was saved": the clerk is told it may be, and how to look.
func TestFriendly_MaybeSaved(t *testing.T) {
	e := &env{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	got := friendly(e, "Register", fmt.Errorf("registry: commit: %w: unexpected EOF", registry.ErrMaybeSaved))
	if strings.Contains(got, "Nothing was saved") || !strings.Contains(got, "may have been saved") || !strings.Contains(got, "duplicate warning") {
		t.Errorf("%s", got)
	}
	got = friendly(e, "Register", registry.Unreachable(io.EOF))
	if !strings.Contains(got, "Nothing was saved") {
		t.Errorf("down before the commit: %s", got)
	}
}

// TestRegistryFileMoved: the desk's status line says at once that its
// registry file went away, not only at the next save.
func TestRegistryFileMoved(t *testing.T) {
	pgtest.SQLiteOnlyBecause(t, "a PostgreSQL registry has no file")
	s := newStore(t)
	m := start80(t, testConfig(s, nil, &clock{t: testNow, step: slow}))
	if err := os.Rename(s.Path(), s.Path()+".moved"); err != nil {
		t.Fatal(err)
	}
	msg := m.(Model).refreshCounts()()
	m = drive(t, m, msg)
	wantScreen(t, m, "moved or deleted while this program had it open", "Do not")
}
