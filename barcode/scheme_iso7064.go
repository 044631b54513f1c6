package barcode

import "fmt"

// Check character systems of ISO/IEC 7064, computed with the standard's
// recursive method (left to right, one interim value).

// iso7064Mod11_2 is the pure system MOD 11-2 over digits: P ← 2(P + d) mod
// 11 from P = 0; the check c makes P + c ≡ 1 (mod 11) and is written X for
// 10. Used by ISNI and ORCID.
func iso7064Mod11_2() Scheme {
	return &scheme{
		name: "iso7064-mod-11-2", alphabet: digits, checkLen: 1, checkChars: digits + "X",
		m: automaton{
			states: 11,
			step:   func(n, pos, p, d int) int { return (p + d) * 2 % 11 },
			check:  symbolCheck(digits+"X", func(p int) int { return (12 - p) % 11 }),
		},
	}
}

// iso7064Mod97_10 is the pure system MOD 97-10 over digits with two check
// digits: the check is 98 − (payload × 100 mod 97), written 02-98, so the
// whole number is ≡ 1 (mod 97) (as in IBAN). Only that canonical pair is
// accepted (the pairs 00/01, which would also give ≡ 1 for payloads whose
// canonical check is 97/98, are refused).
func iso7064Mod97_10() Scheme {
	return &scheme{
		name: "iso7064-mod-97-10", alphabet: digits, checkLen: 2, checkChars: digits,
		m: automaton{
			states: 97, // payload × 10 mod 97
			step:   func(n, pos, p, d int) int { return (p + d) * 10 % 97 },
			check:  func(p int) string { return fmt.Sprintf("%02d", 98-p*10%97) },
		},
	}
}

// iso7064Mod37_36 is the hybrid system MOD 37-36 over 0-9A-Z (values 0-35):
// from P = 36, for each symbol a: S = (P + a) mod 36, read as 36 when 0, and
// P ← 2S mod 37; the check c makes (P + c) mod 36 = 1.
func iso7064Mod37_36() Scheme {
	const m = 36
	return &scheme{
		name: "iso7064-mod-37-36", alphabet: alphanumeric, checkLen: 1, checkChars: alphanumeric,
		m: automaton{
			// The state is P mod 36 (P runs over 1..36), so that every state
			// is reachable: state 0 stands for P = 36, the start.
			states: m,
			step: func(n, pos, st, a int) int {
				p := st
				if p == 0 {
					p = m
				}
				s := (p + a) % m
				if s == 0 {
					s = m
				}
				return s * 2 % (m + 1) % m
			},
			check: symbolCheck(alphanumeric, func(st int) int {
				p := st
				if p == 0 {
					p = m
				}
				return (m + 1 - p) % m
			}),
		},
	}
}
