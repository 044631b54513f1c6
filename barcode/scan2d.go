package barcode

import "strings"

// SerialAlphabet is the alphabet of card serials: Crockford's base 32
// (digits and capitals without I L O U). A card serial is "C" followed by
// SerialLen-1 of these characters, e.g. C7Q2M9XKA (registry/cards.go makes
// them).
const (
	SerialAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	SerialLen      = 9
)

// IsSerial reports whether s (upper case) is a well-formed card serial.
func IsSerial(s string) bool {
	if len(s) != SerialLen || s[0] != 'C' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if strings.IndexByte(SerialAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// Format2D returns the content of a card's 2D symbol (QR or DataMatrix): the
// MRN without separator dashes, one space, and the card serial, e.g.
// "KLA000001X C7Q2M9XKA" or "123456786 C7Q2M9XKA" for openmrs-luhn's
// 12345678-6.
//
// Only digits, capitals and the space are used: a keyboard-wedge scanner
// types the content on the host, and a host keyboard layout that differs
// from the scanner's garbles punctuation (a dash may arrive as 'ß' or '?')
// but not these. A space, unlike a Tab, does not move focus out of an input
// field. Verification puts the scheme's separator back (Normalize then
// Codec.Parse).
func Format2D(mrn, serial string) string {
	return strings.ReplaceAll(mrn, "-", "") + " " + serial
}

// Parse2D recognises the content written by Format2D, after the AIM prefix
// is stripped: exactly two fields separated by spaces or Tabs (some
// scanners turn the space into a Tab), the second a card serial. Case is
// forgiven (a Caps Lock on the host inverts it); mrn and serial come back
// upper case, the MRN still to be normalised and validated. Anything else,
// including a plain MRN typed in groups ("KLA 000 001 X"), gives ok = false.
func Parse2D(s string) (mrn, serial string, ok bool) {
	if len(s) > MaxInput {
		return "", "", false
	}
	f := strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == ' ' || r == '\t' })
	if len(f) != 2 {
		return "", "", false
	}
	mrn, serial = strings.ToUpper(f[0]), strings.ToUpper(f[1])
	if !IsSerial(serial) {
		return "", "", false
	}
	alnum := false
	for i := 0; i < len(mrn); i++ {
		switch c := mrn[i]; {
		case c >= '0' && c <= '9' || c >= 'A' && c <= 'Z':
			alnum = true
		case c != '-':
			return "", "", false
		}
	}
	if !alnum {
		return "", "", false
	}
	return mrn, serial, true
}
