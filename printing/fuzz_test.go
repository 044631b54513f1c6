package printing

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idcards/idcards/barcode"
)

// FuzzLayoutAndRender: no name or facility text makes the layout fail or
// panic, everything stays inside the safe area at a legible size, and the
// card renders into a PDF.
func FuzzLayoutAndRender(f *testing.F) {
	for _, s := range []string{"", "Amina😀", "𞤀𞤣𞤤𞤢𞤥 Diallo", "محمد عبد الله", "王秀英", "\x00\xff\xfe", strings.Repeat("W", 400),
		"e\u0301\u0301\u0301", "\u202e\u200d\ufe0f", "ኃይለ ሥላሴ", "ⵜⴰⵎⴰⵣⵉⵖⵜ", "ꕙꔤ", "a\tb\nc\rd", "\U0010FFFF\U000E0001"} {
		f.Add(s, "Kisugu HC III")
	}
	sheet, _ := LayoutSheet("card")
	f.Fuzz(func(t *testing.T, name, facility string) {
		for _, o := range []Options{{Facility: facility}, {Facility: facility, HasLogo: true, Symbols: []barcode.Symbology{barcode.Code128, barcode.QR}, ShowSerial: true}} {
			c := Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: name, Sex: "F", Born: "1990"}
			l, err := LayoutCard(c, o)
			if err != nil {
				t.Fatalf("layout %q: %v", name, err)
			}
			checkInside(t, l)
			r, err := NewRenderer(io.Discard, sheet, RenderOptions{Options: o, Created: fixed})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Add(c); err != nil {
				t.Fatalf("render %q: %v", name, err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// randomName draws 1–120 characters from every plane: assigned or not,
// combining marks, right-to-left letters, controls, emoji.
func randomName(r *rand.Rand) string {
	var b strings.Builder
	n := 1 + r.IntN(120)
	for i := 0; i < n; i++ {
		var c rune
		switch r.IntN(8) {
		case 0:
			c = rune(0x20 + r.IntN(0x5f)) // ASCII
		case 1:
			c = rune(0xa0 + r.IntN(0x2000)) // Latin … Arabic, N'Ko
		case 2:
			c = rune(0x1E900 + r.IntN(0x60)) // Adlam
		case 3:
			c = rune(0x1F300 + r.IntN(0x700)) // emoji
		case 4:
			c = ' '
		default:
			c = rune(r.IntN(0x110000)) // anything, surrogates become U+FFFD
		}
		if !utf8.ValidRune(c) {
			c = utf8.RuneError
		}
		b.WriteRune(c)
	}
	return b.String()
}

// TestRender_RandomUnicodeNames renders 300 random names (every plane) on
// A4 sheets and checks the PDF with qpdf and poppler.
func TestRender_RandomUnicodeNames(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2026))
	cards := testCards(300)
	for i := range cards {
		cards[i].Name = randomName(r)
		l, err := LayoutCard(cards[i], Options{Facility: randomName(r)})
		if err != nil {
			t.Fatalf("card %d %q: %v", i, cards[i].Name, err)
		}
		checkInside(t, l)
	}
	pdf := renderPDF(t, "a4", cards, Options{Facility: "Kisugu HC III", Symbols: []barcode.Symbology{barcode.Code128, barcode.QR}})
	needTool(t, "qpdf", "pdfinfo", "pdftotext")
	in := filepath.Join(t.TempDir(), "r.pdf")
	os.WriteFile(in, pdf, 0o644)
	tool(t, "qpdf", "--check", in)
	if info := tool(t, "pdfinfo", in); !strings.Contains(info, "Pages:           30\n") {
		t.Fatalf("pdfinfo:\n%s", info)
	}
	tool(t, "pdftotext", "-enc", "UTF-8", in, "-")
	if !bytes.Contains(pdf, []byte("/ToUnicode")) {
		t.Error("no ToUnicode map")
	}
}
