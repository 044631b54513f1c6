package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// writeCert writes a self-signed certificate and its key (with keyMode).
func writeCert(t *testing.T, dir string, keyMode os.FileMode) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), keyMode)
	os.Chmod(kf, keyMode)
	return cert, kf
}

// TestCLI_ServeTLSGuards: a TLS key readable by others is warned about;
// answers carry HSTS; /metrics with a token file answers 401 without it.
func TestCLI_ServeTLSGuards(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "KLA", "--scheme", "luhn-mod-30")
	dir := t.TempDir()
	cert, key := writeCert(t, dir, 0o644)
	tokFile := filepath.Join(dir, "metrics-token")
	os.WriteFile(tokFile, []byte("0123456789abcdef0123\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuf{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--metrics-token-file", tokFile},
			strings.NewReader(""), pw, stderr, func(k string) string { return e.env[k] })
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	if !strings.Contains(stderr.String(), "WARNING: "+key+" is readable by other users (mode 0644)") {
		t.Errorf("no warning about the key file: %q", stderr.String())
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(tok string) *http.Response {
		req, _ := http.NewRequest("GET", url+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if r := get(""); r.StatusCode != 401 || r.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("no token: %d, HSTS %q", r.StatusCode, r.Header.Get("Strict-Transport-Security"))
	}
	if r := get("0123456789abcdef0123"); r.StatusCode != 200 {
		t.Errorf("with the token: %d", r.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestMetricsToken_Defaults: beyond loopback a token file is made (0600)
// and reused; on loopback or with --metrics-open there is none.
func TestMetricsToken_Defaults(t *testing.T) {
	dir := t.TempDir()
	a := &app{stderr: io.Discard, getenv: func(k string) string { return map[string]string{"IDCARDS_DB": filepath.Join(dir, "r.db")}[k] }}
	if tok, err := a.metricsToken("127.0.0.1:8443", "", false); err != nil || tok != "" {
		t.Fatalf("loopback: %q %v", tok, err)
	}
	tok, err := a.metricsToken("0.0.0.0:8443", "", false)
	if err != nil || len(tok) < 32 {
		t.Fatalf("beyond loopback: %q %v", tok, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "r.db.metrics-token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	if again, _ := a.metricsToken("0.0.0.0:8443", "", false); again != tok {
		t.Fatal("the token changed between runs")
	}
	if tok, _ := a.metricsToken("0.0.0.0:8443", "", true); tok != "" {
		t.Fatal("--metrics-open still needs a token")
	}
}

// TestMetricsToken_PostgresRegistry: on a PostgreSQL registry the default
// token file was the URL with ".metrics-token" appended, so serve beyond
// loopback (docs/deploy.md step 4) did not start. It goes in the config
// directory.
func TestMetricsToken_PostgresRegistry(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	url := "postgres://idcards_desk@db.clinic.lan:5432/idcards?sslmode=verify-full"
	a := &app{stderr: io.Discard, getenv: func(k string) string { return map[string]string{"IDCARDS_DB": url}[k] }}
	tok, err := a.metricsToken("0.0.0.0:8443", "", false)
	if err != nil || len(tok) < 32 {
		t.Fatalf("%q %v", tok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "idcards", "db.clinic.lan_5432_idcards.metrics-token")); err != nil {
		t.Fatal(err)
	}
}

// TestWarnSecrets: a database password file or an audit key that other
// users can read was used without a word.
func TestWarnSecrets(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "db.pw")
	os.WriteFile(pw, []byte("secret\n"), 0o644)
	var errb strings.Builder
	a := &app{stderr: &errb, getenv: func(string) string { return "" }, dbPasswordFile: pw}
	a.storeOptions()
	a.storeOptions()
	if got := strings.Count(errb.String(), "readable by other users"); got != 1 {
		t.Fatalf("warnings: %q", errb.String())
	}
}
