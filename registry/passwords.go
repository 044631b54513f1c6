package registry

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idcards/idcards"
	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Argon2Params is the cost of one password hash. Each stored hash carries
// its own parameters (PHC string), so the cost can be raised later: a user
// whose hash is weaker than Store.Argon2 is rehashed at the next sign-in.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2 is OWASP's Argon2id suggestion for an interactive sign-in
// on a desk PC: 64 MiB, 3 passes, 2 lanes (about 0.1 s). A function, not a
// variable, so nothing can change it behind every Store's back.
func DefaultArgon2() Argon2Params { return Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2} }

const (
	argonSaltLen = 16
	argonKeyLen  = 32
	// MinPasswordLen follows NIST SP 800-63B's advice to prefer length over
	// composition rules; 10 is what a desk clerk can still type quickly.
	MinPasswordLen = 10
	maxPasswordLen = 256 // argon2 would hash more, but nobody types more
)

func (p Argon2Params) orDefault() Argon2Params {
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return DefaultArgon2()
	}
	return p
}

// weakerThan reports whether a hash made with p costs less than want in any
// dimension.
func (p Argon2Params) weakerThan(want Argon2Params) bool {
	return p.Memory < want.Memory || p.Time < want.Time || p.Threads < want.Threads
}

// passwordBytes is what gets hashed: the password in Unicode NFKC, as NIST
// SP 800-63B advises, so "é" typed as one code point on one desk and as
// e + combining accent on another is the same password.
func passwordBytes(password string) []byte { return []byte(norm.NFKC.String(password)) }

// hashPassword returns a PHC string:
// $argon2id$v=19$m=65536,t=3,p=2$<salt b64>$<hash b64> (unpadded base64).
func hashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("registry: password salt: %w", err)
	}
	key := argon2.IDKey(passwordBytes(password), salt, p.Time, p.Memory, p.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Bounds on a stored hash's parameters. A hash comes from the registry
// file, which an attacker with file access could edit; without bounds a
// crafted m=4294967295 would make the next sign-in allocate 4 TiB.
const (
	maxArgonMemory  = 1 << 20 // KiB = 1 GiB
	maxArgonTime    = 64
	maxArgonThreads = 64
)

// parsePHC splits a stored hash into its parameters, salt and key. It
// accepts exactly what hashPassword writes (any parameters within bounds):
// $argon2id$v=19$m=M,t=T,p=P$salt$key with unpadded standard base64.
func parsePHC(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	bad := func(what string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, fmt.Errorf("registry: password hash: %s", what)
	}
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id PHC string")
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return bad(fmt.Sprintf("unsupported argon2 version %q", parts[2]))
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad(fmt.Sprintf("parameters %q: want m=..,t=..,p=..", parts[3]))
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		num, ok := strings.CutPrefix(kv[i], name)
		if !ok || num == "" || (len(num) > 1 && num[0] == '0') {
			return bad(fmt.Sprintf("parameters %q: want m=..,t=..,p=..", parts[3]))
		}
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return bad(fmt.Sprintf("parameter %q", kv[i]))
		}
		vals[i] = v
	}
	if vals[0] < 8 || vals[0] > maxArgonMemory || vals[1] < 1 || vals[1] > maxArgonTime || vals[2] < 1 || vals[2] > maxArgonThreads {
		return bad(fmt.Sprintf("parameters %q out of range", parts[3]))
	}
	p = Argon2Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return bad("salt is not 8 to 64 bytes of unpadded base64")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return bad("key is not 16 to 64 bytes of unpadded base64")
	}
	return p, salt, key, nil
}

// checkPasswordHash compares in constant time. It returns the parameters the
// hash was made with so the caller can decide to rehash.
func checkPasswordHash(phc, password string) (bool, Argon2Params, error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, p, err
	}
	got := argon2.IDKey(passwordBytes(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, p, nil
}

// dummyCheck spends what a real check costs, so a sign-in with an unknown
// user name takes as long as one with a wrong password and does not reveal
// which accounts exist.
func dummyCheck(password string, p Argon2Params) {
	var salt [argonSaltLen]byte
	argon2.IDKey(passwordBytes(password), salt[:], p.Time, p.Memory, p.Threads, argonKeyLen)
}

//go:embed passwords/common.txt
var commonFS embed.FS

// commonPasswords reads the embedded list. It is parsed on each call rather
// than cached in a package variable: there is no package-level mutable state,
// and passwords are set rarely.
func isCommonPassword(pw string) bool {
	f, err := commonFS.Open("passwords/common.txt")
	if err != nil {
		return false
	}
	defer f.Close()
	want := strings.ToLower(pw)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ToLower(line) == want {
			return true
		}
	}
	return false
}

// CheckPassword applies the password rules without storing anything, so a
// front end can refuse a weak password before it creates anything: valid
// UTF-8, at least MinPasswordLen characters and at most 256 bytes, not
// containing the user name (names of 3 or more characters; a 2-letter name
// only as the whole password), not on the embedded list of common
// passwords, and strong enough by zxcvbn's estimate (MinPasswordScore; the
// error says why not). Composition rules are deliberately absent (NIST SP
// 800-63B).
func CheckPassword(username, password string) error {
	if !utf8.ValidString(password) {
		return idcards.Errorf(idcards.Invalid, "password is not valid UTF-8")
	}
	password = norm.NFKC.String(password)
	n := utf8.RuneCountInString(password)
	lower, name := strings.ToLower(password), strings.ToLower(strings.TrimSpace(username))
	switch {
	case n < MinPasswordLen:
		return idcards.Errorf(idcards.Invalid, "password too short: %d characters, at least %d (a few words make a good one)", n, MinPasswordLen)
	case len(password) > maxPasswordLen:
		return idcards.Errorf(idcards.Invalid, "password too long: at most %d bytes", maxPasswordLen)
	case name != "" && (strings.TrimSpace(lower) == name || (utf8.RuneCountInString(name) >= 3 && strings.Contains(lower, name))):
		return idcards.Errorf(idcards.Invalid, "password must not contain the user name")
	case isCommonPassword(password):
		return idcards.Errorf(idcards.Invalid, "that password is on the list of commonly used passwords; choose another")
	}
	return passwordStrength(name, password) // passwords_strength.go: zxcvbn, MinPasswordScore
}
