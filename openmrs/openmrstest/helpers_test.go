package openmrstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// call is one HTTP request made the way any client would.
type call struct {
	method, path, body string
	user, pw           string // Basic credentials; user "-" sends none
	cookie             string
	header             map[string]string
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func do(t *testing.T, s *Server, c call) answer {
	t.Helper()
	a, err := try(s, c, 0)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	return a
}

func try(s *Server, c call, timeout time.Duration) (answer, error) {
	if c.method == "" {
		c.method = http.MethodGet
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, s.URL()+"/ws/rest/v1"+c.path, body)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	switch c.user {
	case "":
		req.SetBasicAuth("admin", "Admin123")
	case "-":
	default:
		req.SetBasicAuth(c.user, c.pw)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "JSESSIONID", Value: c.cookie})
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	cl := &http.Client{Timeout: timeout}
	resp, err := cl.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			return a, fmt.Errorf("body is not a JSON object: %v: %s", err, raw)
		}
	}
	return a, nil
}

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// sameShape reports where got lacks a key of want or holds a value of
// another JSON kind (null in either matches anything; arrays are compared
// by their first elements).
func sameShape(want, got any, path string) []string {
	if want == nil || got == nil {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": want object"}
		}
		var diffs []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, path+"."+k+": missing")
				continue
			}
			diffs = append(diffs, sameShape(w[k], gv, path+"."+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{path + ": want array"}
		}
		if len(w) > 0 && len(g) > 0 {
			return sameShape(w[0], g[0], path+"[0]")
		}
		return nil
	default:
		if reflect.TypeOf(want) != reflect.TypeOf(got) {
			return []string{fmt.Sprintf("%s: want %T, got %T", path, want, got)}
		}
		return nil
	}
}

func checkShape(t *testing.T, fixtureName string, got map[string]any) {
	t.Helper()
	checkShapeOf(t, fixtureName, fixture(t, fixtureName), got)
}

func checkShapeOf(t *testing.T, fixtureName string, want, got map[string]any) {
	t.Helper()
	for _, d := range sameShape(want, got, "") {
		t.Errorf("shape differs from %s: %s", fixtureName, d)
	}
}

// withoutLinks is a list fixture taken with limit=1 (so it has a next
// link) without its paging links, for comparing single-page answers.
func withoutLinks(t *testing.T, name string) map[string]any {
	m := fixture(t, name)
	delete(m, "links")
	return m
}

func get(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			l, _ := m.([]any)
			if k >= len(l) {
				return nil
			}
			m = l[k]
		}
	}
	return m
}

// createBody builds a POST /patient body with one identifier.
func createBody(uuid, id, typ, loc, gender string) string {
	m := map[string]any{
		"person": map[string]any{
			"gender": gender, "birthdate": "1936-12-04", "birthdateEstimated": false,
			"names":     []any{map[string]any{"givenName": "Sarah", "familyName": "Lewis"}},
			"addresses": []any{map[string]any{"address1": "Address14081"}},
		},
		"identifiers": []any{map[string]any{"identifier": id, "identifierType": typ, "location": loc, "preferred": true}},
	}
	if uuid != "" {
		m["uuid"] = uuid
		m["person"].(map[string]any)["uuid"] = uuid
	}
	if gender == "" {
		delete(m["person"].(map[string]any), "gender")
	}
	b, _ := json.Marshal(m)
	return string(b)
}
