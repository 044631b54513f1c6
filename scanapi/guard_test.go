package scanapi_test

import (
	"testing"

	"github.com/idcards/idcards/scanapi"
)

// TestServer_MetricsToken: with a token, /metrics answers 401 without it
// (or with a scanner's token) and 200 with it; scrapes are rate-limited.
func TestServer_MetricsToken(t *testing.T) {
	f := newFixture(t)
	h := newServer(t, f, scanapi.Config{MetricsToken: "s3cret-metrics-token"}).Handler()
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"NoToken", "", 401},
		{"ScannerToken", f.verifyTok, 401},
		{"Wrong", "s3cret-metrics-tokeN", 401},
		{"Right", "s3cret-metrics-token", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := do(h, "GET", "/metrics", tc.token, "", ""); r.code != tc.want {
				t.Fatalf("%d %s, want %d", r.code, r.body, tc.want)
			}
		})
	}
	t.Run("RateLimited", func(t *testing.T) {
		h := newServer(t, f, scanapi.Config{}).Handler() // open, but limited
		got429 := false
		for range 30 {
			r := do(h, "GET", "/metrics", "", "", "")
			if r.code == 429 {
				got429 = r.header.Get("Retry-After") != ""
				break
			}
		}
		if !got429 {
			t.Fatal("30 scrapes in a row were all answered")
		}
	})
}

func TestServer_HSTS(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		hsts bool
		want string
	}{{true, scanapi.HSTSValue}, {false, ""}} {
		h := newServer(t, f, scanapi.Config{HSTS: tc.hsts}).Handler()
		for _, path := range []string{"/healthz", "/v1/ids/" + f.active, "/nope"} {
			if got := do(h, "GET", path, f.verifyTok, "", "").header.Get("Strict-Transport-Security"); got != tc.want {
				t.Fatalf("HSTS %t %s: header %q", tc.hsts, path, got)
			}
		}
	}
}
