package registry_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// scanBenchRows is how many rows the audit table and the scan log each
// hold before BenchmarkScanLogBatch measures (tails of big B-trees, WAL
// checkpoints of a big file: what a server sees after months).
const scanBenchRows = 1_000_000

// scanBenchRegistry returns a registry whose audit table and scan log each
// hold at least scanBenchRows rows, written the way the old and the new
// scanner paths write them; built once and kept in the temp dir.
func scanBenchRegistry(b *testing.B) (*registry.Store, context.Context) {
	ctx := operator(context.Background())
	path := filepath.Join(os.TempDir(), fmt.Sprintf("idcards-bench-scanlog-%d.db", scanBenchRows))
	s, err := registry.Open(ctx, path)
	if err == nil {
		var audit, scans int
		s.DB().QueryRow(`SELECT count(*) FROM audit`).Scan(&audit)
		s.DB().QueryRow(`SELECT count(*) FROM scan_log`).Scan(&scans)
		if audit < scanBenchRows || scans < scanBenchRows {
			s.Close()
			err = fmt.Errorf("incomplete: %d audit, %d scan rows", audit, scans)
		}
	}
	if err != nil {
		b.Logf("building %s (%v)", path, err)
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		if s, err = registry.Create(ctx, path, testFormat); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateToken(ctx, "ward3", registry.ScopeVerify); err != nil {
			b.Fatal(err)
		}
		recs, events := scanBenchBatch(4096, 0)
		for done := 0; done < scanBenchRows; done += len(recs) {
			if err := s.AuditBatch(ctx, events, nil); err != nil {
				b.Fatal(err)
			}
			if err := s.ScanLogBatch(ctx, recs, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Cleanup(func() { s.Close() })
	return s, ctx
}

// scanBenchBatch is n scanner requests, as scan log records and as the
// audit events the endpoint used to write for them (same strings).
func scanBenchBatch(n, salt int) ([]registry.ScanRecord, []idcards.AuditEvent) {
	recs := make([]registry.ScanRecord, n)
	events := make([]idcards.AuditEvent, n)
	now := time.Now()
	for i := range recs {
		code := mustMakeBench(int64(1 + (i*7919+salt)%1_000_000))
		addr := fmt.Sprintf("10.20.%d.%d", i%4, i%200)
		recs[i] = registry.ScanRecord{At: now, Token: "ward3", Code: code, Status: idcards.StatusActive, Addr: addr}
		events[i] = idcards.AuditEvent{Actor: "token:ward3", Action: "scan.verify", Subject: code, Detail: "status=active addr=" + addr}
	}
	return recs, events
}

// mustMakeBench is a well-formed code without a testing.TB.
func mustMakeBench(seq int64) string { return fmt.Sprintf("12%07d%d", seq, seq%10) }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScanLogBatch writes batches of 4,096 scanner requests, as the
// endpoint does under load, into a registry already holding 1M audit and
// 1M scan log rows: old = one hash-chained audit row per request
// (AuditBatch: 4 B-tree inserts and ~350 bytes a row), new = scan_log rows
// plus one scan.batch audit row (ScanLogBatch). Compare cpu-µs/row (all of
// the process's CPU, including the SQLite driver and fsync syscalls) and
// rows/s between the two. Each op is one batch of 4,096 rows, committed
// with synchronous=FULL; the token's last use is updated as the endpoint
// does.
func BenchmarkScanLogBatch(b *testing.B) {
	s, ctx := scanBenchRegistry(b)
	const batch = 4096
	used := map[string]time.Time{"ward3": time.Now()}
	for _, path := range []string{"old=AuditBatch", "new=ScanLogBatch"} {
		b.Run(path, func(b *testing.B) {
			batches := make([][]registry.ScanRecord, 8)
			events := make([][]idcards.AuditEvent, 8)
			for i := range batches {
				batches[i], events[i] = scanBenchBatch(batch, i*batch)
			}
			b.ResetTimer()
			cpu0, t0 := cpuTime(), time.Now()
			for i := 0; i < b.N; i++ {
				var err error
				if path == "new=ScanLogBatch" {
					err = s.ScanLogBatch(ctx, batches[i%8], used)
				} else {
					err = s.AuditBatch(ctx, events[i%8], used)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			cpu, wall := cpuTime()-cpu0, time.Since(t0)
			b.StopTimer()
			rows := float64(b.N * batch)
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/rows, "cpu-µs/row")
			b.ReportMetric(rows/wall.Seconds(), "rows/s")
		})
	}
}
