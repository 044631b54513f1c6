package printing

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The card fonts. DejaVu Sans (Bitstream Vera licence, fonts/LICENSE)
// covers Latin with the African letters (ɛ, ŋ, ũ …), Greek, Cyrillic,
// Armenian, Georgian, Hebrew, Arabic and N'Ko. Characters it lacks come from
// the Noto fallbacks (SIL OFL 1.1, fonts/LICENSE-Noto-OFL.txt): Adlam (Fula;
// the unjoined style, which needs no contextual shaping), Ethiopic (Amharic,
// Tigrinya, Oromo in Ge'ez), Tifinagh (Tamazight) and Vai. Anything else —
// emoji, CJK, Indic scripts — prints as U+FFFD "�" and the caller is told
// which characters (Card.Missing) so it can warn about the patient.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
	//go:embed fonts/NotoSansAdlamUnjoined-Regular.ttf
	fontAdlam []byte
	//go:embed fonts/NotoSansAdlamUnjoined-Bold.ttf
	fontAdlamBold []byte
	//go:embed fonts/NotoSansEthiopic-Regular.ttf
	fontEthiopic []byte
	//go:embed fonts/NotoSansEthiopic-Bold.ttf
	fontEthiopicBold []byte
	//go:embed fonts/NotoSansTifinagh-Regular.ttf
	fontTifinagh []byte
	//go:embed fonts/NotoSansVai-Regular.ttf
	fontVai []byte
)

// Replacement is what a character no card font has prints as.
const Replacement = '\uFFFD'

// face is one embedded font file; id is its index in faceSet.all.
type face struct {
	id  int
	ttf *ttf
}

// faceSet is the fonts in fallback order for each weight. Parsed once per
// process and read-only afterwards.
type faceSet struct {
	all           []*face
	regular, bold []*face
}

var loadFaces = sync.OnceValues(func() (*faceSet, error) {
	fs := &faceSet{}
	add := func(name string, data []byte) (*face, error) {
		t, err := parseTTF(name, data)
		if err != nil {
			return nil, err
		}
		f := &face{id: len(fs.all), ttf: t}
		fs.all = append(fs.all, f)
		return f, nil
	}
	for _, spec := range []struct {
		name string
		data []byte
		reg  bool
		bold bool
	}{
		{"DejaVuSans", fontRegular, true, false},
		{"DejaVuSans-Bold", fontBold, false, true},
		{"NotoSansAdlamUnjoined-Regular", fontAdlam, true, false},
		{"NotoSansAdlamUnjoined-Bold", fontAdlamBold, false, true},
		{"NotoSansEthiopic-Regular", fontEthiopic, true, false},
		{"NotoSansEthiopic-Bold", fontEthiopicBold, false, true},
		// Tifinagh and Vai have one weight: bold text falls back to it.
		{"NotoSansTifinagh-Regular", fontTifinagh, true, true},
		{"NotoSansVai-Regular", fontVai, true, true},
	} {
		f, err := add(spec.name, spec.data)
		if err != nil {
			return nil, err
		}
		if spec.reg {
			fs.regular = append(fs.regular, f)
		}
		if spec.bold {
			fs.bold = append(fs.bold, f)
		}
	}
	return fs, nil
})

func faces() *faceSet {
	fs, err := loadFaces()
	if err != nil {
		panic(err) // embedded fonts: a broken build, not bad input
	}
	return fs
}

// glyphRef is one positioned glyph: face, glyph id, the text it stands for
// (for the PDF's ToUnicode map) and its advance in 1/1000 em.
type glyphRef struct {
	face *face
	gid  uint16
	r    rune
	adv  float64
	rise float64 // em: a combining mark lifted over a tall letter (raiseMarks)
}

// shaped is a line of text turned into glyphs in visual order.
type shaped struct {
	glyphs  []glyphRef
	width   float64 // 1/1000 em
	missing []rune  // characters no font has, in order, deduplicated
}

// Width is the width in mm at size pt.
func (s shaped) Width(size float64) float64 { return s.width / 1000 * size * mmPerPt }

const mmPerPt = 25.4 / 72

// shape maps text to glyphs: NFC-normalised, control characters dropped,
// right-to-left runs (Adlam, Arabic, Hebrew, N'Ko) put in visual order,
// each character taken from the first font in the fallback chain that has
// it, and U+FFFD for a character none has.
func shape(text string, bold bool) shaped {
	fs := faces()
	chain := fs.regular
	if bold {
		chain = fs.bold
	}
	text = norm.NFC.String(text)
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, string(Replacement))
	}
	var rs []rune
	for _, r := range text {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			r = ' '
		case unicode.IsControl(r), r == '\u200d', r == '\u200c', r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF, r == '\ufeff',
			unicode.Is(unicode.Bidi_Control, r):
			continue // joiners, variation selectors, bidi controls: nothing to draw on their own
		}
		rs = append(rs, r)
	}
	rs = shapeArabic(rs)
	rs = visualOrder(rs)
	var out shaped
	seen := map[rune]bool{}
	for _, r := range rs {
		g, ok := lookup(chain, r)
		if !ok {
			if !seen[r] {
				seen[r] = true
				out.missing = append(out.missing, r)
			}
			g, _ = lookup(chain, Replacement)
		}
		out.glyphs = append(out.glyphs, g)
		out.width += g.adv
	}
	raiseMarks(out.glyphs)
	return out
}

// raiseMarks lifts combining marks above a letter taller than a lowercase
// one. A font's above marks are drawn to sit over x-height letters; with no
// mark positioning (OpenType GPOS) the grave of Ọ̀, a capital with a mark
// NFC cannot compose, was drawn inside the O. A mark is raised by how much
// the letter (or the mark before it, for stacked marks) stands above the
// x-height. Only the combining diacritical blocks: other scripts' marks
// (Adlam, Ethiopic) are designed for their own letters.
func raiseMarks(gs []glyphRef) {
	if !slices.ContainsFunc(gs, func(g glyphRef) bool { return isDiacriticMark(g.r) }) {
		return // most names: nothing to look up
	}
	top := 0.0 // the top of the letter and the marks on it so far, em
	for i := range gs {
		g := &gs[i]
		t := g.face.ttf
		lo, hi := t.yBounds(g.gid)
		upm := float64(t.unitsPerEm)
		if !isDiacriticMark(g.r) || i == 0 {
			top = float64(hi) / upm
			continue
		}
		if lo <= 0 {
			continue // a mark below (cedilla, dot below) or an empty one
		}
		if r := top - float64(t.xHeight)/upm; r > 0.02 {
			g.rise = r
		}
		top = float64(hi)/upm + g.rise
	}
}

// isDiacriticMark: a combining mark of the Latin, Greek and Cyrillic
// diacritical blocks.
func isDiacriticMark(r rune) bool {
	return r >= 0x0300 && r <= 0x036F || r >= 0x1AB0 && r <= 0x1AFF || r >= 0x1DC0 && r <= 0x1DFF ||
		r >= 0x20D0 && r <= 0x20FF || r >= 0xFE20 && r <= 0xFE2F
}

// ink is the line's vertical extent in em from the baseline: top (above,
// positive) and bottom (below, negative), marks' rise included.
func (s shaped) ink() (top, bottom float64) {
	for _, g := range s.glyphs {
		lo, hi := g.face.ttf.yBounds(g.gid)
		upm := float64(g.face.ttf.unitsPerEm)
		top = max(top, float64(hi)/upm+g.rise)
		bottom = min(bottom, float64(lo)/upm+g.rise)
	}
	return top, bottom
}

// lineBox is the height of a text's box in em (layout's lineH).
const lineBox = 1.25

// baseline is where the renderer puts the baseline, in em below the top of
// the text's box: 85 % of the em, lower when a glyph reaches higher (Ñ, a
// raised mark), so the ink stays inside the box — and so inside the card's
// safe area — as far as the box's depth allows.
func (s shaped) baseline() float64 {
	top, bottom := s.ink()
	b := 0.85
	if top > b {
		b = min(top, lineBox+bottom)
	}
	return max(b, 0.85)
}

func lookup(chain []*face, r rune) (glyphRef, bool) {
	for _, f := range chain {
		if gid := f.ttf.glyph(r); gid != 0 {
			return glyphRef{face: f, gid: gid, r: r, adv: float64(f.ttf.advance(gid)) * 1000 / float64(f.ttf.unitsPerEm)}, true
		}
	}
	f := chain[0]
	return glyphRef{face: f, gid: 0, r: r, adv: float64(f.ttf.advance(0)) * 1000 / float64(f.ttf.unitsPerEm)}, false
}

// rtl reports a strong right-to-left character.
func rtl(r rune) bool {
	return unicode.In(r, unicode.Hebrew, unicode.Arabic, unicode.Nko, unicode.Adlam, unicode.Syriac, unicode.Thaana) && !unicode.IsDigit(r) && !unicode.IsPunct(r) && r != 0x0640 ||
		r >= 0xFB1D && r <= 0xFDFF || r >= 0xFE70 && r <= 0xFEFC
}

func ltr(r rune) bool { return unicode.IsLetter(r) && !rtl(r) || unicode.IsDigit(r) }

// visualOrder is a two-level bidi reordering, enough for names: the base
// direction is that of the first strong character; runs of the other
// direction (with the spaces and punctuation between their characters)
// are reversed in place, and a right-to-left base reverses the whole line.
// Digits are always left to right.
func visualOrder(rs []rune) []rune {
	base := 0 // 0 ltr, 1 rtl
	for _, r := range rs {
		if rtl(r) {
			base = 1
			break
		}
		if ltr(r) {
			break
		}
	}
	other := rtl
	if base == 1 {
		other = ltr
	}
	out := append([]rune(nil), rs...)
	for i := 0; i < len(out); {
		if !other(out[i]) {
			i++
			continue
		}
		j, end := i, i
		for j < len(out) {
			if other(out[j]) {
				end = j + 1
			} else if base == 0 && ltr(out[j]) || base == 1 && rtl(out[j]) {
				break
			}
			j++
		}
		reverse(out[i:end])
		i = end
	}
	if base == 1 {
		reverse(out)
	}
	return out
}

// reverse reverses rs in place, keeping each base character ahead of the
// combining marks that follow it (a mark is drawn after its base).
func reverse(rs []rune) {
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	// Each cluster is now mark…mark base: turn it back to base mark…mark.
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && unicode.Is(unicode.Mn, rs[j]) {
			j++
		}
		if j < len(rs) && j > i {
			base := rs[j]
			copy(rs[i+1:j+1], rs[i:j])
			rs[i] = base
		}
		i = j + 1
	}
}

// Measure is the width in mm of text set in the card font at size pt (for
// callers that want to know whether a name fits before printing).
func Measure(text string, bold bool, size float64) float64 { return shape(text, bold).Width(size) }

// MissingGlyphs lists the characters of text that no card font has and
// that would print as U+FFFD.
func MissingGlyphs(text string) []rune {
	m := shape(text, false).missing
	for _, r := range shape(text, true).missing {
		if !containsRune(m, r) {
			m = append(m, r)
		}
	}
	return m
}

func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// DescribeRunes is "😀 (U+1F600), 🙂 (U+1F642)" for warnings.
func DescribeRunes(rs []rune) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%c (U+%04X)", r, r)
	}
	return strings.Join(parts, ", ")
}

// Fit is how a text was made to fit its box.
type Fit struct {
	Lines     []string
	Size      float64 // pt
	Shortened bool    // cut with an ellipsis

	shaped []shaped // Lines shaped, when FitText already had them
}

// maxFitRunes bounds the text FitText looks at: more than this never fits
// two lines of a card at the minimum size (so it is shortened anyway), and
// a bound keeps a pathological name from costing more than its card.
const maxFitRunes = 400

// FitText fits text into width mm: the largest size from max down to
// oneLineMin (steps of 0.5 pt) that holds it on one line; failing that (and
// when maxLines is 2) two lines broken at a space (or, for one very long
// word, anywhere) from twoLineMax down to min; failing that, the second
// (or only) line shortened with "…" at min. Every returned line fits width
// at Size.
func FitText(text string, bold bool, width, max, oneLineMin, twoLineMax, min float64, maxLines int) Fit {
	text = strings.Join(strings.Fields(norm.NFC.String(text)), " ")
	cut := false
	if utf8.RuneCountInString(text) > maxFitRunes {
		text, cut = string([]rune(text)[:maxFitRunes]), true
	}
	sh := shape(text, bold)
	full := sh.width / 1000 * mmPerPt // mm per pt
	for s := max; s >= oneLineMin-1e-9 && !cut; s -= 0.5 {
		if full*s <= width {
			return Fit{Lines: []string{text}, Size: s, shaped: []shaped{sh}}
		}
	}
	if maxLines < 2 {
		// It may fit whole at min, below the one-line sizes: shortened
		// only if the ellipsis went in.
		line := ellipsize(text, bold, width, min, cut)
		return Fit{Lines: []string{line}, Size: min, Shortened: line != text}
	}
	words := strings.Split(text, " ")
	// Line widths from word widths: a break at a space never changes how
	// the words on either side are shaped.
	ww := make([]float64, len(words))
	for i, w := range words {
		ww[i] = shape(w, bold).width
	}
	space := shape(" ", bold).width
	for s := twoLineMax; s >= min-1e-9 && !cut; s -= 0.5 {
		if a, b, ok := split2(words, ww, space, width/(s*mmPerPt)*1000); ok {
			return Fit{Lines: []string{a, b}, Size: s}
		}
	}
	// At the minimum size: as much as fits on line 1 (whole words when
	// possible), the rest shortened on line 2.
	// One word too long for a line is broken inside it, which may hold it
	// whole: shortened only if the ellipsis went in.
	first, rest := fillLine(text, bold, width, min)
	second := ellipsize(rest, bold, width, min, cut)
	return Fit{Lines: []string{first, second}, Size: min, Shortened: second != rest}
}

// split2 finds the break between words that balances the two lines and
// fits both in limit (1/1000 em).
func split2(words []string, ww []float64, space, limit float64) (string, string, bool) {
	total := 0.0
	for _, w := range ww {
		total += w
	}
	total += space * float64(len(ww)-1)
	best, bestW, a := -1, 0.0, 0.0
	for i := 1; i < len(words); i++ {
		a += ww[i-1]
		if i > 1 {
			a += space
		}
		b := total - a - space
		if a > limit || b > limit {
			continue
		}
		if w := maxf(a, b); best < 0 || w < bestW {
			best, bestW = i, w
		}
	}
	if best >= 0 {
		return strings.Join(words[:best], " "), strings.Join(words[best:], " "), true
	}
	return "", "", false
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// fillLine takes the longest start of text that fits width at size s,
// ending at a space when one is in the second half of the line.
func fillLine(text string, bold bool, width, s float64) (string, string) {
	rs := []rune(text)
	n := fitRunes(rs, bold, width, s, "")
	if n >= len(rs) {
		return text, ""
	}
	cut := n
	for i := n; i > n/2; i-- {
		if rs[i] == ' ' {
			cut = i
			break
		}
	}
	return strings.TrimSpace(string(rs[:cut])), strings.TrimSpace(string(rs[cut:]))
}

// ellipsize shortens text to fit width at size s, ending in "…" (also
// when it fits but was cut before).
func ellipsize(text string, bold bool, width, s float64, cut bool) string {
	if !cut && shape(text, bold).Width(s) <= width {
		return text
	}
	rs := []rune(text)
	n := fitRunes(rs, bold, width, s, "…")
	for n > 0 && (n < len(rs) && unicode.Is(unicode.Mn, rs[n]) || rs[n-1] == ' ') {
		n-- // never strand a combining mark or end on a space
	}
	return strings.TrimRight(string(rs[:n]), " ") + "…"
}

// fitRunes is how many leading runes of rs, followed by suffix, fit width.
func fitRunes(rs []rune, bold bool, width, s float64, suffix string) int {
	lo, hi := 0, len(rs)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if shape(string(rs[:mid])+suffix, bold).Width(s) <= width {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
