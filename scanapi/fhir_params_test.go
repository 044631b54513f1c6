package scanapi

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/idcards/idcards"
)

func TestParseSearch(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		strict  bool
		wantErr string // substring of the error; "" for success
		check   func(t *testing.T, q searchQuery)
	}{
		{name: "system and value", query: "identifier=urn:idcards:KLA|KLA000001D", check: func(t *testing.T, q searchQuery) {
			want := [][]token{{{System: "urn:idcards:KLA", HasSystem: true, Value: "KLA000001D"}}}
			if !reflect.DeepEqual(q.Identifiers, want) {
				t.Errorf("%+v", q.Identifiers)
			}
		}},
		{name: "bare value", query: "identifier=KLA000001D", check: func(t *testing.T, q searchQuery) {
			if q.Identifiers[0][0].HasSystem || q.Identifiers[0][0].Value != "KLA000001D" {
				t.Errorf("%+v", q.Identifiers)
			}
		}},
		{name: "no system", query: "identifier=|X", check: func(t *testing.T, q searchQuery) {
			if tk := q.Identifiers[0][0]; !tk.HasSystem || tk.System != "" || tk.Value != "X" {
				t.Errorf("%+v", tk)
			}
		}},
		{name: "OR and AND", query: "identifier=a|1,a|2&identifier=b|3", check: func(t *testing.T, q searchQuery) {
			if len(q.Identifiers) != 2 || len(q.Identifiers[0]) != 2 || q.Identifiers[1][0].Value != "3" {
				t.Errorf("%+v", q.Identifiers)
			}
		}},
		{name: "escapes", query: "identifier=" + url.QueryEscape(`urn:x\|y|a\,b\\c`), check: func(t *testing.T, q searchQuery) {
			if tk := q.Identifiers[0][0]; tk.System != "urn:x|y" || tk.Value != `a,b\c` {
				t.Errorf("%+v", tk)
			}
		}},
		{name: "domains", query: "identifier=urn:a|,urn:b|&family=X", check: func(t *testing.T, q searchQuery) {
			if !reflect.DeepEqual(q.Domains, []string{"urn:a", "urn:b"}) || len(q.Identifiers) != 0 {
				t.Errorf("%+v %+v", q.Domains, q.Identifiers)
			}
		}},
		{name: "value and domain mixed", query: "identifier=urn:a|1,urn:b|", wantErr: "mixes"},
		{name: "empty identifier", query: "identifier=", wantErr: "no value"},
		{name: "names", query: "family:exact=Nakato&given=%20Amina%20", check: func(t *testing.T, q searchQuery) {
			if *q.Family != (nameParam{"Nakato", true}) || *q.Given != (nameParam{"Amina", false}) || !q.Demographic() {
				t.Errorf("%+v %+v", q.Family, q.Given)
			}
		}},
		{name: "family twice", query: "family=A&family=B", wantErr: "one value"},
		{name: "family list", query: "family=A,B", wantErr: "one value"},
		{name: "family with and without exact", query: "family=A&family:exact=A", wantErr: "twice"},
		{name: "unsupported modifier", query: "given:contains=A", wantErr: "modifier"},
		{name: "identifier modifier", query: "identifier:of-type=a|b|c", wantErr: "modifier"},
		{name: "birthdate forms", query: "birthdate=1990&birthdate=ge1990-04&birthdate=le1990-04-12", check: func(t *testing.T, q searchQuery) {
			want := []dateParam{
				{Prefix: "eq", Lo: "1990-01-01", Hi: "1990-12-31", Raw: "1990"},
				{Prefix: "ge", Lo: "1990-04-01", Hi: "1990-04-31", Raw: "1990-04"},
				{Prefix: "le", Lo: "1990-04-12", Hi: "1990-04-12", Raw: "1990-04-12"},
			}
			if !reflect.DeepEqual(q.Birthdate, want) {
				t.Errorf("%+v", q.Birthdate)
			}
		}},
		{name: "birthdate not a date", query: "birthdate=1990-02-30", wantErr: "not a date"},
		{name: "birthdate time", query: "birthdate=1990-02-03T10:00:00Z", wantErr: "YYYY"},
		{name: "birthdate ap", query: "birthdate=ap1990", wantErr: "prefix"},
		{name: "gender", query: "gender=http://hl7.org/fhir/administrative-gender|female", check: func(t *testing.T, q searchQuery) {
			if q.Gender != idcards.SexFemale {
				t.Errorf("%q", q.Gender)
			}
		}},
		{name: "gender code", query: "gender=F", wantErr: "male, female"},
		{name: "active", query: "active=false&_id=abc-1", check: func(t *testing.T, q searchQuery) {
			if q.Active == nil || *q.Active || q.IDs[0][0] != "abc-1" {
				t.Errorf("%+v", q)
			}
		}},
		{name: "bad id", query: "_id=a%20b", wantErr: "not a FHIR id"},
		{name: "count capped", query: "_count=1000&_offset=40", check: func(t *testing.T, q searchQuery) {
			if q.Count != maxCount || q.Offset != 40 || q.Used.Get("_count") != "100" {
				t.Errorf("count %d offset %d used %v", q.Count, q.Offset, q.Used)
			}
		}},
		{name: "count default", query: "family=A", check: func(t *testing.T, q searchQuery) {
			if q.Count != defaultCount {
				t.Errorf("count %d", q.Count)
			}
		}},
		{name: "negative count", query: "_count=-1", wantErr: "whole number"},
		{name: "offset past the ranked", query: "_offset=101", wantErr: "at most"},
		{name: "unknown ignored", query: "address=x&_format=json&identifier=a", check: func(t *testing.T, q searchQuery) {
			if !reflect.DeepEqual(q.Ignored, []string{"address"}) || q.Used.Has("address") || q.Used.Has("_format") {
				t.Errorf("ignored %v used %v", q.Ignored, q.Used)
			}
		}},
		{name: "unknown strict", query: "address=x", strict: true, wantErr: "not supported"},
		{name: "too many repeats", query: strings.Repeat("identifier=a&", 11), wantErr: "at most"},
		{name: "value too long", query: "identifier=" + strings.Repeat("A", 300), wantErr: "over 256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q, perr := parseSearch(vals, tc.strict)
			switch {
			case tc.wantErr == "" && perr != nil:
				t.Fatalf("error %v", perr)
			case tc.wantErr != "" && perr == nil:
				t.Fatalf("no error, want %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(perr.Msg, tc.wantErr):
				t.Fatalf("error %q, want %q", perr.Msg, tc.wantErr)
			case perr != nil && perr.Status != 400:
				t.Fatalf("status %d", perr.Status)
			}
			if tc.check != nil {
				tc.check(t, q)
			}
		})
	}
}

func TestDateParam_Matches(t *testing.T) {
	tests := []struct {
		param  string
		lo, hi string
		want   bool
	}{
		{"1990", "1990-04-12", "1990-04-12", true},
		{"1990-04", "1990-05-01", "1990-05-01", false},
		{"ge1990-04-12", "1990-04-12", "1990-04-12", true},
		{"gt1990-04-12", "1990-04-12", "1990-04-12", false},
		{"lt1990", "1989-12-31", "1989-12-31", true},
		{"le1990", "1991-01-01", "1991-01-01", false},
		{"ne1990-04-12", "1990-04-13", "1990-04-13", true},
		{"1990-04-12", "1990-01-01", "1990-12-31", false}, // an estimated year is not that day
		{"1990", "1990-01-01", "1990-12-31", true},
		{"ge1990-06", "1990-01-01", "1990-12-31", true}, // the estimated year reaches June
	}
	for _, tc := range tests {
		d, err := parseDateParam(tc.param)
		if err != nil {
			t.Fatalf("%s: %v", tc.param, err)
		}
		if got := d.matches(tc.lo, tc.hi); got != tc.want {
			t.Errorf("%s matches [%s, %s] = %v, want %v", tc.param, tc.lo, tc.hi, got, tc.want)
		}
	}
}

// FuzzParseSearch: any query string either parses within the limits or is
// refused with a 4xx; a parsed search re-parsed from its own self link
// (Used) is the same search; tokens survive escaping.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{
		"identifier=urn:idcards:KLA|KLA000001D",
		"identifier=a|1,a|2&identifier=b|",
		`identifier=urn:x\|y|a\,b\\c`,
		"family:exact=Nakato&given=Amina&birthdate=ge1990-04&birthdate=le1991&gender=female&active=true&_count=5&_offset=10",
		"_id=abc,def&family=%00",
		"birthdate=eq2000-02-29",
		"gender=http://hl7.org/fhir/administrative-gender|other",
		"identifier=\\",
		"identifier=||||",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, strict bool) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, perr := parseSearch(vals, strict)
		if perr != nil {
			if perr.Status < 400 || perr.Status >= 500 || perr.Code == "" || perr.Msg == "" {
				t.Fatalf("bad refusal %+v", perr)
			}
			return
		}
		if q.Count < 0 || q.Count > maxCount || q.Offset < 0 || q.Offset > maxMatches {
			t.Fatalf("count %d offset %d out of bounds", q.Count, q.Offset)
		}
		for _, g := range q.Identifiers {
			for _, tk := range g {
				if tk.Value == "" {
					t.Fatalf("empty identifier value accepted: %q", raw)
				}
				if back := parseToken(tk.String()); back != tk {
					t.Fatalf("token %+v escaped as %q parses as %+v", tk, tk.String(), back)
				}
			}
		}
		for _, d := range q.Birthdate {
			if d.Lo > d.Hi || len(d.Lo) != 10 {
				t.Fatalf("date interval %+v", d)
			}
		}
		used := url.Values{}
		for k, v := range q.Used {
			used[k] = v
		}
		if q.Offset > 0 {
			used.Set("_offset", vals.Get("_offset"))
		}
		again, perr := parseSearch(used, true)
		if perr != nil {
			t.Fatalf("self link %v refused: %v", used, perr)
		}
		again.Used, q.Used = nil, nil
		q.Ignored = nil
		if !reflect.DeepEqual(again, q) {
			t.Fatalf("self link parses differently:\n%+v\n%+v", q, again)
		}
	})
}
