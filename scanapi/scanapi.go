// Package scanapi is the HTTP validation endpoint for networked scanners and
// other clinic software: "is this card genuine and active?".
//
// It owns request parsing, authentication with scanner tokens, rate limits,
// batched auditing and metrics. It does not verify codes itself: every
// answer comes from the registry's one verification path (Registry.Verify),
// the same one the CLI and the TUI use.
//
// Routes:
//
//	GET  /v1/ids/{code}      token; 200 with a status for every well-formed question
//	POST /v1/scans           token; {"code": "raw scan text"} (AIM prefixes allowed)
//	GET  /v1/openapi.json    the OpenAPI 3 description (no token)
//	GET  /healthz            liveness and registry reachability (no token)
//	GET  /metrics            Prometheus metrics (no patient data; Config.MetricsToken, rate-limited)
//	     /fhir/...           FHIR R4: PDQm and PIXm queries (fhir.go, docs/fhir.md)
package scanapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
)

// Registry is what the endpoint needs from the registry.
type Registry interface {
	// VerifyScan is registry.Store.Verify (or a registry.Mirror's copy of
	// it); withPatient asks for the patient of an active ID.
	VerifyScan(ctx context.Context, raw string, withPatient bool) (idcards.Verification, error)
	LookupToken(ctx context.Context, secret string) (registry.Token, error)
	// ScanLogBatch appends answered requests to the scan log (chained into
	// the audit trail by one scan.batch row) and records the tokens' last
	// use, in one transaction; a failed call wrote nothing.
	ScanLogBatch(ctx context.Context, recs []registry.ScanRecord, lastUsed map[string]time.Time) error
	IdentifierCount(ctx context.Context) (int64, error)
	Ping(ctx context.Context) error
}

//go:embed openapi.json
var openAPI []byte

// Config tunes limits. Zero values take the defaults in DefaultConfig.
type Config struct {
	// PerToken and TokenBurst limit each token (requests per second).
	PerToken   rate.Limit
	TokenBurst int
	// PerAddr and AddrBurst limit each client address, before the token is
	// checked, so guessing tokens is as slow as using one.
	PerAddr   rate.Limit
	AddrBurst int
	// MaxBody is the largest POST body accepted.
	MaxBody int64
	// AuditEvery is how often batched scan log rows are written.
	AuditEvery time.Duration
	// MetricsToken, when set, is the bearer token /metrics requires
	// (guard.go); /metrics is rate-limited per address either way.
	MetricsToken string
	// HSTS sends Strict-Transport-Security (the server speaks TLS).
	HSTS bool
}

// DefaultConfig suits a clinic: a scanner scans at most a few codes a
// second; 20/s per token with bursts of 40 leaves room for batch tools.
func DefaultConfig() Config {
	return Config{PerToken: 20, TokenBurst: 40, PerAddr: 50, AddrBurst: 100, MaxBody: 4 << 10, AuditEvery: 500 * time.Millisecond}
}

// Server is the endpoint. Create it with New, serve Handler, and Close it
// to flush the scan log rows still queued.
type Server struct {
	reg     Registry
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	byToken *limiters
	byAddr  *limiters
	audit   auditQueue
	done    chan struct{}
	closed  sync.Once
	wg      sync.WaitGroup
	fhir    *fhirAPI // nil when the registry cannot answer FHIR (fhir.go)

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	metrics  *prometheus.Registry
}

// New builds the endpoint and starts its scan log writer.
func New(reg Registry, cfg Config, log *slog.Logger) *Server {
	def := DefaultConfig()
	if cfg.PerToken == 0 {
		cfg.PerToken, cfg.TokenBurst = def.PerToken, def.TokenBurst
	}
	if cfg.PerAddr == 0 {
		cfg.PerAddr, cfg.AddrBurst = def.PerAddr, def.AddrBurst
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = def.MaxBody
	}
	if cfg.AuditEvery == 0 {
		cfg.AuditEvery = def.AuditEvery
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		reg: reg, cfg: cfg, log: log,
		byToken: newLimiters(cfg.PerToken, cfg.TokenBurst),
		byAddr:  newLimiters(cfg.PerAddr, cfg.AddrBurst),
		done:    make(chan struct{}),
		metrics: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idcards_scan_requests_total",
			Help: "Scanner API requests by route and outcome (a verification status, or an HTTP error class).",
		}, []string{"route", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "idcards_scan_request_seconds",
			Help:    "Scanner API request latency.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"route"}),
	}
	s.metrics.MustRegister(s.requests, s.latency,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		newCountCollector(reg))
	s.mux = http.NewServeMux()
	s.mux.Handle("GET /v1/ids/{code}", s.timed("ids", s.authed(s.getID)))
	s.mux.Handle("POST /v1/scans", s.timed("scans", s.authed(s.postScan)))
	s.mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	s.mux.Handle("GET /healthz", s.timed("healthz", http.HandlerFunc(s.healthz)))
	s.mux.Handle("GET /metrics", s.guardMetrics(promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))) // guard.go
	s.fhirRoutes()
	s.audit.init()
	s.wg.Add(1)
	go s.auditWriter()
	return s
}

// Handler returns the endpoint's http.Handler. Unknown paths get 404 and
// wrong methods 405, both as JSON.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		w := &statusWriter{ResponseWriter: rw, code: http.StatusOK}
		defer func() {
			// The access log names the route, never the path: paths carry MRNs.
			s.log.Info("request", "method", r.Method, "route", routeName(r.URL.Path), "status", w.code,
				"ms", time.Since(t0).Milliseconds(), "addr", clientAddr(r))
		}()
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if s.cfg.HSTS {
			w.Header().Set("Strict-Transport-Security", HSTSValue)
		}
		if _, pattern := s.mux.Handler(r); pattern == "" {
			// Let the mux decide between 404 and 405, but answer in JSON.
			rec := &statusOnly{header: http.Header{}}
			s.mux.ServeHTTP(rec, r)
			code := rec.code
			if code == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", rec.header.Get("Allow"))
			}
			route := "other"
			if fr, _ := fhirRoute(r.URL.Path); fr != "" {
				route = routeFHIROther
			}
			s.fail(w, route, code, http.StatusText(code))
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

func routeName(p string) string {
	if _, pattern := fhirRoute(p); pattern != "" {
		return pattern
	}
	switch {
	case strings.HasPrefix(p, "/v1/ids/"):
		return "/v1/ids/{code}"
	case p == "/v1/scans", p == "/healthz", p == "/metrics", p == "/v1/openapi.json":
		return p
	}
	return "other"
}

// statusOnly captures the status (and Allow header) the mux would send.
type statusOnly struct {
	header http.Header
	code   int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(c int)           { s.code = c }

// Close stops the scan log writer after writing what is queued.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.done) })
	s.wg.Wait()
}

// Answer is the JSON body for a verification.
type Answer struct {
	Code       string          `json:"code"`
	Status     idcards.Status  `json:"status"`
	Detail     string          `json:"detail,omitempty"`
	CardSerial string          `json:"card_serial,omitempty"`
	CheckedAt  time.Time       `json:"checked_at"`
	Patient    *PatientSummary `json:"patient,omitempty"`
	// RestoredAt (only with status unknown): the ID is of this registry's
	// own series and a restore passed over it, so a card carrying it may
	// be genuine and its record lost with the restore.
	RestoredAt string `json:"restored_at,omitempty"`
	// CardRecordLost (with RestoredAt): the card serial is unknown, but the
	// registry was restored from a backup since it may have been printed:
	// its print record was lost with the restore.
	CardRecordLost bool `json:"card_record_lost,omitempty"`
	// Disputed (only with status active): OpenMRS has an open conflict
	// over the ID; Detail says what.
	Disputed bool `json:"disputed,omitempty"`
	// Dispute (with Disputed): "identifier" (OpenMRS holds the number for
	// someone else, or refused it) or "lookalike" (not in OpenMRS yet: the
	// registration is held because OpenMRS may have the person under
	// another record).
	Dispute string `json:"dispute,omitempty"`
}

// PatientSummary is the minimum a read:patient token sees: enough for a
// ward to confirm "this is Amina, F, born 1990", nothing more.
type PatientSummary struct {
	DisplayName string      `json:"display_name"`
	Sex         idcards.Sex `json:"sex"`
	BirthYear   int         `json:"birth_year,omitempty"`
}

type ctxToken struct{}

func tokenFrom(ctx context.Context) registry.Token {
	t, _ := ctx.Value(ctxToken{}).(registry.Token)
	return t
}

func (s *Server) getID(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, "ids", r.PathValue("code"))
}

func (s *Server) postScan(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		s.fail(w, "scans", http.StatusUnsupportedMediaType, "send Content-Type: application/json with a body like {\"code\": \"...\"}")
		return
	}
	code, status, msg := parseScanBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if status != 0 {
		s.fail(w, "scans", status, msg)
		return
	}
	s.answer(w, r, "scans", code)
}

// parseScanBody reads {"code": "..."}. It returns an HTTP status and
// message for a body that is not a well-formed question.
func parseScanBody(body io.Reader) (code string, status int, msg string) {
	var req struct {
		Code *string `json:"code"`
	}
	dec := json.NewDecoder(body)
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", http.StatusRequestEntityTooLarge, "body too large: send one code per request"
		}
		return "", http.StatusBadRequest, "body is not a JSON object like {\"code\": \"...\"}"
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", http.StatusBadRequest, "one JSON object per request"
	}
	if req.Code == nil {
		return "", http.StatusBadRequest, "missing \"code\""
	}
	return *req.Code, 0, ""
}

// checkCode refuses what is not a question at all (as opposed to a code
// that is wrong, which gets 200 and a status).
func checkCode(code string) string {
	switch {
	case code == "":
		return "empty code"
	case len(code) > barcode.MaxInput:
		return "code longer than " + strconv.Itoa(barcode.MaxInput) + " bytes"
	case !utf8.ValidString(code):
		return "code is not valid UTF-8"
	}
	for _, r := range code {
		if r < 0x20 && r != '\t' && r != '\r' && r != '\n' || r == 0x7f {
			return "code contains control characters"
		}
	}
	return ""
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, route, code string) {
	if msg := checkCode(code); msg != "" {
		s.fail(w, route, http.StatusBadRequest, msg)
		return
	}
	tok := tokenFrom(r.Context())
	v, err := s.reg.VerifyScan(r.Context(), code, mayReadPatient(r.Context()))
	if err != nil {
		s.log.Error("verify", "route", route, "err", err)
		s.fail(w, route, http.StatusServiceUnavailable, "registry unavailable, try again")
		return
	}
	a := Answer{Code: v.Code, Status: v.Status, Detail: v.Detail, CheckedAt: v.CheckedAt.UTC(), RestoredAt: v.RestoredAt, CardRecordLost: v.CardRecordLost, Disputed: v.Disputed, Dispute: v.Dispute}
	// The card serial only when the code carried one (a card's 2D
	// symbol): the current card's serial, sent for a bare MRN, would let
	// whoever holds a replaced card and any scanner token make the new
	// card's 2D content. Likewise the successor of a replaced card stays
	// unnamed.
	if _, serial := barcode.SplitScan(code); serial != "" {
		a.CardSerial = v.CardSerial
	}
	if v.Status == idcards.StatusReplaced && v.Detail != registry.DetailReplacementVoided {
		// (A replacement that was voided names no card: the answer
		// stands as it is, so the desk prints a new card instead of
		// asking for one the patient never had.)
		a.Detail = "this card was replaced: ask for the patient's current card"
	}
	if v.Patient != nil && v.Status == idcards.StatusActive {
		if p, full := disclose(r.Context(), *v.Patient); full {
			a.Patient = &PatientSummary{DisplayName: p.DisplayName(), Sex: p.Sex, BirthYear: birthYear(p.BirthDate)}
		}
	}
	s.requests.WithLabelValues(route, string(v.Status)).Inc()
	logged := v.Code
	if logged == "" {
		// Malformed: what the scanner sent (checkCode bounded it) helps
		// find a misconfigured scanner.
		logged = code
	}
	s.enqueueAudit(registry.ScanRecord{At: v.CheckedAt, Token: tok.Name, Code: logged, Status: v.Status, Addr: clientAddr(r)})
	writeJSON(w, http.StatusOK, a)
}

func birthYear(date string) int {
	if len(date) >= 4 {
		y, _ := strconv.Atoi(date[:4])
		return y
	}
	return 0
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.reg.Ping(ctx); err != nil {
		s.fail(w, "healthz", http.StatusServiceUnavailable, "registry unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// authed rate-limits by client address, checks the bearer token, then
// rate-limits by token.
func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		route := routeOf(r)
		if !s.byAddr.allow(clientAddr(r)) {
			s.tooMany(w, route, s.cfg.PerAddr)
			return
		}
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="idcards"`)
			s.fail(w, route, http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <token from `idcards tokens add`>")
			return
		}
		tok, err := s.reg.LookupToken(r.Context(), secret)
		if err != nil {
			if idcards.ErrorKind(err) != idcards.Forbidden {
				s.log.Error("token lookup", "err", err)
				s.fail(w, route, http.StatusServiceUnavailable, "registry unavailable, try again")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="idcards", error="invalid_token"`)
			s.fail(w, route, http.StatusUnauthorized, "invalid or revoked token")
			return
		}
		if !s.byToken.allow(tok.Name) {
			s.tooMany(w, route, s.cfg.PerToken)
			return
		}
		ctx := context.WithValue(r.Context(), ctxToken{}, tok)
		next(w, r.WithContext(idcards.WithActor(ctx, tok.Actor())))
	}
}

// bearer extracts the token from an Authorization header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 128
}

func routeOf(r *http.Request) string {
	if route, _ := fhirRoute(r.URL.Path); route != "" {
		return route
	}
	if strings.HasPrefix(r.URL.Path, "/v1/ids/") {
		return "ids"
	}
	return "scans"
}

func (s *Server) tooMany(w http.ResponseWriter, route string, per rate.Limit) {
	wait := 1
	if per > 0 && per < 1 {
		wait = int(1/float64(per)) + 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(wait))
	s.fail(w, route, http.StatusTooManyRequests, "rate limit exceeded, slow down")
}

func (s *Server) fail(w http.ResponseWriter, route string, code int, msg string) {
	if isFHIRRoute(route) {
		s.fhirFail(w, route, code, "", msg) // an OperationOutcome
		return
	}
	s.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) timed(route string, h http.Handler) http.Handler {
	obs := s.latency.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		h.ServeHTTP(w, r)
		obs.Observe(time.Since(t0).Seconds())
	})
}

// clientAddr is the peer's IP. X-Forwarded-For is deliberately ignored: a
// client could set it to dodge the per-address limit.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// auditQueue holds scan log rows between a request and the writer.
// Requests append under a mutex (cheaper than a channel send, and never
// blocked by a write in progress: the writer swaps the slice out and writes
// without the lock). The batch digest and its audit row are computed by
// the writer (registry.ScanLogBatch).
type auditQueue struct {
	mu      sync.Mutex
	room    *sync.Cond // signalled when the writer takes the pending rows
	pending []registry.ScanRecord
	kick    chan struct{} // a full batch is waiting
}

// auditBatch is the most rows per write; auditMaxPending is how many may
// wait before requests wait for the writer (backpressure, never loss).
const (
	auditBatch      = 4096
	auditMaxPending = 64 * 1024
)

func (q *auditQueue) init() {
	q.room = sync.NewCond(&q.mu)
	q.kick = make(chan struct{}, 1)
}

// enqueueAudit hands a scan log row to the batch writer. It waits when the
// queue is full rather than drop a row: under a flood the rate limits
// bound how many authenticated requests reach this point.
func (s *Server) enqueueAudit(e registry.ScanRecord) {
	q := &s.audit
	q.mu.Lock()
	for len(q.pending) >= auditMaxPending {
		q.room.Wait()
	}
	q.pending = append(q.pending, e)
	n := len(q.pending)
	q.mu.Unlock()
	if n == auditBatch {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// take swaps the pending rows for spare (emptied), returning them.
func (q *auditQueue) take(spare []registry.ScanRecord) []registry.ScanRecord {
	q.mu.Lock()
	batch := q.pending
	q.pending = spare[:0]
	q.room.Broadcast()
	q.mu.Unlock()
	return batch
}

// auditWriter writes the queued scan log rows every AuditEvery, or as soon as a full
// batch waits, and everything still queued when the server is closed.
func (s *Server) auditWriter() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.AuditEvery)
	defer tick.Stop()
	var spare, failed []registry.ScanRecord
	used := map[string]time.Time{}
	flush := func() {
		taken := s.audit.take(spare)
		batch := taken
		if len(failed) > 0 {
			batch = append(failed, batch...)
			failed = nil
		}
		for len(batch) > 0 {
			n := min(len(batch), auditBatch)
			now := time.Now()
			for _, e := range batch[:n] {
				used[e.Token] = now
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := s.reg.ScanLogBatch(ctx, batch[:n], used)
			cancel()
			if err != nil {
				// Keep the rows and retry at the next tick rather than lose them.
				s.log.Error("scan log batch", "rows", len(batch), "err", err)
				failed = append([]registry.ScanRecord(nil), batch...)
				break
			}
			clear(used)
			batch = batch[n:]
		}
		clear(taken) // the strings may go; the array is the next spare
		spare = taken[:0]
	}
	for {
		select {
		case <-s.audit.kick:
			flush()
		case <-tick.C:
			flush()
		case <-s.done:
			flush()
			if len(failed) > 0 {
				s.log.Error("scan log rows not written at shutdown", "rows", len(failed))
			}
			return
		}
	}
}

// countCollector reports the registry's size, cached for 15 s so a scrape
// does not count a million rows every time.
type countCollector struct {
	reg  Registry
	desc *prometheus.Desc
	mu   sync.Mutex
	at   time.Time
	n    int64
}

func newCountCollector(reg Registry) *countCollector {
	return &countCollector{reg: reg, desc: prometheus.NewDesc("idcards_registry_identifiers", "IDs in the registry (any state).", nil, nil)}
}

func (c *countCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > 15*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if n, err := c.reg.IdentifierCount(ctx); err == nil {
			c.n, c.at = n, time.Now()
		}
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(c.n))
}
