package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCLI_Tokens(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "KLA", "--scheme", "luhn-mod-30")
	tok := strings.TrimSpace(e.must("tokens", "add", "ward3"))
	if !strings.HasPrefix(tok, "idc_") {
		t.Fatalf("token %q", tok)
	}
	if r := e.run("", "tokens", "add", "ward3"); r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("duplicate name: %d %q", r.code, r.stderr)
	}
	if r := e.run("", "tokens", "add", "lab", "--scope", "admin"); r.code != 2 {
		t.Fatalf("bad scope: %d %q", r.code, r.stderr)
	}
	list := e.must("tokens", "list")
	if !strings.Contains(list, "ward3") || strings.Contains(list, tok) {
		t.Fatalf("list must name the token and never show its secret:\n%s", list)
	}
	e.must("tokens", "revoke", "ward3")
	if r := e.run("", "tokens", "revoke", "ward3"); r.code == 0 {
		t.Fatal("revoking twice should fail")
	}
}

func TestCLI_ServeRefusesPlainHTTPOffLoopback(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "KLA", "--scheme", "luhn-mod-30")
	for _, args := range [][]string{
		{"serve", "--addr", "0.0.0.0:0"},
		{"serve", "--tls-cert", "x.pem"},
		{"serve", "--self-signed", "--tls-cert", "x", "--tls-key", "y"},
		// A limit of 0 meant the default, a negative one a dead server.
		{"serve", "--rate-token", "0"},
		{"serve", "--rate-addr", "-5"},
		{"serve", "--burst-token", "0"},
	} {
		if r := e.run("", args...); r.code != 2 {
			t.Errorf("%v: exit %d %q, want 2", args, r.code, r.stderr)
		}
	}
}

// idcards serve on a loopback port with a self-signed certificate answers
// a real TLS request and stops cleanly when its context ends (SIGINT).
func TestCLI_ServeSelfSigned(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "KLA", "--scheme", "luhn-mod-30")
	id := strings.TrimSpace(e.must("issue"))
	tok := strings.TrimSpace(e.must("tokens", "add", "gun1"))

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--self-signed"}, strings.NewReader(""), pw, io.Discard, func(k string) string { return e.env[k] })
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("serve printed %q", line)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequest("GET", url+"/v1/ids/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"status":"unassigned"`) {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
	if out := e.must("audit", "scans", "--token", "gun1"); !strings.Contains(out, id) || !strings.Contains(out, "unassigned") || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("the scan was not logged after shutdown:\n%s", out)
	}
	if out := e.must("audit", "verify"); !strings.Contains(out, "1 scan log rows verified against 1 scan.batch") {
		t.Fatalf("verify does not cover the scan log:\n%s", out)
	}
}
