package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// KnownSetting describes a setting an admin may change from the CLI or TUI.
type KnownSetting struct {
	Key     string
	Default string
	Help    string
	check   func(string) error
}

// KnownSettings lists the settings `idcards settings set` accepts. It
// returns a fresh slice each call (no package-level mutable state).
func KnownSettings() []KnownSetting {
	return []KnownSetting{
		{"card_birth", "year", "what cards print of the date of birth: year (privacy), date (full date; an estimated date prints as its year) or none", oneOf("year", "date", "none")},
		{"card_identifiers", "mrn", "identifiers printed on cards: mrn, or mrn,serial to add the card serial", oneOf("mrn", "mrn,serial")},
		{"card_printer", "", "CUPS queue the desk screen prints cards on (empty: cards are saved as PDF files next to the registry)", func(v string) error {
			if len(v) > 127 || strings.ContainsAny(v, " \t\r\n/#") {
				return idcards.Errorf(idcards.Invalid, "card_printer: a CUPS queue name (lpstat -p lists them): at most 127 characters, no spaces, / or #")
			}
			return nil
		}},
		{"cli_sign_in", "off", "on: data-changing CLI commands need --user and a password; off: the CLI acts as the OS user", oneOf("on", "off")},
		{"facility_name", "", "name printed on cards and shown in the TUI", func(v string) error {
			if len(v) > 120 || strings.ContainsAny(v, "\r\n\t") {
				return idcards.Errorf(idcards.Invalid, "facility_name: one line of at most 120 bytes")
			}
			return nil
		}},
		{FHIRSystemSetting, "", "URI of this registry's MRNs in FHIR (serve /fhir/; empty: urn:idcards:PREFIX of the first series); FHIR clients search by it, so change it only with them", CheckFHIRSystem},
		{"flood_cap_per_hour", "0", "registrations/IDs (reserved ones too) one account may make per hour before a supervisor must approve more (0 = off)", intRange(0, 100_000)},
		{"idle_lock_minutes", "5", "the TUI locks after this many idle minutes", intRange(1, 240)},
		{"match_probable", "0.95", "duplicate check: match probability at which a candidate is probable (registration refused without a reason); see docs/matching.md", probability},
		{"match_possible", "0.25", "duplicate check: match probability at which a candidate is shown as possible", probability},
		{"match_variants", "", "extra name spellings matched as one, e.g. Nakato=Nakatto; Wasswa=Waswa (groups by ;, names by =)", func(v string) error {
			_, err := match.ParseVariants(v)
			return err
		}},
		{MovedToSetting, "", "set by idcards migrate on the registry it copied: where the registry now is; while set, this one takes no changes (no number can be issued in both). Empty reopens it, for a move that was undone", func(v string) error {
			if len(v) > 1000 || strings.ContainsAny(v, "\r\n\t") {
				return idcards.Errorf(idcards.Invalid, "moved_to: one line, the registry's new location")
			}
			return nil
		}},
		{"phone_country", "", "ISO country code for phones written without +CC, e.g. UG (E.164 normalisation)", func(v string) error {
			if v != "" && !match.ValidRegion(v) {
				return idcards.Errorf(idcards.Invalid, "phone_country %q: an ISO 3166 code such as UG, KE, TZ", v)
			}
			return nil
		}},
	}
}

func probability(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f >= 1 {
		return idcards.Errorf(idcards.Invalid, "value %q: a probability between 0 and 1, e.g. 0.95", v)
	}
	return nil
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, x := range vals {
			if v == x {
				return nil
			}
		}
		return idcards.Errorf(idcards.Invalid, "value %q: use one of %s", v, strings.Join(vals, ", "))
	}
}

func intRange(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return idcards.Errorf(idcards.Invalid, "value %q: a whole number from %d to %d", v, lo, hi)
		}
		return nil
	}
}

// SetKnownSetting validates key and value and sets it (admin), audited.
// Turning cli_sign_in on is refused while no enabled admin account exists:
// nobody could then sign in to turn it off again.
func (s *Store) SetKnownSetting(ctx context.Context, key, value string) error {
	a, err := idcards.Require(ctx, idcards.PermSettings)
	if err != nil {
		return err
	}
	var ks *KnownSetting
	var keys []string
	for _, k := range KnownSettings() {
		keys = append(keys, k.Key)
		if k.Key == key {
			ks = &k
		}
	}
	if ks == nil {
		return idcards.Errorf(idcards.Invalid, "unknown setting %q: known settings are %s", key, strings.Join(keys, ", "))
	}
	value = strings.TrimSpace(value)
	if err := ks.check(value); err != nil {
		return err
	}
	if key == MovedToSetting {
		ctx = context.WithValue(ctx, movedOK{}, true) // the one change a moved registry takes
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if key == "cli_sign_in" && value == "on" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0`).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return idcards.Errorf(idcards.Conflict, "cli_sign_in on needs an enabled admin account first (idcards users add NAME --role admin)")
			}
		}
		return s.setSetting(ctx, tx, a.Name, key, value)
	})
}

// MovedToSetting is where a registry copied by migrate now is. While it is
// set the copy's source refuses every change (Store.tx): a desk that was not
// stopped would otherwise go on issuing numbers that the new registry issues
// too.
const MovedToSetting = "moved_to"

// movedOK marks the transaction that sets moved_to itself.
type movedOK struct{}

const qMovedTo = `SELECT value FROM settings WHERE key = 'moved_to'`

// checkMoved refuses a change to a registry that migrate copied elsewhere.
func (s *Store) checkMoved(ctx context.Context, tx *sql.Tx) error {
	if ok, _ := ctx.Value(movedOK{}).(bool); ok || !s.opened {
		return nil // the change that reopens it; or the migrations of open
	}
	st, err := s.prepared(ctx, qMovedTo)
	if err != nil {
		return err
	}
	var to string
	if err := tx.StmtContext(ctx, st).QueryRowContext(ctx).Scan(&to); err != nil || to == "" {
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return err
	}
	return &idcards.Error{Kind: idcards.Conflict, Msg: fmt.Sprintf("this registry was moved to %s by idcards migrate, and takes no more changes (so no number is issued both here and there): use --db %s or set IDCARDS_DB to it; nothing was saved. If the move was undone, an admin reopens this one with: idcards --db %s settings set moved_to \"\"", to, to, s.Path())}
}
