package registry

// removed at merge: the edit branch defines PatientEdit and ParseAge (with
// Store.EditPatient, Store.Countersign and IssueID's reason); these copies
// only let the desk branch build and test on its own.

import (
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// PatientEdit is a change to a registered patient; nil fields are unchanged.
type PatientEdit struct {
	ID                    int64
	GivenName, FamilyName *string
	Sex                   *idcards.Sex
	BirthDate             *string // YYYY-MM-DD
	BirthDateEstimated    *bool
	Phone, Village        *string
	Reason                string // required when a name or the birth date changes
}

// ParseAge turns an age as a desk types it ("34", "34y", "3m", "6w",
// "10d") into an estimated birth date.
func ParseAge(s string, now time.Time) (birthDate string, estimated bool, err error) {
	s = strings.ToLower(strings.TrimSpace(s))
	unit := "y"
	if s != "" && strings.ContainsRune("ymwd", rune(s[len(s)-1])) {
		unit, s = s[len(s)-1:], strings.TrimSpace(s[:len(s)-1])
	}
	n, perr := strconv.Atoi(s)
	if perr != nil || n < 0 {
		return "", false, idcards.Errorf(idcards.Invalid, "age %q: use years (34), months (3m), weeks (6w) or days (10d)", s+unit)
	}
	switch unit {
	case "y":
		d, err := BirthDateFromAge(n, now)
		return d, true, err
	case "m":
		if n > 36 {
			return "", false, idcards.Errorf(idcards.Invalid, "age %dm: give ages over 36 months in years", n)
		}
		return now.AddDate(0, -n, 0).Format("2006-01-02"), true, nil
	case "w":
		if n > 104 {
			return "", false, idcards.Errorf(idcards.Invalid, "age %dw: give ages over 104 weeks in months or years", n)
		}
		return now.AddDate(0, 0, -7*n).Format("2006-01-02"), true, nil
	default:
		if n > 366 {
			return "", false, idcards.Errorf(idcards.Invalid, "age %dd: give ages over 366 days in weeks, months or years", n)
		}
		return now.AddDate(0, 0, -n).Format("2006-01-02"), true, nil
	}
}
