package registry_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/idcards/idcards/registry"
)

// reportLatency adds p50/p99 per-operation latency to a benchmark's output.
func reportLatency(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// BenchmarkIssueOne issues one ID per transaction (fsync per commit).
func BenchmarkIssueOne(b *testing.B) {
	s, ctx := newStore(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.Reserve(ctx, 1); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkReserve100k reserves 100,000 IDs in one transaction.
func BenchmarkReserve100k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, ctx := newStore(b)
		b.StartTimer()
		if _, err := s.Reserve(ctx, 100_000); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
	}
}

// bigRegistry returns a registry holding n issued IDs, built once and kept
// in the temp dir between benchmark runs (building 1M takes a while).
func bigRegistry(b *testing.B, n int) (*registry.Store, context.Context, []string) {
	ctx := operator(context.Background())
	path := benchLocation(b, n) // bench_desks_test.go: a file, or a kept PostgreSQL database
	s, err := registry.Open(ctx, path)
	if err != nil {
		os.Remove(path)
		s, err = registry.Create(ctx, path, testFormat)
		if err != nil {
			b.Fatal(err)
		}
		for left := n; left > 0; left -= 100_000 {
			if _, err := s.Reserve(ctx, min(left, 100_000)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Cleanup(func() { s.Close() })
	// Sample IDs spread over the whole range.
	var ids []string
	for seq := int64(1); seq <= int64(n); seq += int64(n / 1000) {
		ids = append(ids, mustMake(b, seq))
	}
	return s, ctx, ids
}

// BenchmarkVerify1M looks up codes in a registry of 1,000,000 issued IDs.
func BenchmarkVerify1M(b *testing.B) {
	s, ctx, ids := bigRegistry(b, 1_000_000)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		v, err := s.Verify(ctx, ids[i%len(ids)])
		if err != nil || !v.Status.OK() {
			b.Fatalf("%+v %v", v, err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkMirrorVerify1M is BenchmarkVerify1M answered by a Mirror (what
// idcards serve does), without the patient (a verify-scope token). It also
// reports how long building the mirror of 1M IDs took and how much heap it
// holds.
func BenchmarkMirrorVerify1M(b *testing.B) {
	s, ctx, ids := bigRegistry(b, 1_000_000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	m, err := registry.NewMirror(ctx, s, nil)
	if err != nil {
		b.Fatal(err)
	}
	built := time.Since(t0)
	defer m.Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		v, err := m.VerifyScan(ctx, ids[i%len(ids)], false)
		if err != nil || !v.Status.OK() {
			b.Fatalf("%+v %v", v, err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(built.Seconds(), "build-s")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(m.Len()), "heap-B/id")
}

// BenchmarkBaselineCommit is the floor under BenchmarkIssueOne: one durable
// write transaction on the same file and connection settings, with none of
// the issuer's work. Quote IssueOne as a ratio to it.
func BenchmarkBaselineCommit(b *testing.B) {
	s, ctx := newStore(b)
	db := s.DB()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('bench', ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, i); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkBaselineLookup is the floor under BenchmarkVerify1M: a primary
// key lookup in the same 1M-ID registry without normalisation, check digit
// or state logic.
func BenchmarkBaselineLookup(b *testing.B) {
	s, ctx, ids := bigRegistry(b, 1_000_000)
	db := s.DB()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		var state string
		if err := db.QueryRowContext(ctx, `SELECT state FROM identifiers WHERE mrn = ?`, ids[i%len(ids)]).Scan(&state); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}
