// Package printing owns the ID card: a pure layout step that places boxes
// in millimetres and fits the text with the embedded fonts' metrics (tested
// as golden JSON), and a renderer that streams the cards into a PDF it
// writes itself (pdf.go: Type 0 fonts subset from the embedded TrueType
// files, so any character of any plane prints; pages written as they
// fill, so memory stays flat).
package printing

import (
	"fmt"
	"math"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// ISO/IEC 7810 ID-1 card size and the margin kept clear of text and symbols.
const (
	CardW  = 85.60
	CardH  = 53.98
	Margin = 3.5 // ≥ 3 mm inside the edge, with room for card-printer drift

	// Dot203 is one dot of a 203 dpi thermal card printer in mm. Module
	// widths are whole multiples of it (≥ 2 dots, i.e. ≥ 0.25 mm) so bars
	// land on whole dots there and stay ≥ 1.5 px at 150 dpi.
	Dot203 = 25.4 / 203
)

// Card is what one card shows. Blank cards (pre-printed IDs not yet given
// to a patient) get writing lines instead of name, sex and birth year.
type Card struct {
	MRN    string `json:"mrn"`
	Serial string `json:"serial"`
	Name   string `json:"name,omitempty"`
	Sex    string `json:"sex,omitempty"`
	Born   string `json:"born,omitempty"` // as it is to print: a year or a full date (the caller's setting)
	Blank  bool   `json:"blank,omitempty"`
}

// Options are the settings shared by every card of a run.
type Options struct {
	Facility   string                          // facility name at the top of each card ("" leaves the band empty)
	Symbols    []barcode.Symbology             // Code 128 and/or one 2D symbology
	HasLogo    bool                            // reserve the logo box top-left
	ShowSerial bool                            // print the card serial after sex and birth
	Content2D  func(mrn, serial string) string `json:"-"`

	fits map[fitKey]Fit // the renderer's cache of texts that repeat on every card
}

type fitKey struct {
	text  string
	bold  bool
	w, sz float64
}

// Type sizes (points). A name is set in bold at NameMax and shrinks to
// NameOneLineMin on one line; a longer name wraps to two lines from
// NameTwoLineMax down to NameMin (the smallest size read comfortably on a
// card at arm's length), and only then is the second line shortened with
// "…". At NameMin two lines of the full text width hold about 110
// characters of an average name (50 + 50 fit in full).
const (
	NameMax        = 11.0
	NameOneLineMin = 8.5
	NameTwoLineMax = 9.0
	NameMin        = 6.0
)

// Rect is a box in millimetres from the top-left corner.
type Rect struct{ X, Y, W, H float64 }

// Text is one line of text at Size points; the layout has made it fit W
// (shrunk, wrapped or shortened), so the renderer draws it as it is.
type Text struct {
	Rect
	Text  string  `json:"text"`
	Size  float64 `json:"size"`
	Bold  bool    `json:"bold,omitempty"`
	Align string  `json:"align"` // "L" or "R"

	glyphs *shaped // Text shaped at layout time, reused by the renderer
}

// Symbol is a barcode placed on the card: Module mm per module, the matrix
// (quiet zone included) starting at X, Y; a linear symbol is H tall.
type Symbol struct {
	Rect
	Module    float64           `json:"module"`
	Symbology barcode.Symbology `json:"symbology"`
	Content   string            `json:"content"`
	Matrix    *barcode.Symbol   `json:"-"`
}

// Line is a stroke (blank-card writing lines, cut marks).
type Line struct{ X1, Y1, X2, Y2 float64 }

// CardLayout is everything on one card, relative to its top-left corner.
type CardLayout struct {
	Texts   []Text   `json:"texts"`
	Symbols []Symbol `json:"symbols"`
	Lines   []Line   `json:"lines,omitempty"`
	Logo    *Rect    `json:"logo,omitempty"`

	// What it took to fit: texts shortened with "…" ("name", "facility",
	// "details") and characters no card font has (printed as U+FFFD) in
	// the card's own texts. The facility band's missing characters are
	// the same on every card of a run: FacilityNotes tells them once.
	Shortened []string `json:"shortened,omitempty"`
	Missing   []rune   `json:"-"`
}

// facilityBox is where LayoutCard sets the facility band: one bold line
// from the left margin (or right of the logo) to the right margin.
func facilityBox(hasLogo bool) (x, w float64) {
	x = Margin
	if hasLogo {
		x = Margin + 10.5
	}
	return x, CardW - Margin - x
}

// Facility band type sizes: 9 pt down to 6 pt, then shortened.
const (
	facilityMax = 9.0
	facilityMin = 6.0
)

// FacilityNotes is what the facility band needs to fit a card (with the
// logo box or without): shortened with "…" (Shortened is ["facility"]) and
// the characters no card font has. The band is the same on every card, so
// a print run warns about it once, and cards setup when it is stored;
// Renderer.Add leaves it out of each card's Notes.
func FacilityNotes(facility string, hasLogo bool) Notes {
	var n Notes
	if facility == "" {
		return n
	}
	_, w := facilityBox(hasLogo)
	f := FitText(facility, true, w, facilityMax, facilityMin, 0, facilityMin, 1)
	if f.Shortened {
		n.Shortened = []string{"facility"}
	}
	for i, ln := range f.Lines {
		sh := shape(ln, true)
		if i < len(f.shaped) {
			sh = f.shaped[i]
		}
		for _, r := range sh.missing {
			if !containsRune(n.Missing, r) {
				n.Missing = append(n.Missing, r)
			}
		}
	}
	return n
}

// Default2D is the content of the 2D symbol when Options.Content2D is nil:
// barcode.Format2D, the MRN and the card serial that barcode.Parse2D reads.
func Default2D(mrn, serial string) string { return barcode.Format2D(mrn, serial) }

// GroupMRN splits an MRN for reading aloud: the letter prefix, the digits
// in fours counted from the right, a separated check kept on the last group
// ("KLA00012345" → "KLA 0001 2345", "KLA000123-4" → "KLA 00 0123-4"). Scanners and
// Normalize drop the spaces, so a typed grouped MRN still verifies.
func GroupMRN(mrn string) string {
	i := 0
	for i < len(mrn) && (mrn[i] < '0' || mrn[i] > '9') {
		i++
	}
	prefix, body, check := mrn[:i], mrn[i:], ""
	if j := strings.LastIndexByte(body, '-'); j >= 0 {
		body, check = body[:j], body[j:]
	}
	var out []string
	if prefix != "" {
		out = append(out, prefix)
	}
	for len(body) > 4 {
		n := len(body) % 4
		if n == 0 {
			n = 4
		}
		out, body = append(out, body[:n]), body[n:]
	}
	if body != "" {
		out = append(out, body+check)
	} else if check != "" {
		out = append(out, check)
	}
	return strings.Join(out, " ")
}

// moduleFor picks the widest whole-dot module (2 to 4 dots at 203 dpi) so
// cols modules fit in width mm.
func moduleFor(cols int, width float64) (float64, error) {
	for dots := 4; dots >= 2; dots-- {
		if m := float64(dots) * Dot203; float64(cols)*m <= width+1e-9 {
			return m, nil
		}
	}
	return 0, idcards.Errorf(idcards.Invalid, "printing: code too long for a card: %d modules do not fit %.1f mm at 0.25 mm per module", cols, width)
}

// LayoutCard places one card's boxes: the facility band at the top (and
// the logo left of it), the patient's name across the card, sex and birth
// (and card serial), the MRN in large type grouped for reading aloud, the
// Code 128 symbol along the bottom and a 2D symbol on the right below the
// name. Every box stays Margin inside the edge.
func LayoutCard(c Card, o Options) (CardLayout, error) {
	if c.MRN == "" {
		return CardLayout{}, idcards.Errorf(idcards.Invalid, "printing: card without an MRN")
	}
	if len(o.Symbols) == 0 {
		o.Symbols = []barcode.Symbology{barcode.Code128}
	}
	c2d := o.Content2D
	if c2d == nil {
		c2d = Default2D
	}
	var l CardLayout
	inner := CardW - 2*Margin
	x0, facilityW := facilityBox(o.HasLogo)
	y := Margin
	if o.HasLogo {
		l.Logo = &Rect{X: Margin, Y: Margin, W: 9, H: 9}
	}
	var lin, twoD *barcode.Symbol
	for _, s := range o.Symbols {
		var err error
		if s == barcode.Code128 {
			lin, err = barcode.Encode(s, c.MRN)
		} else {
			twoD, err = barcode.Encode(s, c2d(c.MRN, c.Serial))
		}
		if err != nil {
			return CardLayout{}, err
		}
	}
	bottom := CardH - Margin
	if lin != nil {
		m, err := moduleFor(lin.Cols, inner)
		if err != nil {
			return CardLayout{}, err
		}
		h := 11.0
		w := float64(lin.Cols) * m
		l.Symbols = append(l.Symbols, Symbol{Rect: Rect{X: round((CardW - w) / 2), Y: round(bottom - h), W: round(w), H: h}, Module: round(m), Symbology: lin.Symbology, Content: lin.Content, Matrix: lin})
		bottom -= h + 1
	}
	// text adds one fitted line; lineH is the box height for size pt.
	lineH := func(size float64) float64 { return round(size * mmPerPt * 1.25) }
	text := func(what, s string, x, y, w, max, oneMin, twoMax, min float64, lines int, bold bool) float64 {
		var f Fit
		key := fitKey{s, bold, w, max}
		if f = o.fits[key]; f.Lines == nil {
			f = FitText(s, bold, w, max, oneMin, twoMax, min, lines)
			if o.fits != nil && len(o.fits) < 64 && what != "name" && what != "mrn" {
				o.fits[key] = f // the facility and the sex/birth lines repeat
			}
		}
		if f.Shortened {
			l.Shortened = append(l.Shortened, what)
		}
		for i, ln := range f.Lines {
			var sh shaped
			if i < len(f.shaped) {
				sh = f.shaped[i]
			} else {
				sh = shape(ln, bold)
			}
			for _, r := range sh.missing {
				if what != "facility" && !containsRune(l.Missing, r) {
					l.Missing = append(l.Missing, r)
				}
			}
			l.Texts = append(l.Texts, Text{Rect: Rect{X: round(x), Y: round(y), W: round(w), H: lineH(f.Size)}, Text: ln, Size: f.Size, Bold: bold, Align: "L", glyphs: &sh})
			y += lineH(f.Size)
		}
		return y
	}
	if o.Facility != "" {
		text("facility", o.Facility, x0, y, facilityW, facilityMax, facilityMin, 0, facilityMin, 1, true)
	}
	y += 5.5
	if o.HasLogo && y < Margin+10 {
		y = Margin + 10
	}
	if !c.Blank {
		y = text("name", c.Name, Margin, y, inner, NameMax, NameOneLineMin, NameTwoLineMax, NameMin, 2, true) + 0.6
	}
	textW := inner
	if twoD != nil {
		// Square symbol on the right, below the name, as large as the
		// space down to the bottom (or the linear symbol) allows.
		avail := bottom - y
		dots := int(math.Floor(avail / float64(twoD.Cols) / Dot203))
		if dots < 2 {
			return CardLayout{}, idcards.Errorf(idcards.Invalid, "printing: %s symbol of %d modules does not fit the card", twoD.Symbology, twoD.Cols)
		}
		if dots > 6 {
			dots = 6
		}
		m := float64(dots) * Dot203
		side := float64(twoD.Cols) * m
		x := CardW - Margin - side
		l.Symbols = append(l.Symbols, Symbol{Rect: Rect{X: round(x), Y: round(bottom - side), W: round(side), H: round(side)}, Module: round(m), Symbology: twoD.Symbology, Content: twoD.Content, Matrix: twoD})
		textW = x - Margin - 1
	}
	if c.Blank {
		for _, lbl := range []string{"Name", "Sex / born"} {
			l.Texts = append(l.Texts, Text{Rect: Rect{X: Margin, Y: y, W: 16, H: 4}, Text: lbl, Size: 6.5, Align: "L"})
			l.Lines = append(l.Lines, Line{X1: Margin + 16, Y1: round(y + 3.6), X2: round(Margin + textW), Y2: round(y + 3.6)})
			y += 5.5
		}
	}
	var info []string
	if !c.Blank && c.Sex != "" {
		info = append(info, "Sex "+c.Sex)
	}
	if !c.Blank && c.Born != "" {
		info = append(info, "Born "+c.Born)
	}
	if o.ShowSerial && c.Serial != "" {
		info = append(info, "Card "+c.Serial)
	}
	if len(info) > 0 {
		y = text("details", strings.Join(info, "   "), Margin, y, textW, 8, 6, 0, 6, 1, false) + 0.5
	}
	text("mrn", GroupMRN(c.MRN), Margin, y, textW, 15, 9, 0, 9, 1, true)
	return l, nil
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// Sheet is a page layout: page size and the card slots on it.
type Sheet struct {
	Name     string  `json:"name"`
	PageW    float64 `json:"page_w"`
	PageH    float64 `json:"page_h"`
	Slots    []Rect  `json:"slots"`
	CutMarks []Line  `json:"cut_marks,omitempty"`
}

// Layouts names the sheet layouts.
func Layouts() []string { return []string{"card", "a4", "letter"} }

// LayoutSheet returns a named sheet: "card" is one card-size page per card
// (card printers); "a4" (2×5) and "letter" (2×4) are N-up sheets for laser
// printers, cards edge to edge in the middle of the page with cut marks in
// the margin on every cut line.
func LayoutSheet(name string) (Sheet, error) {
	switch name {
	case "card":
		return Sheet{Name: name, PageW: CardW, PageH: CardH, Slots: []Rect{{0, 0, CardW, CardH}}}, nil
	case "a4":
		return grid(name, 210, 297, 2, 5), nil
	case "letter":
		return grid(name, 215.9, 279.4, 2, 4), nil
	}
	return Sheet{}, idcards.Errorf(idcards.Invalid, "printing: layout %q: use card, a4 or letter", name)
}

func grid(name string, pw, ph float64, cols, rows int) Sheet {
	s := Sheet{Name: name, PageW: pw, PageH: ph}
	x0, y0 := round((pw-float64(cols)*CardW)/2), round((ph-float64(rows)*CardH)/2)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			s.Slots = append(s.Slots, Rect{X: round(x0 + float64(c)*CardW), Y: round(y0 + float64(r)*CardH), W: CardW, H: CardH})
		}
	}
	const gap, length = 1.0, 4.0 // marks stop short of the cards
	for c := 0; c <= cols; c++ {
		x := round(x0 + float64(c)*CardW)
		s.CutMarks = append(s.CutMarks, Line{x, round(y0 - gap - length), x, round(y0 - gap)},
			Line{x, round(y0 + float64(rows)*CardH + gap), x, round(y0 + float64(rows)*CardH + gap + length)})
	}
	for r := 0; r <= rows; r++ {
		y := round(y0 + float64(r)*CardH)
		s.CutMarks = append(s.CutMarks, Line{round(x0 - gap - length), y, round(x0 - gap), y},
			Line{round(x0 + float64(cols)*CardW + gap), y, round(x0 + float64(cols)*CardW + gap + length), y})
	}
	return s
}

// String is for error messages.
func (r Rect) String() string { return fmt.Sprintf("%.2f,%.2f %.2f×%.2f mm", r.X, r.Y, r.W, r.H) }
