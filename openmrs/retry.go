package openmrs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// Clock is the time source of retries and the circuit breaker. Tests pass
// a fake so that no test sleeps for real.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() in that case.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RetryPolicy is exponential backoff with full jitter: before retry n
// (1-based) the client sleeps a random duration in
// [0, min(MaxDelay, BaseDelay·2^(n-1))]. Full jitter spreads the desks of a
// hospital that all lost the server at the same moment.
//
// GETs are retried on transport errors, 429 and 5xx (OpenMRS maps
// unexpected exceptions to 500, so a 500 may be permanent; MaxAttempts
// bounds the waste). POSTs are retried only when the caller passes
// AllowRetry, or when the connection was refused (the request never left).
type RetryPolicy struct {
	MaxAttempts int           // total attempts including the first; default 4; 1 disables retries
	BaseDelay   time.Duration // default 200ms
	MaxDelay    time.Duration // default 5s
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	return p
}

// backoff returns the ceiling of the delay before retry n (n ≥ 1).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// jitter draws uniformly from [0, d] with a per-client generator.
type jitter struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newJitter(seed uint64) *jitter {
	return &jitter{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (j *jitter) draw(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return time.Duration(j.rng.Int64N(int64(d) + 1))
}

// BreakerConfig configures the circuit breaker that stops a desk from
// hammering a server that is down: after FailureThreshold consecutive
// failed attempts (transport errors and 5xx) the breaker opens and calls
// fail fast with ErrCircuitOpen; after CoolDown one probe request is let
// through (half-open); its success closes the breaker, its failure opens
// it for another CoolDown.
type BreakerConfig struct {
	FailureThreshold int           // default 5; negative disables the breaker
	CoolDown         time.Duration // default 30s
}

func (b BreakerConfig) withDefaults() BreakerConfig {
	if b.FailureThreshold == 0 {
		b.FailureThreshold = 5
	}
	if b.CoolDown <= 0 {
		b.CoolDown = 30 * time.Second
	}
	return b
}

// BreakerState is the state of the circuit breaker.
type BreakerState int

const (
	BreakerClosed   BreakerState = iota // calls go through
	BreakerOpen                         // calls fail fast
	BreakerHalfOpen                     // one probe is in flight
)

func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "closed"
}

type breaker struct {
	cfg   BreakerConfig
	clock Clock

	mu       sync.Mutex
	state    BreakerState
	failures int
	openedAt time.Time
	lastErr  error
}

// allow reports whether an attempt may start. In half-open state only the
// caller that moved the breaker there gets through.
func (b *breaker) allow() error {
	if b.cfg.FailureThreshold < 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return nil
	case BreakerOpen:
		if b.clock.Now().Sub(b.openedAt) >= b.cfg.CoolDown {
			b.state = BreakerHalfOpen
			return nil
		}
	}
	until := b.openedAt.Add(b.cfg.CoolDown)
	return &circuitError{failures: b.failures, until: until, last: b.lastErr}
}

// record reports the outcome of an attempt that allow let through.
func (b *breaker) record(failed bool, err error) {
	if b.cfg.FailureThreshold < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !failed {
		b.state, b.failures, b.lastErr = BreakerClosed, 0, nil
		return
	}
	b.failures++
	b.lastErr = err
	if b.state == BreakerHalfOpen || b.failures >= b.cfg.FailureThreshold {
		b.state = BreakerOpen
		b.openedAt = b.clock.Now()
	}
}

func (b *breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// circuitError is returned while the breaker is open; it matches
// ErrCircuitOpen and unwraps to the failure that opened it.
type circuitError struct {
	failures int
	until    time.Time
	last     error
}

func (e *circuitError) Error() string {
	s := fmt.Sprintf("openmrs: server unreachable after %d consecutive failures; not retrying until %s",
		e.failures, e.until.Format("15:04:05"))
	if e.last != nil {
		s += " (last error: " + e.last.Error() + ")"
	}
	return s
}

func (e *circuitError) Is(target error) bool { return target == ErrCircuitOpen }
func (e *circuitError) Unwrap() error        { return e.last }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
