package barcode

import "strconv"

// The two validators of OpenMRS core (org.openmrs.patient.impl), whose
// identifiers have a dash before a single check character.

// openmrsLuhn is core's LuhnIdentifierValidator, the Regenstrief Institute's
// Luhn variant. Each character's value is its ASCII code − 48 (so '0'-'9'
// are 0-9 and 'A' is 17); walking from the rightmost payload character
// leftwards, every other value starting with the rightmost contributes
// 2v − 9·⌊v/5⌋ (doubling with digit sum, extended to letters), the others
// contribute v, and the check digit brings the sum to a multiple of 10.
// The canonical form is PAYLOAD-d with a digit, as OpenMRS generates it;
// validation also takes the letter A-J for 0-9, as OpenMRS's isValid does.
//
// OpenMRS also accepts lower case (upper-cased before computing; our
// Normalize does that) and '_', which we refuse: a keyboard-wedge scanner on
// a differently laid-out host garbles punctuation.
func openmrsLuhn() Scheme {
	return &scheme{
		name: "openmrs-luhn", alphabet: alphanumeric, checkLen: 1, sep: "-",
		checkChars: digits + "ABCDEFGHIJ",
		alias:      letterToDigit,
		m: automaton{
			states: 10, // the running sum mod 10
			step: func(n, pos, sum, sym int) int {
				v := int(alphanumeric[sym]) - '0'
				if (n-1-pos)%2 == 0 {
					v = 2*v - v/5*9
				}
				return (sum + v) % 10
			},
			check: func(sum int) string { return strconv.Itoa((10 - sum) % 10) },
		},
	}
}

// letterToDigit maps the letter form A-J of an OpenMRS check digit to 0-9.
func letterToDigit(c string) string {
	if len(c) == 1 && c[0] >= 'A' && c[0] <= 'J' {
		return string(rune('0' + c[0] - 'A'))
	}
	return c
}

const openmrsVerhoeffLen = 8

// openmrsVerhoeff is core's VerhoeffIdentifierValidator: exactly 8 digits, a
// dash, and the check as a letter A-J (a numeric check is refused, as
// OpenMRS does). It is not standard Verhoeff: OpenMRS applies the position
// permutations from the left (the first digit gets the permutation of
// position 1), which equals standard Verhoeff over the reversed digits. It
// still detects every single substitution and adjacent transposition,
// because it is the same group code read the other way.
//
// length is a parameter only so that tests can check the detection-rate
// enumeration against brute force on short payloads.
func openmrsVerhoeff(length int) *scheme {
	return &scheme{
		name: "openmrs-verhoeff", alphabet: digits, payloadLen: length, checkLen: 1, sep: "-",
		checkChars: "ABCDEFGHIJ",
		m: automaton{
			states: 10, // an element of the dihedral group D5
			step: func(n, pos, st, sym int) int {
				return int(verhoeffD[st][verhoeffP[(pos+1)%8][sym]])
			},
			check: func(st int) string { return string(rune('A' + verhoeffInv[st])) },
		},
	}
}
