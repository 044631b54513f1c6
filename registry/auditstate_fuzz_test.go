package registry

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseState: an audit row's state column comes from the file; any text
// is parsed or refused without panicking, and what stateEntry writes parses
// back to the same entries.
func FuzzParseState(f *testing.F) {
	f.Add("patients", "12", "abcdefghijklmnopqrstuv", "patients/1=x identifiers/KLA%2F1=- users/2=!y")
	f.Add("settings", "a b/c=d%", "-", "")
	f.Add("0", "0", "\u2000", "0/0=\u2000") // found by CI: U+2000 is white space to strings.Fields
	f.Fuzz(func(t *testing.T, table, key, digest, raw string) {
		parseState(raw, func(string, string, string) {})
		if table == "" || digest == "" || containsAny(table, "/ ") || containsAny(digest, "= ") {
			return // not what the writer produces: table names and digests are plain
		}
		b := stateEntry(nil, table, key, digest)
		n := 0
		err := parseState(string(b), func(tb, k, d string) {
			n++
			if tb != table || k != key || d != digest {
				t.Fatalf("round trip (%q,%q,%q) -> %q -> (%q,%q,%q)", table, key, digest, b, tb, k, d)
			}
		})
		if err != nil || n != 1 {
			t.Fatalf("%q: %d entries, %v", b, n, err)
		}
	})
}

func containsAny(s, chars string) bool {
	for _, c := range chars {
		for _, r := range s {
			if r == c {
				return true
			}
		}
	}
	return false
}

// FuzzReadChainKey: a key file is read or refused, never a panic, and only
// a 32-byte key with a registry id is accepted.
func FuzzReadChainKey(f *testing.F) {
	f.Add([]byte(keyFileHeader + "registry abc\nkey " + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" + "\n"))
	f.Add([]byte("key !!!\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "k")
		os.WriteFile(p, b, 0o600)
		k, err := ReadChainKey(p)
		if err == nil && (len(k.Secret) != 32 || k.Registry == "") {
			t.Fatalf("accepted %+v", k)
		}
	})
}
