package barcode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/idcards/idcards"
)

// MaxInput is the longest raw input Normalize looks at. Scanners send
// tens of characters; anything longer is garbage and is refused before any
// work is done on it.
const MaxInput = 256

// StripAIM removes an AIM symbology identifier (']' + symbology letter +
// modifier, e.g. "]C0" Code 128, "]Q1" QR, "]d2" DataMatrix) that many
// scanners can be set to send before the data.
func StripAIM(s string) string {
	if len(s) >= 3 && s[0] == ']' && isAlpha(s[1]) && isAlnum(s[2]) {
		return s[3:]
	}
	return s
}

// Normalize is the first step for every scanned or typed code, shared by
// the CLI, the TUI and the scanner endpoint: trim, strip an AIM prefix,
// upper-case, and drop spaces and dashes (separators people and cards use
// for readability; Codec.Parse puts a scheme's own separator back).
func Normalize(raw string) string {
	s := StripAIM(strings.TrimSpace(raw))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\r' || r == '\n':
			continue
		case r >= 'a' && r <= 'z':
			b.WriteRune(unicode.ToUpper(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isAlpha(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }

// Codec turns sequence numbers into MRNs and parses MRNs back, for one
// series: prefix + zero-padded sequence (Width digits) + check.
type Codec struct {
	Prefix string
	Width  int
	Scheme Scheme
}

// NewCodec checks a format and returns its codec. A prefix character outside
// the scheme's alphabet is refused because the check covers the prefix.
func NewCodec(f idcards.Format) (Codec, error) {
	s, err := Lookup(f.Scheme)
	if err != nil {
		return Codec{}, idcards.Errorf(idcards.Invalid, "%v", err)
	}
	if f.Width < 1 || f.Width > 18 {
		return Codec{}, idcards.Errorf(idcards.Invalid, "sequence width %d: must be 1 to 18 digits", f.Width)
	}
	if f.Prefix != strings.ToUpper(f.Prefix) {
		return Codec{}, idcards.Errorf(idcards.Invalid, "prefix %q: use upper case", f.Prefix)
	}
	if err := CheckPrefix(s, f.Prefix); err != nil {
		return Codec{}, idcards.Errorf(idcards.Invalid, "prefix %q cannot be used with scheme %s: %v (the check character covers the prefix, so every prefix character must be in the scheme's alphabet %q)", f.Prefix, s.Name(), err, s.Alphabet())
	}
	if !strings.ContainsRune(s.Alphabet(), '0') || !strings.ContainsRune(s.Alphabet(), '9') {
		return Codec{}, idcards.Errorf(idcards.Invalid, "scheme %s has no digits 0-9 in its alphabet %q, so it cannot carry a numeric sequence", s.Name(), s.Alphabet())
	}
	if pl := s.PayloadLen(); pl != 0 && pl != len(f.Prefix)+f.Width {
		return Codec{}, idcards.Errorf(idcards.Invalid, "scheme %s needs exactly %d payload characters: prefix %q (%d) + width %d = %d", s.Name(), pl, f.Prefix, len(f.Prefix), f.Width, len(f.Prefix)+f.Width)
	}
	return Codec{Prefix: f.Prefix, Width: f.Width, Scheme: s}, nil
}

// Format returns the codec's format.
func (c Codec) Format() idcards.Format {
	return idcards.Format{Prefix: c.Prefix, Width: c.Width, Scheme: c.Scheme.Name()}
}

// Len is the length of a canonical MRN of this codec.
func (c Codec) Len() int {
	return len(c.Prefix) + c.Width + len(c.Scheme.Separator()) + c.Scheme.CheckLen()
}

// MaxSeq is the largest sequence number the width holds.
func (c Codec) MaxSeq() int64 {
	m := int64(1)
	for i := 0; i < c.Width; i++ {
		m *= 10
	}
	return m - 1
}

// Make returns the canonical MRN for sequence number seq (≥ 1).
func (c Codec) Make(seq int64) (string, error) {
	if seq < 1 || seq > c.MaxSeq() {
		return "", idcards.Errorf(idcards.Conflict, "sequence %d does not fit %d digits: series %s is exhausted, add a new series", seq, c.Width, c.Prefix)
	}
	num := strconv.FormatInt(seq, 10)
	payload := c.Prefix + strings.Repeat("0", c.Width-len(num)) + num
	return Generate(c.Scheme, payload)
}

// ParseError explains why a code is not a valid MRN of a codec. Status is
// idcards.StatusInvalidCheck or idcards.StatusMalformed.
type ParseError struct {
	Status idcards.Status
	Msg    string
}

func (e *ParseError) Error() string { return e.Msg }

// HasPrefix reports whether the normalised code n starts with the codec's prefix.
func (c Codec) HasPrefix(n string) bool { return strings.HasPrefix(n, c.Prefix) }

// Parse validates a code already passed through Normalize and returns the
// canonical MRN and its sequence number. Errors are *ParseError naming the
// cause: wrong check character ("probably a typo"), wrong length, foreign
// prefix, bad character.
func (c Codec) Parse(n string) (mrn string, seq int64, err error) {
	malformed := func(format string, a ...any) (string, int64, error) {
		return "", 0, &ParseError{Status: idcards.StatusMalformed, Msg: fmt.Sprintf(format, a...)}
	}
	if n == "" {
		return malformed("empty code")
	}
	if len(n) > MaxInput {
		return malformed("code is %d characters long; an MRN has %d", len(n), c.Len())
	}
	if !c.HasPrefix(n) {
		return malformed("foreign prefix: %q does not start with this site's prefix %q", clip(n), c.Prefix)
	}
	sep, cl := c.Scheme.Separator(), c.Scheme.CheckLen()
	want := len(c.Prefix) + c.Width + cl
	// A character no card prints (a dash a word processor made long, a
	// no-break or zero-width space) is the problem, not the length its
	// bytes give.
	for i, r := range []rune(n) {
		if r > '~' || r < ' ' {
			return malformed("bad character %U at position %d: not one an ID card prints (a long dash or an invisible space pasted in?); type the code again", r, i+1)
		}
	}
	if len(n) != want {
		return malformed("wrong length: %d characters, an MRN of series %s has %d (%s)", len([]rune(n)), c.Prefix, c.Len(), c.example())
	}
	digits := n[len(c.Prefix) : len(c.Prefix)+c.Width]
	for i, r := range digits {
		if r < '0' || r > '9' {
			return malformed("bad character %q at position %d: the sequence part must be digits", r, len(c.Prefix)+i+1)
		}
	}
	mrn = n[:len(n)-cl] + sep + n[len(n)-cl:]
	if err := c.Scheme.Validate(mrn); err != nil {
		var ce *CharError
		switch {
		case errors.Is(err, ErrCheck):
			return "", 0, &ParseError{Status: idcards.StatusInvalidCheck, Msg: "wrong check character (probably a typo): check the code and scan or type it again"}
		case errors.As(err, &ce):
			return malformed("bad character %q at position %d: not used by scheme %s", ce.Char, len(c.Prefix)+c.Width+1, c.Scheme.Name())
		default:
			return malformed("%v", err)
		}
	}
	// Recompute rather than keep the input: a scheme may accept more than one
	// spelling of the check (openmrs-luhn takes 0-9 or A-J), and the
	// registry looks codes up by their one canonical form.
	if mrn, err = Generate(c.Scheme, n[:len(n)-cl]); err != nil {
		return malformed("%v", err)
	}
	seq, _ = strconv.ParseInt(digits, 10, 64)
	return mrn, seq, nil
}

// example describes the shape of an MRN of the codec without showing a
// real one: a full example would carry a valid check character, and a
// clerk who typed a wrong-length code would copy it instead of reading the
// card again.
func (c Codec) example() string {
	sep := ""
	if s := c.Scheme.Separator(); s != "" {
		sep = fmt.Sprintf(" + %q", s)
	}
	check := "1 check character"
	if n := c.Scheme.CheckLen(); n != 1 {
		check = strconv.Itoa(n) + " check characters"
	}
	if c.Prefix == "" {
		return fmt.Sprintf("%d digits%s + %s", c.Width, sep, check)
	}
	return fmt.Sprintf("prefix %s + %d digits%s + %s", c.Prefix, c.Width, sep, check)
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// SplitScan separates the card serial carried by a 2D symbol from the MRN.
// Codes without a serial come back unchanged with serial "".
func SplitScan(raw string) (code, serial string) {
	s := StripAIM(strings.TrimSpace(raw))
	if mrn, ser, ok := Parse2D(s); ok {
		return mrn, ser
	}
	return s, ""
}
