package scanapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxKeys bounds the limiter table: a flood from many addresses cannot
// grow memory without limit. Idle entries are dropped first; if the table
// is still full, it starts over (briefly forgiving everyone, never failing).
const maxKeys = 10000

// limiters is one token bucket per key (client address or token name).
type limiters struct {
	mu    sync.Mutex
	per   rate.Limit
	burst int
	m     map[string]*limited
}

type limited struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(per rate.Limit, burst int) *limiters {
	if burst < 1 {
		burst = 1
	}
	return &limiters{per: per, burst: burst, m: map[string]*limited{}}
}

func (l *limiters) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	e, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxKeys {
			l.evict(now)
		}
		e = &limited{lim: rate.NewLimiter(l.per, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	l.mu.Unlock()
	return e.lim.AllowN(now, 1)
}

// evict drops entries idle long enough for their bucket to be full again.
func (l *limiters) evict(now time.Time) {
	idle := time.Minute
	if l.per > 0 {
		if full := time.Duration(float64(l.burst) / float64(l.per) * float64(time.Second)); full > idle {
			idle = full
		}
	}
	for k, e := range l.m {
		if now.Sub(e.seen) > idle {
			delete(l.m, k)
		}
	}
	if len(l.m) >= maxKeys {
		clear(l.m)
	}
}

func (l *limiters) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
