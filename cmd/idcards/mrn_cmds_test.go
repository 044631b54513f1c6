package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestMrnCmds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		want    []string // lines of stdout, in order, each a prefix match with blanks collapsed
		wantOut string   // exact stdout, when set
		errMsg  string   // substring of the returned error; "" = success
		exit    int      // exit status carried by exitError, 0 = none
	}{
		{name: "compute luhn", args: []string{"mrn", "compute", "--scheme", "luhn", "7992739871"}, wantOut: "79927398713\n"},
		{name: "compute several, upper-cased", args: []string{"mrn", "compute", "--scheme", "luhn-mod-30", "kla000001", "10000"}, wantOut: "KLA000001" + "" + checkOf(t, "luhn-mod-30", "KLA000001") + "\n10000X\n"},
		{name: "compute from stdin, blank lines skipped", args: []string{"mrn", "compute", "--scheme", "damm"}, stdin: "572\n\n236\r\n", wantOut: "5724\n2361\n"},
		{name: "compute openmrs-luhn has a dash", args: []string{"mrn", "compute", "--scheme", "openmrs-luhn", "123456"}, wantOut: "123456-6\n"},
		{name: "compute openmrs-verhoeff", args: []string{"mrn", "compute", "--scheme", "openmrs-verhoeff", "12345678"}, wantOut: "12345678-G\n"},
		{name: "compute mod 97-10", args: []string{"mrn", "compute", "--scheme", "iso7064-mod-97-10", "794"}, wantOut: "79444\n"},
		{name: "compute bad character", args: []string{"mrn", "compute", "--scheme", "luhn-mod-30", "KLB1"}, errMsg: `KLB1: character 'B' at position 3 is not allowed by scheme luhn-mod-30`},
		{name: "compute wrong length", args: []string{"mrn", "compute", "--scheme", "openmrs-verhoeff", "1234"}, errMsg: "exactly 8 characters before the check, got 4"},
		{name: "compute unknown scheme", args: []string{"mrn", "compute", "--scheme", "mod10", "1"}, errMsg: `unknown check-digit scheme "mod10" (known: damm,`},
		{name: "compute needs --scheme", args: []string{"mrn", "compute", "1"}, errMsg: `required flag(s) "scheme" not set`},
		{name: "validate ok", args: []string{"mrn", "validate", "--scheme", "luhn", "79927398713"}, wantOut: "79927398713\tok\n"},
		{name: "validate normalises", args: []string{"mrn", "validate", "--scheme", "openmrs-verhoeff", "]C0 1234-5678 g"}, wantOut: "]C0 1234-5678 g\tok\n"},
		{name: "validate letter form of openmrs-luhn", args: []string{"mrn", "validate", "--scheme", "openmrs-luhn", "123456-G", "1234566"}, wantOut: "123456-G\tok\n1234566\tok\n"},
		{name: "validate typo exits 1", args: []string{"mrn", "validate", "--scheme", "luhn", "79927398713", "79927398710"},
			wantOut: "79927398713\tok\n79927398710\tinvalid: wrong check character (probably a typo)\n", exit: 1},
		{name: "validate numeric check refused by openmrs-verhoeff", args: []string{"mrn", "validate", "--scheme", "openmrs-verhoeff", "12345678-6"},
			want: []string{"12345678-6\tinvalid: character '6' at position 10 is not allowed by scheme openmrs-verhoeff; expected a check character, one of ABCDEFGHIJ"}, exit: 1},
		{name: "validate too short", args: []string{"mrn", "validate", "--scheme", "iso7064-mod-97-10", "12"}, wantOut: "12\tinvalid: too short to hold a check character\n", exit: 1},
		{name: "validate from stdin", args: []string{"mrn", "validate", "--scheme", "iso7064-mod-11-2"}, stdin: "079X\n0794\n",
			wantOut: "079X\tok\n0794\tinvalid: wrong check character (probably a typo)\n", exit: 1},
		{name: "schemes", args: []string{"mrn", "schemes"}, want: []string{
			"scheme  alphabet   single  adjacent     twin     jump",
			"damm        10  100.00%   100.00%",
			"iso7064-mod-11-2        10  100.00%   100.00%  100.00%  100.00%",
			"iso7064-mod-37-36        36  100.00%",
			"iso7064-mod-97-10        10  100.00%   100.00%  100.00%  100.00%",
			"luhn        10  100.00%    97.78%   93.33%    0.00%",
			"luhn-mod-25        25   98.00%",
			"luhn-mod-30        30  100.00%    99.77%",
			"openmrs-luhn        36",
			"openmrs-verhoeff        10  100.00%   100.00%",
			"verhoeff        10  100.00%   100.00%   95.56%   94.22%",
		}},
		{name: "schemes --length 1 has no pairs", args: []string{"mrn", "schemes", "--length", "1"}, want: []string{
			"scheme  alphabet   single  adjacent     twin     jump",
			"damm        10  100.00%       n/a      n/a      n/a",
		}},
		{name: "schemes --length 0", args: []string{"mrn", "schemes", "--length", "0"}, errMsg: "--length 0: must be 1 to 32"},
		{name: "schemes --length too long", args: []string{"mrn", "schemes", "--length", "1000"}, errMsg: "must be 1 to 32"},
		{name: "schemes takes no arguments", args: []string{"mrn", "schemes", "luhn"}, errMsg: "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, strings.NewReader(tc.stdin), &out, &errOut, func(string) string { return "" })
			var ee exitError
			switch {
			case tc.errMsg != "":
				if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.errMsg)
				}
				return
			case tc.exit != 0:
				if !errors.As(err, &ee) || ee.code != tc.exit {
					t.Fatalf("err = %v, want exit status %d", err, tc.exit)
				}
			case err != nil:
				t.Fatalf("err = %v (stderr %q)", err, errOut.String())
			}
			if tc.wantOut != "" && out.String() != tc.wantOut {
				t.Errorf("stdout = %q, want %q", out.String(), tc.wantOut)
			}
			lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
			for i, w := range tc.want {
				if i >= len(lines) || !strings.HasPrefix(words(lines[i]), words(w)) {
					t.Errorf("line %d = %q, want prefix %q\nstdout:\n%s", i, safeLine(lines, i), w, out.String())
				}
			}
		})
	}
}

// words collapses runs of blanks, so tests do not depend on column widths.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

func safeLine(l []string, i int) string {
	if i < len(l) {
		return l[i]
	}
	return "<missing>"
}

func checkOf(t *testing.T, scheme, payload string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"mrn", "compute", "--scheme", scheme, payload}, strings.NewReader(""), &out, &out, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(strings.TrimSpace(out.String()), payload)
}
