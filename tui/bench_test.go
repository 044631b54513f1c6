package tui

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// benchN is the registry size for the benchmarks: $IDCARDS_BENCH_N, default
// 100,000 (the target is 1,000,000: IDCARDS_BENCH_N=1000000).
func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("IDCARDS_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// seeded builds a registry with n patients, each with an active MRN, and
// returns its path and the MRNs.
func seeded(b testing.TB, n int) (string, []string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "big.db")
	if p := os.Getenv("IDCARDS_BENCH_SEED"); p != "" {
		path = p
	}
	ctx := idcards.WithActor(context.Background(), testActor)
	s, err := registry.Create(ctx, path, idcards.Format{Prefix: "042", Width: 7, Scheme: "luhn"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var mrns []string
	for len(mrns) < n {
		ids, err := s.Reserve(ctx, min(n-len(mrns), 100_000))
		if err != nil {
			b.Fatal(err)
		}
		mrns = append(mrns, ids...)
	}
	db := s.DB()
	if _, err := db.Exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ?)
		INSERT INTO patients(id, uuid, given_name, family_name, sex, birth_date, birth_year, name_norm, created_at, created_by)
		SELECT i, 'u'||i, 'Given'||i, 'Family'||(i%5000), 'F', '1990-01-01', 1990, 'given'||i||' family'||(i%5000), '2026-01-01T00:00:00.000000Z', 'bench' FROM c`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE identifiers SET state='active', patient_id=seq, assigned_at=issued_at WHERE seq <= ?`, n); err != nil {
		b.Fatal(err)
	}
	return path, mrns
}

func pct(d []time.Duration, p float64) float64 {
	slices.Sort(d)
	return float64(d[int(float64(len(d)-1)*p)].Microseconds()) / 1000
}

// BenchmarkScanToPanel: from the Enter that ends a scan to the rendered
// result panel (verify in the registry + Update + View).
func BenchmarkScanToPanel(b *testing.B) {
	n := benchN()
	path, mrns := seeded(b, n)
	ctx := context.Background()
	s, err := registry.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := &clock{t: testNow, step: fast}
	m := tea.Model(New(ctx, testConfig(s, nil, c)))
	m = drive(b, m, tea.WindowSizeMsg{Width: 80, Height: 24}, keyCode(tea.KeyF2))
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		code := mrns[(i*7919)%len(mrns)]
		t0 := time.Now()
		m = drive(b, m, scanMsg{raw: code})
		_ = m.(Model).render()
		lat = append(lat, time.Since(t0))
	}
	b.ReportMetric(pct(lat, 0.5), "p50-ms")
	b.ReportMetric(pct(lat, 0.99), "p99-ms")
	b.ReportMetric(float64(n), "patients")
}

// BenchmarkFirstFrame: open the registry and render the first screen.
func BenchmarkFirstFrame(b *testing.B) {
	n := benchN()
	path, _ := seeded(b, n)
	ctx := context.Background()
	var ms runtime.MemStats
	for b.Loop() {
		s, err := registry.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		m := drive(b, New(ctx, testConfig(s, nil, &clock{t: testNow, step: slow})), tea.WindowSizeMsg{Width: 80, Height: 24})
		_ = m.(Model).render()
		runtime.ReadMemStats(&ms)
		s.Close()
	}
	b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MB")
	b.ReportMetric(float64(n), "patients")
}

// TestSeedBenchRegistry writes a registry with $IDCARDS_BENCH_N patients to
// $IDCARDS_BENCH_SEED for bench/tui-start.sh; skipped unless that is set.
func TestSeedBenchRegistry(t *testing.T) {
	if os.Getenv("IDCARDS_BENCH_SEED") == "" {
		t.Skip("set IDCARDS_BENCH_SEED=path to write a benchmark registry")
	}
	seeded(t, benchN())
}
