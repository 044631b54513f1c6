package match

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold lower-cases, strips diacritics and keeps letters, digits and single
// spaces: "  Zoë  N'Diaye" -> "zoe ndiaye". Letters that Unicode does not
// decompose into a base letter and a mark (Ł, Ø, Đ, ß, Æ, Œ, Þ, dotless ı,
// the hooked letters of Hausa and the open vowels of Akan and Ewe) are
// spelled out in ASCII the way clerks type them: "Łukasz" -> "lukasz",
// "Søren" -> "soren", "Straße" -> "strasse", "Kɔfi" -> "kofi". It is the
// one folding function of the program: search and matching both use it.
func Fold(s string) string {
	if f, ok := foldASCII(s); ok {
		return f
	}
	var b strings.Builder
	space := false
	put := func(t string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(t)
	}
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
			put(string(r))
		case r < 0x80 && r >= 'A' && r <= 'Z':
			put(string(r + 'a' - 'A'))
		case unicode.IsSpace(r) || r == '-' || r == '_' || r == '.' || r == ',' || r == '/':
			space = true
		default:
			if t, ok := foldSpecial[r]; ok {
				put(t)
			} else if unicode.IsLetter(r) || unicode.IsDigit(r) {
				put(string(unicode.ToLower(r)))
			}
			// apostrophes and other marks are dropped: N'Diaye = Ndiaye
		}
	}
	return b.String()
}

// foldSpecial spells out letters that NFD leaves whole.
var foldSpecial = map[rune]string{
	'ł': "l", 'Ł': "l", 'ø': "o", 'Ø': "o", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d",
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'þ': "th", 'Þ': "th",
	'ı': "i", 'ħ': "h", 'Ħ': "h", 'ŧ': "t", 'Ŧ': "t", 'ĸ': "k", 'ŀ': "l", 'Ŀ': "l",
	'ŋ': "ng", 'Ŋ': "ng", 'ɛ': "e", 'Ɛ': "e", 'ɔ': "o", 'Ɔ': "o", 'ɓ': "b", 'Ɓ': "b",
	'ɗ': "d", 'Ɗ': "d", 'ƙ': "k", 'Ƙ': "k", 'ƴ': "y", 'Ƴ': "y", 'ɨ': "i", 'ʉ': "u",
	'ĳ': "ij", 'Ĳ': "ij", 'ſ': "s", 'ƒ': "f", 'ɲ': "ny", 'Ɲ': "ny",
	'\u2019': "", '\u02bc': "", '\u2018': "", '`': "", '\'': "",
}

// foldASCII is Fold's fast path for plain ASCII, the common case, without
// Unicode normalisation.
func foldASCII(s string) (string, bool) {
	buf := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return "", false
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == ' ' || c == '-' || c == '\t' || c == '_' || c == '.' || c == ',' || c == '/' || c == '\n' || c == '\r':
			space = true
			continue
		default: // apostrophes and other punctuation vanish
			continue
		}
		if space && len(buf) > 0 {
			buf = append(buf, ' ')
		}
		space = false
		buf = append(buf, c)
	}
	return string(buf), true
}
