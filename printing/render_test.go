package printing

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zdm "github.com/makiuchi-d/gozxing/datamatrix"

	"github.com/idcards/idcards/barcode"
)

var fixed = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// needTool skips when a tool is missing, unless IDCARDS_REQUIRE_TOOLS=1.
func needTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("IDCARDS_REQUIRE_TOOLS") == "" {
				t.Skipf("%s not installed (set IDCARDS_REQUIRE_TOOLS=1 to fail instead)", n)
			}
			t.Fatalf("%s not installed and IDCARDS_REQUIRE_TOOLS is set", n)
		}
	}
}

var names = []string{"Nakato Ssebunya", "Ngũgĩ wa Thiong'o", "Алексей Смирнов", "Nsɛkɛ Zoë", "Łukasz Żółw"}

func testCards(n int) []Card {
	out := make([]Card, n)
	for i := range out {
		out[i] = Card{MRN: fmt.Sprintf("KLA%07d", i+1), Serial: fmt.Sprintf("C%08d", i+1), Name: names[i%len(names)], Sex: "F", Born: "1990"}
	}
	return out
}

func renderPDF(t testing.TB, layout string, cards []Card, o Options) []byte {
	t.Helper()
	sheet, err := LayoutSheet(layout)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r, err := NewRenderer(&buf, sheet, RenderOptions{Options: o, Created: fixed})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if _, err := r.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, buf.Bytes())
	return buf.Bytes()
}

// qpdfCheck runs qpdf --check on every PDF the tests render (when qpdf is
// installed; IDCARDS_REQUIRE_TOOLS=1 makes it required).
func qpdfCheck(t testing.TB, pdf []byte) {
	t.Helper()
	if _, err := exec.LookPath("qpdf"); err != nil {
		if os.Getenv("IDCARDS_REQUIRE_TOOLS") != "" {
			t.Fatal("qpdf not installed and IDCARDS_REQUIRE_TOOLS is set")
		}
		return
	}
	f, err := os.CreateTemp(t.TempDir(), "*.pdf")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(pdf)
	f.Close()
	if out, err := exec.Command("qpdf", "--check", f.Name()).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
}

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// decodePages rasterises the PDF and returns each page's decoded symbols
// (zbarimg's "TYPE:data" lines), sorted.
func decodePages(t *testing.T, pdf []byte, dpi int) [][]string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "cards.pdf")
	os.WriteFile(in, pdf, 0o644)
	tool(t, "pdftoppm", "-r", fmt.Sprint(dpi), "-gray", "-png", in, filepath.Join(dir, "p"))
	pages, _ := filepath.Glob(filepath.Join(dir, "p-*.png"))
	slices.Sort(pages) // pdftoppm zero-pads page numbers
	var out [][]string
	for _, p := range pages {
		res, err := exec.Command("zbarimg", "-q", p).Output()
		if err != nil && len(res) == 0 {
			out = append(out, nil) // zbarimg exits 4 when it finds nothing
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(res)), "\n")
		slices.Sort(lines)
		out = append(out, lines)
	}
	return out
}

func TestRender_ScansBack(t *testing.T) {
	needTool(t, "pdftoppm", "zbarimg")
	tests := []struct {
		layout string
		n      int
		dpi    int
		syms   []barcode.Symbology
	}{
		{"a4", 200, 150, nil},
		{"letter", 200, 150, nil},
		{"card", 30, 150, nil},
		{"card", 30, 203, nil},
		{"a4", 20, 150, []barcode.Symbology{barcode.Code128, barcode.QR}},
		{"card", 10, 203, []barcode.Symbology{barcode.QR}},
		// DataMatrix: Debian's zbar cannot read it; TestRender_DataMatrixScansBack
		// decodes it with gozxing instead.
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%d-cards/%ddpi/%v", tt.layout, tt.n, tt.dpi, tt.syms)
		t.Run(name, func(t *testing.T) {
			cards := testCards(tt.n)
			o := Options{Facility: "Kisugu Health Centre III", Symbols: tt.syms}
			pages := decodePages(t, renderPDF(t, tt.layout, cards, o), tt.dpi)
			sheet, _ := LayoutSheet(tt.layout)
			per := len(sheet.Slots)
			if want := (tt.n + per - 1) / per; len(pages) != want {
				t.Fatalf("%d pages, want %d", len(pages), want)
			}
			syms := tt.syms
			if syms == nil {
				syms = []barcode.Symbology{barcode.Code128}
			}
			for i, got := range pages {
				var want []string
				for _, c := range cards[i*per : min((i+1)*per, len(cards))] {
					for _, s := range syms {
						switch s {
						case barcode.Code128:
							want = append(want, "CODE-128:"+c.MRN)
						case barcode.QR:
							want = append(want, "QR-Code:"+Default2D(c.MRN, c.Serial))
						}
					}
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("page %d decodes to %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

func TestRender_CardPageSizeAndText(t *testing.T) {
	needTool(t, "pdfinfo", "pdftotext")
	dir := t.TempDir()
	in := filepath.Join(dir, "c.pdf")
	os.WriteFile(in, renderPDF(t, "card", testCards(len(names)), Options{Facility: "Kisugu HC III"}), 0o644)
	info := tool(t, "pdfinfo", in)
	if !strings.Contains(info, " 242.65 x 153.01 pts") {
		t.Errorf("card page size is not 85.60 × 53.98 mm (242.65 × 153.01 pt):\n%s", info)
	}
	text := tool(t, "pdftotext", "-enc", "UTF-8", in, "-")
	for i, n := range names {
		if !strings.Contains(text, n) {
			t.Errorf("pdftotext does not find name %q", n)
		}
		if g := GroupMRN(fmt.Sprintf("KLA%07d", i+1)); !strings.Contains(text, g) {
			t.Errorf("pdftotext does not find MRN %q", g)
		}
	}
}

func TestRender_Reproducible(t *testing.T) {
	a := renderPDF(t, "a4", testCards(12), Options{Facility: "X"})
	b := renderPDF(t, "a4", testCards(12), Options{Facility: "X"})
	if !bytes.Equal(a, b) {
		t.Fatal("same cards and creation date give different PDFs")
	}
	if !bytes.Contains(a, []byte("D:20260102030405")) {
		t.Error("fixed creation date not written")
	}
}

func TestRender_Logo(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 4)
	}
	img.Set(0, 0, color.Black)
	var logo bytes.Buffer
	png.Encode(&logo, img)
	sheet, _ := LayoutSheet("card")
	var out bytes.Buffer
	r, err := NewRenderer(&out, sheet, RenderOptions{Options: Options{Facility: "Logo HC"}, Logo: logo.Bytes(), Created: fixed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(testCards(1)[0]); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("/Subtype /Image")) {
		t.Error("logo image not in PDF")
	}
	if _, err := NewRenderer(io.Discard, sheet, RenderOptions{Logo: []byte("not a png")}); err == nil || !strings.Contains(err.Error(), "logo") {
		t.Errorf("bad logo: err = %v", err)
	}
}

func TestRender_NoCards(t *testing.T) {
	sheet, _ := LayoutSheet("a4")
	r, _ := NewRenderer(io.Discard, sheet, RenderOptions{})
	if err := r.Close(); err == nil || !strings.Contains(err.Error(), "no cards") {
		t.Fatalf("err = %v", err)
	}
}

// TestRender_DataMatrixScansBack covers DataMatrix, which zbar cannot read:
// the card page is rasterised at 203 dpi and the symbol's box (from the
// layout) decoded with gozxing.
func TestRender_DataMatrixScansBack(t *testing.T) {
	needTool(t, "pdftoppm")
	o := Options{Symbols: []barcode.Symbology{barcode.DataMatrix}}
	cards := testCards(3)
	dir := t.TempDir()
	in := filepath.Join(dir, "dm.pdf")
	os.WriteFile(in, renderPDF(t, "card", cards, o), 0o644)
	tool(t, "pdftoppm", "-r", "203", "-gray", "-png", in, filepath.Join(dir, "p"))
	for i, c := range cards {
		l, err := LayoutCard(c, o)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("p-%d.png", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		s := l.Symbols[0]
		px := func(mm float64) int { return int(mm / 25.4 * 203) }
		sub := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(px(s.X), px(s.Y), px(s.X+s.W)+1, px(s.Y+s.H)+1))
		bmp, _ := gozxing.NewBinaryBitmapFromImage(sub)
		res, err := zdm.NewDataMatrixReader().Decode(bmp, nil)
		if err != nil {
			t.Fatalf("card %d: %v", i+1, err)
		}
		if got, want := res.GetText(), Default2D(c.MRN, c.Serial); got != want {
			t.Errorf("card %d decodes to %q, want %q", i+1, got, want)
		}
	}
}

// The facility band is the same on every card: FacilityNotes reports what
// it needs as LayoutCard fits it (with the logo box or without), and a
// card's Notes are its own (name and details) only.
func TestFacilityNotes_AsLayoutAndNotPerCard(t *testing.T) {
	long := "Kisugu Health Centre III Outpatients, Maternity and Child Health Department"
	for _, tc := range []struct {
		name, facility string
		hasLogo        bool
		shortened      bool
		missing        string
	}{
		{"fits", "Kisugu HC III", false, false, ""},
		{"too long", long, false, true, ""},
		{"fits without the logo", "Kisugu Health Centre III, Makindye Division Outpatients and", false, false, ""},
		{"not with it", "Kisugu Health Centre III, Makindye Division Outpatients and", true, true, ""},
		{"missing glyph", "医院 Kisugu", false, false, "医院"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := FacilityNotes(tc.facility, tc.hasLogo)
			if (len(n.Shortened) > 0) != tc.shortened || string(n.Missing) != tc.missing {
				t.Fatalf("FacilityNotes = %+v, want shortened %v, missing %q", n, tc.shortened, tc.missing)
			}
			o := Options{Facility: tc.facility, HasLogo: tc.hasLogo}
			l, err := LayoutCard(Card{MRN: "KLA0001234", Name: "Amina 王", Sex: "F"}, o)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(l.Shortened, "facility") != tc.shortened {
				t.Fatalf("layout shortened %v, FacilityNotes %v", l.Shortened, n.Shortened)
			}
			if string(l.Missing) != "王" {
				t.Fatalf("card's own missing characters = %q, want the name's only", string(l.Missing))
			}
			var logo []byte
			if tc.hasLogo {
				var b bytes.Buffer
				png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)))
				logo = b.Bytes()
			}
			sheet, _ := LayoutSheet("card")
			r, err := NewRenderer(io.Discard, sheet, RenderOptions{Options: Options{Facility: tc.facility}, Logo: logo})
			if err != nil {
				t.Fatal(err)
			}
			cn, err := r.Add(Card{MRN: "KLA0001234", Name: "Amina", Sex: "F"})
			if err != nil || len(cn.Shortened) > 0 || len(cn.Missing) > 0 {
				t.Fatalf("card notes = %+v, %v: the facility band is reported per run, not per card", cn, err)
			}
		})
	}
}
