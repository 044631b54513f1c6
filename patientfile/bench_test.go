package patientfile_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/patientfile"
	"github.com/idcards/idcards/registry"
)

func syntheticRegister(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,first name,surname,sex,dob,phone,village\n")
	given := []string{"Amina", "Okello", "Zoë", "Nakato", "Mugisha", "Achieng", "Kato", "Wanjiru"}
	family := []string{"Nambi", "Ochieng", "Mukasa", "Otieno", "Kiprop", "Ssali", "Atim", "Namusoke"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "OLD-%d,%s,%s %d,%c,%02d/%02d/%d,07%08d,Village %d\n", i+1, given[i%8], family[(i/8)%8], i, "MF"[i%2], i%28+1, i%12+1, 1940+i%80, i, i%300)
	}
	return b.Bytes()
}

// BenchmarkImport100k imports a 100,000-row legacy register into a fresh
// registry (one transaction). Report: ns/op and rows/s.
func BenchmarkImport100k(b *testing.B) {
	const n = 100_000
	data := syntheticRegister(n)
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:bench", Role: idcards.RoleOperator})
	for b.Loop() {
		b.StopTimer()
		s, err := registry.Create(ctx, filepath.Join(b.TempDir(), "r.db"), idcards.Format{Prefix: "12", Width: 7, Scheme: "luhn"})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := patientfile.NewReader(bytes.NewReader(data), patientfile.Config{DateFormat: "DD/MM/YYYY"})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := s.Import(ctx, r.Next, registry.ImportOptions{LegacyUnchecked: true}, nil)
		if err != nil || sum.Imported != n {
			b.Fatal(sum, err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkExport writes every patient of a registry as CSV. Use
// -benchtime 1x; the size is set by exportN.
func BenchmarkExport(b *testing.B) {
	const n = 1_000_000
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:bench", Role: idcards.RoleOperator})
	s, err := registry.Create(ctx, filepath.Join(b.TempDir(), "r.db"), idcards.Format{Prefix: "12", Width: 7, Scheme: "luhn"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r, _ := patientfile.NewReader(bytes.NewReader(syntheticRegister(n)), patientfile.Config{DateFormat: "DD/MM/YYYY"})
	if _, err := s.Import(ctx, r.Next, registry.ImportOptions{LegacyUnchecked: true}, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		w, _ := patientfile.NewWriter(io.Discard, "csv")
		got, err := s.Export(ctx, w.Write)
		if err != nil || got != n {
			b.Fatal(got, err)
		}
		w.Flush()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "patients/s")
}
