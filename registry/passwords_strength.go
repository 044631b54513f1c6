package registry

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/idcards/idcards"
	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
)

// MinPasswordScore is the least zxcvbn strength (0-4) a new password needs.
// Score 3 means an estimated 10^8 guesses or more: with Argon2id at about
// 0.1 s a guess, that is years of one computer's work for someone who stole
// the registry file, and far beyond what the lock-out lets anyone try at a
// desk. Length alone is not enough: "aaaaaaaaaa" and ten spaces passed the
// old length rule and score 0.
const MinPasswordScore = 3

// passwordStrength says whether pw is strong enough, and if not, why, in
// words a desk clerk can act on.
func passwordStrength(username, pw string) error {
	inputs := []string{"idcards", "registry", "clinic"}
	if username != "" {
		inputs = append(inputs, username)
	}
	r := zxcvbn.PasswordStrength(pw, inputs)
	if r.Score >= MinPasswordScore {
		return nil
	}
	return idcards.Errorf(idcards.Invalid, "password too easy to guess (strength %d of 4, at least %d needed): %s; a few unrelated words make a strong one, e.g. \"river chalk window seven\"",
		r.Score, MinPasswordScore, weakness(r.Sequence))
}

// weakness explains the weakest part zxcvbn found.
func weakness(seq []*match.Match) string {
	var why []string
	seen := map[string]bool{}
	add := func(k, s string) {
		if !seen[k] {
			seen[k] = true
			why = append(why, s)
		}
	}
	for _, m := range seq {
		tok := m.Token
		if utf8.RuneCountInString(tok) > 16 {
			tok = string([]rune(tok)[:16]) + "…"
		}
		switch m.Pattern {
		case "repeat":
			if strings.TrimSpace(m.Token) == "" {
				add("repeat", "it is only spaces")
			} else {
				add("repeat", fmt.Sprintf("it repeats %q, which is guessed first", tok))
			}
		case "sequence":
			add("sequence", fmt.Sprintf("%q is a sequence (like abcd or 1234)", tok))
		case "spatial":
			add("spatial", fmt.Sprintf("%q is a keyboard pattern (like qwerty)", tok))
		case "dictionary":
			switch {
			case m.DictionaryName == "passwords":
				add("dict:"+m.MatchedWord, fmt.Sprintf("%q is one of the most used passwords", tok))
			case m.DictionaryName == "user_inputs":
				add("dict:"+m.MatchedWord, fmt.Sprintf("%q is the user name or the program's name", tok))
			case strings.Contains(m.DictionaryName, "names"):
				add("dict:"+m.MatchedWord, fmt.Sprintf("%q is a common name", tok))
			default:
				add("dict:"+m.MatchedWord, fmt.Sprintf("%q is a common word", tok))
			}
			if m.Reversed {
				add("reversed", "a word spelt backwards is guessed too")
			}
			if m.L33t {
				add("l33t", "swapping letters for digits (p@ssw0rd) does not help")
			}
		case "date", "regex":
			add("date", fmt.Sprintf("%q is a date or a year", tok))
		}
	}
	if len(why) == 0 {
		return "it is too short for its kind of characters"
	}
	if len(why) > 2 {
		why = why[:2]
	}
	return strings.Join(why, "; ")
}
