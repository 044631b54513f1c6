package printing

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// ttf is a parsed TrueType font: just what the card renderer needs to
// measure text, map characters to glyphs and embed a subset. It reads the
// tables in place (no per-glyph maps are built), so parsing the embedded
// fonts costs microseconds, not the tens of milliseconds a full parse does.
//
// A ttf is immutable after parseTTF and safe for concurrent use.
type ttf struct {
	name       string // PostScript-ish name for the PDF (no spaces)
	data       []byte
	tables     map[string][]byte
	unitsPerEm int
	bbox       [4]int
	ascent     int
	descent    int
	capHeight  int
	xHeight    int // the height of lowercase letters: where above marks are designed to sit
	numGlyphs  int
	numHMetric int
	longLoca   bool
	cmapFmt    int    // 4 or 12
	cmap       []byte // the chosen subtable
}

func parseTTF(name string, data []byte) (*ttf, error) {
	bad := func(what string) error { return fmt.Errorf("printing: font %s: %s", name, what) }
	if len(data) < 12 {
		return nil, bad("too short")
	}
	f := &ttf{name: name, data: data, tables: map[string][]byte{}}
	n := int(binary.BigEndian.Uint16(data[4:]))
	if len(data) < 12+16*n {
		return nil, bad("truncated table directory")
	}
	for i := 0; i < n; i++ {
		rec := data[12+16*i:]
		off, ln := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(ln) > uint64(len(data)) {
			return nil, bad("table outside the file")
		}
		f.tables[string(rec[:4])] = data[off : off+ln]
	}
	for _, t := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap"} {
		if f.tables[t] == nil {
			return nil, bad("no " + t + " table")
		}
	}
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 {
		return nil, bad("short head/hhea/maxp")
	}
	f.unitsPerEm = int(binary.BigEndian.Uint16(head[18:]))
	for i := range f.bbox {
		f.bbox[i] = int(int16(binary.BigEndian.Uint16(head[36+2*i:])))
	}
	f.longLoca = binary.BigEndian.Uint16(head[50:]) == 1
	f.ascent = int(int16(binary.BigEndian.Uint16(hhea[4:])))
	f.descent = int(int16(binary.BigEndian.Uint16(hhea[6:])))
	f.numHMetric = int(binary.BigEndian.Uint16(hhea[34:]))
	f.numGlyphs = int(binary.BigEndian.Uint16(maxp[4:]))
	f.capHeight = f.ascent
	if os2 := f.tables["OS/2"]; len(os2) >= 90 && binary.BigEndian.Uint16(os2) >= 2 {
		f.capHeight = int(int16(binary.BigEndian.Uint16(os2[88:])))
	}
	if f.unitsPerEm == 0 || f.numHMetric == 0 || len(f.tables["hmtx"]) < 4*f.numHMetric {
		return nil, bad("bad metrics")
	}
	if err := f.pickCmap(); err != nil {
		return nil, bad(err.Error())
	}
	if os2 := f.tables["OS/2"]; len(os2) >= 88 && binary.BigEndian.Uint16(os2) >= 2 {
		f.xHeight = int(int16(binary.BigEndian.Uint16(os2[86:])))
	}
	if f.xHeight <= 0 {
		_, f.xHeight = f.yBounds(f.glyph('x'))
	}
	return f, nil
}

// yBounds is glyph g's vertical extent in font units (yMin, yMax of its
// glyf header); 0, 0 for an empty glyph.
func (f *ttf) yBounds(g uint16) (int, int) {
	d := f.glyphData(g)
	if len(d) < 10 {
		return 0, 0
	}
	return int(int16(binary.BigEndian.Uint16(d[4:]))), int(int16(binary.BigEndian.Uint16(d[8:])))
}

// pickCmap chooses the Unicode cmap subtable: format 12 (all planes) when
// present, else format 4 (BMP).
func (f *ttf) pickCmap() error {
	c := f.tables["cmap"]
	if len(c) < 4 {
		return fmt.Errorf("short cmap")
	}
	n := int(binary.BigEndian.Uint16(c[2:]))
	var best []byte
	bestFmt := 0
	for i := 0; i < n && 4+8*i+8 <= len(c); i++ {
		rec := c[4+8*i:]
		pid, eid, off := binary.BigEndian.Uint16(rec), binary.BigEndian.Uint16(rec[2:]), binary.BigEndian.Uint32(rec[4:])
		if int(off)+4 > len(c) || !(pid == 0 || (pid == 3 && (eid == 1 || eid == 10))) {
			continue
		}
		sub := c[off:]
		switch ft := int(binary.BigEndian.Uint16(sub)); {
		case ft == 12 && len(sub) >= 16:
			ln := binary.BigEndian.Uint32(sub[4:])
			if uint64(ln) <= uint64(len(sub)) {
				best, bestFmt = sub[:ln], 12
			}
		case ft == 4 && bestFmt != 12:
			ln := int(binary.BigEndian.Uint16(sub[2:]))
			if ln <= len(sub) && ln >= 14 {
				best, bestFmt = sub[:ln], 4
			}
		}
	}
	if best == nil {
		return fmt.Errorf("no Unicode cmap")
	}
	f.cmap, f.cmapFmt = best, bestFmt
	return nil
}

// glyph returns the glyph id of r, 0 (.notdef) when the font lacks it.
func (f *ttf) glyph(r rune) uint16 {
	c := f.cmap
	if f.cmapFmt == 12 {
		ng := int(binary.BigEndian.Uint32(c[12:]))
		if 16+12*ng > len(c) {
			ng = (len(c) - 16) / 12
		}
		i := sort.Search(ng, func(i int) bool { return rune(binary.BigEndian.Uint32(c[16+12*i+4:])) >= r })
		if i < ng {
			g := c[16+12*i:]
			start := rune(binary.BigEndian.Uint32(g))
			if r >= start {
				gid := binary.BigEndian.Uint32(g[8:]) + uint32(r-start)
				if gid < uint32(f.numGlyphs) {
					return uint16(gid)
				}
			}
		}
		return 0
	}
	if r > 0xFFFF {
		return 0
	}
	segs := int(binary.BigEndian.Uint16(c[6:])) / 2
	if 16+8*segs > len(c) {
		return 0
	}
	ends, starts, deltas, ranges := 14, 16+2*segs, 16+4*segs, 16+6*segs
	u := uint16(r)
	i := sort.Search(segs, func(i int) bool { return binary.BigEndian.Uint16(c[ends+2*i:]) >= u })
	if i >= segs || binary.BigEndian.Uint16(c[starts+2*i:]) > u {
		return 0
	}
	delta := binary.BigEndian.Uint16(c[deltas+2*i:])
	ro := int(binary.BigEndian.Uint16(c[ranges+2*i:]))
	if ro == 0 {
		return u + delta
	}
	p := ranges + 2*i + ro + 2*int(u-binary.BigEndian.Uint16(c[starts+2*i:]))
	if p+2 > len(c) {
		return 0
	}
	g := binary.BigEndian.Uint16(c[p:])
	if g == 0 {
		return 0
	}
	return g + delta
}

// advance is glyph g's advance width in font units.
func (f *ttf) advance(g uint16) int {
	h := f.tables["hmtx"]
	i := int(g)
	if i >= f.numHMetric {
		i = f.numHMetric - 1
	}
	return int(binary.BigEndian.Uint16(h[4*i:]))
}

// glyphData is glyph g's outline in the glyf table (nil for an empty glyph).
func (f *ttf) glyphData(g uint16) []byte {
	loca, glyf := f.tables["loca"], f.tables["glyf"]
	i := int(g)
	var a, b int
	if f.longLoca {
		if 4*i+8 > len(loca) {
			return nil
		}
		a, b = int(binary.BigEndian.Uint32(loca[4*i:])), int(binary.BigEndian.Uint32(loca[4*i+4:]))
	} else {
		if 2*i+4 > len(loca) {
			return nil
		}
		a, b = 2*int(binary.BigEndian.Uint16(loca[2*i:])), 2*int(binary.BigEndian.Uint16(loca[2*i+2:]))
	}
	if a >= b || b > len(glyf) {
		return nil
	}
	return glyf[a:b]
}

// components lists the glyphs a composite glyph is built from.
func components(d []byte) []uint16 {
	if len(d) < 10 || int16(binary.BigEndian.Uint16(d)) >= 0 {
		return nil
	}
	var out []uint16
	p := 10
	for p+4 <= len(d) {
		flags := binary.BigEndian.Uint16(d[p:])
		out = append(out, binary.BigEndian.Uint16(d[p+2:]))
		p += 4
		if flags&0x1 != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&0x8 != 0:
			p += 2
		case flags&0x40 != 0:
			p += 4
		case flags&0x80 != 0:
			p += 8
		}
		if flags&0x20 == 0 {
			break
		}
	}
	return out
}

// subset returns a TrueType file holding only the glyphs in used (and the
// components of composite glyphs), with glyph ids unchanged so the PDF can
// use CIDToGIDMap /Identity. Tables a PDF viewer does not need for an
// embedded CID font (cmap, name, post, kern, GSUB …) are left out.
func (f *ttf) subset(used map[uint16]bool) []byte {
	keep := map[uint16]bool{0: true}
	var add func(g uint16, depth int)
	add = func(g uint16, depth int) {
		if keep[g] && g != 0 || depth > 8 {
			return
		}
		keep[g] = true
		for _, c := range components(f.glyphData(g)) {
			add(c, depth+1)
		}
	}
	for g := range used {
		add(g, 0)
	}
	var glyf []byte
	loca := make([]byte, 4*(f.numGlyphs+1))
	for g := 0; g < f.numGlyphs; g++ {
		binary.BigEndian.PutUint32(loca[4*g:], uint32(len(glyf)))
		if keep[uint16(g)] {
			glyf = append(glyf, f.glyphData(uint16(g))...)
			for len(glyf)%4 != 0 {
				glyf = append(glyf, 0)
			}
		}
	}
	binary.BigEndian.PutUint32(loca[4*f.numGlyphs:], uint32(len(glyf)))
	head := append([]byte(nil), f.tables["head"]...)
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment: recomputed below
	binary.BigEndian.PutUint16(head[50:], 1) // long loca
	tables := map[string][]byte{"head": head, "hhea": f.tables["hhea"], "maxp": f.tables["maxp"], "hmtx": f.tables["hmtx"], "loca": loca, "glyf": glyf}
	for _, t := range []string{"cvt ", "fpgm", "prep", "OS/2"} {
		if d := f.tables[t]; d != nil {
			tables[t] = d
		}
	}
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	out := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(out, 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	binary.BigEndian.PutUint16(out[6:], uint16(16<<es))
	binary.BigEndian.PutUint16(out[8:], uint16(es))
	binary.BigEndian.PutUint16(out[10:], uint16(16*n-16<<es))
	headAt := 0
	for i, t := range tags {
		d := tables[t]
		rec := out[12+16*i:]
		copy(rec, t)
		binary.BigEndian.PutUint32(rec[4:], checksum(d))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(d)))
		if t == "head" {
			headAt = len(out)
		}
		out = append(out, d...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	return out
}

func checksum(d []byte) uint32 {
	var s uint32
	for i := 0; i < len(d); i += 4 {
		var w [4]byte
		copy(w[:], d[i:])
		s += binary.BigEndian.Uint32(w[:])
	}
	return s
}
