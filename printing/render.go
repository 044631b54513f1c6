package printing

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"time"

	"github.com/idcards/idcards"
)

// RenderOptions control the PDF as a whole.
type RenderOptions struct {
	Options
	Logo    []byte    // PNG, optional
	Created time.Time // creation date written into the PDF; fixed in tests for reproducible output
	Title   string
}

// Renderer streams cards into a PDF: each card is laid out and drawn, and
// each page is written out as soon as its last slot is filled, so memory
// stays flat however many cards a run has (see pdfWriter). Nothing is
// complete until Close returns nil: a caller must not treat any card as
// printed before that.
type Renderer struct {
	pdf     *pdfWriter
	sheet   Sheet
	opts    RenderOptions
	n       int
	logo    string  // image resource name
	logoW   float64 // logo width/height ratio
	content []byte  // the current page's content stream
	closed  bool
}

// Notes is what Add had to do to make a card printable: characters no
// card font has (printed as U+FFFD) and texts shortened with an ellipsis.
// Add's Notes are the card's own (its name and details): the facility band
// is the same on every card, and FacilityNotes reports it once per run.
type Notes struct {
	Missing   []rune
	Shortened []string // "name", "facility"
}

// NewRenderer starts a PDF for the sheet layout on w.
func NewRenderer(w io.Writer, sheet Sheet, o RenderOptions) (*Renderer, error) {
	if len(sheet.Slots) == 0 {
		return nil, idcards.Errorf(idcards.Invalid, "printing: sheet %q has no card slots", sheet.Name)
	}
	if o.Created.IsZero() {
		o.Created = time.Now()
	}
	r := &Renderer{sheet: sheet, opts: o, logoW: 1}
	r.opts.fits = map[fitKey]Fit{}
	var img image.Image
	if len(o.Logo) > 0 {
		var err error
		img, err = png.Decode(bytes.NewReader(o.Logo))
		if err != nil || img.Bounds().Dx() == 0 || img.Bounds().Dy() == 0 {
			return nil, idcards.Errorf(idcards.Invalid, "printing: logo is not a readable PNG (%v)", err)
		}
		r.logoW = float64(img.Bounds().Dx()) / float64(img.Bounds().Dy())
		r.opts.HasLogo = true
	}
	faces() // parse the fonts now, not in the middle of the first card
	r.pdf = newPDFWriter(w)
	if img != nil {
		r.logo = r.pdf.image(img)
	}
	if r.pdf.err != nil {
		return nil, fmt.Errorf("printing: write pdf: %w", r.pdf.err)
	}
	return r, nil
}

// Add lays out and draws one card in the next slot, writing out the page
// before when it was full.
func (r *Renderer) Add(c Card) (Notes, error) {
	if r.closed {
		return Notes{}, idcards.Errorf(idcards.Internal, "printing: add after close")
	}
	l, err := LayoutCard(c, r.opts.Options)
	if err != nil {
		return Notes{}, err
	}
	slot := r.n % len(r.sheet.Slots)
	if slot == 0 {
		r.flushPage()
		r.startPage()
	}
	r.drawCard(r.sheet.Slots[slot], l)
	r.n++
	if r.pdf.err != nil {
		return Notes{}, fmt.Errorf("printing: card %s: write pdf: %w", c.MRN, r.pdf.err)
	}
	n := Notes{Missing: l.Missing}
	for _, what := range l.Shortened {
		if what != "facility" {
			n.Shortened = append(n.Shortened, what)
		}
	}
	return n, nil
}

// Cards is how many cards were added; Pages how many pages they fill.
func (r *Renderer) Cards() int { return r.n }
func (r *Renderer) Pages() int { return (r.n + len(r.sheet.Slots) - 1) / len(r.sheet.Slots) }

// Close writes the last page, the fonts and the cross-reference table.
// Only when it returns nil is the PDF complete.
func (r *Renderer) Close() error {
	if r.closed {
		return idcards.Errorf(idcards.Internal, "printing: closed twice")
	}
	r.closed = true
	if r.n == 0 {
		return idcards.Errorf(idcards.Invalid, "printing: no cards to print")
	}
	r.flushPage()
	if err := r.pdf.finish(r.opts.Title, r.opts.Created); err != nil {
		return fmt.Errorf("printing: write pdf: %w", err)
	}
	return nil
}

const ptPerMM = 72 / 25.4

func (r *Renderer) flushPage() {
	if r.content == nil {
		return
	}
	r.pdf.page(r.sheet.PageW*ptPerMM, r.sheet.PageH*ptPerMM, r.content)
	r.content = r.content[:0]
}

// pt appends a length in mm as points.
func (r *Renderer) pt(v float64) {
	r.content = appendNum(r.content, v*ptPerMM)
	r.content = append(r.content, ' ')
}

// py appends a y coordinate in mm from the top as points from the bottom.
func (r *Renderer) py(y float64) { r.pt(r.sheet.PageH - y) }

func (r *Renderer) op(s string) {
	r.content = append(r.content, s...)
	r.content = append(r.content, '\n')
}

func (r *Renderer) startPage() {
	if r.content == nil {
		r.content = make([]byte, 0, 64<<10)
	}
	r.op("0 g 0 G")
	if len(r.sheet.CutMarks) > 0 {
		r.pt(0.15)
		r.op("w")
		for _, m := range r.sheet.CutMarks {
			r.pt(m.X1)
			r.py(m.Y1)
			r.op("m")
			r.pt(m.X2)
			r.py(m.Y2)
			r.op("l S")
		}
	}
}

func (r *Renderer) drawCard(at Rect, l CardLayout) {
	for _, s := range l.Symbols {
		m := s.Module
		for _, run := range s.Matrix.Runs() {
			y, h := at.Y+s.Y+float64(run.Y)*m, m
			if s.Matrix.Linear() {
				y, h = at.Y+s.Y, s.H
			}
			r.pt(at.X + s.X + float64(run.X)*m)
			r.py(y + h)
			r.pt(float64(run.N) * m)
			r.pt(h)
			r.op("re")
		}
		r.op("f")
	}
	for _, t := range l.Texts {
		sh := t.glyphs
		if sh == nil {
			s := shape(t.Text, t.Bold)
			sh = &s
		}
		x := at.X + t.X
		if t.Align == "R" {
			x += t.W - sh.Width(t.Size)
		}
		// Baseline at about 85 % of the em from the top of the box, lower
		// for a line whose ink reaches higher (shaped.baseline).
		r.op("BT")
		r.pt(x)
		r.py(at.Y + t.Y + t.Size*mmPerPt*sh.baseline())
		r.op("Td")
		var cur *fontUse
		rise := 0.0
		for i := 0; i < len(sh.glyphs); {
			g := sh.glyphs[i]
			u := r.pdf.font(g.face)
			if u != cur {
				cur = u
				r.content = append(r.content, '/')
				r.content = append(r.content, u.name...)
				r.content = append(r.content, ' ')
				r.content = appendNum(r.content, t.Size)
				r.op(" Tf")
			}
			if g.rise != rise {
				rise = g.rise
				r.content = appendNum(r.content, rise*t.Size)
				r.op(" Ts")
			}
			r.content = append(r.content, '<')
			for ; i < len(sh.glyphs) && sh.glyphs[i].face == g.face && sh.glyphs[i].rise == g.rise; i++ {
				gg := sh.glyphs[i]
				if _, ok := u.used[gg.gid]; !ok {
					u.used[gg.gid] = gg.r
				}
				r.content = append(r.content, hexDigits[gg.gid>>12], hexDigits[gg.gid>>8&15], hexDigits[gg.gid>>4&15], hexDigits[gg.gid&15])
			}
			r.op("> Tj")
		}
		r.op("ET")
	}
	if len(l.Lines) > 0 {
		r.pt(0.2)
		r.op("w")
		for _, ln := range l.Lines {
			r.pt(at.X + ln.X1)
			r.py(at.Y + ln.Y1)
			r.op("m")
			r.pt(at.X + ln.X2)
			r.py(at.Y + ln.Y2)
			r.op("l S")
		}
	}
	if l.Logo != nil && r.logo != "" {
		// Fit the logo box keeping the image's aspect ratio.
		w, h := l.Logo.W, l.Logo.H
		if r.logoW >= 1 {
			h = w / r.logoW
		} else {
			w = h * r.logoW
		}
		r.op("q")
		r.pt(w)
		r.op("0 0")
		r.pt(h)
		r.pt(at.X + l.Logo.X)
		r.py(at.Y + l.Logo.Y + h)
		r.op("cm /" + r.logo + " Do Q")
	}
}

const hexDigits = "0123456789ABCDEF"
