package registry_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// benchLocation is where bigRegistry keeps its fixture of n IDs between
// runs: a file in the temp dir, or a database kept on the
// IDCARDS_TEST_POSTGRES server.
func benchLocation(b *testing.B, n int) string {
	if !pgtest.Enabled() {
		return filepath.Join(os.TempDir(), "idcards-bench-"+strconv.Itoa(n)+".db")
	}
	return pgtest.KeptDatabase(b, "idcards_bench_"+strconv.Itoa(n))
}

// BenchmarkIssueDesks: one ID per transaction from 1 and from 4 desks at
// once (each desk its own Store: its own connections, as on its own PC),
// reported as IDs/s in total. Writers serialise on both engines, so four
// desks share one commit stream; the figure says how much of one desk's
// rate each keeps.
func BenchmarkIssueDesks(b *testing.B) {
	for _, desks := range []int{1, 4} {
		b.Run(fmt.Sprintf("desks=%d", desks), func(b *testing.B) {
			s, ctx := newStore(b)
			stores := []*registry.Store{s}
			for range desks - 1 {
				o, err := registry.Open(ctx, s.Path())
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { o.Close() })
				stores = append(stores, o)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			t0 := time.Now()
			for _, st := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := st.Reserve(ctx, 1); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "ids/s")
		})
	}
}
