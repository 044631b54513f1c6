package barcode

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func mustLookup(t testing.TB, name string) Scheme {
	t.Helper()
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNames(t *testing.T) {
	want := []string{"damm", "iso7064-mod-11-2", "iso7064-mod-37-36", "iso7064-mod-97-10", "luhn", "luhn-mod-25", "luhn-mod-30", "openmrs-luhn", "openmrs-verhoeff", "verhoeff"}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if _, err := Lookup("mod10"); err == nil || !strings.Contains(err.Error(), "known: damm,") {
		t.Errorf("Lookup(unknown) = %v", err)
	}
}

// TestSchemes_PublishedVectors: examples from the standards and the
// algorithms' publications (ISO/IEC 7064 and its uses in ORCID and IBAN;
// Verhoeff, Damm and Luhn as usually cited).
func TestSchemes_PublishedVectors(t *testing.T) {
	for _, tc := range []struct{ name, scheme, payload, want string }{
		{"luhn wikipedia", "luhn", "7992739871", "79927398713"},
		{"luhn idgen test", "luhn", "2468", "24687"},
		{"verhoeff wikipedia", "verhoeff", "236", "2363"},
		{"verhoeff 12345", "verhoeff", "12345", "123451"},
		{"verhoeff 142857", "verhoeff", "142857", "1428570"},
		{"damm wikipedia", "damm", "572", "5724"},
		{"iso7064 mod 11-2 standard example", "iso7064-mod-11-2", "079", "079X"},
		{"iso7064 mod 11-2 ORCID 0000-0002-1825-0097", "iso7064-mod-11-2", "000000021825009", "0000000218250097"},
		{"iso7064 mod 11-2 ORCID with X", "iso7064-mod-11-2", "000000021694233", "000000021694233X"},
		{"iso7064 mod 97-10 IBAN GB82WEST12345698765432", "iso7064-mod-97-10", "32142829123456987654321611", "3214282912345698765432161182"},
		{"iso7064 mod 97-10 794", "iso7064-mod-97-10", "794", "79444"},
		{"iso7064 mod 97-10 stdnum", "iso7064-mod-97-10", "99991234567890121414", "9999123456789012141490"},
		{"iso7064 mod 37-36 stdnum", "iso7064-mod-37-36", "A12425GABC1234002", "A12425GABC1234002M"},
		{"openmrs-luhn core test", "openmrs-luhn", "123456", "123456-6"},
		{"openmrs-verhoeff core test", "openmrs-verhoeff", "12345678", "12345678-G"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustLookup(t, tc.scheme)
			got, err := Generate(s, tc.payload)
			if err != nil || got != tc.want {
				t.Fatalf("Generate(%s, %q) = %q, %v; want %q", tc.scheme, tc.payload, got, err, tc.want)
			}
			if err := s.Validate(tc.want); err != nil {
				t.Errorf("Validate(%q) = %v", tc.want, err)
			}
		})
	}
}

// vectors is barcode/testdata/check-digit-vectors.json, collected from
// OpenMRS sources and real OpenMRS IDs (see its _note and source fields).
type vectors struct {
	CoreLuhn struct {
		Vectors [][3]string `json:"vectors"`
		Invalid []string    `json:"invalid_inputs_throw"`
		Dataset struct {
			Values []string `json:"values"`
		} `json:"valid_in_core_standardTestDataset"`
		IdgenSeq struct {
			Values []string `json:"values"`
		} `json:"idgen_sequence_on_type_with_core_luhn"`
	} `json:"core_LuhnIdentifierValidator"`
	CoreVerhoeff struct {
		Vectors [][2]string `json:"vectors"`
	} `json:"core_VerhoeffIdentifierValidator"`
	Mod10 struct {
		Vectors [][2]string `json:"vectors"`
		Calc    [][2]string `json:"calc"`
	} `json:"idgen_LuhnMod10IdentifierValidator"`
	Mod25 struct {
		Calc [][2]string `json:"calc"`
	} `json:"idgen_LuhnMod25IdentifierValidator"`
	Mod30 struct {
		RealData []struct {
			Source string   `json:"source"`
			Values []string `json:"values"`
		} `json:"real_data"`
		InvalidReal struct {
			Invalid []string `json:"invalid"`
			Valid   []string `json:"valid_by_coincidence"`
		} `json:"invalid_real_examples"`
		Calc [][2]string `json:"calc"`
	} `json:"idgen_LuhnMod30IdentifierValidator"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/check-digit-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.CoreLuhn.Vectors) == 0 || len(v.CoreVerhoeff.Vectors) == 0 || len(v.Mod30.RealData) == 0 {
		t.Fatal("testdata vectors did not decode")
	}
	return v
}

func TestSchemes_OpenMRSVectors(t *testing.T) {
	v := loadVectors(t)
	generate := func(t *testing.T, scheme, payload, want string) {
		t.Helper()
		got, err := Generate(mustLookup(t, scheme), payload)
		if err != nil || got != want {
			t.Errorf("Generate(%s, %q) = %q, %v; want %q", scheme, payload, got, err, want)
		}
	}
	valid := func(t *testing.T, scheme, id string, want error) {
		t.Helper()
		if err := mustLookup(t, scheme).Validate(id); !errors.Is(err, want) {
			t.Errorf("%s: Validate(%q) = %v, want %v", scheme, id, err, want)
		}
	}
	t.Run("core Luhn", func(t *testing.T) {
		// OpenMRS upper-cases before computing; our input is normalised first.
		for _, vec := range v.CoreLuhn.Vectors {
			in, digit, letter := strings.ToUpper(vec[0]), strings.ToUpper(vec[1]), strings.ToUpper(vec[2])
			generate(t, "openmrs-luhn", in, digit)
			valid(t, "openmrs-luhn", digit, nil)
			valid(t, "openmrs-luhn", letter, nil)
		}
		for _, in := range v.CoreLuhn.Invalid {
			var ce *CharError
			if _, err := mustLookup(t, "openmrs-luhn").Check(strings.ToUpper(in)); !errors.As(err, &ce) && !errors.Is(err, ErrLength) {
				t.Errorf("Check(%q) = %v, want a character or length error", in, err)
			}
		}
		for _, id := range append(v.CoreLuhn.Dataset.Values, v.CoreLuhn.IdgenSeq.Values...) {
			valid(t, "openmrs-luhn", id, nil)
		}
	})
	t.Run("core Verhoeff", func(t *testing.T) {
		for _, vec := range v.CoreVerhoeff.Vectors {
			generate(t, "openmrs-verhoeff", vec[0], vec[1])
			valid(t, "openmrs-verhoeff", vec[1], nil)
		}
	})
	t.Run("idgen mod 10", func(t *testing.T) {
		for _, vec := range append(v.Mod10.Vectors, v.Mod10.Calc...) {
			generate(t, "luhn", vec[0], vec[1])
		}
	})
	t.Run("idgen mod 25", func(t *testing.T) {
		for _, vec := range v.Mod25.Calc {
			generate(t, "luhn-mod-25", vec[0], vec[1])
		}
	})
	t.Run("idgen mod 30", func(t *testing.T) {
		for _, vec := range v.Mod30.Calc {
			generate(t, "luhn-mod-30", vec[0], vec[1])
		}
		for _, rd := range v.Mod30.RealData {
			for _, id := range rd.Values {
				valid(t, "luhn-mod-30", id, nil)
			}
		}
		for _, id := range v.Mod30.InvalidReal.Invalid {
			valid(t, "luhn-mod-30", id, ErrCheck)
		}
		for _, id := range v.Mod30.InvalidReal.Valid {
			valid(t, "luhn-mod-30", id, nil)
		}
	})
	t.Run("Luhn blind spot", func(t *testing.T) {
		for _, tc := range []struct{ scheme, a, b string }{{"luhn", "09", "90"}, {"luhn-mod-30", "0Y", "Y0"}} {
			s := mustLookup(t, tc.scheme)
			ca, _ := s.Check(tc.a)
			cb, _ := s.Check(tc.b)
			if ca != cb {
				t.Errorf("%s: %s -> %s and %s -> %s differ; the known blind spot should give the same check", tc.scheme, tc.a, ca, tc.b, cb)
			}
		}
	})
}

// TestOpenMRSVerhoeff_IsReversedStandard: core's validator equals standard
// Verhoeff over the reversed digits, with the check written A-J.
func TestOpenMRSVerhoeff_IsReversedStandard(t *testing.T) {
	om, std := mustLookup(t, "openmrs-verhoeff"), mustLookup(t, "verhoeff")
	for i := 0; i < 2000; i++ {
		p := []byte("00000000")
		x := uint32(i)*2654435761 + 12345
		for j := range p {
			p[j] = '0' + byte(x%10)
			x /= 10
		}
		rev := []byte(string(p))
		for a, b := 0, len(rev)-1; a < b; a, b = a+1, b-1 {
			rev[a], rev[b] = rev[b], rev[a]
		}
		oc, err1 := om.Check(string(p))
		sc, err2 := std.Check(string(rev))
		if err1 != nil || err2 != nil || oc[0]-'A' != sc[0]-'0' {
			t.Fatalf("%s: openmrs %q %v, standard of %s %q %v", p, oc, err1, rev, sc, err2)
		}
	}
}

func TestDammTable(t *testing.T) {
	for i := 0; i < 10; i++ {
		if dammTable[i][i] != 0 {
			t.Errorf("diagonal [%d][%d] = %d", i, i, dammTable[i][i])
		}
		var row, col [10]bool
		for j := 0; j < 10; j++ {
			row[dammTable[i][j]], col[dammTable[j][i]] = true, true
		}
		if row != [10]bool{true, true, true, true, true, true, true, true, true, true} || row != col {
			t.Errorf("row or column %d is not a permutation", i)
		}
	}
	// Totally anti-symmetric: (c∗x)∗y = (c∗y)∗x implies x = y.
	for c := 0; c < 10; c++ {
		for x := 0; x < 10; x++ {
			for y := 0; y < 10; y++ {
				if x != y && dammTable[dammTable[c][x]][y] == dammTable[dammTable[c][y]][x] {
					t.Errorf("not anti-symmetric at c=%d x=%d y=%d", c, x, y)
				}
			}
		}
	}
}

func TestSchemes_Errors(t *testing.T) {
	for _, tc := range []struct {
		name, scheme, op, in string
		want                 error  // ErrCheck or ErrLength, or nil for a *CharError
		char                 rune   // for *CharError
		pos                  int    // 0-based, for *CharError
		msg                  string // substring of the message
	}{
		{"letter in luhn", "luhn", "check", "12A4", nil, 'A', 2, `character 'A' at position 3 is not allowed by scheme luhn; expected one of 0123456789`},
		{"B not in mod 30", "luhn-mod-30", "check", "KLB001", nil, 'B', 2, "scheme luhn-mod-30"},
		{"0 not in mod 25", "luhn-mod-25", "check", "3407", nil, '0', 2, "'0'"},
		{"lower case is not normalised here", "luhn-mod-30", "check", "kla", nil, 'k', 0, "'k'"},
		{"non-ASCII counted in characters", "damm", "check", "1é2x", nil, 'é', 1, "position 2"},
		{"invalid UTF-8", "verhoeff", "check", "1\xff", nil, '\uFFFD', 1, "position 2"},
		{"space", "openmrs-luhn", "check", "ABC DEF", nil, ' ', 3, "' '"},
		{"underscore refused", "openmrs-luhn", "check", "AB_C", nil, '_', 2, "'_'"},
		{"empty payload", "luhn", "check", "", ErrLength, 0, 0, "at least one character"},
		{"verhoeff 7 digits", "openmrs-verhoeff", "check", "1234567", ErrLength, 0, 0, "exactly 8 characters before the check, got 7"},
		{"verhoeff 9 digits", "openmrs-verhoeff", "validate", "123456789-A", ErrLength, 0, 0, "got 9"},
		{"too short", "luhn", "validate", "1", ErrLength, 0, 0, "wrong length"},
		{"too short with separator", "openmrs-luhn", "validate", "-6", ErrLength, 0, 0, "wrong length"},
		{"typo", "luhn", "validate", "79927398710", ErrCheck, 0, 0, "probably a typo"},
		{"transposed", "damm", "validate", "7524", ErrCheck, 0, 0, "probably a typo"},
		{"numeric check refused by openmrs-verhoeff", "openmrs-verhoeff", "validate", "12345678-6", nil, '6', 9, "expected a check character, one of ABCDEFGHIJ"},
		{"missing dash", "openmrs-luhn", "validate", "12345666", nil, '6', 6, `expected "-" before the check`},
		{"check letter beyond J", "openmrs-luhn", "validate", "123456-K", nil, 'K', 7, "one of 0123456789ABCDEFGHIJ"},
		{"X only as mod 11-2 check", "iso7064-mod-11-2", "validate", "07X9", nil, 'X', 2, "'X'"},
		{"wrong mod 11-2 X", "iso7064-mod-11-2", "validate", "078X", ErrCheck, 0, 0, "typo"},
		{"mod 97-10 letter check", "iso7064-mod-97-10", "validate", "7944A", nil, 'A', 4, "check character"},
		{"mod 97-10 alias 00/97 refused", "iso7064-mod-97-10", "validate", "79445", ErrCheck, 0, 0, "typo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustLookup(t, tc.scheme)
			var err error
			if tc.op == "check" {
				_, err = s.Check(tc.in)
			} else {
				err = s.Validate(tc.in)
			}
			if err == nil {
				t.Fatalf("%s(%q) = nil error", tc.op, tc.in)
			}
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("%s(%q) = %v, want %v", tc.op, tc.in, err, tc.want)
				}
			} else {
				var ce *CharError
				if !errors.As(err, &ce) || ce.Char != tc.char || ce.Pos != tc.pos || ce.Scheme != tc.scheme {
					t.Fatalf("%s(%q) = %#v, want CharError %q at %d", tc.op, tc.in, err, tc.char, tc.pos)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s(%q) = %q, want it to contain %q", tc.op, tc.in, err, tc.msg)
			}
		})
	}
}

func TestCheckPrefix(t *testing.T) {
	err := CheckPrefix(mustLookup(t, "damm"), "KLA")
	var ce *CharError
	if !errors.As(err, &ce) || ce.Char != 'K' || !strings.Contains(err.Error(), "expected one of 0123456789") {
		t.Errorf("CheckPrefix(damm, KLA) = %v", err)
	}
	if err := CheckPrefix(mustLookup(t, "luhn-mod-30"), "KLA"); err != nil {
		t.Errorf("CheckPrefix(luhn-mod-30, KLA) = %v", err)
	}
}

// detectsEverySingle lists the schemes whose check catches every single
// substitution (TestDetectionRates_Known checks the list).
var detectsEverySingle = map[string]bool{
	"luhn": true, "luhn-mod-30": true, "verhoeff": true, "damm": true, "openmrs-verhoeff": true,
	"iso7064-mod-11-2": true, "iso7064-mod-97-10": true, "iso7064-mod-37-36": true,
}

// FuzzSchemes: for every scheme, a payload made of its alphabet round-trips
// through Generate and Validate; replacing one payload character by any
// byte never panics, gives only the documented errors, and is caught when
// the scheme detects every single substitution.
func FuzzSchemes(f *testing.F) {
	f.Add([]byte("12345678"), uint8(0), byte('9'))
	f.Add([]byte("KLA000001"), uint8(3), byte('B'))
	f.Add([]byte{0, 255, 17}, uint8(200), byte(0xff))
	f.Fuzz(func(t *testing.T, seed []byte, at uint8, sub byte) {
		if len(seed) == 0 || len(seed) > 64 {
			return
		}
		for _, s := range All() {
			alpha := s.Alphabet()
			n := len(seed)
			if s.PayloadLen() != 0 {
				n = s.PayloadLen()
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = alpha[int(seed[i%len(seed)])%len(alpha)]
			}
			id, err := Generate(s, string(p))
			if err != nil {
				t.Fatalf("%s: Generate(%q): %v", s.Name(), p, err)
			}
			if err := s.Validate(id); err != nil {
				t.Fatalf("%s: Validate(Generate(%q) = %q): %v", s.Name(), p, id, err)
			}
			i := int(at) % n
			orig := p[i]
			p[i] = sub
			bad := string(p) + id[n:]
			err = s.Validate(bad)
			var ce *CharError
			switch {
			case err == nil:
				if sub != orig && detectsEverySingle[s.Name()] {
					t.Fatalf("%s: %q -> %q not detected", s.Name(), id, bad)
				}
			case errors.Is(err, ErrCheck):
				if sub == orig {
					t.Fatalf("%s: unchanged %q refused", s.Name(), bad)
				}
			case errors.As(err, &ce):
				if strings.IndexByte(alpha, sub) >= 0 {
					t.Fatalf("%s: %q: CharError %v for an alphabet character", s.Name(), bad, err)
				}
			default:
				t.Fatalf("%s: Validate(%q) = %v", s.Name(), bad, err)
			}
		}
	})
}

// FuzzValidate: any input gives nil or one of the documented errors, never
// a panic; and what validates is its own canonical form.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"79927398713", "12345678-G", "123456-G", "-", "", "079X", "\xff\xfe", "A12425GABC1234002M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, s := range All() {
			err := s.Validate(in)
			var ce *CharError
			switch {
			case err == nil:
				r := []rune(in)
				payload := string(r[:len(r)-s.CheckLen()-len(s.Separator())])
				id, gerr := Generate(s, payload)
				if gerr != nil || s.Validate(id) != nil {
					t.Fatalf("%s: %q valid but its payload does not generate: %q %v", s.Name(), in, id, gerr)
				}
			case errors.Is(err, ErrCheck), errors.Is(err, ErrLength), errors.As(err, &ce):
			default:
				t.Fatalf("%s: Validate(%q) = %v", s.Name(), in, err)
			}
		}
	})
}
