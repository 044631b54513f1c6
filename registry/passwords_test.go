package registry

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestLockFor(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{0, 0}, {4, 0}, {5, time.Minute}, {6, 2 * time.Minute}, {10, 32 * time.Minute}, {11, time.Hour}, {1000, time.Hour}} {
		if got := lockFor(tc.n); got != tc.want {
			t.Errorf("lockFor(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestParsePHC_Rejects(t *testing.T) {
	good, err := hashPassword("a long password", Argon2Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	for _, tc := range []struct{ name, phc, msg string }{
		{"Empty", "", "not an argon2id"},
		{"Argon2i", strings.Replace(good, "argon2id", "argon2i", 1), "not an argon2id"},
		{"Version", strings.Replace(good, "v=19", "v=16", 1), "version"},
		{"HugeMemory", strings.Replace(good, "m=64", "m=4294967295", 1), "out of range"},
		{"ZeroThreads", strings.Replace(good, "p=1", "p=0", 1), "out of range"},
		{"Overflow", strings.Replace(good, "p=1", "p=99999999999", 1), "parameter"},
		{"TrailingJunk", strings.Replace(good, "p=1", "p=1x", 1), "parameter"},
		{"Reordered", strings.Replace(good, "m=64,t=1", "t=1,m=64", 1), "want m="},
		{"ShortSalt", strings.Join([]string{"", parts[1], parts[2], parts[3], "AAAA", parts[5]}, "$"), "salt"},
		{"PaddedKey", good + "==", "key"},
		{"ExtraField", good + "$x", "not an argon2id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := parsePHC(tc.phc)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("parsePHC(%q) = %v, want error containing %q", tc.phc, err, tc.msg)
			}
		})
	}
}

// FuzzParsePHC: a stored hash comes from a file anyone with file access
// could edit; parsing must never panic or accept out-of-bounds parameters,
// and what it accepts must re-encode to the same string.
func FuzzParsePHC(f *testing.F) {
	good, _ := hashPassword("a long password", Argon2Params{Memory: 64, Time: 1, Threads: 1})
	f.Add(good)
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Fuzz(func(t *testing.T, phc string) {
		p, salt, key, err := parsePHC(phc)
		if err != nil {
			return
		}
		if p.Memory < 8 || p.Memory > maxArgonMemory || p.Time < 1 || p.Time > maxArgonTime || p.Threads < 1 || p.Threads > maxArgonThreads {
			t.Fatalf("accepted out-of-range %+v", p)
		}
		if len(salt) < 8 || len(key) < 16 {
			t.Fatalf("accepted short salt/key")
		}
	})
}

// FuzzCheckPassword: any input gets a verdict without panicking; accepted
// passwords obey the rules.
func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"", "password", "correct horse battery", "alice-alice-alice", "\xff\xfe0123456789", strings.Repeat("é", 300)} {
		f.Add("alice", s)
	}
	f.Add("bob", "\ufdfa") // one rune, 18 after NFKC
	f.Fuzz(func(t *testing.T, user, pw string) {
		if CheckPassword(user, pw) != nil {
			return
		}
		if !utf8.ValidString(pw) {
			t.Fatalf("accepted invalid UTF-8 %q", pw)
		}
		pw = norm.NFKC.String(pw)
		if false || utf8.RuneCountInString(pw) < MinPasswordLen || len(pw) > maxPasswordLen {
			t.Fatalf("accepted %q", pw)
		}
		if u := strings.ToLower(strings.TrimSpace(user)); utf8.RuneCountInString(u) >= 3 && strings.Contains(strings.ToLower(pw), u) {
			t.Fatalf("accepted %q containing user name %q", pw, user)
		}
	})
}

// FuzzUsername: accepted names are canonical, lower-case, and can never be
// mistaken for os:/token:/system: actors in the audit trail.
func FuzzUsername(f *testing.F) {
	for _, s := range []string{"alice", "Alice ", "os:alice", "a", "j.doe-2", "ünïcode", strings.Repeat("a", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u := normUsername(in)
		if checkUsername(u) != nil {
			return
		}
		if strings.ContainsAny(u, ": \t\n") || u != strings.ToLower(u) || len(u) < 2 || len(u) > 32 || normUsername(u) != u {
			t.Fatalf("accepted %q -> %q", in, u)
		}
	})
}

// BenchmarkArgon2idVerify is the cost of one sign-in check with the
// default parameters (the figure quoted in docs/security.md).
func BenchmarkArgon2idVerify(b *testing.B) {
	h, err := hashPassword("correct horse battery", DefaultArgon2())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ok, _, err := checkPasswordHash(h, "correct horse battery")
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestCheckPassword_Strength: long but weak passwords are refused with the
// reason; a few words pass.
func TestCheckPassword_Strength(t *testing.T) {
	for _, tc := range []struct {
		pw, why string // why: "" accepted
	}{
		{"aaaaaaaaaa", `repeats "aaaaaaaaaa"`},
		{"          ", "only spaces"},
		{"qwertyuiop", "commonly used"}, // the embedded list catches it first
		{"zxcvbnmasdfgh", `"zxcvbnm" is one of the most used passwords`},
		{"abcdefghijkl", "sequence"},
		{"alice12345678", ""}, // user name check comes first: see below
		{"Sunshine19901990", "1990"},
		{"correct horse battery", ""},
		{"okot green lake morning", ""},
		{"river chalk window seven", ""},
	} {
		t.Run(tc.pw, func(t *testing.T) {
			err := CheckPassword("bob", tc.pw)
			if tc.why == "" {
				if err != nil && tc.pw != "alice12345678" {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want the reason %q", err, tc.why)
			}
		})
	}
	if err := CheckPassword("alice", "alicealicealice"); err == nil {
		t.Fatal("the user name as password accepted")
	}
}
