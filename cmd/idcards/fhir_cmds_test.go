package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCLI_InitFHIRSystem(t *testing.T) {
	e := newCLIEnv(t)
	if r := e.run("", "init", "--site", "KLA", "--scheme", "luhn-mod-30", "--fhir-system", "KLA"); r.code == 0 || !strings.Contains(r.stderr, "absolute URI") {
		t.Fatalf("a bad --fhir-system was accepted: %d %s", r.code, r.stderr)
	}
	out := e.must("init", "--site", "KLA", "--scheme", "luhn-mod-30", "--fhir-system", "urn:oid:1.3.6.1.4.1.99.1")
	if !strings.Contains(out, "FHIR identifier system: urn:oid:1.3.6.1.4.1.99.1") {
		t.Fatalf("init did not say the system:\n%s", out)
	}
	if out := e.must("settings", "list"); !strings.Contains(out, "urn:oid:1.3.6.1.4.1.99.1") {
		t.Fatalf("settings list:\n%s", out)
	}
	d := newCLIEnv(t)
	if out := d.must("init", "--site", "KLA", "--scheme", "luhn-mod-30"); !strings.Contains(out, "FHIR identifier system: urn:idcards:KLA") {
		t.Fatalf("default system not shown:\n%s", out)
	}
}

// The real binary's serve answers FHIR over TLS with the same token, and
// logs the question in the scan log.
func TestCLI_ServeFHIR(t *testing.T) {
	e := newCLIEnv(t)
	e.must("init", "--site", "KLA", "--scheme", "luhn-mod-30")
	e.must("patients", "add", "--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-03-04", "--issue")
	tok := strings.TrimSpace(e.must("tokens", "add", "lab", "--scope", "read:patient"))

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
	base := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := get("/fhir/Patient?family=Nakato&given=Amina")
	if code != 200 || !strings.Contains(body, `"family":"Nakato"`) || !strings.Contains(body, `"system":"urn:idcards:KLA"`) || !strings.Contains(body, "https://127.0.0.1:") {
		t.Fatalf("name search: %d %s", code, body)
	}
	mrn := body[strings.Index(body, `"value":"KLA`)+9:]
	mrn = mrn[:strings.Index(mrn, `"`)]
	if code, body := get("/fhir/Patient?identifier=" + url.QueryEscape("urn:idcards:KLA|"+mrn)); code != 200 || !strings.Contains(body, `"total":1`) {
		t.Fatalf("identifier search: %d %s", code, body)
	}
	if code, body := get("/fhir/metadata"); code != 200 || !strings.Contains(body, `"CapabilityStatement"`) {
		t.Fatalf("metadata: %d %s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
	if out := e.must("audit", "scans", "--token", "lab"); !strings.Contains(out, mrn) {
		t.Fatalf("FHIR questions not in the scan log:\n%s", out)
	}
}
