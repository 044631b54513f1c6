package printing

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
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
		// Names (issue 16): short, two words, 50 + 50 characters (the
		// registration limit: prints in full on two lines), legacy data
		// longer than that (shortened with …), wide letters, and scripts
		// from the fallback fonts or right to left.
		{"name-short", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: "Bo Li", Sex: "M", Born: "2001"}, Options{Facility: "Kisugu HC III"}},
		{"name-two-words", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: "Nakato Ssebunya", Sex: "F", Born: "1990"}, Options{Facility: "Kisugu HC III", Symbols: []barcode.Symbology{barcode.Code128, barcode.QR}}},
		{"name-50+50", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: name50a + " " + name50b, Sex: "F", Born: "1990"}, Options{Facility: "Kisugu Health Centre III", Symbols: []barcode.Symbology{barcode.Code128, barcode.QR}, ShowSerial: true}},
		{"name-50+50-caps-logo", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: strings.ToUpper(name50a + " " + name50b), Sex: "F", Born: "1990"}, Options{Facility: "Kisugu Health Centre III", HasLogo: true, Symbols: []barcode.Symbology{barcode.Code128, barcode.QR}}},
		{"name-300-legacy", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: strings.Repeat("Nabukenya Ssekitoleko ", 14), Sex: "F", Born: "1990"}, Options{Facility: "Kisugu HC III"}},
		{"name-wide", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: strings.Repeat("W", 50) + " " + strings.Repeat("M", 50), Sex: "M", Born: "1970"}, Options{Facility: "Kisugu HC III"}},
		{"name-adlam", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: "𞤀𞤣𞤤𞤢𞤥 Diallo", Sex: "M", Born: "1985"}, Options{Facility: "Kisugu HC III"}},
		{"name-ethiopic", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: "ኃይለ ሥላሴ ገብረ መድኅን", Sex: "M", Born: "1985"}, Options{Facility: "Kisugu HC III"}},
		{"name-arabic", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: "محمد عبد الله", Sex: "M", Born: "1985"}, Options{Facility: "Kisugu HC III"}},
		{"name-emoji-and-cjk", Card{MRN: "KLA0001234", Serial: "C7K2M9XQ0", Name: "Amina😀 王秀英", Sex: "F", Born: "1985"}, Options{Facility: "Kisugu HC III"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := LayoutCard(tt.card, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			checkInside(t, l)
			golden(t, "card-"+tt.name, l)
			if strings.HasPrefix(tt.name, "name-50+50") || tt.name == "name-two-words" || tt.name == "name-short" {
				if len(l.Shortened) > 0 || strings.Contains(texts(l), "…") {
					t.Errorf("%s: name shortened, want it in full: %q", tt.name, texts(l))
				}
				if got := strings.Join(strings.Fields(texts(l)), " "); !strings.Contains(got, strings.Join(strings.Fields(tt.card.Name), " ")) {
					t.Errorf("%s: name not printed in full: %q", tt.name, got)
				}
			}
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
		// The text as drawn fits its box (the renderer does not shrink).
		if w := Measure(tx.Text, tx.Bold, tx.Size); w > tx.W+1e-6 {
			t.Errorf("text %q is %.2f mm wide at %.1f pt, its box %.2f mm", tx.Text, w, tx.Size, tx.W)
		}
		if tx.Size < NameMin-1e-9 && tx.Text != "Name" && tx.Text != "Sex / born" {
			t.Errorf("text %q at %.1f pt, under the %.1f pt minimum", tx.Text, tx.Size, NameMin)
		}
	}
	// No two boxes overlap vertically in the text column.
	for i := 1; i < len(l.Texts); i++ {
		a, b := l.Texts[i-1], l.Texts[i]
		if b.Y < a.Y+a.H-1e-6 && b.X < a.X+a.W && a.X < b.X+b.W {
			t.Errorf("texts %q and %q overlap", a.Text, b.Text)
		}
	}
}

// Two realistic name parts of 50 characters each (the registration limit).
const (
	name50a = "Maria Goretti Nansubuga Namukwaya Birungi Alexandr"
	name50b = "Nabukenya-Ssekitoleko Mukasa Kiwanuka Nakiganda Ok"
)

func texts(l CardLayout) string {
	var b strings.Builder
	for _, t := range l.Texts {
		b.WriteString(t.Text + "\n")
	}
	return b.String()
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

func TestVisualOrder(t *testing.T) {
	for in, want := range map[string]string{
		"abc":                "abc",
		"אבג":                "גבא",
		"abc אבג def":        "abc גבא def",
		"אבג 123 דה":         "הד 123 גבא",
		"\u05E9\u05B8\u05DC": "\u05DC\u05E9\u05B8", // a mark stays after its base
		"𞤀𞤣𞤤𞤢𞤥 Diallo":       "Diallo 𞤥𞤢𞤤𞤣𞤀",
		"Amina (آمنة) Ali":   "Amina (ةنمآ) Ali",
	} {
		if got := string(visualOrder([]rune(in))); got != want {
			t.Errorf("visualOrder(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFitText_ShortenedOnlyWithEllipsis: "shortened" is reported exactly
// when an ellipsis went in. A name that prints whole at the smallest size
// (one word broken across two lines, or a facility line at its minimum)
// was reported shortened, and the desk warned about a card that was fine.
func TestFitText_ShortenedOnlyWithEllipsis(t *testing.T) {
	long := "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwaren"
	for _, tc := range []struct {
		name, text                  string
		w, max, oneMin, twoMax, min float64
		lines                       int
		shortened                   bool
	}{
		{"one long word on two lines", long, 77.6, NameMax, NameOneLineMin, NameTwoLineMax, NameMin, 2, false},
		{"one line at the minimum", "Kisugu Health Centre III Mukono", 40, 9, 8, 0, 6, 1, false},
		{"too long for one line", strings.Repeat("Kisugu ", 12), 40, 9, 6, 0, 6, 1, true},
		{"too long for two lines", strings.Repeat(long, 3), 77.6, NameMax, NameOneLineMin, NameTwoLineMax, NameMin, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := FitText(tc.text, true, tc.w, tc.max, tc.oneMin, tc.twoMax, tc.min, tc.lines)
			joined := strings.Join(f.Lines, "")
			if f.Shortened != tc.shortened || f.Shortened != strings.HasSuffix(joined, "…") {
				t.Fatalf("%q: shortened %v, lines %q", tc.text, f.Shortened, f.Lines)
			}
			if !f.Shortened && strings.ReplaceAll(joined, " ", "") != strings.ReplaceAll(tc.text, " ", "") {
				t.Errorf("not shortened but not whole: %q", f.Lines)
			}
		})
	}
}

// TestInkInsideTextBox: a tall letter's ink (the tilde of Ñ) reached above
// its text box — for the facility line, 0.7 pt past the card's safe area —
// and a combining mark on a capital NFC cannot compose (Ọ̀) was drawn inside
// the letter. The baseline now moves down for a tall line and such a mark
// is raised above the letter.
func TestInkInsideTextBox(t *testing.T) {
	for _, text := range []string{"ÑANDÚ HEALTH CENTRE", "Ọ̀LÁ Ọ̀GÚNDÉLÉ", "Ǹ̄NÁ", "Amina Okello", "Łukasz Ødegaard", "Nguyễn Thị Ánh"} {
		for _, bold := range []bool{false, true} {
			sh := shape(text, bold)
			top, bottom := sh.ink()
			if b := sh.baseline(); b < top-1e-9 || b-bottom > lineBox+1e-9 {
				t.Errorf("%q: ink %.3f..%.3f em around a baseline %.3f em into a %.2f em box", text, top, bottom, b, lineBox)
			}
		}
	}
	// The grave over Ọ stands above the letter; over x it is where the font
	// put it (no lift), over l (an ascender) above the ascender.
	for _, tc := range []struct {
		text string
		lift bool
	}{{"Ọ̀", true}, {"x\u0300", false}, {"l\u0300", true}, {"Ọ̀\u0301", true}} {
		sh := shape(tc.text, true)
		base := sh.glyphs[0]
		_, baseTop := base.face.ttf.yBounds(base.gid)
		prevTop := float64(baseTop) / float64(base.face.ttf.unitsPerEm)
		for _, m := range sh.glyphs[1:] {
			lo, hi := m.face.ttf.yBounds(m.gid)
			upm := float64(m.face.ttf.unitsPerEm)
			if (m.rise > 0) != tc.lift {
				t.Errorf("%q: mark %U rise %.3f em, want lifted %v", tc.text, m.r, m.rise, tc.lift)
			}
			if tc.lift && float64(lo)/upm+m.rise < prevTop-0.01 {
				t.Errorf("%q: mark %U from %.3f em, inside what is under it (top %.3f em)", tc.text, m.r, float64(lo)/upm+m.rise, prevTop)
			}
			prevTop = float64(hi)/upm + m.rise
		}
	}
}
