package registry

// The registration rules every entry point shares (CLI, desk screen,
// import, edits): what a name may hold, how long it may be, and how an age
// typed at the desk becomes an estimated birth date. Messages are written
// for a clerk: they name the field and say what to type instead.

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/idcards/idcards"
	"golang.org/x/text/unicode/norm"
)

// checkName applies the name rules to one normalised name part: at most
// idcards.MaxNameRunes characters (what the card prints), at least one
// letter, and only letters (with their accents), spaces, hyphens,
// apostrophes and full stops. Digits, emoji, symbols, control and invisible
// characters are refused, each with its own message.
func checkName(field, v string) error {
	if n := utf8.RuneCountInString(v); n > idcards.MaxNameRunes {
		return idcards.Errorf(idcards.Invalid, "%s is %d characters long; at most %d fit on the card: shorten it (e.g. initials for middle names)", field, n, idcards.MaxNameRunes)
	}
	letter := false
	for _, r := range v {
		switch {
		case r == utf8.RuneError:
			return idcards.Errorf(idcards.Invalid, "%s contains an invalid character (not UTF-8 text): type it again", field)
		case isEmoji(r):
			return idcards.Errorf(idcards.Invalid, "%s contains an emoji or picture symbol (%c): a name may only hold letters, spaces, hyphens, apostrophes and full stops", field, r)
		case unicode.IsLetter(r):
			letter = true
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			// accents and vowel signs written as combining characters
		case r == ' ' || strings.ContainsRune(namePunct, r):
		case r == 0x200C || r == 0x200D:
			// zero-width (non-)joiners belong to Persian and Indic spellings
		case unicode.IsNumber(r):
			return idcards.Errorf(idcards.Invalid, "%s %q contains a digit (%c): a name is letters only; numbers (a phone, an ID) have their own fields", field, v, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) || unicode.Is(unicode.Cs, r) || unicode.Is(unicode.Cn, r):
			return idcards.Errorf(idcards.Invalid, "%s contains a control or invisible character (U+%04X): type the name again", field, r)
		default:
			return idcards.Errorf(idcards.Invalid, "%s %q contains %q, which a name cannot hold: use letters, spaces, hyphens (-), apostrophes ('), full stops (.) and commas", field, v, r)
		}
	}
	if !letter {
		return idcards.Errorf(idcards.Invalid, "%s %q has no letter in it: type the name", field, v)
	}
	return nil
}

// namePunct is the punctuation names carry: hyphens, apostrophes in their
// several spellings (O'Brien, N’Diaye, Ng´ang´a), full stops of initials,
// the comma of a suffix ("Okello, Jr") that old registers carry.
const namePunct = "-'’‘ʼ´`.,"

// isEmoji reports pictographs, their modifiers and presentation selectors.
// Most emoji are category So (other symbol); skin tones are Sk; the
// variation selectors and the keycap are marks, so they are caught here
// before marks are let through.
func isEmoji(r rune) bool {
	switch {
	case unicode.Is(unicode.So, r):
		return true
	case r >= 0x1F000 && r <= 0x1FAFF, r >= 0x2600 && r <= 0x27BF:
		return true
	case r == 0xFE0E || r == 0xFE0F || r == 0x20E3:
		return true
	case r >= 0xE0020 && r <= 0xE007F: // tag characters of flag sequences
		return true
	}
	return false
}

// normName is how a name part is stored: Unicode NFC (so "é" typed as e +
// accent counts and compares as one character) and single spaces.
func normName(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

// ParseAge turns an age typed at the desk into an estimated birth date.
// It accepts whole years ("34", "34y", "34 years") and, for infants,
// months ("3m", "3 months"), weeks ("6w") and days ("10d"), also combined
// ("1y6m", "1 year 6 months", "2m 1w"); units may be spelled out and any
// case. Years alone give 1 July of the birth year (the custom of
// registration desks; only the year is meaningful, and never a date after
// today); an age with months, weeks or days gives the date that long
// before today. estimated is always true: an age is never an exact date.
func ParseAge(s string, now time.Time) (birthDate string, estimated bool, err error) {
	in := strings.ToLower(strings.TrimSpace(s))
	bad := func() (string, bool, error) {
		return "", false, idcards.Errorf(idcards.Invalid, "age %q: type years (34 or 34y), or for a baby months (3m), weeks (6w) or days (10d), e.g. 1y6m", clipText(s, 20))
	}
	var y, m, w, d int
	seen := map[byte]bool{}
	parts := 0
	for rest := in; rest != ""; parts++ {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 6 || parts >= 4 {
			return bad()
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = strings.TrimLeft(rest[i:], " ")
		j := 0
		for j < len(rest) && rest[j] >= 'a' && rest[j] <= 'z' {
			j++
		}
		unit := rest[:j]
		rest = strings.TrimLeft(strings.TrimPrefix(strings.TrimLeft(rest[j:], " "), ","), " ")
		var u byte
		switch unit {
		case "":
			if parts > 0 || rest != "" {
				return bad() // a bare number is only years, alone
			}
			u = 'y'
		case "y", "yr", "yrs", "year", "years":
			u = 'y'
		case "m", "mo", "mos", "month", "months":
			u = 'm'
		case "w", "wk", "wks", "week", "weeks":
			u = 'w'
		case "d", "day", "days":
			u = 'd'
		default:
			return bad()
		}
		if seen[u] {
			return bad()
		}
		seen[u] = true
		switch u {
		case 'y':
			y = n
		case 'm':
			m = n
		case 'w':
			w = n
		case 'd':
			d = n
		}
	}
	if parts == 0 {
		return bad()
	}
	if y > 130 || m > 130*12 || w > 130*53 || d > 130*366 {
		if m == 0 && w == 0 && d == 0 && y >= 1850 && y <= now.Year() {
			// "1975": a year of birth typed where an age or a date goes.
			return "", false, idcards.Errorf(idcards.Invalid, "%s looks like a year of birth: type the age (%d), or the birth date as YYYY-MM-DD", in, max(0, now.Year()-y))
		}
		return "", false, idcards.Errorf(idcards.Invalid, "age %s: must be 0 to 130 years", in)
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var t time.Time
	if m == 0 && w == 0 && d == 0 {
		t = time.Date(today.Year()-y, time.July, 1, 0, 0, 0, 0, time.UTC)
		if t.After(today) {
			t = today
		}
	} else {
		t = monthsBefore(today, 12*y+m).AddDate(0, 0, -7*w-d)
	}
	if today.Year()-t.Year() > 130 {
		return "", false, idcards.Errorf(idcards.Invalid, "age %s: more than 130 years", in)
	}
	return t.Format("2006-01-02"), true, nil
}

// monthsBefore is the same day n months earlier, or the last day of that
// month when it is shorter (31 May - 3 months = 28/29 February).
func monthsBefore(d time.Time, n int) time.Time {
	y, m := d.Year(), int(d.Month())-n
	for m < 1 {
		m += 12
		y--
	}
	last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(y, time.Month(m), min(d.Day(), last), 0, 0, 0, 0, time.UTC)
}

func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
