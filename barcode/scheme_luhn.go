package barcode

// Luhn mod N (ISO/IEC 7812 Luhn for N = 10), as OpenMRS idgen's
// LuhnModNIdentifierValidator computes it: walking from the rightmost
// payload character leftwards, every other code point starting with the
// rightmost is doubled, a doubled value ≥ N has its two base-N digits added,
// and the check is the symbol that brings the sum to a multiple of N. The
// check is appended without a separator. It detects every single
// substitution; it misses the adjacent transposition of the first and last
// alphabet symbols (09 ↔ 90 in mod 10, 0Y ↔ Y0 in mod 30).

// Alphabets of idgen's LuhnMod30IdentifierValidator (the stock "OpenMRS ID":
// no B I O Q S Z) and LuhnMod25IdentifierValidator (no 0 1 2 5 8 B I O Q S Z).
const (
	mod30Alphabet = "0123456789ACDEFGHJKLMNPRTUVWXY"
	mod25Alphabet = "34679ACDEFGHJKLMNPRTUVWXY"
)

func luhnScheme() Scheme { return luhnModN("luhn", digits) }
func luhnMod30() Scheme  { return luhnModN("luhn-mod-30", mod30Alphabet) }
func luhnMod25() Scheme  { return luhnModN("luhn-mod-25", mod25Alphabet) }

func luhnModN(name, alphabet string) *scheme {
	n := len(alphabet)
	return &scheme{
		name: name, alphabet: alphabet, checkLen: 1, checkChars: alphabet,
		m: automaton{
			states: n, // the running sum mod N
			step: func(length, pos, sum, sym int) int {
				if (length-1-pos)%2 == 0 { // rightmost payload character and every other one
					sym *= 2
					sym = sym/n + sym%n
				}
				return (sum + sym) % n
			},
			check: symbolCheck(alphabet, func(sum int) int { return (n - sum) % n }),
		},
	}
}
