package registry_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// auditRegistry is a registry of n patients, each with an issued ID and
// an audit row (patients import), kept in the temp directory between runs.
func auditRegistry(b *testing.B, n int) (*registry.Store, context.Context) {
	ctx := operator(context.Background())
	path := filepath.Join(os.TempDir(), "idcards-audit-bench-"+strconv.Itoa(n)+".db")
	if s, err := registry.Open(ctx, path); err == nil {
		b.Cleanup(func() { s.Close() })
		return s, ctx
	}
	os.Remove(path)
	os.Remove(registry.DefaultKeyPath(path))
	s, err := registry.Create(ctx, path, testFormat)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	t0 := time.Now()
	const chunk = 100_000
	for done := 0; done < n; done += chunk {
		i, end := done, min(done+chunk, n)
		next := func() (registry.ImportRow, error) {
			if i == end {
				return registry.ImportRow{}, io.EOF
			}
			i++
			return registry.ImportRow{Line: i, Patient: registry.NewPatient{GivenName: "Given" + strconv.Itoa(i), FamilyName: "Family" + strconv.Itoa(i%5000),
				Sex: idcards.Sex("FM"[i%2 : i%2+1]), BirthDate: fmt.Sprintf("%d-%02d-%02d", 1940+i%80, 1+i%12, 1+i%28)}}, nil
		}
		if _, err := s.Import(ctx, next, registry.ImportOptions{IssueMissing: true, Source: "bench", NoDuplicateCheck: true}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d patients/IDs/audit rows in %s", n, time.Since(t0).Round(time.Second))
	return s, ctx
}

// BenchmarkAuditVerify1M: `idcards audit verify` (keyed chain, every
// protected row's state) on 1M patients, 1M IDs and 1M audit rows; the
// budget is 30 s. IDCARDS_BENCH_N sets another size.
func BenchmarkAuditVerify1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("IDCARDS_BENCH_N")); err == nil {
		n = v
	}
	s, ctx := auditRegistry(b, n)
	for b.Loop() {
		v, err := s.VerifyAuditDetail(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if v.Rows < int64(n) || v.StateRows < 2*int64(n) {
			b.Fatalf("checked %+v", v)
		}
	}
}
