package printing

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/draw"
	"io"
	"sort"
	"strconv"
	"time"
	"unicode/utf16"
)

// pdfWriter writes a PDF as it goes: each page (its content stream and page
// object) goes to the output as soon as it is complete, and only the byte
// offsets of the objects (for the cross-reference table), the page object
// numbers and the set of glyphs used stay in memory until the end. So a
// run of 100,000 cards needs about as much memory as one of 10.
//
// Fonts are Type 0 / CIDFontType2 with Identity-H encoding and glyph ids as
// CIDs, which is how characters beyond the Basic Multilingual Plane print;
// each font is subset to the glyphs used and written with a ToUnicode map
// (so text can be copied and pdftotext reads it) after the last page.
type pdfWriter struct {
	w       *bufio.Writer
	off     int64
	xref    []int64 // byte offset of object i+1
	pages   []int
	err     error
	zbuf    bytes.Buffer
	zw      *zlib.Writer
	fonts   map[int]*fontUse // by face id
	fontObj []int            // fontUse objects in order of first use
	images  []int            // image XObject numbers (/Im0 …)
}

type fontUse struct {
	face *face
	obj  int // Type0 font object, reserved on first use
	name string
	used map[uint16]rune
}

// Reserved object numbers.
const (
	objCatalog   = 1
	objPages     = 2
	objResources = 3
	objInfo      = 4
)

func newPDFWriter(w io.Writer) *pdfWriter {
	p := &pdfWriter{w: bufio.NewWriterSize(w, 256<<10), fonts: map[int]*fontUse{}}
	p.zw, _ = zlib.NewWriterLevel(&p.zbuf, zlib.BestSpeed)
	p.xref = make([]int64, 4)
	p.raw("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	return p
}

func (p *pdfWriter) raw(s string) {
	if p.err != nil {
		return
	}
	n, err := p.w.WriteString(s)
	p.off += int64(n)
	p.err = err
}

func (p *pdfWriter) rawb(b []byte) {
	if p.err != nil {
		return
	}
	n, err := p.w.Write(b)
	p.off += int64(n)
	p.err = err
}

// reserve allocates an object number to be written later.
func (p *pdfWriter) reserve() int {
	p.xref = append(p.xref, 0)
	return len(p.xref)
}

// begin starts object n (reserved or not).
func (p *pdfWriter) begin(n int) {
	p.xref[n-1] = p.off
	p.raw(strconv.Itoa(n) + " 0 obj\n")
}

func (p *pdfWriter) object(n int, body string) {
	p.begin(n)
	p.raw(body)
	p.raw("\nendobj\n")
}

// stream writes object n as a stream, Flate-compressed unless raw.
func (p *pdfWriter) stream(n int, dict string, data []byte, compress bool) {
	if compress {
		p.zbuf.Reset()
		p.zw.Reset(&p.zbuf)
		p.zw.Write(data)
		p.zw.Close()
		data = p.zbuf.Bytes()
		dict += " /Filter /FlateDecode"
	}
	p.begin(n)
	p.raw("<<" + dict + " /Length " + strconv.Itoa(len(data)) + " >>\nstream\n")
	p.rawb(data)
	p.raw("\nendstream\nendobj\n")
}

// page writes one page of w × h points with the given content stream.
func (p *pdfWriter) page(w, h float64, content []byte) {
	c := p.reserve()
	p.stream(c, "", content, true)
	pg := p.reserve()
	p.object(pg, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 "+strconv.FormatFloat(w, 'f', 2, 64)+" "+strconv.FormatFloat(h, 'f', 2, 64)+"] /Resources 3 0 R /Contents "+strconv.Itoa(c)+" 0 R >>")
	p.pages = append(p.pages, pg)
}

// font is the resource name of f (/F0 …), registering it on first use.
func (p *pdfWriter) font(f *face) *fontUse {
	u := p.fonts[f.id]
	if u == nil {
		u = &fontUse{face: f, obj: p.reserve(), name: "F" + strconv.Itoa(len(p.fontObj)), used: map[uint16]rune{}}
		p.fonts[f.id] = u
		p.fontObj = append(p.fontObj, f.id)
	}
	return u
}

// image writes an RGB image (with an alpha mask when not opaque) and
// returns its resource name.
func (p *pdfWriter) image(img image.Image) string {
	b := img.Bounds()
	rgba := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	rgb := make([]byte, 0, 3*b.Dx()*b.Dy())
	alpha := make([]byte, 0, b.Dx()*b.Dy())
	opaque := true
	for i := 0; i < len(rgba.Pix); i += 4 {
		rgb = append(rgb, rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
		alpha = append(alpha, rgba.Pix[i+3])
		opaque = opaque && rgba.Pix[i+3] == 255
	}
	dims := fmt.Sprintf(" /Width %d /Height %d /BitsPerComponent 8", b.Dx(), b.Dy())
	smask := ""
	if !opaque {
		m := p.reserve()
		p.stream(m, " /Type /XObject /Subtype /Image /ColorSpace /DeviceGray"+dims, alpha, true)
		smask = " /SMask " + strconv.Itoa(m) + " 0 R"
	}
	n := p.reserve()
	p.stream(n, " /Type /XObject /Subtype /Image /ColorSpace /DeviceRGB"+dims+smask, rgb, true)
	p.images = append(p.images, n)
	return "Im" + strconv.Itoa(len(p.images)-1)
}

// finish writes the fonts, resources, page tree, catalog, info and the
// cross-reference table.
func (p *pdfWriter) finish(title string, created time.Time) error {
	res := "<< /ProcSet [/PDF /Text /ImageB /ImageC] /Font <<"
	for _, id := range p.fontObj {
		u := p.fonts[id]
		p.writeFont(u)
		res += " /" + u.name + " " + strconv.Itoa(u.obj) + " 0 R"
	}
	res += " >>"
	if len(p.images) > 0 {
		res += " /XObject <<"
		for i, n := range p.images {
			res += fmt.Sprintf(" /Im%d %d 0 R", i, n)
		}
		res += " >>"
	}
	p.object(objResources, res+" >>")
	p.begin(objPages)
	p.raw("<< /Type /Pages /Count " + strconv.Itoa(len(p.pages)) + " /Kids [")
	var b []byte
	for i, n := range p.pages {
		b = b[:0]
		if i%16 == 0 {
			b = append(b, '\n')
		} else {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " 0 R"...)
		p.rawb(b)
	}
	p.raw("] >>\nendobj\n")
	p.object(objCatalog, "<< /Type /Catalog /Pages 2 0 R >>")
	date := "D:" + created.UTC().Format("20060102150405") + "Z"
	info := "<< /Producer (idcards) /CreationDate (" + date + ") /ModDate (" + date + ")"
	if title != "" {
		info += " /Title " + textString(title)
	}
	p.object(objInfo, info+" >>")
	xref := p.off
	p.raw("xref\n0 " + strconv.Itoa(len(p.xref)+1) + "\n0000000000 65535 f \n")
	line := make([]byte, 0, 20)
	for _, o := range p.xref {
		line = line[:0]
		s := strconv.FormatInt(o, 10)
		for i := len(s); i < 10; i++ {
			line = append(line, '0')
		}
		line = append(line, s...)
		line = append(line, " 00000 n \n"...)
		p.rawb(line)
	}
	p.raw("trailer\n<< /Size " + strconv.Itoa(len(p.xref)+1) + " /Root 1 0 R /Info 4 0 R >>\nstartxref\n" + strconv.FormatInt(xref, 10) + "\n%%EOF\n")
	if p.err == nil {
		p.err = p.w.Flush()
	}
	return p.err
}

// writeFont writes the Type 0 font, its CIDFont, descriptor, subset font
// file and ToUnicode map.
func (p *pdfWriter) writeFont(u *fontUse) {
	t := u.face.ttf
	scale := func(v int) string { return strconv.Itoa(v * 1000 / t.unitsPerEm) }
	gids := make([]int, 0, len(u.used))
	for g := range u.used {
		gids = append(gids, int(g))
	}
	sort.Ints(gids)
	used := make(map[uint16]bool, len(gids))
	for _, g := range gids {
		used[uint16(g)] = true
	}
	// The subset tag: six capitals derived from the glyph set, as PDF asks.
	h := uint32(2166136261)
	for _, g := range gids {
		h = (h ^ uint32(g)) * 16777619
	}
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = byte('A' + h%26)
		h /= 26
	}
	base := string(tag) + "+" + t.name
	file, desc, cid, tou := p.reserve(), p.reserve(), p.reserve(), p.reserve()
	sub := t.subset(used)
	p.stream(file, " /Length1 "+strconv.Itoa(len(sub)), sub, true)
	p.object(desc, "<< /Type /FontDescriptor /FontName /"+base+" /Flags 32 /FontBBox ["+scale(t.bbox[0])+" "+scale(t.bbox[1])+" "+scale(t.bbox[2])+" "+scale(t.bbox[3])+
		"] /ItalicAngle 0 /Ascent "+scale(t.ascent)+" /Descent "+scale(t.descent)+" /CapHeight "+scale(t.capHeight)+" /StemV 80 /FontFile2 "+strconv.Itoa(file)+" 0 R >>")
	var w bytes.Buffer
	w.WriteString("[")
	for _, g := range gids {
		fmt.Fprintf(&w, "%d [%s] ", g, scale(t.advance(uint16(g))))
	}
	w.WriteString("]")
	p.object(cid, "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /"+base+" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor "+
		strconv.Itoa(desc)+" 0 R /DW 1000 /W "+w.String()+" /CIDToGIDMap /Identity >>")
	var cm bytes.Buffer
	cm.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	for i := 0; i < len(gids); i += 100 {
		j := min(i+100, len(gids))
		fmt.Fprintf(&cm, "%d beginbfchar\n", j-i)
		for _, g := range gids[i:j] {
			fmt.Fprintf(&cm, "<%04X> <", g)
			for _, c := range utf16.Encode([]rune{u.used[uint16(g)]}) {
				fmt.Fprintf(&cm, "%04X", c)
			}
			cm.WriteString(">\n")
		}
		cm.WriteString("endbfchar\n")
	}
	cm.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	p.stream(tou, "", cm.Bytes(), true)
	p.object(u.obj, "<< /Type /Font /Subtype /Type0 /BaseFont /"+base+" /Encoding /Identity-H /DescendantFonts ["+strconv.Itoa(cid)+" 0 R] /ToUnicode "+strconv.Itoa(tou)+" 0 R >>")
}

// textString is a PDF text string (UTF-16BE with BOM when not ASCII).
func textString(s string) string {
	ascii := true
	for _, r := range s {
		if r >= 0x7f || r < 0x20 {
			ascii = false
		}
	}
	if ascii {
		var b bytes.Buffer
		b.WriteByte('(')
		for i := 0; i < len(s); i++ {
			if s[i] == '(' || s[i] == ')' || s[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		b.WriteByte(')')
		return b.String()
	}
	var b bytes.Buffer
	b.WriteString("<FEFF")
	for _, c := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", c)
	}
	b.WriteByte('>')
	return b.String()
}

// num formats a coordinate in points with at most 3 decimals.
func num(v float64) string { return string(appendNum(nil, v)) }

func appendNum(b []byte, v float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', 3, 64)
	i := len(b)
	for b[i-1] == '0' {
		i--
	}
	if b[i-1] == '.' {
		i--
	}
	b = b[:i]
	if string(b[start:]) == "-0" {
		b = append(b[:start], '0')
	}
	return b
}
