package patientfile_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/patientfile"
)

func TestEscapeCell(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{`=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`},
		{`+SUM(1;1)`, `'+SUM(1;1)`},
		{`@SUM(1+1)`, `'@SUM(1+1)`},
		{`-2+3`, `'-2+3`},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{`+256 772 123456`, `'+256 772 123456`},
		{`'=x`, `''=x`}, // already looks escaped: escaped again, so import restores it
		{`''`, `'''`},
		{`'Brien`, `'Brien`}, // a quote before anything else is text
		{`'`, `'`},
		{`Amina`, `Amina`},
		{``, ``},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := patientfile.EscapeCell(tc.in); got != tc.out {
				t.Fatalf("EscapeCell(%q) = %q, want %q", tc.in, got, tc.out)
			}
			if back := patientfile.UnescapeCell(tc.out); back != tc.in {
				t.Fatalf("UnescapeCell(%q) = %q, want %q", tc.out, back, tc.in)
			}
		})
	}
}

func FuzzEscapeCell(f *testing.F) {
	for _, s := range []string{"=1", "'=1", "''", "'", "-", "\t", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := patientfile.EscapeCell(s)
		if e != "" && strings.ContainsRune("=+-@\t\r", rune(e[0])) {
			t.Fatalf("EscapeCell(%q) = %q starts a formula", s, e)
		}
		if back := patientfile.UnescapeCell(e); back != s {
			t.Fatalf("round trip %q -> %q -> %q", s, e, back)
		}
	})
}

// TestExport_FormulaNamesRoundTrip: the names from the drill are written
// escaped and read back as they were.
func TestExport_FormulaNamesRoundTrip(t *testing.T) {
	names := []string{`=cmd|' /C calc'!A0`, `+SUM(1;1)`, `@SUM(1+1)`}
	var buf bytes.Buffer
	w, _ := patientfile.NewWriter(&buf, "csv")
	for _, n := range names {
		if err := w.Write(idcards.Patient{GivenName: n, FamilyName: "X", Sex: "F", UUID: "00000000-0000-4000-8000-000000000000"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs[1:] {
		for _, c := range rec {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Fatalf("row %d: cell %q would run as a formula", i+1, c)
			}
		}
	}
	r, err := patientfile.NewReader(bytes.NewReader(buf.Bytes()), patientfile.Config{Now: today})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		row, err := r.Next()
		if err != nil || row.Patient.GivenName != n {
			t.Fatalf("read back %q, %v; want %q", row.Patient.GivenName, err, n)
		}
	}
}

// hugeLine is a reader of a header, then one line of n bytes, made on the
// fly (the test itself must not hold 50 MB).
type hugeLine struct {
	head []byte
	n    int
}

func (h *hugeLine) Read(p []byte) (int, error) {
	if len(h.head) > 0 {
		k := copy(p, h.head)
		h.head = h.head[k:]
		return k, nil
	}
	if h.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), h.n)
	for i := range k {
		p[i] = 'a'
	}
	h.n -= k
	return k, nil
}

// TestReader_BoundsLineLength: a 50 MB line is refused after reading about
// MaxLineBytes of it, and memory stays near that bound.
func TestReader_BoundsLineLength(t *testing.T) {
	for _, tc := range []struct {
		name string
		next func(io.Reader) (func() error, error)
	}{
		{"CSV", func(r io.Reader) (func() error, error) {
			rd, err := patientfile.NewReader(r, patientfile.Config{Now: today})
			if err != nil {
				return nil, err
			}
			return func() error { _, err := rd.Next(); return err }, nil
		}},
		{"JSONL", func(r io.Reader) (func() error, error) {
			rd := patientfile.NewJSONLReader(r)
			return func() error { _, err := rd.Next(); return err }, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &hugeLine{head: []byte("given_name,family_name\nA,B\n"), n: 50 << 20}
			if tc.name == "JSONL" {
				src.head = []byte(`{"given_name":"A","family_name":"B","sex":"F","uuid":""}` + "\n")
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			next, err := tc.next(src)
			if err != nil {
				t.Fatal(err)
			}
			next() // the good first row
			err = next()
			runtime.ReadMemStats(&after)
			var le *patientfile.LineTooLongError
			wantLine := 3 // header, one row, the long line
			if tc.name == "JSONL" {
				wantLine = 2
			}
			if !errors.As(err, &le) || le.Line != wantLine || idcards.ErrorKind(err) != idcards.Invalid {
				t.Fatalf("want a LineTooLongError on line %d, got %v", wantLine, err)
			}
			if 50<<20-src.n > 2*patientfile.MaxLineBytes {
				t.Fatalf("read %d bytes of the line before refusing", 50<<20-src.n)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*patientfile.MaxLineBytes {
				t.Fatalf("allocated %d bytes for a refused line (bound %d)", alloc, patientfile.MaxLineBytes)
			}
		})
	}
}
