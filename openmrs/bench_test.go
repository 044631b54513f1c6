package openmrs_test

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/idcards/idcards/openmrs"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// heapGrowth samples the live heap every 5 ms until stop is called and
// returns the highest value seen above the heap at the start, in MB (the
// fake server's own data lives in the same process and is not counted).
func heapGrowth() (stop func() float64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		if peak < base {
			return 0
		}
		return float64(peak-base) / (1 << 20)
	}
}

// heapNow is the live heap in MB.
func heapNow() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()) / (1 << 20)
}

// BenchmarkSyncerPull100k: the first pull of 100,000 identifiers of our
// prefix from the fake OpenMRS over loopback into a fresh registry (pages
// of 100, the REST maximum). Reports requests and identifiers per pull,
// allocations, how far the heap grew during the pull (garbage included,
// on both sides of the loopback: the fake renders in this process) and
// what stayed after a GC.
func BenchmarkSyncerPull100k(b *testing.B) {
	fake := openmrstest.New(b, openmrstest.Options{})
	for i := int64(1); i <= 100_000; i++ {
		seed(fake, "", "G", mrn(b, i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var peak, retained float64
	var reqs, ids int
	for range b.N {
		b.StopTimer()
		d := newDesk(b, fake, 30*time.Second)
		runtime.GC()
		base := heapNow()
		stop := heapGrowth()
		b.StartTimer()
		rep, err := d.sy.Pull(d.ctx, true, nil)
		b.StopTimer()
		peak = max(peak, stop())
		runtime.GC()
		retained = max(retained, heapNow()-base)
		if err != nil || rep.Added != 100_000 {
			b.Fatalf("pull = %+v, %v", rep, err)
		}
		reqs, ids = rep.Requests, rep.Identifiers
		d.s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(reqs), "requests/op")
	b.ReportMetric(float64(ids), "identifiers/op")
	b.ReportMetric(peak, "heap-growth-MB")
	b.ReportMetric(retained, "retained-MB")
}

// BenchmarkSyncerPush: registrations pushed to the fake OpenMRS over
// loopback, each one the real sequence (look up the MRN, search OpenMRS
// by name for someone who may be the same person, create the patient with
// its identifier, look again), 200 per op. All share one family name, so
// each name search returns a full page of the patients pushed before.
func BenchmarkSyncerPush(b *testing.B) {
	const n = 200
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		fake := openmrstest.New(b, openmrstest.Options{})
		d := newDesk(b, fake, 30*time.Second)
		for i := range n {
			d.register(b, i)
		}
		b.StartTimer()
		t0 := time.Now()
		rep, err := d.sy.Push(d.ctx, nil)
		elapsed += time.Since(t0)
		if err != nil || rep.Pushed != n {
			b.Fatalf("push = %+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "registrations/s")
}

// BenchmarkSyncerRound100kTenChanges: one sync round (session, pull, push)
// at 100,000 identifiers held in OpenMRS with ten patients changed since
// the last round, on a server with FHIR2 (incremental pull) and on one
// without (full pull, the only way before issue 17). Reports the HTTP
// requests the round sends, which is what the hospital's server pays for.
func BenchmarkSyncerRound100kTenChanges(b *testing.B) {
	for _, tc := range []struct {
		name   string
		noFHIR bool
	}{{"fhir2", false}, {"noFHIR2", true}} {
		b.Run(tc.name, func(b *testing.B) {
			sc := newServerClock()
			fake := openmrstest.New(b, openmrstest.Options{Now: sc.Now, NoFHIR: tc.noFHIR})
			for i := int64(1); i <= 100_000; i++ {
				seed(fake, "", "G", mrn(b, i))
			}
			sc.Advance(time.Hour)
			d := newDesk(b, fake, 30*time.Second)
			if _, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true, Push: true}, nil); err != nil {
				b.Fatal(err)
			}
			next := int64(200_000)
			var reqs int64
			var mode string
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				sc.Advance(15 * time.Minute)
				d.clock.Advance(15 * time.Minute)
				for range 10 {
					next++
					seed(fake, "", "G", mrn(b, next))
				}
				sc.Advance(time.Minute)
				before := fake.Requests()
				b.StartTimer()
				rep, err := d.sy.Run(d.ctx, openmrs.Round{Pull: true, Push: true}, nil)
				b.StopTimer()
				if err != nil || rep.Pull.Added != 10 {
					b.Fatalf("round = %+v, %v", rep.Pull, err)
				}
				reqs, mode = fake.Requests()-before, rep.Pull.Mode
				b.StartTimer()
			}
			b.ReportMetric(float64(reqs), "requests/round")
			b.Logf("pull mode: %s", mode)
		})
	}
}
