package printing

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/idcards/idcards/barcode"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./printing -run %s -update)", err, t.Name())
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from golden file; got:\n%s", path, got)
	}
}

func TestLayoutCard_Golden(t *testing.T) {
	patient := Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: "Nakato Ssebunya", Sex: "F", Born: "1990"}
	tests := []struct {
		name string
		card Card
		opts Options
	}{
		{"code128", patient, Options{Facility: "Kisugu Health Centre III"}},
		{"qr", patient, Options{Facility: "Kisugu HC III", Symbols: []barcode.Symbology{barcode.QR}}},
		{"datamatrix", patient, Options{Facility: "Kisugu HC III", Symbols: []barcode.Symbology{barcode.DataMatrix}}},
		{"code128+qr", patient, Options{Facility: "Kisugu HC III", Symbols: []barcode.Symbology{barcode.Code128, barcode.QR}}},
		{"blank-with-logo", Card{MRN: "KLA0001235", Serial: "C00000001", Blank: true}, Options{Facility: "Kisugu HC III", HasLogo: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := LayoutCard(tt.card, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			checkInside(t, l)
			golden(t, "card-"+tt.name, l)
		})
	}
}

// checkInside asserts the safe margin and the module-width floor, so a
// golden update cannot silently move something off the card.
func checkInside(t *testing.T, l CardLayout) {
	t.Helper()
	in := func(what string, x, y, w, h float64) {
		if x < Margin-1e-6 || y < Margin-1e-6 || x+w > CardW-Margin+1e-6 || y+h > CardH-Margin+1e-6 {
			t.Errorf("%s at %.2f,%.2f %.2f×%.2f mm is not ≥ %.1f mm inside the card", what, x, y, w, h, Margin)
		}
	}
	for _, s := range l.Symbols {
		q := float64(s.Matrix.Quiet) * s.Module
		if s.Matrix.Linear() {
			in(string(s.Symbology)+" bars", s.X+q, s.Y, s.W-2*q, s.H)
		} else {
			in(string(s.Symbology), s.X, s.Y, s.W, s.H)
		}
		if s.Module < 0.25 {
			t.Errorf("%s module %.3f mm < 0.25 mm", s.Symbology, s.Module)
		}
	}
	for _, tx := range l.Texts {
		in("text "+tx.Text, tx.X, tx.Y, tx.W, tx.H)
	}
}

func TestLayoutSheet_Golden(t *testing.T) {
	for _, name := range Layouts() {
		t.Run(name, func(t *testing.T) {
			s, err := LayoutSheet(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, sl := range s.Slots {
				if sl.X < 0 || sl.Y < 0 || sl.X+sl.W > s.PageW+1e-6 || sl.Y+sl.H > s.PageH+1e-6 {
					t.Errorf("slot %v off the page", sl)
				}
			}
			golden(t, "sheet-"+name, s)
		})
	}
	if _, err := LayoutSheet("a5"); err == nil {
		t.Error("layout a5 accepted")
	}
}

func TestGroupMRN(t *testing.T) {
	for in, want := range map[string]string{
		"KLA0001234":  "KLA 000 1234",
		"KLA000123-4": "KLA 00 0123-4",
		"0001234567":  "00 0123 4567",
		"1234":        "1234",
		"ABC":         "ABC",
	} {
		if got := GroupMRN(in); got != want {
			t.Errorf("GroupMRN(%q) = %q, want %q", in, got, want)
		}
		if barcode.Normalize(GroupMRN(in)) != barcode.Normalize(in) {
			t.Errorf("grouping %q changes it after Normalize", in)
		}
	}
}

func TestLayoutCard_BadInput(t *testing.T) {
	tests := []struct {
		name string
		card Card
		want string
	}{
		{"no MRN", Card{}, "without an MRN"},
		{"too long for Code 128", Card{MRN: "KLAXQWERTYUIOPASDFGHJKLZXCVBNMQWERTYUI"}, "too long"},
		{"not typeable", Card{MRN: "KLA0001ë"}, "cannot be typed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LayoutCard(tt.card, Options{})
			if err == nil || !contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
