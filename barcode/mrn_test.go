package barcode

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idcards/idcards"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "12000014", "12000014"},
		{"trim and case", "  kla000001x \n", "KLA000001X"},
		{"AIM Code 128", "]C012000014", "12000014"},
		{"AIM QR", "]Q1KLA000001X", "KLA000001X"},
		{"AIM DataMatrix lower", "]d2kla000001x", "KLA000001X"},
		{"groups with spaces", "KLA 000 001 X", "KLA000001X"},
		{"dashes", "123456-6", "1234566"},
		{"not AIM: bracket alone", "]", "]"},
		{"not AIM: bracket digit", "]1A1234", "]1A1234"},
		{"CRLF from a wedge", "12000014\r\n", "12000014"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCodec_MakeParse(t *testing.T) {
	c, err := NewCodec(idcards.Format{Prefix: "12", Width: 5, Scheme: "luhn"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Make(1)
	if err != nil || m != "12000014" {
		t.Fatalf("Make(1) = %q, %v", m, err)
	}
	if _, err := c.Make(100000); idcards.ErrorKind(err) != idcards.Conflict {
		t.Errorf("Make past width: %v", err)
	}
	if _, err := c.Make(0); err == nil {
		t.Error("Make(0) accepted")
	}
	for _, tc := range []struct {
		in     string
		status idcards.Status
		msg    string
	}{
		{"12000015", idcards.StatusInvalidCheck, "probably a typo"},
		{"1200001", idcards.StatusMalformed, "wrong length"},
		{"13000014", idcards.StatusMalformed, "foreign prefix"},
		{"12A00014", idcards.StatusMalformed, "bad character"},
		{"", idcards.StatusMalformed, "empty"},
	} {
		_, _, err := c.Parse(tc.in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Status != tc.status || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("Parse(%q) = %v, want %s containing %q", tc.in, err, tc.status, tc.msg)
		}
	}
	mrn, seq, err := c.Parse("12000014")
	if err != nil || mrn != "12000014" || seq != 1 {
		t.Errorf("Parse = %q %d %v", mrn, seq, err)
	}
}

// FuzzNormalize: never panics, output has no spaces, dashes or lower case,
// and normalising twice changes nothing more (bar a second AIM-looking
// prefix, which only a second scan could add).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"]C012000014", " kla 000-001 x ", "]", "]]C0", "\xff", "ß", "]Q1]C0X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Normalize(in)
		if strings.ContainsAny(out, " -\t\r\n") {
			t.Fatalf("Normalize(%q) = %q keeps separators", in, out)
		}
		for _, r := range out {
			if r >= 'a' && r <= 'z' {
				t.Fatalf("Normalize(%q) = %q keeps lower case", in, out)
			}
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("Normalize(%q) made invalid UTF-8", in)
		}
	})
}

// FuzzCodecParse: any input gives a canonical MRN that re-parses to itself,
// or a *ParseError; never a panic.
func FuzzCodecParse(f *testing.F) {
	f.Add("12000014")
	f.Add("12000015")
	f.Add("]C0 12-000-01-4")
	f.Fuzz(func(t *testing.T, in string) {
		for _, name := range Names() {
			s, _ := Lookup(name)
			prefix := ""
			if strings.ContainsRune(s.Alphabet(), '1') {
				prefix = "1"
			}
			width := 6
			if s.PayloadLen() != 0 {
				width = s.PayloadLen() - len(prefix)
			}
			c, err := NewCodec(idcards.Format{Prefix: prefix, Width: width, Scheme: name})
			if err != nil {
				continue
			}
			mrn, _, err := c.Parse(Normalize(in))
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("%s: Parse(%q) error %T %v", name, in, err, err)
				}
				continue
			}
			if again, _, err := c.Parse(Normalize(mrn)); err != nil || again != mrn {
				t.Fatalf("%s: canonical %q does not re-parse: %q %v", name, mrn, again, err)
			}
		}
	})
}

// A pasted long dash or invisible space is named as the bad character it
// is, not as a wrong length.
func TestCodec_ParseNamesCharactersNoCardPrints(t *testing.T) {
	c, err := NewCodec(idcards.Format{Prefix: "KLA", Width: 6, Scheme: "luhn-mod-30"})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := c.Make(1)
	for _, bad := range []string{"KLA\u2013" + good[3:], good[:5] + "\u00a0" + good[5:], good[:5] + "\u200b" + good[5:]} {
		_, _, err := c.Parse(bad)
		if err == nil || !strings.Contains(err.Error(), "not one an ID card prints") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
