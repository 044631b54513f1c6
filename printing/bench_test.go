package printing

import (
	"fmt"
	"io"
	"runtime"
	"testing"
)

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// BenchmarkRender_A4 renders whole batches on A4 sheets with a Code 128
// symbol and reports cards/s, PDF bytes per card and the heap in use after
// the batch and a GC (to see whether retained memory grows with the batch).
func BenchmarkRender_A4(b *testing.B) {
	sheet, _ := LayoutSheet("a4")
	for _, n := range []int{1000, 10000} {
		cards := testCards(n)
		b.Run(fmt.Sprintf("cards=%d", n), func(b *testing.B) {
			var w countWriter
			var heap uint64
			for i := 0; i < b.N; i++ {
				w.n = 0
				r, err := NewRenderer(&w, sheet, RenderOptions{Options: Options{Facility: "Kisugu Health Centre III"}, Created: fixed})
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range cards {
					if _, err := r.Add(c); err != nil {
						b.Fatal(err)
					}
				}
				var ms runtime.MemStats
				runtime.GC() // count what the renderer retains, not garbage
				runtime.ReadMemStats(&ms)
				heap = ms.HeapInuse
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "cards/s")
			b.ReportMetric(float64(w.n)/float64(n), "bytes/card")
			b.ReportMetric(float64(heap)/(1<<20), "heapMB")
		})
	}
}
