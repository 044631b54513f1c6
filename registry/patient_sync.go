package registry

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// PatientSync is one patient's way to OpenMRS, as the desk shows it on
// the patient's screen: whether the registration has gone (and with it
// sync's check that OpenMRS does not hold the person already), what
// waits, and any open conflict a supervisor must settle. The desk's
// duplicate check sees only the registry; sync's look-alike check sees
// OpenMRS, a minute or so later, and this is how its answer reaches the
// clerk while the patient is still at the desk.
type PatientSync struct {
	// Configured: sync is set up for this registry. When it is not, the
	// rest is empty and the desk shows nothing.
	Configured bool `json:"configured"`
	// Interval is how often sync runs (its setting).
	Interval time.Duration `json:"-"`
	// Unsent: the patient's registration waits to be sent to OpenMRS.
	Unsent bool `json:"unsent"`
	// Waiting counts this patient's changes not yet sent (the
	// registration included).
	Waiting int `json:"waiting"`
	// Failing: one of them failed and waits out a back-off until
	// NextAttempt; LastError is what went wrong.
	Failing     bool      `json:"failing,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// Conflicts are the open conflicts over this patient or one of its
	// MRNs, oldest first: a look-alike held back from OpenMRS, or an ID
	// OpenMRS holds for someone else.
	Conflicts []idcards.SyncConflict `json:"conflicts,omitempty"`
}

// Lookalike returns the open look-alike conflict, if any.
func (p PatientSync) Lookalike() (idcards.SyncConflict, bool) {
	for _, c := range p.Conflicts {
		if c.Kind == idcards.ConflictLookalike {
			return c, true
		}
	}
	return idcards.SyncConflict{}, false
}

// PatientSync reads patient id's sync state (anyone who may read
// patients: the clerk at the desk).
func (s *Store) PatientSync(ctx context.Context, id int64) (PatientSync, error) {
	var ps PatientSync
	if _, err := idcards.Require(ctx, idcards.PermReadPatient); err != nil {
		return ps, err
	}
	c, ok, err := s.SyncConfig(ctx)
	if err != nil || !ok {
		return ps, err
	}
	ps.Configured, ps.Interval = true, c.Interval
	items, err := s.outboxRows(ctx, `SELECT `+outboxCols+` FROM outbox WHERE patient_id = ? AND state = 'pending' ORDER BY id`, id)
	if err != nil {
		return ps, err
	}
	ps.Waiting = len(items)
	for _, it := range items {
		if it.Kind == idcards.OutboxRegister {
			ps.Unsent = true
		}
		if it.Failing && !ps.Failing {
			ps.Failing, ps.NextAttempt, ps.LastError = true, it.NextAttemptAt, it.LastError
		}
	}
	if ps.Conflicts, err = s.conflictRows(ctx, `WHERE resolved_at IS NULL
		AND (local_patient_id = ? OR identifier IN (SELECT mrn FROM identifiers WHERE patient_id = ?)) ORDER BY id`, id, id); err != nil {
		return ps, fmt.Errorf("registry: patient sync: %w", err)
	}
	return ps, nil
}

// Describe says where the patient's record is on its way to OpenMRS, in
// a clerk's words (the desk's patient screen, patients show). The desk's
// duplicate check sees only this registry; sync's check that OpenMRS does
// not already hold the person runs when the registration is sent, so the
// row says when that will be, and the screen (re-read every few seconds)
// shows its answer while the patient may still be at the desk.
func (ps PatientSync) Describe(now time.Time) string {
	if _, ok := ps.Lookalike(); ok {
		return "HELD, not sent: OpenMRS may already have this person"
	}
	if len(ps.Conflicts) > 0 {
		return "HELD: OpenMRS disagrees about an ID"
	}
	var s string
	switch {
	case ps.Unsent:
		s = "not sent yet: the next sync checks whether OpenMRS already has this person"
		if ps.Interval > 0 && !ps.Failing {
			s += " (sync runs every " + shortDuration(ps.Interval) + ")"
		}
	case ps.Waiting > 0:
		s = fmt.Sprintf("%d change(s) waiting to be sent", ps.Waiting)
	default:
		return "sent, up to date"
	}
	if ps.Failing {
		s += "; sync is failing"
		if e := strings.TrimSpace(ps.LastError); e != "" {
			s += " (" + truncateText(e, 80) + ")"
		}
		if !ps.NextAttempt.IsZero() && ps.NextAttempt.After(now) {
			s += ", next try " + ps.NextAttempt.Local().Format("15:04")
		}
		s += ": tell IT"
	}
	return s
}

// shortDuration writes d as a clerk reads it: "1m", "30s", "1h30m".
func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
