package scanapi

import (
	"crypto/subtle"
	"net/http"
)

// Guards for /metrics and transport headers (issue 15).
//
// /metrics discloses no patient data, but counts of IDs, request rates and
// process details are still reconnaissance, and each scrape costs a walk
// of every collector. When Config.MetricsToken is set a scrape must carry
// "Authorization: Bearer <token>" (compared in constant time); `idcards
// serve` sets one by default when it listens beyond loopback. Scrapes are
// rate-limited per client address whatever the token.

// metricsRate and metricsBurst bound scrapes per client address: Prometheus
// scrapes every 15-60 s; a burst of 10 leaves room for a person with curl.
const (
	metricsRate  = 1
	metricsBurst = 10
)

// HSTSValue is sent with every response when Config.HSTS is set (the
// server speaks TLS): browsers and HTTP clients that honour it never fall
// back to plain HTTP for a year.
const HSTSValue = "max-age=31536000"

func (s *Server) guardMetrics(h http.Handler) http.Handler {
	lim := newLimiters(metricsRate, metricsBurst)
	want := []byte(s.cfg.MetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !lim.allow(clientAddr(r)) {
			s.tooMany(w, "metrics", metricsRate)
			return
		}
		if len(want) > 0 {
			got, ok := bearer(r.Header.Get("Authorization"))
			if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="idcards metrics"`)
				s.fail(w, "metrics", http.StatusUnauthorized, "metrics need the bearer token `idcards serve` was given (--metrics-token-file)")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
