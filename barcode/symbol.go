package barcode

import (
	"fmt"
	"image"
	"image/color"
	"strings"

	bb "github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/datamatrix"
	"github.com/boombuler/barcode/qr"

	"github.com/idcards/idcards"
)

// Symbology is a barcode type a card can carry.
type Symbology string

const (
	Code128    Symbology = "code128"    // linear; what most desk scanners read
	QR         Symbology = "qr"         // 2D, error correction level M
	DataMatrix Symbology = "datamatrix" // 2D, ECC 200
)

// Symbologies lists every supported symbology, linear first.
func Symbologies() []Symbology { return []Symbology{Code128, QR, DataMatrix} }

// ParseSymbology accepts a symbology name in any case.
func ParseSymbology(s string) (Symbology, error) {
	switch Symbology(strings.ToLower(strings.TrimSpace(s))) {
	case Code128, "code-128", "c128":
		return Code128, nil
	case QR, "qrcode":
		return QR, nil
	case DataMatrix, "data-matrix", "dm":
		return DataMatrix, nil
	}
	return "", idcards.Errorf(idcards.Invalid, "symbology %q: use code128, qr or datamatrix", s)
}

// QuietZone is the blank margin, in modules, that Encode adds around a
// symbol: 10 on the left and right of Code 128 (ISO/IEC 15417), 4 on every
// side of QR (ISO/IEC 18004) and DataMatrix (the standard asks for 1; 4
// keeps a card printer's bleed and a laminate edge away from the symbol).
// boombuler/barcode adds none, and decoders forgive its absence where real
// scanners do not.
func QuietZone(s Symbology) int {
	if s == Code128 {
		return 10
	}
	return 4
}

// Symbol is an encoded barcode as a matrix of modules, quiet zone included,
// so a renderer can draw it losslessly at any integer multiple of a module
// (vector rectangles in a PDF, whole pixels in a PNG). A linear symbol has
// one row; its height is chosen by whoever draws it.
type Symbol struct {
	Symbology Symbology
	Content   string
	Cols      int // modules across, quiet zone included
	Rows      int // modules down, quiet zone included (1 for a linear symbol)
	Quiet     int // quiet-zone modules on each side (left/right only for a linear symbol)
	dark      []bool
}

// Encode renders content in the symbology with its quiet zone.
func Encode(sym Symbology, content string) (*Symbol, error) {
	if content == "" {
		return nil, idcards.Errorf(idcards.Invalid, "barcode: %s: empty content", sym)
	}
	var (
		b   bb.Barcode
		err error
	)
	switch sym {
	case Code128:
		for _, r := range content {
			if r < 0x20 || r > 0x7e {
				return nil, idcards.Errorf(idcards.Invalid, "barcode: code128: character %q cannot be typed by a keyboard-wedge scanner", r)
			}
		}
		b, err = code128.Encode(content)
	case QR:
		b, err = qr.Encode(content, qr.M, qr.Auto)
	case DataMatrix:
		b, err = datamatrix.Encode(content)
	default:
		return nil, idcards.Errorf(idcards.Invalid, "barcode: unknown symbology %q", sym)
	}
	if err != nil {
		return nil, idcards.Errorf(idcards.Invalid, "barcode: %s: %v", sym, err)
	}
	q := QuietZone(sym)
	r := b.Bounds()
	s := &Symbol{Symbology: sym, Content: content, Quiet: q, Cols: r.Dx() + 2*q}
	qy := q
	if sym == Code128 {
		qy = 0
	}
	s.Rows = r.Dy() + 2*qy
	s.dark = make([]bool, s.Cols*s.Rows)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if isDark(b.At(x, y)) {
				s.dark[(y-r.Min.Y+qy)*s.Cols+x-r.Min.X+q] = true
			}
		}
	}
	return s, nil
}

func isDark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r+g+b < 3*0x8000
}

// Linear reports whether the symbol is one-dimensional.
func (s *Symbol) Linear() bool { return s.Symbology == Code128 }

// Dark reports whether module (x, y) is dark; outside the matrix is light.
func (s *Symbol) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= s.Cols || y >= s.Rows {
		return false
	}
	return s.dark[y*s.Cols+x]
}

// Run is a horizontal stretch of dark modules on one row: X, Y the first
// module, N the number of modules.
type Run struct{ X, Y, N int }

// Runs returns the dark runs row by row, left to right. A renderer draws one
// rectangle per run: a Code 128 bar is one run, and adjacent QR modules
// merge, which keeps a PDF small and leaves no hairline seams between
// modules when rasterised.
func (s *Symbol) Runs() []Run {
	var out []Run
	for y := 0; y < s.Rows; y++ {
		for x := 0; x < s.Cols; {
			if !s.dark[y*s.Cols+x] {
				x++
				continue
			}
			start := x
			for x < s.Cols && s.dark[y*s.Cols+x] {
				x++
			}
			out = append(out, Run{X: start, Y: y, N: x - start})
		}
	}
	return out
}

// Image draws the symbol losslessly: module pixels per module, and for a
// linear symbol height pixels tall (ignored for 2D). Save it as PNG, never
// JPEG.
func (s *Symbol) Image(module, height int) (*image.Gray, error) {
	if module < 1 {
		return nil, fmt.Errorf("barcode: image: module size %d px: must be a whole number ≥ 1", module)
	}
	h := s.Rows * module
	if s.Linear() {
		if height < 1 {
			return nil, fmt.Errorf("barcode: image: height %d px: must be ≥ 1", height)
		}
		h = height
	}
	img := image.NewGray(image.Rect(0, 0, s.Cols*module, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for py := 0; py < h; py++ {
		my := py / module
		if s.Linear() {
			my = 0
		}
		row := img.Pix[py*img.Stride:]
		for mx := 0; mx < s.Cols; mx++ {
			if s.dark[my*s.Cols+mx] {
				for i := mx * module; i < (mx+1)*module; i++ {
					row[i] = 0
				}
			}
		}
	}
	return img, nil
}
