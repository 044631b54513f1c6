// Package barcode owns what is printed on and read from a card: the
// check-digit schemes that make a mistyped MRN detectable, the
// normalisation of scanned or typed input, and the rendering of barcode
// symbols.
package barcode

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Scheme computes and validates the check character(s) of an identifier.
//
// An identifier in canonical form is payload + Separator() + check, where
// check is CheckLen() characters. Payload characters must all be in
// Alphabet(); the check covers the whole payload (site prefix included), as
// OpenMRS's validators do.
type Scheme interface {
	// Name is the CLI's --scheme value, e.g. "luhn-mod-30".
	Name() string
	// Alphabet lists every character a payload may hold, upper-case.
	Alphabet() string
	// PayloadLen is the exact payload length the scheme demands, or 0 for any (≥ 1).
	PayloadLen() int
	// CheckLen is the number of check characters (2 for iso7064-mod-97-10, else 1).
	CheckLen() int
	// Separator is placed between payload and check in canonical form ("-" for
	// the OpenMRS core validators, "" otherwise).
	Separator() string
	// Check returns the check character(s) for payload, or an error naming
	// the first character outside the alphabet (*CharError) or a wrong length.
	Check(payload string) (string, error)
	// Validate checks an identifier in canonical form. It returns nil, ErrCheck
	// (wrapped) when only the check character is wrong, *CharError for a
	// character outside the alphabet, or ErrLength.
	Validate(id string) error
}

// Errors returned by schemes; test with errors.Is / errors.As.
var (
	// ErrCheck means every character is allowed but the check character does
	// not match: almost always a typo.
	ErrCheck = errors.New("wrong check character (probably a typo)")
	// ErrLength means the identifier or payload has the wrong length.
	ErrLength = errors.New("wrong length")
)

// CharError reports a character outside the scheme's alphabet.
type CharError struct {
	Scheme string
	Char   rune
	Pos    int // 0-based position in the input, counted in characters (runes)
	// Want says what the scheme accepts at that position, e.g. "one of
	// ABCDEFGHIJ"; empty when there is nothing useful to add.
	Want string
}

func (e *CharError) Error() string {
	msg := fmt.Sprintf("character %q at position %d is not allowed by scheme %s", e.Char, e.Pos+1, e.Scheme)
	if e.Want != "" {
		msg += "; expected " + e.Want
	}
	return msg
}

// Generate returns the canonical identifier for payload under s.
func Generate(s Scheme, payload string) (string, error) {
	c, err := s.Check(payload)
	if err != nil {
		return "", err
	}
	return payload + s.Separator() + c, nil
}

// Lookup returns the scheme with the given name.
func Lookup(name string) (Scheme, error) {
	for _, s := range All() {
		if s.Name() == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown check-digit scheme %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the scheme names, sorted.
func Names() []string {
	var n []string
	for _, s := range All() {
		n = append(n, s.Name())
	}
	sort.Strings(n)
	return n
}

// CheckPrefix reports an error if prefix holds a character outside s's
// alphabet (init refuses such a prefix: the check must cover it).
func CheckPrefix(s Scheme, prefix string) error {
	alpha := s.Alphabet()
	i := 0
	for _, r := range prefix {
		if !strings.ContainsRune(alpha, r) {
			return &CharError{Scheme: s.Name(), Char: r, Pos: i, Want: "one of " + alpha}
		}
		i++
	}
	return nil
}
