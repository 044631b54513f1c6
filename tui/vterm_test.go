package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// vterm is a small terminal emulator for teatest's output: the renderer
// sends only the cells that changed (cursor moves, erase-character, repeat),
// so a phrase on screen is often not contiguous in the byte stream. The
// tests replay the stream here and read the screen as a person would.
type vterm struct {
	w, h  int
	cells [][]rune
	x, y  int
	sx    int // saved cursor
	sy    int
	last  rune
}

func newVterm(w, h int) *vterm {
	v := &vterm{w: w, h: h}
	v.cells = make([][]rune, h)
	for i := range v.cells {
		v.cells[i] = blankRow(w)
	}
	return v
}

func blankRow(w int) []rune {
	r := make([]rune, w)
	for i := range r {
		r[i] = ' '
	}
	return r
}

func clamp(n, lo, hi int) int { return max(lo, min(n, hi)) }

func (v *vterm) put(r rune, width int) {
	if v.x >= v.w {
		v.x = 0
		v.lineFeed()
	}
	v.cells[v.y][v.x] = r
	for i := 1; i < width && v.x+i < v.w; i++ {
		v.cells[v.y][v.x+i] = 0 // the right half of a wide character
	}
	v.x += max(width, 1)
	v.last = r
}

func (v *vterm) lineFeed() {
	if v.y == v.h-1 {
		v.cells = append(v.cells[1:], blankRow(v.w))
		return
	}
	v.y++
}

func (v *vterm) erase(y, from, to int) {
	for x := clamp(from, 0, v.w); x < clamp(to, 0, v.w); x++ {
		v.cells[y][x] = ' '
	}
}

// replay runs the whole byte stream from a blank screen.
func (v *vterm) replay(s string) {
	p := ansi.NewParser()
	var state byte
	for len(s) > 0 {
		seq, width, n, st := ansi.DecodeSequence(s, state, p)
		if n == 0 {
			break
		}
		state = st
		s = s[n:]
		switch {
		case len(seq) > 1 && seq[0] == 0x1b && seq[1] == '[':
			v.csi(p)
		case len(seq) > 1 && seq[0] == 0x1b:
			switch seq[1] {
			case '7':
				v.sx, v.sy = v.x, v.y
			case '8':
				v.x, v.y = v.sx, v.sy
			case 'M':
				if v.y > 0 {
					v.y--
				}
			}
		case len(seq) == 1 && seq[0] < 0x20:
			switch seq[0] {
			case '\r':
				v.x = 0
			case '\n':
				// The output is no terminal, so the renderer counts on
				// the line discipline's newline translation (ONLCR).
				v.x = 0
				v.lineFeed()
			case '\b':
				v.x = max(v.x-1, 0)
			case '\t':
				v.x = min((v.x/8+1)*8, v.w-1)
			}
		case width > 0:
			r := []rune(seq)
			v.put(r[0], width)
		}
	}
}

func (v *vterm) csi(p *ansi.Parser) {
	n := func(i, def int) int {
		x, _ := p.Param(i, def)
		if x == 0 && def == 1 {
			return 1
		}
		return x
	}
	cmd := ansi.Cmd(p.Command())
	if cmd.Prefix() != 0 || cmd.Intermediate() != 0 {
		return // private modes and the like
	}
	switch cmd.Final() {
	case 'H', 'f':
		v.y, v.x = clamp(n(0, 1)-1, 0, v.h-1), clamp(n(1, 1)-1, 0, v.w-1)
	case 'A':
		v.y = clamp(v.y-n(0, 1), 0, v.h-1)
	case 'B':
		v.y = clamp(v.y+n(0, 1), 0, v.h-1)
	case 'C':
		v.x = clamp(v.x+n(0, 1), 0, v.w-1)
	case 'D':
		v.x = clamp(v.x-n(0, 1), 0, v.w-1)
	case 'E':
		v.y, v.x = clamp(v.y+n(0, 1), 0, v.h-1), 0
	case 'F':
		v.y, v.x = clamp(v.y-n(0, 1), 0, v.h-1), 0
	case 'G', '`':
		v.x = clamp(n(0, 1)-1, 0, v.w-1)
	case 'd':
		v.y = clamp(n(0, 1)-1, 0, v.h-1)
	case 'K':
		switch n(0, 0) {
		case 0:
			v.erase(v.y, v.x, v.w)
		case 1:
			v.erase(v.y, 0, v.x+1)
		default:
			v.erase(v.y, 0, v.w)
		}
	case 'J':
		switch n(0, 0) {
		case 0:
			v.erase(v.y, v.x, v.w)
			for y := v.y + 1; y < v.h; y++ {
				v.erase(y, 0, v.w)
			}
		case 1:
			for y := 0; y < v.y; y++ {
				v.erase(y, 0, v.w)
			}
			v.erase(v.y, 0, v.x+1)
		default:
			for y := 0; y < v.h; y++ {
				v.erase(y, 0, v.w)
			}
		}
	case 'X':
		v.erase(v.y, v.x, v.x+n(0, 1))
	case 'P':
		row, k := v.cells[v.y], min(n(0, 1), v.w-v.x)
		copy(row[v.x:], row[v.x+k:])
		v.erase(v.y, v.w-k, v.w)
	case '@':
		row, k := v.cells[v.y], min(n(0, 1), v.w-v.x)
		copy(row[v.x+k:], row[v.x:v.w-k])
		v.erase(v.y, v.x, v.x+k)
	case 'L':
		for range min(n(0, 1), v.h-v.y) {
			v.cells = append(v.cells[:v.y], append([][]rune{blankRow(v.w)}, v.cells[v.y:v.h-1]...)...)
		}
	case 'M':
		for range min(n(0, 1), v.h-v.y) {
			v.cells = append(append(v.cells[:v.y:v.y], v.cells[v.y+1:]...), blankRow(v.w))
		}
	case 'S':
		for range n(0, 1) {
			v.cells = append(v.cells[1:], blankRow(v.w))
		}
	case 'T':
		for range n(0, 1) {
			v.cells = append([][]rune{blankRow(v.w)}, v.cells[:v.h-1]...)
		}
	case 'b':
		for range n(0, 1) {
			v.put(v.last, 1)
		}
	}
}

func (v *vterm) String() string {
	lines := make([]string, v.h)
	for i, row := range v.cells {
		var b strings.Builder
		for _, r := range row {
			if r != 0 {
				b.WriteRune(r)
			}
		}
		lines[i] = strings.TrimRight(b.String(), " ")
	}
	return strings.Join(lines, "\n")
}
