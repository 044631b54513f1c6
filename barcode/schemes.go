package barcode

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// All returns every check-digit scheme, in a fixed order. Schemes are
// immutable values; each call returns new ones.
func All() []Scheme {
	return []Scheme{
		luhnScheme(),
		luhnMod30(),
		luhnMod25(),
		openmrsLuhn(),
		openmrsVerhoeff(openmrsVerhoeffLen),
		verhoeffScheme(),
		dammScheme(),
		iso7064Mod11_2(),
		iso7064Mod97_10(),
		iso7064Mod37_36(),
	}
}

const (
	digits       = "0123456789"
	alphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// automaton is a scheme's arithmetic as a finite-state machine: reading the
// payload left to right, symbol sym (its index in the alphabet) at position
// pos of an n-symbol payload moves the interim state, and the check is a
// function of the final state.
//
// Every scheme here has two properties that DetectionRates relies on (and
// its tests check against brute force): for fixed n, pos and sym, step is a
// permutation of the states (so two different interim states stay different
// to the end), and check is injective (so different final states give
// different checks). An error inside the payload is therefore detected if
// and only if the interim state just after the changed characters differs.
type automaton struct {
	states int // interim states are 0 .. states-1
	start  int
	step   func(n, pos, state, sym int) int
	check  func(state int) string
}

// scheme is one check-digit scheme: an alphabet, an automaton and the
// canonical form (separator, check characters).
type scheme struct {
	name       string
	alphabet   string // payload characters, upper case; index = symbol value
	payloadLen int    // 0 = any length ≥ 1
	checkLen   int
	sep        string
	// checkChars lists every character accepted in the check part,
	// including alternative spellings that alias maps to the canonical one.
	checkChars string
	alias      func(check string) string // nil: the check must be canonical
	m          automaton
}

func (s *scheme) Name() string      { return s.name }
func (s *scheme) Alphabet() string  { return s.alphabet }
func (s *scheme) PayloadLen() int   { return s.payloadLen }
func (s *scheme) CheckLen() int     { return s.checkLen }
func (s *scheme) Separator() string { return s.sep }

// Check returns the check character(s) for payload. Errors: *CharError for
// the first character outside the alphabet (position counted in
// characters), ErrLength (wrapped) for an empty payload or, for schemes of a
// fixed length, a payload of another length.
func (s *scheme) Check(payload string) (string, error) {
	n := 0
	for _, r := range payload {
		if r >= utf8.RuneSelf || strings.IndexByte(s.alphabet, byte(r)) < 0 {
			return "", &CharError{Scheme: s.name, Char: r, Pos: n, Want: "one of " + s.alphabet}
		}
		n++
	}
	switch {
	case n == 0:
		return "", fmt.Errorf("%w: scheme %s needs at least one character before the check", ErrLength, s.name)
	case s.payloadLen != 0 && n != s.payloadLen:
		return "", fmt.Errorf("%w: scheme %s needs exactly %d characters before the check, got %d", ErrLength, s.name, s.payloadLen, n)
	}
	return s.m.check(s.run(payload)), nil
}

// run feeds an all-valid payload through the automaton.
func (s *scheme) run(payload string) int {
	st := s.m.start
	for i := 0; i < len(payload); i++ {
		st = s.m.step(len(payload), i, st, strings.IndexByte(s.alphabet, payload[i]))
	}
	return st
}

// Validate checks id in canonical form: payload + separator + check.
func (s *scheme) Validate(id string) error {
	r := []rune(id)
	if min := 1 + len(s.sep) + s.checkLen; len(r) < min {
		return fmt.Errorf("%w: %d characters, scheme %s needs at least %d (payload, %s%d check character(s))", ErrLength, len(r), s.name, min, sepWord(s.sep), s.checkLen)
	}
	pl := len(r) - s.checkLen - len(s.sep)
	payload, sep, check := string(r[:pl]), r[pl:pl+len(s.sep)], r[pl+len(s.sep):]
	want, err := s.Check(payload)
	if err != nil {
		return err
	}
	for i, c := range sep {
		if c != rune(s.sep[i]) {
			return &CharError{Scheme: s.name, Char: c, Pos: pl + i, Want: fmt.Sprintf("%q before the check character", s.sep)}
		}
	}
	for i, c := range check {
		if c >= utf8.RuneSelf || strings.IndexByte(s.checkChars, byte(c)) < 0 {
			return &CharError{Scheme: s.name, Char: c, Pos: pl + len(s.sep) + i, Want: "a check character, one of " + s.checkChars}
		}
	}
	got := string(check)
	if s.alias != nil {
		got = s.alias(got)
	}
	if got != want {
		return ErrCheck
	}
	return nil
}

func sepWord(sep string) string {
	if sep == "" {
		return ""
	}
	return fmt.Sprintf("%q, ", sep)
}

// symbolCheck returns a check function that prints the final state as
// the alphabet symbol of value f(state).
func symbolCheck(alphabet string, f func(state int) int) func(int) string {
	return func(st int) string { return string(alphabet[f(st)]) }
}
