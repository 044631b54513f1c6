package printing

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	_ "image/png" // logo format
	"io"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/idcards/idcards"
)

// DejaVu Sans (Bitstream Vera licence, see fonts/LICENSE) covers Latin,
// Greek, Cyrillic and the African Latin letters (ɛ, ŋ, ũ …) names need.
// fpdf embeds only the glyphs used.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

// RenderOptions control the PDF as a whole.
type RenderOptions struct {
	Options
	Logo    []byte    // PNG, optional
	Created time.Time // creation date written into the PDF; fixed in tests for reproducible output
	Title   string
}

// Renderer writes cards to a PDF one at a time: each card is laid out,
// drawn as vector rectangles and text, and dropped, so a batch never holds
// more than the current card's symbol. (fpdf itself keeps each page's
// content stream until Finish: about 2 KB per card.)
type Renderer struct {
	pdf   *fpdf.Fpdf
	sheet Sheet
	opts  RenderOptions
	n     int
	logoW float64 // logo width/height ratio
}

// NewRenderer starts a PDF for the sheet layout.
func NewRenderer(sheet Sheet, o RenderOptions) (*Renderer, error) {
	if len(sheet.Slots) == 0 {
		return nil, idcards.Errorf(idcards.Invalid, "printing: sheet %q has no card slots", sheet.Name)
	}
	// fpdf's "P" keeps the size as given (its "L" would swap it again).
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: fpdf.SizeType{Wd: sheet.PageW, Ht: sheet.PageH}})
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	created := o.Created
	if created.IsZero() {
		created = time.Now()
	}
	pdf.SetCreationDate(created.UTC())
	pdf.SetModificationDate(created.UTC())
	pdf.SetProducer("idcards", false)
	if o.Title != "" {
		pdf.SetTitle(o.Title, true)
	}
	pdf.AddUTF8FontFromBytes("DejaVu", "", fontRegular)
	pdf.AddUTF8FontFromBytes("DejaVu", "B", fontBold)
	aspect := 1.0
	if len(o.Logo) > 0 {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(o.Logo))
		if err != nil || format != "png" || cfg.Width == 0 || cfg.Height == 0 {
			return nil, idcards.Errorf(idcards.Invalid, "printing: logo is not a readable PNG (%v)", err)
		}
		aspect = float64(cfg.Width) / float64(cfg.Height)
		pdf.RegisterImageOptionsReader("logo", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(o.Logo))
		o.HasLogo = true
	}
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("printing: start pdf: %w", err)
	}
	return &Renderer{pdf: pdf, sheet: sheet, opts: o, logoW: aspect}, nil
}

// Add lays out and draws one card in the next slot, starting a page when
// the last one is full.
func (r *Renderer) Add(c Card) error {
	l, err := LayoutCard(c, r.opts.Options)
	if err != nil {
		return err
	}
	slot := r.n % len(r.sheet.Slots)
	if slot == 0 {
		r.newPage()
	}
	r.drawCard(r.sheet.Slots[slot], l)
	r.n++
	if err := r.pdf.Error(); err != nil {
		return fmt.Errorf("printing: card %s: %w", c.MRN, err)
	}
	return nil
}

// Cards is how many cards were added; Pages how many pages they fill.
func (r *Renderer) Cards() int { return r.n }
func (r *Renderer) Pages() int { return (r.n + len(r.sheet.Slots) - 1) / len(r.sheet.Slots) }

// Finish writes the PDF.
func (r *Renderer) Finish(w io.Writer) error {
	if r.n == 0 {
		return idcards.Errorf(idcards.Invalid, "printing: no cards to print")
	}
	if err := r.pdf.Output(w); err != nil {
		return fmt.Errorf("printing: write pdf: %w", err)
	}
	return nil
}

func (r *Renderer) newPage() {
	p := r.pdf
	p.AddPageFormat("P", fpdf.SizeType{Wd: r.sheet.PageW, Ht: r.sheet.PageH})
	if len(r.sheet.CutMarks) > 0 {
		p.SetDrawColor(0, 0, 0)
		p.SetLineWidth(0.15)
		for _, m := range r.sheet.CutMarks {
			p.Line(m.X1, m.Y1, m.X2, m.Y2)
		}
	}
}

func (r *Renderer) drawCard(at Rect, l CardLayout) {
	p := r.pdf
	p.SetFillColor(0, 0, 0)
	p.SetTextColor(0, 0, 0)
	for _, s := range l.Symbols {
		m := s.Module
		h := s.H
		for _, run := range s.Matrix.Runs() {
			y := at.Y + s.Y + float64(run.Y)*m
			rh := m
			if s.Matrix.Linear() {
				y, rh = at.Y+s.Y, h
			}
			p.Rect(at.X+s.X+float64(run.X)*m, y, float64(run.N)*m, rh, "F")
		}
	}
	for _, t := range l.Texts {
		style := ""
		if t.Bold {
			style = "B"
		}
		size := t.Size
		p.SetFont("DejaVu", style, size)
		for size > 5 && p.GetStringWidth(t.Text) > t.W {
			size -= 0.5
			p.SetFontSize(size)
		}
		x := at.X + t.X
		if t.Align == "R" {
			x += t.W - p.GetStringWidth(t.Text)
		}
		// Baseline at about 80 % of the line height from the top.
		p.Text(x, at.Y+t.Y+size*0.3528*0.85, t.Text)
	}
	if len(l.Lines) > 0 {
		p.SetLineWidth(0.2)
		for _, ln := range l.Lines {
			p.Line(at.X+ln.X1, at.Y+ln.Y1, at.X+ln.X2, at.Y+ln.Y2)
		}
	}
	if l.Logo != nil && len(r.opts.Logo) > 0 {
		// Fit the logo box keeping the image's aspect ratio.
		w, h := l.Logo.W, l.Logo.H
		if r.logoW >= 1 {
			h = w / r.logoW
		} else {
			w = h * r.logoW
		}
		p.ImageOptions("logo", at.X+l.Logo.X, at.Y+l.Logo.Y, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
}
