package registry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

var rulesNow = time.Date(2026, 5, 31, 10, 0, 0, 0, time.UTC)

// TestNewPatient_Validate is the registration rule set of issue 14 item
// 19, shared by the CLI, the desk screen, edits and (without the birth
// date requirement) import.
func TestNewPatient_Validate(t *testing.T) {
	ok := registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-04-12"}
	long := strings.Repeat("a", idcards.MaxNameRunes)
	for _, tc := range []struct {
		name string
		edit func(*registry.NewPatient)
		want string // "" = accepted
	}{
		{"ordinary", func(*registry.NewPatient) {}, ""},
		{"A B with a birth date", func(p *registry.NewPatient) { p.GivenName, p.FamilyName = "A", "B" }, ""},
		{"no birth date nor age", func(p *registry.NewPatient) { p.BirthDate = "" }, "a date of birth or an age is needed"},
		{"blank birth date", func(p *registry.NewPatient) { p.BirthDate = "  " }, "a date of birth or an age is needed"},
		{"no name", func(p *registry.NewPatient) { p.GivenName, p.FamilyName = " ", "" }, "a name is needed"},
		{"family name only", func(p *registry.NewPatient) { p.GivenName = "" }, ""},
		{"50 characters", func(p *registry.NewPatient) { p.GivenName = long }, ""},
		{"51 characters", func(p *registry.NewPatient) { p.GivenName = long + "b" }, "given name is 51 characters long; at most 50"},
		{"300 characters", func(p *registry.NewPatient) { p.FamilyName = strings.Repeat("x", 300) }, "family name is 300 characters long"},
		{"50 accented characters are 50", func(p *registry.NewPatient) { p.GivenName = strings.Repeat("é", 50) }, ""},
		{"decomposed accents count once", func(p *registry.NewPatient) { p.GivenName = strings.Repeat("e\u0301", 50) }, ""},
		{"digit", func(p *registry.NewPatient) { p.GivenName = "Am1na" }, `given name "Am1na" contains a digit`},
		{"digits only", func(p *registry.NewPatient) { p.FamilyName = "12345" }, "contains a digit"},
		{"emoji", func(p *registry.NewPatient) { p.GivenName = "Amina 😀" }, "given name contains an emoji"},
		{"emoji with selector", func(p *registry.NewPatient) { p.FamilyName = "Nakato ❤️" }, "family name contains an emoji"},
		{"flag", func(p *registry.NewPatient) { p.FamilyName = "Nakato 🇺🇬" }, "family name contains an emoji"},
		{"control character", func(p *registry.NewPatient) { p.GivenName = "Ami\x07na" }, "given name contains a control or invisible character"},
		{"bidi override", func(p *registry.NewPatient) { p.GivenName = "Ami\u202ena" }, "control or invisible character"},
		{"no letter", func(p *registry.NewPatient) { p.GivenName = "-.-" }, `given name "-.-" has no letter`},
		{"symbol", func(p *registry.NewPatient) { p.GivenName = "Amina$" }, `contains '$', which a name cannot hold`},
		{"apostrophes and hyphen", func(p *registry.NewPatient) { p.GivenName, p.FamilyName = "N’Diaye-O'Brien", "Ng´ang´a" }, ""},
		{"initials and suffix", func(p *registry.NewPatient) { p.GivenName = "J. R., Jr" }, ""},
		{"other scripts", func(p *registry.NewPatient) { p.GivenName, p.FamilyName = "Łukasz Ngũgĩ", "Нсеке ንሰከ" }, ""},
		{"Adlam letters (outside the BMP; the card has a fallback font)", func(p *registry.NewPatient) { p.GivenName = "\U0001E900\U0001E923\U0001E924" }, ""},
		{"invalid UTF-8", func(p *registry.NewPatient) { p.GivenName = "Am\xffna" }, "invalid character"},
		{"future birth date", func(p *registry.NewPatient) { p.BirthDate = "2026-06-01" }, "in the future"},
		{"not a date", func(p *registry.NewPatient) { p.BirthDate = "12/04/1990" }, "is not a date"},
		{"131 years", func(p *registry.NewPatient) { p.BirthDate = "1895-01-01" }, "more than 130 years"},
		{"bad sex", func(p *registry.NewPatient) { p.Sex = "X" }, "use M, F, O or U"},
		{"phone letters", func(p *registry.NewPatient) { p.Phone = "07-CALL-ME" }, "only digits"},
		{"village emoji", func(p *registry.NewPatient) { p.Village = "Kireka 🏠" }, "village contains an emoji"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			err := p.Validate(rulesNow)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			case err != nil && idcards.ErrorKind(err) != idcards.Invalid:
				t.Fatalf("kind %v, want Invalid", idcards.ErrorKind(err))
			}
		})
	}
}

func TestNewPatient_ValidateNormalises(t *testing.T) {
	p := registry.NewPatient{GivenName: "  Zoe\u0301   Ann ", FamilyName: "\tNakato\u00a0 ", Sex: "female", BirthDate: "1990-01-01"}
	if err := p.Validate(rulesNow); err != nil {
		t.Fatal(err)
	}
	if p.GivenName != "Zoé Ann" || p.FamilyName != "Nakato" || p.Sex != idcards.SexFemale {
		t.Errorf("normalised to %q %q %q", p.GivenName, p.FamilyName, p.Sex)
	}
}

// TestNewPatient_ValidateRecord: import keeps legacy rows without a birth
// date, every other rule applies.
func TestNewPatient_ValidateRecord(t *testing.T) {
	p := registry.NewPatient{GivenName: "Okello", FamilyName: "John"}
	if err := p.ValidateRecord(rulesNow); err != nil {
		t.Errorf("legacy row without birth date refused: %v", err)
	}
	p.GivenName = "Okello 2"
	if err := p.ValidateRecord(rulesNow); err == nil {
		t.Error("digit in a legacy name accepted")
	}
}

func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"34", "1992-07-01", ""},
		{"34y", "1992-07-01", ""},
		{" 34 Years ", "1992-07-01", ""},
		{"0", "2026-05-31", ""}, // 1 July would be after today
		{"130", "1896-07-01", ""},
		{"131", "", "must be 0 to 130"},
		{"1975", "", "looks like a year of birth: type the age"},
		{"1y6m", "2024-11-30", ""},
		{"1 year 6 months", "2024-11-30", ""},
		{"2m 1w", "2026-03-24", ""},
		{"1y, 2d", "2025-05-29", ""},
		{"3m3m", "", "type years"},
		{"3 4", "", "type years"},
		{"m3", "", "type years"},
		{"3m", "2026-02-28", ""}, // 31 May - 3 months: the end of February
		{"3 months", "2026-02-28", ""},
		{"14M", "2025-03-31", ""},
		{"6w", "2026-04-19", ""},
		{"6 weeks", "2026-04-19", ""},
		{"10d", "2026-05-21", ""},
		{"1 day", "2026-05-30", ""},
		{"0d", "2026-05-31", ""},
		{"", "", "type years"},
		{"abc", "", "type years"},
		{"-3", "", "type years"},
		{"3.5", "", "type years"},
		{"3x", "", "type years"},
		{"99999999999", "", "type years"},
		{"2000m", "", "must be 0 to 130 years"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, est, err := registry.ParseAge(tc.in, rulesNow)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || idcards.ErrorKind(err) != idcards.Invalid {
					t.Fatalf("ParseAge(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want || !est {
				t.Fatalf("ParseAge(%q) = %q, %v, %v; want %q, estimated", tc.in, got, est, err, tc.want)
			}
		})
	}
}

// FuzzParseAge: never panics; an accepted age is an estimated date that
// Validate accepts (not in the future, at most 130 years back).
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"34", "34y", "3m", "6w", "10d", "0", "130", "1 year", "", "m", "999999", "12 weeks", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, est, err := registry.ParseAge(in, rulesNow)
		if err != nil {
			if idcards.ErrorKind(err) != idcards.Invalid {
				t.Fatalf("ParseAge(%q): error kind %v", in, idcards.ErrorKind(err))
			}
			return
		}
		if !est {
			t.Fatalf("ParseAge(%q) not estimated", in)
		}
		p := registry.NewPatient{GivenName: "A", BirthDate: d, BirthDateEstimated: est}
		if err := p.Validate(rulesNow); err != nil {
			t.Fatalf("ParseAge(%q) = %q, which Validate refuses: %v", in, d, err)
		}
	})
}

// FuzzValidate: never panics; an accepted record holds names of at most
// MaxNameRunes characters with a letter and no digit, and validating it
// again changes nothing (the normalisation is stable).
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"Amina", "N’Diaye-O'Brien", "Am1na", "😀", "e\u0301", " \t ", strings.Repeat("a", 51), "\xff", "Łukasz", "\u202e"} {
		f.Add(s, "Nakato", "1990-04-12")
	}
	f.Fuzz(func(t *testing.T, given, family, dob string) {
		p := registry.NewPatient{GivenName: given, FamilyName: family, Sex: "F", BirthDate: dob}
		if err := p.Validate(rulesNow); err != nil {
			if idcards.ErrorKind(err) != idcards.Invalid {
				t.Fatalf("error kind %v: %v", idcards.ErrorKind(err), err)
			}
			return
		}
		for _, n := range []string{p.GivenName, p.FamilyName} {
			if len([]rune(n)) > idcards.MaxNameRunes || strings.ContainsAny(n, "0123456789") {
				t.Fatalf("accepted name %q", n)
			}
		}
		q := p
		if err := q.Validate(rulesNow); err != nil || q != p {
			t.Fatalf("second Validate: %v, %+v != %+v", err, q, p)
		}
	})
}
