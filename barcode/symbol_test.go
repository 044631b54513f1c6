package barcode

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zdm "github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// decodePNG decodes a PNG the way a test scanner would: through the encoded
// file, so what is checked is what would be printed.
func decodePNG(t *testing.T, sym Symbology, pngData []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	var r gozxing.Reader
	hints := map[gozxing.DecodeHintType]any{}
	switch sym {
	case Code128:
		r = oned.NewCode128Reader()
	case QR:
		r = qrcode.NewQRCodeReader()
	case DataMatrix:
		r = zdm.NewDataMatrixReader()
		hints[gozxing.DecodeHintType_PURE_BARCODE] = true
	}
	res, err := r.Decode(bmp, hints)
	if err != nil {
		t.Fatalf("%s: decode: %v", sym, err)
	}
	return res.GetText()
}

func renderPNG(t *testing.T, s *Symbol, module int) []byte {
	t.Helper()
	img, err := s.Image(module, 60)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEncode_RoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		sym     Symbology
		content string
	}{
		{"Code128/digits", Code128, "0001234567"},
		{"Code128/prefixed", Code128, "KLA000123-4"},
		{"Code128/short", Code128, "7"},
		{"QR/mrn+serial", QR, "KLA0001234 C7K2M9XQ"},
		{"QR/digits", QR, "12345678"},
		{"DataMatrix/mrn+serial", DataMatrix, "KLA0001234 C7K2M9XQ"},
		{"DataMatrix/digits", DataMatrix, "0001234567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Encode(tt.sym, tt.content)
			if err != nil {
				t.Fatal(err)
			}
			for _, module := range []int{2, 3} {
				if got := decodePNG(t, tt.sym, renderPNG(t, s, module)); got != tt.content {
					t.Errorf("module %d px: decoded %q, want %q", module, got, tt.content)
				}
			}
		})
	}
}

// TestEncode_QuietZone checks the margin directly: decoders tolerate a
// missing quiet zone, real scanners do not.
func TestEncode_QuietZone(t *testing.T) {
	for _, sym := range Symbologies() {
		t.Run(string(sym), func(t *testing.T) {
			s, err := Encode(sym, "KLA0001234")
			if err != nil {
				t.Fatal(err)
			}
			q := s.Quiet
			if min := map[Symbology]int{Code128: 10, QR: 4, DataMatrix: 4}[sym]; q < min {
				t.Fatalf("quiet zone %d modules, want ≥ %d", q, min)
			}
			inQuiet := func(x, y int) bool {
				if x < q || x >= s.Cols-q {
					return true
				}
				return !s.Linear() && (y < q || y >= s.Rows-q)
			}
			var darkInside bool
			for y := 0; y < s.Rows; y++ {
				for x := 0; x < s.Cols; x++ {
					if inQuiet(x, y) && s.Dark(x, y) {
						t.Fatalf("module (%d,%d) in the quiet zone is dark", x, y)
					}
					darkInside = darkInside || s.Dark(x, y)
				}
			}
			if !darkInside {
				t.Fatal("symbol has no dark modules")
			}
			// The symbol starts right after the quiet zone (no extra margin
			// that would waste card space or hide a missing zone).
			edge := false
			for y := 0; y < s.Rows; y++ {
				edge = edge || s.Dark(q, y)
			}
			if !edge {
				t.Errorf("column %d (first after the quiet zone) is all light", q)
			}
			// The PNG keeps the zone at whole-pixel scale.
			img, _ := s.Image(3, 30)
			for y := 0; y < img.Rect.Dy(); y++ {
				for x := 0; x < 3*q; x++ {
					if img.GrayAt(x, y).Y != 0xff || img.GrayAt(img.Rect.Dx()-1-x, y).Y != 0xff {
						t.Fatalf("PNG pixel (%d,%d) of the quiet zone is not white", x, y)
					}
				}
			}
		})
	}
}

func TestEncode_Runs(t *testing.T) {
	s, err := Encode(Code128, "0001234567")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range s.Runs() {
		for i := 0; i < r.N; i++ {
			if !s.Dark(r.X+i, r.Y) {
				t.Fatalf("run %+v covers a light module", r)
			}
		}
		n += r.N
	}
	dark := 0
	for x := 0; x < s.Cols; x++ {
		if s.Dark(x, 0) {
			dark++
		}
	}
	if n != dark {
		t.Fatalf("runs cover %d modules, %d are dark", n, dark)
	}
}

func TestEncode_BadInput(t *testing.T) {
	tests := []struct {
		name    string
		sym     Symbology
		content string
		want    string
	}{
		{"empty", Code128, "", "empty content"},
		{"non-ASCII in Code 128", Code128, "Zoë", "cannot be typed"},
		{"control char", Code128, "A\tB", "cannot be typed"},
		{"unknown symbology", Symbology("pdf417"), "1", "unknown symbology"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tt.sym, tt.content)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := (&Symbol{}).Image(0, 1); err == nil {
		t.Error("module 0 px accepted")
	}
}

func TestParseSymbology(t *testing.T) {
	for in, want := range map[string]Symbology{"code128": Code128, "QR": QR, " DataMatrix ": DataMatrix, "dm": DataMatrix} {
		if got, err := ParseSymbology(in); err != nil || got != want {
			t.Errorf("ParseSymbology(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseSymbology("ean13"); err == nil {
		t.Error("ean13 accepted")
	}
}

func FuzzEncodeCode128(f *testing.F) {
	f.Add("KLA0001234")
	f.Add("0")
	f.Fuzz(func(t *testing.T, s string) {
		sym, err := Encode(Code128, s)
		if err != nil {
			return
		}
		if sym.Rows != 1 || sym.Cols <= 2*sym.Quiet || sym.Dark(0, 0) {
			t.Fatalf("bad symbol for %q: %dx%d", s, sym.Cols, sym.Rows)
		}
	})
}
