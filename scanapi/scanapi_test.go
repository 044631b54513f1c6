package scanapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/idcards/idcards/internal/pgtest"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/idcards/idcards/scanapi"
	"golang.org/x/time/rate"
)

// fixture is a real registry file with one ID in each state and tokens.
type fixture struct {
	store                        *registry.Store
	ctx                          context.Context
	active, unassigned, voided   string
	typo, unknown                string
	verifyTok, patientTok, revok string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	s, err := registry.Create(ctx, pgtest.Location(t), idcards.Format{Prefix: "KLA", Width: 6, Scheme: "luhn-mod-30"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{store: s, ctx: ctx}
	_, f.active, err = s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-03-04", Phone: "+256 772 123456"}})
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Okello", FamilyName: "Peter", Sex: "M", BirthDate: "1970-01-01"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, v, "duplicate record"); err != nil {
		t.Fatal(err)
	}
	f.voided = v
	ids, err := s.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.unassigned = ids[0]
	last := f.active[len(f.active)-1]
	alt := byte('0')
	if last == '0' {
		alt = '1'
	}
	f.typo = f.active[:len(f.active)-1] + string(alt)
	for _, c := range "0123456789ACDEFGHJKLMNPRTUVWXY" {
		if v, _ := s.Verify(ctx, "KLA999999"+string(c)); v.Status == idcards.StatusUnknown {
			f.unknown = "KLA999999" + string(c)
		}
	}
	if f.verifyTok, err = s.CreateToken(ctx, "ward3", registry.ScopeVerify); err != nil {
		t.Fatal(err)
	}
	if f.patientTok, err = s.CreateToken(ctx, "lab", registry.ScopeReadPatient); err != nil {
		t.Fatal(err)
	}
	if f.revok, err = s.CreateToken(ctx, "old", registry.ScopeVerify); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	return f
}

func newServer(t testing.TB, f *fixture, cfg scanapi.Config) *scanapi.Server {
	srv := scanapi.New(f.store, cfg, nil)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	code   int
	header http.Header
	body   string
}

func do(h http.Handler, method, target, token, ctype, body string) reply {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return reply{w.Code, w.Header(), w.Body.String()}
}

func TestServer_Statuses(t *testing.T) {
	f := newFixture(t)
	h := newServer(t, f, scanapi.Config{}).Handler()
	tests := []struct {
		name       string
		method     string
		target     string
		token      string
		body       string
		wantCode   int
		wantStatus idcards.Status
		wantIn     []string
		wantNot    []string
	}{
		{"active", "GET", "/v1/ids/" + f.active, f.verifyTok, "", 200, idcards.StatusActive, nil, []string{"Amina", "patient"}},
		{"active, read:patient sees the minimum", "GET", "/v1/ids/" + f.active, f.patientTok, "", 200, idcards.StatusActive,
			[]string{`"display_name":"Amina Nakato"`, `"sex":"F"`, `"birth_year":1990`}, []string{"772 123456", "+256", `"phone"`, "1990-03-04"}},
		{"unassigned", "GET", "/v1/ids/" + f.unassigned, f.verifyTok, "", 200, idcards.StatusUnassigned, nil, nil},
		{"voided", "GET", "/v1/ids/" + f.voided, f.patientTok, "", 200, idcards.StatusVoided, nil, []string{"Okello"}},
		{"typo", "GET", "/v1/ids/" + f.typo, f.verifyTok, "", 200, idcards.StatusInvalidCheck, []string{"typo"}, nil},
		{"unknown", "GET", "/v1/ids/" + f.unknown, f.verifyTok, "", 200, idcards.StatusUnknown, nil, nil},
		{"garbage is a well-formed question", "GET", "/v1/ids/hello", f.verifyTok, "", 200, idcards.StatusMalformed, nil, nil},
		{"lower case and spaces", "GET", "/v1/ids/" + url.PathEscape(strings.ToLower(f.active[:3]+" "+f.active[3:])), f.verifyTok, "", 200, idcards.StatusActive, nil, nil},
		{"POST raw scan with AIM prefix", "POST", "/v1/scans", f.verifyTok, `{"code":"]C0` + f.active + `\r\n"}`, 200, idcards.StatusActive, nil, nil},
		{"POST unknown fields ignored", "POST", "/v1/scans", f.verifyTok, `{"code":"` + f.unassigned + `","device":"gun-7"}`, 200, idcards.StatusUnassigned, nil, nil},
		{"no token", "GET", "/v1/ids/" + f.active, "", "", 401, "", []string{"bearer token"}, []string{"Amina"}},
		{"wrong token", "GET", "/v1/ids/" + f.active, "idc_nope", "", 401, "", []string{"invalid or revoked"}, nil},
		{"revoked token", "GET", "/v1/ids/" + f.active, f.revok, "", 401, "", []string{"invalid or revoked"}, nil},
		{"NUL in path", "GET", "/v1/ids/KLA%00001", f.verifyTok, "", 400, "", []string{"control characters"}, nil},
		{"invalid UTF-8", "GET", "/v1/ids/%ff%fe", f.verifyTok, "", 400, "", []string{"UTF-8"}, nil},
		{"too long", "GET", "/v1/ids/" + strings.Repeat("7", 300), f.verifyTok, "", 400, "", []string{"longer than 256"}, nil},
		{"POST not JSON", "POST", "/v1/scans", f.verifyTok, `code=KLA`, 400, "", []string{"not a JSON object"}, nil},
		{"POST missing code", "POST", "/v1/scans", f.verifyTok, `{"serial":"x"}`, 400, "", []string{`missing \"code\"`}, nil},
		{"POST two objects", "POST", "/v1/scans", f.verifyTok, `{"code":"a"}{"code":"b"}`, 400, "", []string{"one JSON object"}, nil},
		{"POST empty code", "POST", "/v1/scans", f.verifyTok, `{"code":""}`, 400, "", []string{"empty code"}, nil},
		{"POST 1 MB body", "POST", "/v1/scans", f.verifyTok, `{"code":"` + strings.Repeat("A", 1<<20) + `"}`, 413, "", []string{"too large"}, nil},
		{"wrong method", "DELETE", "/v1/ids/" + f.active, f.verifyTok, "", 405, "", nil, nil},
		{"unknown path", "GET", "/v2/ids/x", f.verifyTok, "", 404, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctype := ""
			if tt.method == "POST" {
				ctype = "application/json"
				if tt.name == "POST not JSON" {
					ctype = "application/json; charset=utf-8"
				}
			}
			r := do(h, tt.method, tt.target, tt.token, ctype, tt.body)
			if r.code != tt.wantCode {
				t.Fatalf("HTTP %d, want %d: %s", r.code, tt.wantCode, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.wantStatus != "" {
				var a scanapi.Answer
				if err := json.Unmarshal([]byte(r.body), &a); err != nil {
					t.Fatal(err)
				}
				if a.Status != tt.wantStatus {
					t.Errorf("status %q, want %q (%s)", a.Status, tt.wantStatus, r.body)
				}
				if a.CheckedAt.IsZero() {
					t.Errorf("no checked_at in %s", r.body)
				}
			} else if !strings.Contains(r.body, `"error":`) {
				t.Errorf("error reply without an error message: %s", r.body)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(r.body, w) {
					t.Errorf("reply %s lacks %q", r.body, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(r.body, w) {
					t.Errorf("reply %s discloses %q", r.body, w)
				}
			}
		})
	}
}

// TestServer_RestoredAndDisputed: the answer carries restored_at for an
// ID whose record a restore lost (its card may be genuine) and disputed
// for an active ID OpenMRS has a conflict over, as openapi.json promises;
// the desk's Verify says the same.
func TestServer_RestoredAndDisputed(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	disputed, err := f.store.Verify(ctx, f.active)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RecordConflict(ctx, idcards.SyncConflict{Identifier: f.active, LocalPatientID: disputed.Patient.ID,
		RemotePatientUUID: "b52ec6f9-0e26-424c-a4a1-c64f9d571eb3", Detail: "OpenMRS holds it for another patient"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	if _, err := f.store.Backup(ctx, registry.BackupOptions{Out: backup}); err != nil {
		t.Fatal(err)
	}
	_, lost, err := f.store.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Akello", FamilyName: "Okot", Sex: "F", BirthDate: "1990-03-04"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Restore(context.Background(), backup, registry.RestoreOptions{To: f.store.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
		t.Fatal(err)
	}
	h := newServer(t, f, scanapi.Config{}).Handler()
	for _, tc := range []struct {
		code   string
		status idcards.Status
		check  func(a scanapi.Answer) bool
	}{
		{lost, idcards.StatusUnknown, func(a scanapi.Answer) bool { return a.RestoredAt != "" && !a.Disputed }},
		{f.active, idcards.StatusActive, func(a scanapi.Answer) bool { return a.Disputed && a.RestoredAt == "" }},
		{f.unknown, idcards.StatusUnknown, func(a scanapi.Answer) bool { return a.RestoredAt == "" && !a.Disputed }},
	} {
		r := do(h, "GET", "/v1/ids/"+tc.code, f.verifyTok, "", "")
		var a scanapi.Answer
		if err := json.Unmarshal([]byte(r.body), &a); err != nil || r.code != 200 {
			t.Fatalf("%s: HTTP %d %s %v", tc.code, r.code, r.body, err)
		}
		if a.Status != tc.status || !tc.check(a) {
			t.Errorf("%s: %s", tc.code, r.body)
		}
	}
}

func TestServer_UnauthorizedSaysHow(t *testing.T) {
	f := newFixture(t)
	r := do(newServer(t, f, scanapi.Config{}).Handler(), "GET", "/v1/ids/"+f.active, "", "", "")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestServer_ContentType(t *testing.T) {
	f := newFixture(t)
	h := newServer(t, f, scanapi.Config{}).Handler()
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		if r := do(h, "POST", "/v1/scans", f.verifyTok, ct, `{"code":"x"}`); r.code != 415 {
			t.Errorf("Content-Type %q: HTTP %d, want 415", ct, r.code)
		}
	}
}

func TestServer_RateLimits(t *testing.T) {
	f := newFixture(t)
	t.Run("per token", func(t *testing.T) {
		h := newServer(t, f, scanapi.Config{PerToken: rate.Every(time.Hour), TokenBurst: 3}).Handler()
		for i := 0; i < 3; i++ {
			if r := do(h, "GET", "/v1/ids/"+f.active, f.verifyTok, "", ""); r.code != 200 {
				t.Fatalf("request %d: HTTP %d", i, r.code)
			}
		}
		r := do(h, "GET", "/v1/ids/"+f.active, f.verifyTok, "", "")
		if r.code != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("4th request: HTTP %d Retry-After %q", r.code, r.header.Get("Retry-After"))
		}
		// Another token is not affected.
		if r := do(h, "GET", "/v1/ids/"+f.active, f.patientTok, "", ""); r.code != 200 {
			t.Fatalf("other token: HTTP %d", r.code)
		}
	})
	t.Run("per address, before the token is checked", func(t *testing.T) {
		h := newServer(t, f, scanapi.Config{PerAddr: rate.Every(time.Hour), AddrBurst: 2}).Handler()
		for i := 0; i < 2; i++ {
			do(h, "GET", "/v1/ids/x", "idc_guess", "", "")
		}
		if r := do(h, "GET", "/v1/ids/"+f.active, f.verifyTok, "", ""); r.code != 429 {
			t.Fatalf("token guessing from one address: HTTP %d, want 429", r.code)
		}
	})
}

func TestServer_AuditsEveryAnswer(t *testing.T) {
	f := newFixture(t)
	srv := scanapi.New(f.store, scanapi.Config{}, nil)
	h := srv.Handler()
	do(h, "GET", "/v1/ids/"+f.active, f.verifyTok, "", "")
	do(h, "GET", "/v1/ids/"+f.typo, f.verifyTok, "", "")
	do(h, "GET", "/v1/ids/"+f.active, "", "", "") // refused: not audited
	srv.Close()
	var got []string
	if err := f.store.EachScan(f.ctx, registry.ScanFilter{}, func(r registry.ScanRecord) error {
		got = append(got, r.Token+" "+r.Code+" "+string(r.Status)+" "+r.Addr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ward3 " + f.typo + " invalid_check 192.0.2.1", "ward3 " + f.active + " active 192.0.2.1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("scan log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	v, err := f.store.VerifyAuditDetail(f.ctx)
	if err != nil {
		t.Fatalf("audit chain after batched rows: %v", err)
	}
	if v.ScanRows != 2 || v.ScanBatches != 1 {
		t.Fatalf("verified %+v, want one scan.batch covering 2 rows", v)
	}
	toks, _ := f.store.Tokens(f.ctx)
	for _, tk := range toks {
		if tk.Name == "ward3" && tk.LastUsed == nil {
			t.Error("last use of ward3 not recorded")
		}
	}
}

func TestServer_HealthMetricsOpenAPI(t *testing.T) {
	f := newFixture(t)
	h := newServer(t, f, scanapi.Config{}).Handler()
	do(h, "GET", "/v1/ids/"+f.active, f.verifyTok, "", "")
	if r := do(h, "GET", "/healthz", "", "", ""); r.code != 200 || !strings.Contains(r.body, "ok") {
		t.Fatalf("healthz: %d %s", r.code, r.body)
	}
	m := do(h, "GET", "/metrics", "", "", "")
	for _, want := range []string{`idcards_scan_requests_total{outcome="active",route="ids"} 1`, "idcards_scan_request_seconds_bucket", "idcards_registry_identifiers 3"} {
		if !strings.Contains(m.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m.body, f.active) || strings.Contains(m.body, "Amina") {
		t.Error("metrics disclose codes or names")
	}
	o := do(h, "GET", "/v1/openapi.json", "", "", "")
	var doc map[string]any
	if err := json.Unmarshal([]byte(o.body), &doc); err != nil || doc["openapi"] == nil {
		t.Fatalf("openapi.json: %v", err)
	}
}

// A real server on loopback with a real TLS handshake and net/http's own
// limits (header size), as `idcards serve` runs it.
func TestServer_RealTLS(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewUnstartedServer(newServer(t, f, scanapi.Config{}).Handler())
	ts.Config.MaxHeaderBytes = 16 << 10
	ts.StartTLS()
	defer ts.Close()
	c := ts.Client()
	req, _ := http.NewRequest("GET", ts.URL+"/v1/ids/"+f.active, nil)
	req.Header.Set("Authorization", "Bearer "+f.verifyTok)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || !strings.Contains(string(body), `"status":"active"`) {
		t.Fatalf("over TLS: %d %s", res.StatusCode, body)
	}

	big, _ := http.NewRequest("GET", ts.URL+"/v1/ids/"+f.active, nil)
	for i := 0; i < 10000; i++ {
		big.Header.Add("X-Junk", "0123456789")
	}
	res, err = c.Do(big)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("10,000 headers: HTTP %d, want 431", res.StatusCode)
	}
}

func FuzzServer(f *testing.F) {
	fx := newFixture(f)
	srv := scanapi.New(fx.store, scanapi.Config{PerToken: rate.Inf, PerAddr: rate.Inf}, nil)
	f.Cleanup(srv.Close)
	h := srv.Handler()
	f.Add("/v1/ids/KLA0000016", "Bearer "+fx.verifyTok, `{"code":"x"}`)
	f.Add("/v1/scans", "bearer  "+fx.patientTok, `{"code":"]C0KLA000001D"}`)
	f.Add("/v1/ids/%00", "Basic abc", `{"code":1}`)
	f.Fuzz(func(t *testing.T, path, auth, body string) {
		for _, m := range []string{"GET", "POST"} {
			u, err := url.Parse("http://x" + path)
			if err != nil || !strings.HasPrefix(path, "/") {
				return
			}
			r := httptest.NewRequest(m, "http://x/", strings.NewReader(body))
			r.URL = u
			r.Header.Set("Authorization", auth)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 && w.Code != 503 {
				t.Fatalf("%s %q: HTTP %d %s", m, path, w.Code, w.Body)
			}
			if w.Code == 200 && !json.Valid(w.Body.Bytes()) {
				t.Fatalf("invalid JSON: %s", w.Body)
			}
		}
	})
}

// BenchmarkServer_GetID is the handler's in-process cost per request
// (token check, verify, audit queue), many clients at once.
func BenchmarkServer_GetID(b *testing.B) {
	f := newFixture(b)
	srv := scanapi.New(f.store, scanapi.Config{PerToken: rate.Inf, PerAddr: rate.Inf}, nil)
	defer srv.Close()
	h := srv.Handler()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "/v1/ids/"+f.active, nil)
			r.Header.Set("Authorization", "Bearer "+f.verifyTok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body)
			}
		}
	})
}

// Every answered request is logged, none lost at a graceful Close, even
// while another process appends its own audit rows to the same chain.
func TestServer_AuditNothingLostOnClose(t *testing.T) {
	f := newFixture(t)
	other, err := registry.Open(f.ctx, f.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var before int
	f.store.DB().QueryRow(`SELECT count(*) FROM audit`).Scan(&before)
	srv := scanapi.New(f.store, scanapi.Config{PerToken: rate.Inf, PerAddr: rate.Inf, AuditEvery: time.Millisecond}, nil)
	h := srv.Handler()
	const workers, each = 8, 700
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			if err := other.Audit(f.ctx, "desk.note", "x", "from another process"); err != nil {
				t.Error(err)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if r := do(h, "GET", "/v1/ids/"+f.active, f.verifyTok, "", ""); r.code != 200 {
					t.Errorf("HTTP %d", r.code)
					return
				}
			}
		}()
	}
	wg.Wait()
	<-done
	srv.Close()
	var scans, batches, all int
	f.store.DB().QueryRow(`SELECT count(*) FROM scan_log`).Scan(&scans)
	f.store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'scan.batch'`).Scan(&batches)
	f.store.DB().QueryRow(`SELECT count(*) FROM audit`).Scan(&all)
	if scans != workers*each || all != before+batches+20 {
		t.Fatalf("%d scan rows (want %d), %d audit rows in all (want %d + %d batches + 20)", scans, workers*each, all, before, batches)
	}
	v, err := f.store.VerifyAuditDetail(f.ctx)
	if err != nil {
		t.Fatalf("chain: %v", err)
	}
	if v.ScanRows != int64(workers*each) {
		t.Fatalf("digests cover %d scan rows, want %d", v.ScanRows, workers*each)
	}
}

// failingLog refuses the first fails scan log writes, as a registry that is
// locked by a long backup or on a full disk would.
type failingLog struct {
	*registry.Store
	mu    sync.Mutex
	fails int
}

func (r *failingLog) ScanLogBatch(ctx context.Context, recs []registry.ScanRecord, used map[string]time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails > 0 {
		r.fails--
		return errors.New("database is locked")
	}
	return r.Store.ScanLogBatch(ctx, recs, used)
}

// A failed write is retried with the same rows at the next tick and on
// Close; a malformed question is logged with what was sent.
func TestServer_ScanLogRetriedAfterFailure(t *testing.T) {
	f := newFixture(t)
	reg := &failingLog{Store: f.store, fails: 3}
	srv := scanapi.New(reg, scanapi.Config{AuditEvery: time.Millisecond}, nil)
	h := srv.Handler()
	do(h, "GET", "/v1/ids/"+f.active, f.verifyTok, "", "")
	do(h, "GET", "/v1/ids/"+url.PathEscape("12-ab"), f.verifyTok, "", "")
	for {
		reg.mu.Lock()
		left := reg.fails
		reg.mu.Unlock()
		if left == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	do(h, "GET", "/v1/ids/"+f.voided, f.verifyTok, "", "")
	srv.Close()
	var got []string
	if err := f.store.EachScan(f.ctx, registry.ScanFilter{}, func(r registry.ScanRecord) error {
		got = append(got, r.Code+" "+string(r.Status))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := f.voided + " voided|12AB malformed|" + f.active + " active"
	if strings.Join(got, "|") != want {
		t.Fatalf("scan log %q, want %q", strings.Join(got, "|"), want)
	}
	if _, err := f.store.VerifyAudit(f.ctx); err != nil {
		t.Fatal(err)
	}
}
