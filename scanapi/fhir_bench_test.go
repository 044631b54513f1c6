package scanapi_test

import (
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/idcards/idcards/scanapi"
)

// mirrored answers scans from a registry.Mirror, as `idcards serve` does.
type mirrored struct {
	*registry.Store
	m *registry.Mirror
}

func (r mirrored) VerifyScan(ctx context.Context, raw string, withPatient bool) (idcards.Verification, error) {
	return r.m.VerifyScan(ctx, raw, withPatient)
}

func (r mirrored) VerifyRecord(ctx context.Context, raw string) (idcards.Verification, *registry.PatientRecord, error) {
	return r.m.VerifyRecord(ctx, raw)
}

// BenchmarkServer_FHIRvsV1 puts the two identifier routes side by side,
// in process, on a registry of 20,000 synced patients served from the
// memory mirror as serve does: GET /v1/ids/{code} and GET
// /fhir/Patient?identifier=SYSTEM|CODE for the same codes. bench/fhir.sh
// is the load test over HTTP at 1M patients.
func BenchmarkServer_FHIRvsV1(b *testing.B) {
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:bench", Role: idcards.RoleOperator})
	s, err := registry.Create(ctx, filepath.Join(b.TempDir(), "registry.db"), idcards.Format{Prefix: "KLA", Width: 7, Scheme: "luhn-mod-30"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 20000
	i := 0
	_, err = s.Import(ctx, func() (registry.ImportRow, error) {
		if i == n {
			return registry.ImportRow{}, io.EOF
		}
		i++
		return registry.ImportRow{Line: i + 1, Patient: registry.NewPatient{GivenName: "Given" + letters(i), FamilyName: "Family" + letters(i%997), Sex: "F", BirthDate: "1990-01-02"}}, nil
	}, registry.ImportOptions{IssueMissing: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE outbox SET state = 'done', remote_uuid = (SELECT uuid FROM patients WHERE id = outbox.patient_id)`); err != nil {
		b.Fatal(err)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT mrn FROM identifiers WHERE state = 'active' ORDER BY seq`)
	if err != nil {
		b.Fatal(err)
	}
	var codes []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		codes = append(codes, c)
	}
	rows.Close()
	m, err := registry.NewMirror(ctx, s, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tok, err := s.CreateToken(ctx, "bench", registry.ScopeVerify)
	if err != nil {
		b.Fatal(err)
	}
	srv := scanapi.New(mirrored{s, m}, scanapi.Config{PerToken: 1e9, TokenBurst: 1e9, PerAddr: 1e9, AddrBurst: 1e9}, nil)
	defer srv.Close()
	h := srv.Handler()
	sys, _ := s.FHIRSystem(ctx)
	for _, route := range []string{"v1", "fhir"} {
		b.Run(route, func(b *testing.B) {
			j := 0
			cpu0 := cpuTime()
			for b.Loop() {
				j++
				c := codes[j*7919%len(codes)]
				target := "/v1/ids/" + c
				if route == "fhir" {
					target = "/fhir/Patient?identifier=" + url.QueryEscape(sys+"|"+c)
				}
				r := httptest.NewRequest("GET", target, nil)
				r.Header.Set("Authorization", "Bearer "+tok)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
			// CPU time per request (the process's, all goroutines): on a
			// shared machine, wall time per op mostly measures the others.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// letters writes n in base 26 with the letters a–z (names hold no digits).
func letters(n int) string {
	b := []byte{}
	for {
		b = append(b, byte('a'+n%26))
		n /= 26
		if n == 0 {
			return string(b)
		}
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
