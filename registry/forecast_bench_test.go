package registry_test

import (
	"testing"
	"time"
)

// BenchmarkSupply100k: the days-of-IDs-left forecast that every status
// refresh of the desk (SyncStatus) computes, on a registry that issued
// 100,000 IDs over the last 50 days.
func BenchmarkSupply100k(b *testing.B) {
	s, ctx := newStore(b)
	now := time.Now().UTC()
	for d := range 50 {
		s.Now = func() time.Time { return now.Add(-time.Duration(49-d)*24*time.Hour - time.Hour) }
		if _, err := s.Reserve(ctx, 2000); err != nil {
			b.Fatal(err)
		}
	}
	for _, cold := range []bool{true, false} {
		name := "cached"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			at := now
			for b.Loop() {
				if cold { // past the rate cache's lifetime: count again
					at = at.Add(10 * time.Minute)
				}
				s.Now = func() time.Time { return at }
				sup, err := s.Supply(ctx)
				if err != nil || len(sup) != 1 || sup[0].PerDay < 1500 || sup[0].PerDay > 2001 {
					b.Fatalf("supply = %+v, %v", sup, err)
				}
			}
		})
	}
}
