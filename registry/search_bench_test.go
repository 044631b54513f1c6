package registry_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/idcards/idcards/match"
	"github.com/idcards/idcards/registry"
)

// BenchmarkSearchPatients100k: Find-screen latency in a registry of
// 100,000 synthetic patients, per kind of query; reports median and p99.
// Name searches scan name_norm (LIKE '%word%'); a full phone goes through
// the indexed last-four-digits suffix.
func BenchmarkSearchPatients100k(b *testing.B) {
	ctx := operator(context.Background())
	path := filepath.Join(b.TempDir(), "r.db")
	s, err := registry.Create(ctx, path, testFormat)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	recs := match.Synthesize(match.DefaultSynth(1, 100_000))
	loadOriginals(b, s, ctx, recs)
	var names, phones, years []string
	for _, r := range recs {
		if r.Of >= 0 || len(names) >= 200 {
			continue
		}
		names = append(names, r.Person.Family)
		if r.Person.Phone != "" {
			phones = append(phones, "+256 "+r.Person.Phone[1:])
		}
		if len(r.Person.BirthDate) >= 4 {
			years = append(years, r.Person.Given+" "+r.Person.BirthDate[:4])
		}
	}
	for _, tc := range []struct {
		name string
		qs   []string
	}{{"family name", names}, {"phone international", phones}, {"given name and birth year", years}} {
		b.Run(tc.name, func(b *testing.B) {
			if len(tc.qs) == 0 {
				b.Skip("no queries")
			}
			var lat []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				if _, err := s.SearchPatients(ctx, tc.qs[i%len(tc.qs)], 50); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				i++
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
	b.Run("refold 100k names on open", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if _, err := s.DB().ExecContext(ctx, `DELETE FROM settings WHERE key = 'name_fold'`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			s2, err := registry.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			s2.Close()
		}
	})
}
