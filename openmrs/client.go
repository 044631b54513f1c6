// Package openmrs owns the conversation with an OpenMRS server over its
// REST API (/ws/rest/v1): the session, patient search and creation,
// identifier types, locations and idgen identifier sources. It turns
// OpenMRS's error bodies into typed errors (*APIError, Classify) and
// survives a flaky network with retries and a circuit breaker.
//
// Wire DTOs live in dto.go and are converted to this package's types and
// the idcards domain types in convert.go; nothing outside this package sees
// OpenMRS JSON.
//
// The outbox Syncer built on this client relies on three contracts:
// FindPatientsByIdentifier is an exact match (look before and after a
// push), CreatePatient is never retried behind the caller's back (a lost
// answer is a *TransportError with Timeout set: the patient may exist), and
// IdentifiersOfType streams one identifier type's values page by page.
package openmrs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Client. Username and Password are values: the
// caller reads them from a file or the environment. They are sent only in
// the Authorization header and never appear in errors or logs.
type Config struct {
	// BaseURL is the OpenMRS web application root, e.g.
	// "https://emr.example.org/openmrs". A trailing "/ws/rest/v1" is accepted.
	BaseURL  string
	Username string
	Password string

	// Timeout bounds each attempt (default 30s). The caller's context bounds
	// the whole call including retries.
	Timeout time.Duration
	Retry   RetryPolicy
	Breaker BreakerConfig
	// Clock defaults to SystemClock.
	Clock Clock
	// JitterSeed seeds the backoff jitter; 0 picks one from the clock.
	JitterSeed uint64
	// Transport defaults to a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// UserAgent defaults to "idcards".
	UserAgent string
	// Logf, if set, receives one line per attempt: method, path, status,
	// duration. Query strings (which may hold identifiers) and credentials
	// are not logged.
	Logf func(format string, args ...any)
}

// Client talks to one OpenMRS server. It is safe for concurrent use.
type Client struct {
	root     *url.URL // web application root, no trailing slash
	username string
	password string
	ua       string
	timeout  time.Duration
	retry    RetryPolicy
	clock    Clock
	jitter   *jitter
	breaker  *breaker
	jar      *resettableJar
	http     *http.Client
	logf     func(string, ...any)

	requests atomic.Int64 // HTTP attempts sent
	retries  atomic.Int64 // attempts after the first
	// serverDate is the Date header of the last answer (Unix seconds):
	// the server's clock, which incremental pulls measure "changed since" by.
	serverDate atomic.Int64
}

// ServerTime is the server's clock as of its last answer (its Date
// header), or the zero time before any answer carried one.
func (c *Client) ServerTime() time.Time {
	if d := c.serverDate.Load(); d != 0 {
		return time.Unix(d, 0).UTC()
	}
	return time.Time{}
}

// New returns a Client. It does not contact the server: call Session to
// check the URL and credentials.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("openmrs: base URL is empty")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openmrs: base URL %q: want http(s)://host/openmrs", cfg.BaseURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), restPrefix)
	u.RawQuery, u.Fragment, u.User = "", "", nil
	if cfg.Username == "" {
		return nil, errors.New("openmrs: username is empty")
	}
	if strings.Contains(cfg.Username, ":") {
		// AuthorizationFilter splits the decoded header on ":" and keeps
		// parts [0] and [1], so a colon in either would be misread.
		return nil, errors.New("openmrs: username must not contain ':'")
	}
	if strings.Contains(cfg.Password, ":") {
		return nil, errors.New("openmrs: password contains ':' which OpenMRS's AuthorizationFilter truncates; change it")
	}
	c := &Client{
		root:     u,
		username: cfg.Username,
		password: cfg.Password,
		ua:       cfg.UserAgent,
		timeout:  cfg.Timeout,
		retry:    cfg.Retry.withDefaults(),
		clock:    cfg.Clock,
		logf:     cfg.Logf,
	}
	if c.ua == "" {
		c.ua = "idcards"
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	seed := cfg.JitterSeed
	if seed == 0 {
		seed = uint64(c.clock.Now().UnixNano())
	}
	c.jitter = newJitter(seed)
	c.breaker = &breaker{cfg: cfg.Breaker.withDefaults(), clock: c.clock}
	c.jar = newResettableJar()
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	// http.Client.Timeout is a backstop behind the per-attempt context, for
	// a body that trickles in after the headers.
	c.http = &http.Client{Transport: rt, Jar: c.jar, Timeout: c.timeout + time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c, nil
}

// Stats counts the client's traffic since New.
type Stats struct {
	Requests int64 // HTTP attempts sent (retries included)
	Retries  int64 // attempts after the first of a call
}

// Stats returns the traffic counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load()}
}

// BreakerState reports the circuit breaker's state, for a status line.
func (c *Client) BreakerState() BreakerState { return c.breaker.State() }

const (
	restPrefix = "/ws/rest/v1"
	fhirPrefix = "/ws/fhir2/R4"
	// maxBody bounds a response body; a 100-patient page in full
	// representation is well under 1 MiB.
	maxBody = 32 << 20
)

// CallOption changes how one call is made.
type CallOption func(*callOpts)

type callOpts struct {
	allowRetry bool
}

// AllowRetry lets the client retry a non-idempotent call (a POST) after a
// server or network failure. Use it only where a duplicate is harmless
// (asking idgen for an identifier wastes one) or after looking first.
func AllowRetry() CallOption { return func(o *callOpts) { o.allowRetry = true } }

// request is one logical call; do may send it several times.
type request struct {
	method string
	path   string // below the web app root, e.g. restPrefix+"/patient"
	query  url.Values
	body   any // marshalled to JSON when non-nil
	// okStatus lists accepted statuses; empty means any 2xx.
	opts callOpts
}

// do sends req with retries and the breaker, and decodes a 2xx JSON body
// into out (when out is non-nil). It returns *APIError for non-2xx answers
// and *TransportError when no answer came.
func (c *Client) do(ctx context.Context, req request, out any) error {
	var payload []byte
	if req.body != nil {
		var err error
		if payload, err = json.Marshal(req.body); err != nil {
			return fmt.Errorf("openmrs: %s %s: encode: %w", req.method, req.path, err)
		}
	}
	idempotent := req.method == http.MethodGet || req.method == http.MethodHead
	var lastErr error
	sessionReset := false
	for attempt := 1; attempt <= c.retry.MaxAttempts; attempt++ {
		if attempt > 1 && lastErr != nil {
			c.retries.Add(1)
			if err := c.clock.Sleep(ctx, c.jitter.draw(c.retry.backoff(attempt-1))); err != nil {
				return errors.Join(lastErr, err)
			}
		}
		if err := c.breaker.allow(); err != nil {
			return err
		}
		body, status, err := c.attempt(ctx, req, payload)
		failed := err != nil || status >= 500
		c.breaker.record(failed, errOrStatus(err, status))
		if err == nil && status >= 200 && status < 300 {
			if out == nil || len(bytes.TrimSpace(body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				if notJSON(body) {
					// A login page, a proxy's landing page, the OpenMRS web
					// app's own HTML: the base URL points somewhere else.
					return fmt.Errorf("openmrs: %s %s: %w: %s answered HTTP %d with %q, not JSON (the base URL should be the web app root, e.g. https://host/openmrs)",
						req.method, req.path, ErrNotREST, c.root, status, truncate(string(bytes.TrimSpace(body)), 60))
				}
				return fmt.Errorf("openmrs: %s %s: decode response: %w", req.method, req.path, err)
			}
			return nil
		}
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return lastErr
			}
			if !idempotent && !req.opts.allowRetry && !neverSent(err) {
				return lastErr
			}
			continue
		}
		if status == http.StatusUnauthorized && !sessionReset && c.hasSessionCookie() {
			// A JSESSIONID the server no longer knows gets 401 "Session
			// timed out" before Basic credentials are even looked at
			// (AuthorizationFilter in recent webservices.rest): forget it
			// and log in again, once, without counting an attempt.
			sessionReset = true
			c.jar.reset()
			attempt--
			continue
		}
		ae := ParseErrorBody(status, body)
		ae.Method, ae.Path = req.method, req.path
		lastErr = ae
		retryable := status >= 500 || status == http.StatusTooManyRequests
		if !retryable || (!idempotent && !req.opts.allowRetry) {
			return ae
		}
	}
	return lastErr
}

// notJSON reports whether a body is plainly not JSON (HTML, text).
func notJSON(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] != '{' && b[0] != '['
}

func errOrStatus(err error, status int) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("HTTP %d", status)
}

// attempt sends one HTTP request bounded by the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, req request, payload []byte) ([]byte, int, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.root
	u.Path = c.root.Path + req.path
	u.RawQuery = req.query.Encode()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	hr, err := http.NewRequestWithContext(actx, req.method, u.String(), rd)
	if err != nil {
		return nil, 0, fmt.Errorf("openmrs: %s %s: %w", req.method, req.path, err)
	}
	hr.SetBasicAuth(c.username, c.password)
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.ua)
	// Without this header OpenMRS adds WWW-Authenticate to 401s, which
	// would make browsers prompt; harmless for us but keeps answers lean
	// (BaseRestController.shouldAddWWWAuthHeader).
	hr.Header.Set("Disable-WWW-Authenticate", "true")
	if payload != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	c.requests.Add(1)
	start := c.clock.Now()
	resp, err := c.http.Do(hr)
	if err != nil {
		c.log(req, 0, start, err)
		return nil, 0, transportError(req, err, actx)
	}
	defer resp.Body.Close()
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		c.serverDate.Store(d.Unix())
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		c.log(req, resp.StatusCode, start, err)
		return nil, 0, transportError(req, err, actx)
	}
	c.log(req, resp.StatusCode, start, nil)
	return body, resp.StatusCode, nil
}

func (c *Client) log(req request, status int, start time.Time, err error) {
	if c.logf == nil {
		return
	}
	d := c.clock.Now().Sub(start).Round(time.Millisecond)
	if err != nil {
		c.logf("openmrs: %s %s: %v (%s)", req.method, req.path, scrub(err), d)
		return
	}
	c.logf("openmrs: %s %s: %d (%s)", req.method, req.path, status, d)
}

// scrub drops the URL from a *url.Error: the message would repeat the
// query string, and our own Path field already says which call failed.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func transportError(req request, err error, actx context.Context) *TransportError {
	te := &TransportError{Method: req.method, Path: req.path, Timeout: isTimeout(err, actx), Err: scrub(err)}
	te.Dropped = !te.Timeout && !neverSent(err) && !isDNS(err)
	return te
}

func isDNS(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}

func isTimeout(err error, actx context.Context) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(actx.Err(), context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// neverSent reports whether err proves the request never reached the
// server (the connection was refused), so even a POST may be re-sent.
func neverSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// resettableJar is a cookie jar that can be emptied, so that a stale
// JSESSIONID (OpenMRS answers 401 "Session timed out" to one) can be
// dropped without racing on http.Client.Jar.
type resettableJar struct {
	mu  sync.Mutex
	jar *cookiejar.Jar
}

func newResettableJar() *resettableJar {
	j, _ := cookiejar.New(nil) // error is always nil without options
	return &resettableJar{jar: j}
}

func (r *resettableJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	r.mu.Lock()
	j := r.jar
	r.mu.Unlock()
	j.SetCookies(u, cookies)
}

func (r *resettableJar) Cookies(u *url.URL) []*http.Cookie {
	r.mu.Lock()
	j := r.jar
	r.mu.Unlock()
	return j.Cookies(u)
}

func (r *resettableJar) reset() {
	j, _ := cookiejar.New(nil)
	r.mu.Lock()
	r.jar = j
	r.mu.Unlock()
}

func (c *Client) hasSessionCookie() bool {
	for _, ck := range c.jar.Cookies(c.root) {
		if ck.Name == "JSESSIONID" {
			return true
		}
	}
	return false
}

// ResetSession forgets the JSESSIONID cookie; the next request logs in
// again with Basic credentials.
func (c *Client) ResetSession() { c.jar.reset() }
