package barcode

import (
	"errors"
	"strings"
	"testing"

	"github.com/idcards/idcards"
)

// TestCodec_WrongLengthShowsNoValidMRN: the wrong-length message describes
// the shape of an MRN but never shows one with a valid check character,
// neither the first of the series nor the typed code completed (issue 14
// item 6: a clerk would copy it instead of reading the card again).
func TestCodec_WrongLengthShowsNoValidMRN(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    idcards.Format
		in   string
		want string
	}{
		{"luhn-mod-30 short", idcards.Format{Prefix: "KLA", Width: 7, Scheme: "luhn-mod-30"}, "KLA000001", "7 digits + 1 check character"},
		{"luhn-mod-30 long", idcards.Format{Prefix: "KLA", Width: 7, Scheme: "luhn-mod-30"}, "KLA00000011N", "an MRN of series KLA has 11"},
		{"separator scheme", idcards.Format{Prefix: "1", Width: 5, Scheme: "openmrs-luhn"}, "1000", "5 digits"},
		{"iso 7064 two characters", idcards.Format{Prefix: "12", Width: 6, Scheme: "iso7064-mod-97-10"}, "1200000", "6 digits + 2 check characters"},
		{"no prefix", idcards.Format{Prefix: "", Width: 6, Scheme: "damm"}, "12345", "6 digits + 1 check character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCodec(tc.f)
			if err != nil {
				t.Fatalf("NewCodec(%+v): %v", tc.f, err)
			}
			_, _, err = c.Parse(Normalize(tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Status != idcards.StatusMalformed || !strings.Contains(pe.Msg, tc.want) {
				t.Fatalf("Parse(%q) = %v, want malformed containing %q", tc.in, err, tc.want)
			}
			for seq := int64(1); seq <= 20; seq++ {
				m, _ := c.Make(seq)
				if n := Normalize(m); strings.Contains(Normalize(pe.Msg), n) {
					t.Errorf("message %q shows the valid MRN %s", pe.Msg, m)
				}
			}
			if strings.Contains(pe.Msg, "e.g.") {
				t.Errorf("message %q gives an example", pe.Msg)
			}
		})
	}
}
