package registry

import (
	"strings"
	"testing"
)

// The mirror holds canonical lower-case UUIDs as bytes and must give back
// exactly the stored text; anything else is left to the file.
func TestParseUUID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{"0F8FAD5B-D9CB-469F-A165-70867728950E", false}, // not canonical
		{"0f8fad5bd9cb469fa16570867728950e", false},
		{"0f8fad5b-d9cb-469f-a165-70867728950", false},
		{"0f8fad5b-d9cb-469f-a165-70867728950e0", false},
		{"0f8fad5b-d9cb-469f-a165_70867728950e", false},
		{"0f8fad5b-d9cb-469f-a165-7086772895ge", false},
		{"{f8fad5b-d9cb-469f-a165-70867728950e", false},
		{"", false},
	} {
		u, ok := parseUUID(tc.in)
		if ok != tc.ok {
			t.Errorf("parseUUID(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if ok && formatUUID(u) != tc.in {
			t.Errorf("formatUUID(parseUUID(%q)) = %q", tc.in, formatUUID(u))
		}
		if b, bok := parseUUID([]byte(tc.in)); bok != ok || b != u {
			t.Errorf("parseUUID([]byte(%q)) differs", tc.in)
		}
	}
}

// FuzzParseUUID: whatever the patients table holds, a UUID the mirror
// accepts formats back to the same text.
func FuzzParseUUID(f *testing.F) {
	f.Add("0f8fad5b-d9cb-469f-a165-70867728950e")
	f.Add(strings.Repeat("-", 36))
	f.Fuzz(func(t *testing.T, s string) {
		if u, ok := parseUUID(s); ok && formatUUID(u) != s {
			t.Fatalf("%q -> %q", s, formatUUID(u))
		}
	})
}
