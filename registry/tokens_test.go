package registry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/idcards/idcards/registry"
)

// clock is a settable time source for Store.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A token revoked through the same Store stops at once; revoked by another
// process (another Store on the same file) it stops within TokenCacheTTL,
// and never later.
func TestLookupToken_CacheAndRevoke(t *testing.T) {
	s, ctx := newStore(t)
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	s.Now = clk.now

	a, err := s.CreateToken(ctx, "ward3", registry.ScopeVerify)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateToken(ctx, "ward4", registry.ScopeVerify)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{a, b} {
		if _, err := s.LookupToken(ctx, sec); err != nil {
			t.Fatalf("fresh token refused: %v", err)
		}
	}

	// Same Store: at once, even with the entry still fresh.
	if err := s.RevokeToken(ctx, "ward3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, a); !errors.Is(err, registry.ErrBadToken) {
		t.Fatalf("revoked here, still accepted: %v", err)
	}

	// Another process revokes ward4: this Store may trust its cache for
	// less than TokenCacheTTL, then must read the file again.
	other, err := registry.Open(context.Background(), s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.RevokeToken(ctx, "ward4"); err != nil {
		t.Fatal(err)
	}
	clk.add(registry.TokenCacheTTL / 2)
	if _, err := s.LookupToken(ctx, b); err != nil {
		t.Logf("revocation seen before the TTL (allowed): %v", err)
	}
	clk.add(registry.TokenCacheTTL)
	if _, err := s.LookupToken(ctx, b); !errors.Is(err, registry.ErrBadToken) {
		t.Fatalf("revoked elsewhere, still accepted after TokenCacheTTL: %v", err)
	}

	// Garbage secrets are never cached as valid and never grow the cache.
	for _, sec := range []string{"", "nope", a + "x", b[:len(b)-1]} {
		if _, err := s.LookupToken(ctx, sec); !errors.Is(err, registry.ErrBadToken) {
			t.Errorf("LookupToken(%q) = %v, want ErrBadToken", sec, err)
		}
	}
}
