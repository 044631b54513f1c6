package barcode

import (
	"strings"
	"testing"
)

func TestIsSerial(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     bool
	}{
		{"ok", "C7Q2M9XKA", true},
		{"all digits", "C00000000", true},
		{"wrong lead", "D7Q2M9XKA", false},
		{"short", "C7Q2M9XK", false},
		{"long", "C7Q2M9XKAA", false},
		{"I not Crockford", "C7Q2M9XKI", false},
		{"L not Crockford", "CL0000000", false},
		{"O not Crockford", "CO0000000", false},
		{"U not Crockford", "CU0000000", false},
		{"lower case", "c7q2m9xka", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsSerial(tc.in); got != tc.want {
				t.Errorf("IsSerial(%q) = %v", tc.in, got)
			}
		})
	}
}

func TestParse2D(t *testing.T) {
	for _, tc := range []struct {
		name, in    string
		mrn, serial string
		ok          bool
	}{
		{"Format2D output", "KLA000001X C7Q2M9XKA", "KLA000001X", "C7Q2M9XKA", true},
		{"tab instead of space", "KLA000001X\tC7Q2M9XKA", "KLA000001X", "C7Q2M9XKA", true},
		{"several blanks", "KLA000001X \t C7Q2M9XKA", "KLA000001X", "C7Q2M9XKA", true},
		{"caps lock inverted", "kla000001x c7q2m9xka", "KLA000001X", "C7Q2M9XKA", true},
		{"surrounding blanks and CRLF", "  12000014 C00000000\r\n", "12000014", "C00000000", true},
		{"dashed MRN from another printer", "123456-6 C7Q2M9XKA", "123456-6", "C7Q2M9XKA", true},
		{"plain MRN", "KLA000001X", "", "", false},
		{"MRN typed in groups", "KLA 000 001 X", "", "", false},
		{"two groups, second not a serial", "KLA000 001X", "", "", false},
		{"serial first", "C7Q2M9XKA KLA000001X", "", "", false},
		{"serial only", "C7Q2M9XKA", "", "", false},
		{"three fields", "KLA 000001X C7Q2M9XKA", "", "", false},
		{"bad serial character", "KLA000001X C7Q2M9XKI", "", "", false},
		{"punctuation garbled by a keyboard layout", "KLA000001X? C7Q2M9XKA", "", "", false},
		{"non-ASCII", "KLAß00001X C7Q2M9XKA", "", "", false},
		{"empty", "", "", "", false},
		{"dashes only", "-- C7Q2M9XKA", "", "", false},
		{"too long", strings.Repeat("1", MaxInput) + " C7Q2M9XKA", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mrn, serial, ok := Parse2D(tc.in)
			if mrn != tc.mrn || serial != tc.serial || ok != tc.ok {
				t.Errorf("Parse2D(%q) = %q, %q, %v; want %q, %q, %v", tc.in, mrn, serial, ok, tc.mrn, tc.serial, tc.ok)
			}
		})
	}
}

func TestFormat2D(t *testing.T) {
	for _, tc := range []struct{ name, mrn, want string }{
		{"appended check", "KLA000001X", "KLA000001X C7Q2M9XKA"},
		{"OpenMRS dash dropped", "12345678-G", "12345678G C7Q2M9XKA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Format2D(tc.mrn, "C7Q2M9XKA")
			if got != tc.want {
				t.Errorf("Format2D(%q) = %q, want %q", tc.mrn, got, tc.want)
			}
			for _, r := range got {
				if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == ' ') {
					t.Errorf("Format2D(%q) = %q uses %q, not safe for keyboard wedges", tc.mrn, got, r)
				}
			}
		})
	}
}

// TestSplitScan_2D: a scanned 2D symbol, AIM prefix included, comes apart
// into an MRN that Normalize and Codec.Parse accept and the card serial.
func TestSplitScan_2D(t *testing.T) {
	for _, tc := range []struct{ name, raw, code, serial string }{
		{"QR with AIM", "]Q1" + Format2D("12345678-G", "C7Q2M9XKA") + "\r\n", "12345678G", "C7Q2M9XKA"},
		{"DataMatrix with AIM", "]d2KLA000001X C7Q2M9XKA", "KLA000001X", "C7Q2M9XKA"},
		{"1D code unchanged", "]C012000014", "12000014", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, serial := SplitScan(tc.raw)
			if code != tc.code || serial != tc.serial {
				t.Errorf("SplitScan(%q) = %q, %q; want %q, %q", tc.raw, code, serial, tc.code, tc.serial)
			}
		})
	}
}

// FuzzParse2D: never panics; what it accepts is two safe fields whose
// Format2D rendering parses back to the same pair.
func FuzzParse2D(f *testing.F) {
	for _, s := range []string{"KLA000001X C7Q2M9XKA", "a\tc00000000", " ", "\xff C7Q2M9XKA", "KLA 000 001 X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		mrn, serial, ok := Parse2D(in)
		if !ok {
			if mrn != "" || serial != "" {
				t.Fatalf("Parse2D(%q) = %q, %q with ok = false", in, mrn, serial)
			}
			return
		}
		if !IsSerial(serial) || mrn == "" || strings.ContainsAny(mrn, " \t") {
			t.Fatalf("Parse2D(%q) = %q, %q", in, mrn, serial)
		}
		m2, s2, ok2 := Parse2D(Format2D(mrn, serial))
		if !ok2 || m2 != strings.ReplaceAll(mrn, "-", "") || s2 != serial {
			t.Fatalf("Format2D(Parse2D(%q)) does not round-trip: %q %q %v", in, m2, s2, ok2)
		}
	})
}
