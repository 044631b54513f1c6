package registry_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// TestMirror_PostgresFollowsOtherDesksByNotify: two serve processes'
// mirrors (each with its own Store) on one PostgreSQL database follow the
// changes a desk makes — woken by LISTEN/NOTIFY, never told to Refresh —
// and both answer every code exactly as Verify does.
func TestMirror_PostgresFollowsOtherDesksByNotify(t *testing.T) {
	pgtest.Require(t)
	f := newMirrorFixture(t)
	desk, ctx := f.cli, f.ctx
	p1, m1 := f.register(desk, "Amina")
	other, err := registry.Open(ctx, f.server.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var mirrors []*registry.Mirror
	for _, s := range []*registry.Store{f.server, other} {
		m, err := registry.NewMirror(ctx, s, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		mirrors = append(mirrors, m)
	}
	// Let both listeners connect (a change before that is caught by the
	// first read after LISTEN, or by the fallback poll).
	time.Sleep(300 * time.Millisecond)
	p2, _ := f.register(desk, "Amena")
	if err := desk.Merge(ctx, p2.ID, p1.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	if err := desk.Void(ctx, m1, "typo"); err != nil {
		t.Fatal(err)
	}
	reserved, err := desk.Reserve(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	f.codes = append(f.codes, reserved...)
	agree := func() bool {
		for _, m := range mirrors {
			for _, code := range f.codes {
				want, _ := f.server.Verify(ctx, code)
				got, _ := m.VerifyScan(ctx, code, true)
				got.CheckedAt = want.CheckedAt
				if !reflect.DeepEqual(got, want) {
					return false
				}
			}
		}
		return true
	}
	deadline := time.Now().Add(20 * time.Second)
	for !agree() {
		if time.Now().After(deadline) {
			t.Fatal("the mirrors never caught up with the desk's changes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, m := range mirrors {
		if registry.MirrorNotifiedForTest(m) == 0 {
			t.Errorf("mirror %d caught up without a single notification (polling only)", i)
		}
	}
	v, _ := mirrors[1].VerifyScan(ctx, m1, false)
	if v.Status != idcards.StatusVoided {
		t.Fatalf("voided %s: %+v", m1, v)
	}
}
