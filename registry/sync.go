package registry

// The registry's side of OpenMRS sync: the outbox (written in the same
// transaction as each change, drained by openmrs.Syncer), identifiers
// OpenMRS holds (external_identifiers, never issued here), conflicts for a
// person to resolve, the syncer's state and lease, and the sync settings.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// SyncConfig is how this registry reaches OpenMRS. The password is never
// stored here: it comes from PasswordFile or the IDCARDS_OPENMRS_PASSWORD
// environment variable when sync runs.
type SyncConfig struct {
	URL            string        `json:"url"`
	Username       string        `json:"username"`
	PasswordFile   string        `json:"password_file,omitempty"`
	IdentifierType string        `json:"identifier_type"`
	Location       string        `json:"location"`
	IdgenSource    string        `json:"idgen_source,omitempty"`
	Interval       time.Duration `json:"interval"`      // how often pending changes are pushed
	PullInterval   time.Duration `json:"pull_interval"` // how often OpenMRS's identifiers are read
	// FullPullInterval is how often a pull reads every identifier of our
	// prefixes instead of only what changed since the last pull (FHIR2
	// _lastUpdated): a safety net for changes the incremental pull cannot
	// see (an identifier voided without its patient changing).
	FullPullInterval time.Duration `json:"full_pull_interval"`
	// TypeScheme is the check scheme matching the identifier type's
	// validator ("*" when it has none), recorded so that a new series with
	// another scheme is refused (series add).
	TypeScheme string `json:"identifier_scheme,omitempty"`
	// Lookalikes is the look-alike check before a patient is created in
	// OpenMRS: LookalikesPossible (default), LookalikesProbable or
	// LookalikesOff (see openmrs.SyncerConfig.Lookalikes).
	Lookalikes string `json:"lookalikes"`
}

// Settings of SyncConfig.Lookalikes: which OpenMRS patients found by name
// hold a registration back for a supervisor.
const (
	LookalikesPossible = "possible"
	LookalikesProbable = "probable"
	LookalikesOff      = "off"
)

// Defaults for SyncConfig's intervals.
const (
	DefaultSyncInterval = time.Minute
	DefaultPullInterval = 15 * time.Minute
	// DefaultFullPullInterval: nightly.
	DefaultFullPullInterval = 24 * time.Hour
)

var syncConfigKeys = []string{"openmrs_url", "openmrs_username", "openmrs_password_file", "openmrs_identifier_type",
	"openmrs_location", "openmrs_idgen_source", "openmrs_sync_interval", "openmrs_pull_interval", "openmrs_full_pull_interval", SettingTypeScheme, "openmrs_lookalikes"}

func (c SyncConfig) values() []string {
	return []string{c.URL, c.Username, c.PasswordFile, c.IdentifierType, c.Location, c.IdgenSource,
		c.Interval.String(), c.PullInterval.String(), c.FullPullInterval.String(), c.TypeScheme, c.Lookalikes}
}

// SyncConfig returns the saved sync settings; ok is false when sync has
// not been configured.
func (s *Store) SyncConfig(ctx context.Context) (c SyncConfig, ok bool, err error) {
	m, err := s.Settings(ctx)
	if err != nil {
		return c, false, err
	}
	c = SyncConfig{URL: m["openmrs_url"], Username: m["openmrs_username"], PasswordFile: m["openmrs_password_file"],
		IdentifierType: m["openmrs_identifier_type"], Location: m["openmrs_location"], IdgenSource: m["openmrs_idgen_source"],
		Interval: DefaultSyncInterval, PullInterval: DefaultPullInterval, FullPullInterval: DefaultFullPullInterval, TypeScheme: m[SettingTypeScheme]}
	if d, err := time.ParseDuration(m["openmrs_sync_interval"]); err == nil && d > 0 {
		c.Interval = d
	}
	if d, err := time.ParseDuration(m["openmrs_pull_interval"]); err == nil && d > 0 {
		c.PullInterval = d
	}
	if d, err := time.ParseDuration(m["openmrs_full_pull_interval"]); err == nil && d > 0 {
		c.FullPullInterval = d
	}
	c.Lookalikes = LookalikesPossible
	if v := m["openmrs_lookalikes"]; v == LookalikesProbable || v == LookalikesOff {
		c.Lookalikes = v
	}
	return c, c.URL != "", nil
}

// SaveSyncConfig stores the sync settings (admin), audited. The caller
// (idcards sync configure) has checked them against the server first.
func (s *Store) SaveSyncConfig(ctx context.Context, c SyncConfig) error {
	a, err := idcards.Require(ctx, idcards.PermSettings)
	if err != nil {
		return err
	}
	if c.URL == "" || c.Username == "" || c.IdentifierType == "" {
		return idcards.Errorf(idcards.Invalid, "sync settings need the OpenMRS URL, a username and the identifier type")
	}
	if c.Interval <= 0 {
		c.Interval = DefaultSyncInterval
	}
	if c.PullInterval <= 0 {
		c.PullInterval = DefaultPullInterval
	}
	if c.FullPullInterval <= 0 {
		c.FullPullInterval = DefaultFullPullInterval
	}
	switch c.Lookalikes {
	case "":
		c.Lookalikes = LookalikesPossible
	case LookalikesPossible, LookalikesProbable, LookalikesOff:
	default:
		return idcards.Errorf(idcards.Invalid, "--lookalikes %q: use possible (hold a registration when OpenMRS has a patient who may be the same person), probable (only when almost surely the same) or off", c.Lookalikes)
	}
	vals := c.values()
	return s.tx(ctx, func(tx *sql.Tx) error {
		for i, k := range syncConfigKeys {
			if err := s.setSetting(ctx, tx, a.Name, k, vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClearSyncConfig turns sync off (admin). Queued changes stay queued.
func (s *Store) ClearSyncConfig(ctx context.Context) error {
	a, err := idcards.Require(ctx, idcards.PermSettings)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range syncConfigKeys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, k); err != nil {
				return err
			}
		}
		return s.insertAudit(ctx, tx, a.Name, "sync.unconfigure", "openmrs", "")
	})
}

const outboxCols = `id, kind, coalesce(patient_id,0), coalesce(mrn,''), created_at, attempts, coalesce(last_error,''), coalesce(next_attempt_at,''), state, coalesce(remote_uuid,''), failing`

func scanOutbox(sc interface{ Scan(...any) error }) (idcards.OutboxItem, error) {
	var it idcards.OutboxItem
	var kind, created, next string
	var failing int
	err := sc.Scan(&it.ID, &kind, &it.PatientID, &it.MRN, &created, &it.Attempts, &it.LastError, &next, &it.State, &it.RemoteUUID, &failing)
	it.Kind, it.CreatedAt, it.Failing = idcards.OutboxKind(kind), parseTime(created), failing != 0
	if next != "" {
		it.NextAttemptAt = parseTime(next)
	}
	return it, err
}

// DueOutbox returns up to limit pending outbox rows in the order they were
// written. Rows waiting for a retry are included: the syncer keeps a
// patient's changes in order, so it must see a waiting row to hold back
// the rows behind it.
func (s *Store) DueOutbox(ctx context.Context, afterID int64, limit int) ([]idcards.OutboxItem, error) {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		return nil, err
	}
	return s.outboxRows(ctx, `SELECT `+outboxCols+` FROM outbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?`, afterID, limit)
}

// Outbox lists outbox rows in a state ("" for all), newest first.
func (s *Store) Outbox(ctx context.Context, state string, limit int) ([]idcards.OutboxItem, error) {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		return nil, err
	}
	return s.outboxRows(ctx, `SELECT `+outboxCols+` FROM outbox WHERE (? = '' OR state = ?) ORDER BY id DESC LIMIT ?`, state, state, limit)
}

func (s *Store) outboxRows(ctx context.Context, q string, args ...any) ([]idcards.OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: outbox: %w", err)
	}
	defer rows.Close()
	var out []idcards.OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// OutboxDone marks a row as having reached OpenMRS (remoteUUID is the
// OpenMRS patient), audited.
func (s *Store) OutboxDone(ctx context.Context, id int64, remoteUUID, note string) error {
	a, err := idcards.Require(ctx, idcards.PermSync)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var kind, mrn string
		var pid int64
		err := tx.QueryRowContext(ctx, `UPDATE outbox SET state = 'done', done_at = ?, remote_uuid = ?, last_error = NULL, next_attempt_at = NULL
			WHERE id = ? AND state = 'pending' RETURNING kind, coalesce(mrn,''), coalesce(patient_id,0)`, s.now(), nullStr(remoteUUID), id).Scan(&kind, &mrn, &pid)
		if errors.Is(err, sql.ErrNoRows) {
			return idcards.Errorf(idcards.Conflict, "outbox row %d is not pending", id)
		}
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("%s patient %d %s -> openmrs %s", kind, pid, mrn, remoteUUID)
		if note != "" {
			detail += " (" + note + ")"
		}
		return s.insertAudit(ctx, tx, a.Name, "sync.push", fmt.Sprint(id), strings.TrimSpace(detail))
	})
}

// OutboxDefer leaves a row pending until next with msg as its last error.
// countAttempt says the request may have reached OpenMRS (a timeout, a
// lost answer: the next try looks before creating again); failing says the
// row failed, so its wait is a back-off that `sync --once` reports, rather
// than a wait for something else (an earlier change of the same patient, a
// first MRN).
func (s *Store) OutboxDefer(ctx context.Context, id int64, msg string, next time.Time, countAttempt, failing bool) error {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		return err
	}
	inc, fail := 0, 0
	if countAttempt {
		inc = 1
	}
	if failing {
		fail = 1
	}
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + ?, last_error = ?, next_attempt_at = ?, failing = ? WHERE id = ? AND state = 'pending'`,
		inc, truncateText(msg, 500), next.UTC().Format(TimeFormat), fail, id)
	return err
}

// OutboxConflict holds a row back and records a conflict for a person to
// resolve, in one transaction, audited.
func (s *Store) OutboxConflict(ctx context.Context, id int64, c idcards.SyncConflict) error {
	a, err := idcards.Require(ctx, idcards.PermSync)
	if err != nil {
		return err
	}
	c.OutboxID = id
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'conflict', attempts = attempts + 1, last_error = ? WHERE id = ? AND state = 'pending'`,
			truncateText(c.Detail, 500), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return idcards.Errorf(idcards.Conflict, "outbox row %d is not pending", id)
		}
		_, err = s.insertConflict(ctx, tx, a.Name, c)
		return err
	})
}

// RecordConflict records a conflict unless an open one for the same
// identifier and remote patient exists; it reports whether it added one.
func (s *Store) RecordConflict(ctx context.Context, c idcards.SyncConflict) (bool, error) {
	a, err := idcards.Require(ctx, idcards.PermSync)
	if err != nil {
		return false, err
	}
	var added bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
		added, err = s.insertConflict(ctx, tx, a.Name, c)
		return err
	})
	return added, err
}

func (s *Store) insertConflict(ctx context.Context, tx *sql.Tx, actor string, c idcards.SyncConflict) (bool, error) {
	// One disagreement, one conflict: a pull and a push that find the
	// same number held by the same OpenMRS patient share a row, which then
	// holds the push's outbox row (so resolve --retry re-queues it).
	var id int64
	var outbox sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT id, outbox_id FROM sync_conflicts WHERE identifier = ? AND resolved_at IS NULL
		AND coalesce(remote_patient_uuid,'') = ? AND (? = 0 OR outbox_id IS NULL OR outbox_id = ?)
		ORDER BY outbox_id IS NULL LIMIT 1`, c.Identifier, c.RemotePatientUUID, c.OutboxID, c.OutboxID).Scan(&id, &outbox)
	switch {
	case err == nil && c.OutboxID != 0 && !outbox.Valid:
		_, err = tx.ExecContext(ctx, `UPDATE sync_conflicts SET outbox_id = ?, local_patient_id = coalesce(local_patient_id, ?) WHERE id = ?`,
			c.OutboxID, nullID(c.LocalPatientID), id)
		return false, err
	case err == nil:
		return false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	if c.Kind == "" {
		c.Kind = idcards.ConflictIdentifier
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sync_conflicts(identifier, local_patient_id, remote_patient_uuid, outbox_id, detail, detected_at, kind, summary)
		VALUES (?,?,?,?,?,?,?,?)`, c.Identifier, nullID(c.LocalPatientID), nullStr(c.RemotePatientUUID), nullID(c.OutboxID), truncateText(c.Detail, 1000), s.now(), c.Kind, nullStr(truncateText(c.Summary, 500))); err != nil {
		return false, err
	}
	return true, s.insertAudit(ctx, tx, actor, "sync.conflict", c.Identifier, truncateText(c.Detail, 500))
}

// SyncConflicts lists conflicts, open ones only unless all is set.
func (s *Store) SyncConflicts(ctx context.Context, all bool) ([]idcards.SyncConflict, error) {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		if _, err2 := idcards.Require(ctx, idcards.PermResolve); err2 != nil {
			return nil, err
		}
	}
	return s.conflictRows(ctx, `WHERE ? OR resolved_at IS NULL ORDER BY id`, all)
}

// conflictRows reads the sync conflicts that where (a WHERE clause and
// what follows it) selects.
func (s *Store) conflictRows(ctx context.Context, where string, args ...any) ([]idcards.SyncConflict, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, identifier, coalesce(local_patient_id,0), coalesce(remote_patient_uuid,''), coalesce(outbox_id,0),
		detail, detected_at, coalesce(resolved_at,''), coalesce(resolved_by,''), coalesce(resolution,''), kind, coalesce(summary,'')
		FROM sync_conflicts `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []idcards.SyncConflict
	for rows.Next() {
		var c idcards.SyncConflict
		var det, res string
		if err := rows.Scan(&c.ID, &c.Identifier, &c.LocalPatientID, &c.RemotePatientUUID, &c.OutboxID, &c.Detail, &det, &res, &c.ResolvedBy, &c.Resolution, &c.Kind, &c.Summary); err != nil {
			return nil, err
		}
		c.DetectedAt = parseTime(det)
		if res != "" {
			c.ResolvedAt = parseTime(res)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ResolveConflict closes a conflict with a person's note (supervisor); see
// ResolveConflictHeld.
func (s *Store) ResolveConflict(ctx context.Context, id int64, resolution string, retry bool) error {
	_, err := s.ResolveConflictHeld(ctx, id, resolution, retry)
	return err
}

// What resolving a conflict did with the outbox row it held back.
const (
	HeldNone    = ""        // the conflict held no row (a pull saw it, or a pre-printed card)
	HeldQueued  = "queued"  // queued again (--retry)
	HeldSettled = "settled" // closed without a request: its MRN was voided here since
	HeldKept    = "held"    // left held, as the note says
)

// ResolveConflictHeld closes a conflict with a person's note (supervisor)
// and says what became of the outbox row it held back. With retry that row
// is queued again (after, say, the duplicate was merged in OpenMRS, or the
// number in dispute was voided here and the patient given a new one: a
// registration sends only the patient's active MRNs), and the patient's
// other waiting changes are due at the next sync; without, the row stays
// held and the note says why. A row that would add the disputed MRN to
// OpenMRS is settled, retry or not, once that MRN was voided here: it must
// never be sent. Whether OpenMRS still holds the number is the caller's
// to ask (idcards sync resolve --retry does): the registry cannot see it.
func (s *Store) ResolveConflictHeld(ctx context.Context, id int64, resolution string, retry bool) (string, error) {
	a, err := idcards.Require(ctx, idcards.PermResolve)
	if err != nil {
		return HeldNone, err
	}
	if strings.TrimSpace(resolution) == "" {
		return HeldNone, idcards.Errorf(idcards.Invalid, "resolving conflict %d needs a note saying what was done", id)
	}
	held := HeldNone
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var outbox, pid int64
		var ident, kind string
		var merged bool
		err := tx.QueryRowContext(ctx, `UPDATE sync_conflicts SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ? AND resolved_at IS NULL
			RETURNING coalesce(outbox_id,0), identifier, kind, coalesce(local_patient_id,0),
			coalesce((SELECT merged_into IS NOT NULL FROM patients WHERE id = local_patient_id), false)`, s.now(), a.Name, resolution, id).Scan(&outbox, &ident, &kind, &pid, &merged)
		if errors.Is(err, sql.ErrNoRows) {
			return idcards.Errorf(idcards.NotFound, "no open conflict %d (see idcards sync conflicts)", id)
		}
		if err != nil {
			return err
		}
		if kind == idcards.ConflictLookalike && !merged {
			// --retry: the same search would find the same person again;
			// a note alone would leave the registration held for good.
			return idcards.Errorf(idcards.Invalid, "conflict %d is a possible second record of one person: resolve it with --same (one person) or --different (two people)", id)
		}
		detail := resolution
		if outbox != 0 {
			var rowKind, rowMRN, state string
			err := tx.QueryRowContext(ctx, `SELECT o.kind, coalesce(o.mrn,''), coalesce(i.state,'')
				FROM outbox o LEFT JOIN identifiers i ON i.mrn = o.mrn WHERE o.id = ? AND o.state = 'conflict'`, outbox).Scan(&rowKind, &rowMRN, &state)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				// Not held any more (settled or queued another way).
			case err != nil:
				return err
			case rowKind == string(idcards.OutboxAddIdentifier) && rowMRN == ident && state == string(idcards.IDVoided):
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'done', done_at = ?, last_error = NULL, next_attempt_at = NULL WHERE id = ? AND state = 'conflict'`,
					s.now(), outbox); err != nil {
					return err
				}
				held, detail = HeldSettled, detail+" (held "+rowKind+" settled: "+ident+" was voided here, so it is not sent)"
			case retry:
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', next_attempt_at = NULL WHERE id = ? AND state = 'conflict'`, outbox); err != nil {
					return err
				}
				held, detail = HeldQueued, detail+" (queued again)"
			default:
				held = HeldKept
			}
		}
		if held == HeldQueued && pid != 0 {
			// The patient's other changes, waiting for the patient to
			// reach OpenMRS, are due at the next sync with it.
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = NULL WHERE patient_id = ? AND state = 'pending' AND attempts = 0`, pid); err != nil {
				return err
			}
		} else if retry && held == HeldNone {
			detail += " (queued again)"
		}
		return s.insertAudit(ctx, tx, a.Name, "sync.resolve", ident, detail)
	})
	return held, err
}

// SyncPatient returns what the syncer pushes for a patient: the record and
// its MRNs.
// MergedInto tells whether the patient with uuid was merged into another
// record, and which (its final record, after merges of merges).
func (s *Store) MergedInto(ctx context.Context, uuid string) (int64, bool, error) {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		return 0, false, err
	}
	var into sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT merged_into FROM patients WHERE uuid = ?`, uuid).Scan(&into)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !into.Valid {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	id := into.Int64
	for range 32 { // a chain of merges; bounded against a cycle
		var next sql.NullInt64
		if err := s.db.QueryRowContext(ctx, `SELECT merged_into FROM patients WHERE id = ?`, id).Scan(&next); err != nil || !next.Valid {
			break
		}
		id = next.Int64
	}
	return id, true, nil
}

func (s *Store) SyncPatient(ctx context.Context, id int64) (idcards.Patient, []idcards.Identifier, error) {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		return idcards.Patient{}, nil, err
	}
	p, err := s.Patient(ctx, id)
	if err != nil {
		return p, nil, err
	}
	ids, err := s.PatientIdentifiers(ctx, id)
	return p, ids, err
}

// MergeExternal records identifiers OpenMRS holds, so that the registry
// never issues them, and records a conflict for each one the registry
// issued to a different patient (or holds unassigned: a pre-printed card
// whose number someone typed into OpenMRS). A number still free in the
// idgen pool that OpenMRS holds is withdrawn from the pool, audited. One
// transaction per batch.
func (s *Store) MergeExternal(ctx context.Context, source string, ids []idcards.ExternalIdentifier) (idcards.MergeResult, error) {
	var m idcards.MergeResult
	a, err := idcards.Require(ctx, idcards.PermSync)
	if err != nil {
		return m, err
	}
	if len(ids) == 0 {
		return m, nil
	}
	now := s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		m = idcards.MergeResult{}
		free, err := freePool(ctx, tx) // pool.go: usually a few hundred numbers, often none
		if err != nil {
			return err
		}
		has, err := tx.PrepareContext(ctx, `SELECT count(*) FROM external_identifiers WHERE identifier = ?`)
		if err != nil {
			return err
		}
		defer has.Close()
		up, err := tx.PrepareContext(ctx, `INSERT INTO external_identifiers(identifier, source, patient_uuid, seen_at) VALUES (?,?,?,?)
			ON CONFLICT(identifier) DO UPDATE SET patient_uuid = excluded.patient_uuid, seen_at = excluded.seen_at`)
		if err != nil {
			return err
		}
		defer up.Close()
		local, err := tx.PrepareContext(ctx, `SELECT i.state, coalesce(p.id,0), coalesce(p.uuid,''), coalesce(q.uuid,'')
			FROM identifiers i LEFT JOIN patients p ON p.id = i.patient_id LEFT JOIN patients q ON q.id = p.merged_into WHERE i.mrn = ?`)
		if err != nil {
			return err
		}
		defer local.Close()
		mergedFrom, err := tx.PrepareContext(ctx, `SELECT coalesce(merged_into, 0) FROM patients WHERE uuid = ?`)
		if err != nil {
			return err
		}
		defer mergedFrom.Close()
		for _, e := range ids {
			var existed int
			if err := has.QueryRowContext(ctx, e.Identifier).Scan(&existed); err != nil {
				return err
			}
			if _, err := up.ExecContext(ctx, e.Identifier, source, nullStr(e.PatientUUID), now); err != nil {
				return fmt.Errorf("registry: external identifier %s: %w", e.Identifier, err)
			}
			withdrawn := false
			if free[e.Identifier] {
				if err := s.withdrawHeld(ctx, tx, a.Name, e.Identifier, e.PatientUUID, now); err != nil {
					return err
				}
				delete(free, e.Identifier)
				m.Withdrawn++
				withdrawn = true
			}
			var state, puuid, survivor string
			var pid int64
			err := local.QueryRowContext(ctx, e.Identifier).Scan(&state, &pid, &puuid, &survivor)
			if errors.Is(err, sql.ErrNoRows) {
				// New to the registry: a number it never issued (our own
				// MRNs, pushed earlier and read back, are not news, nor
				// another's copy of one of them: that is a conflict).
				if existed == 0 && !withdrawn { // a withdrawn one is counted as that
					m.Added++
				}
				continue
			}
			if err != nil {
				return err
			}
			if e.PatientUUID != "" && (e.PatientUUID == puuid || e.PatientUUID == survivor) {
				continue // our own patient, pushed earlier
			}
			var detail string
			switch idcards.IdentifierState(state) {
			case idcards.IDUnassigned:
				detail = fmt.Sprintf("OpenMRS patient %s holds %s, which this registry issued but has not yet given to anyone (pre-printed card?): do not hand out this card", e.PatientUUID, e.Identifier)
			case idcards.IDVoided:
				continue // voided here; OpenMRS holding it harms no one new
			default:
				detail = fmt.Sprintf("OpenMRS patient %s holds %s, which this registry issued to patient %d (%s): one of them has the wrong number", e.PatientUUID, e.Identifier, pid, puuid)
				var into int64
				if e.PatientUUID != "" && mergedFrom.QueryRowContext(ctx, e.PatientUUID).Scan(&into) == nil && into == pid && pid != 0 {
					// Our own record, merged into pid here after both
					// reached OpenMRS: OpenMRS still keeps them apart.
					detail = fmt.Sprintf("OpenMRS patient %s holds %s: that is this registry's record merged into patient %d (%s), and OpenMRS still keeps the two apart. Merge them in OpenMRS too (Find Patients → Merge Patient Records, keeping %s), then idcards sync resolve ID --note \"merged in OpenMRS\" --retry", e.PatientUUID, e.Identifier, pid, puuid, puuid)
				}
			}
			added, err := s.insertConflict(ctx, tx, a.Name, idcards.SyncConflict{Identifier: e.Identifier, LocalPatientID: pid, RemotePatientUUID: e.PatientUUID, Detail: detail})
			if err != nil {
				return err
			}
			if added {
				m.Conflicts++
			}
		}
		return nil
	})
	return m, err
}

// refuseHeldElsewhere refuses to give a pre-printed card's number to a
// patient when OpenMRS holds it for someone (a pull recorded it, and a
// conflict says "do not hand out this card"). Binding is the one way such
// a number reaches a patient (CLI, desk and import all bind through
// bindTx), so refusing here refuses it everywhere.
func refuseHeldElsewhere(ctx context.Context, tx *sql.Tx, mrn string) error {
	var holder sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT patient_uuid FROM external_identifiers WHERE identifier = ?`, mrn).Scan(&holder)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	who := "another patient"
	if holder.String != "" {
		who = "patient " + holder.String
	}
	return idcards.Errorf(idcards.Conflict, "%s is held in OpenMRS by %s: do not hand out this pre-printed card; give the patient a new MRN instead (see idcards sync conflicts)", mrn, who)
}

// Sync state keys.
const (
	SyncLastPush    = "last_push_at"
	SyncLastPull    = "last_pull_at"
	SyncLastError   = "last_error"
	SyncLastErrorAt = "last_error_at"
	// SyncPullCursor is the OpenMRS server time an incremental pull reads
	// changes after; SyncLastFullPull the last pull that read everything;
	// SyncPullMode how the last pull read.
	SyncPullCursor   = "pull_cursor"
	SyncLastFullPull = "last_full_pull_at"
	SyncPullMode     = "pull_mode"
	syncLease        = "lease"
)

// SyncState returns the syncer's state values (the keys above).
func (s *Store) SyncState(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM sync_state WHERE key <> ?`, syncLease)
	if err != nil {
		return nil, fmt.Errorf("registry: sync state: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

// SetSyncState records syncer state (last success, last error).
func (s *Store) SetSyncState(ctx context.Context, kv map[string]string) error {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for k, v := range kv {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sync_state(key, value, updated_at) VALUES (?,?,?)
				ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, truncateText(v, 1000), s.now()); err != nil {
				return err
			}
		}
		if _, ok := kv["last_pull_at"]; ok {
			return s.clearPullRequired(ctx, tx) // restore.go: a whole pull succeeded
		}
		return nil
	})
}

// AcquireSyncLease lets one syncer at a time work on this registry: the
// TUI, serve and `idcards sync` may all run one. It succeeds when nobody
// holds the lease, the holder is owner (renewal), or the lease expired
// (its holder crashed).
func (s *Store) AcquireSyncLease(ctx context.Context, owner string, ttl time.Duration) (bool, error) {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		return false, err
	}
	now := s.Now().UTC()
	val := now.Add(ttl).Format(TimeFormat) + " " + owner // the time has no spaces; the owner may
	var got bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT value FROM sync_state WHERE key = ?`, syncLease).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur != "" {
			until, holder, _ := strings.Cut(cur, " ")
			if holder != owner && parseTime(until).After(now) && !holderGone(holder) {
				return nil
			}
		}
		got = true
		_, err = tx.ExecContext(ctx, `INSERT INTO sync_state(key, value, updated_at) VALUES (?,?,?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, syncLease, val, s.now())
		return err
	})
	return got, err
}

// holderGone reports whether a lease's holder ("WHAT PID@HOST", as idcards
// names its syncing processes) was a process on this machine that no
// longer runs: a sync killed with SIGKILL left its lease, and every sync
// for two minutes was told "another idcards process is syncing".
func holderGone(holder string) bool {
	f := strings.Fields(holder)
	if len(f) == 0 {
		return false
	}
	pidText, host, ok := strings.Cut(f[len(f)-1], "@")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil || pid <= 0 {
		return false
	}
	if here, err := os.Hostname(); err != nil || here != host {
		return false
	}
	return processGone(pid)
}

// ReleaseSyncLease gives the lease up if owner holds it.
func (s *Store) ReleaseSyncLease(ctx context.Context, owner string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sync_state WHERE key = ? AND substr(value, instr(value, ' ') + 1) = ?`, syncLease, owner)
	return err
}

// SyncStatus summarises sync for `idcards sync status` and the TUI.
func (s *Store) SyncStatus(ctx context.Context) (idcards.SyncStatus, error) {
	var st idcards.SyncStatus
	c, ok, err := s.SyncConfig(ctx)
	if err != nil {
		return st, err
	}
	st.Configured, st.URL = ok, c.URL
	var oldest string
	err = s.queryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE state = 'pending'),
		(SELECT count(DISTINCT patient_id) FROM outbox WHERE state = 'pending'),
		(SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL),
		(SELECT count(*) FROM external_identifiers),
		coalesce((SELECT min(created_at) FROM outbox WHERE state = 'pending'), '')`).Scan(&st.Pending, &st.PendingPatients, &st.Conflicts, &st.External, &oldest)
	if err != nil {
		return st, fmt.Errorf("registry: sync status: %w", err)
	}
	if oldest != "" {
		st.OldestQueued = parseTime(oldest)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM sync_state`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return st, err
		}
		switch k {
		case SyncLastPush:
			st.LastPushAt = parseTime(v)
		case SyncLastPull:
			st.LastPullAt = parseTime(v)
		case SyncLastError:
			st.LastError = v
		case SyncLastErrorAt:
			if v != "" {
				st.LastErrorAt = parseTime(v)
			}
		case SyncLastFullPull:
			st.LastFullPullAt = parseTime(v)
		case SyncPullMode:
			st.PullMode = v
		}
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	rows.Close()
	pool, err := s.Pool(ctx)
	if err != nil {
		return st, err
	}
	st.IDSource, st.PoolFree, st.PoolWithdrawn = "series", pool.Free, pool.Withdrawn
	if pool.Source != "" {
		st.IDSource = "idgen:" + pool.Source
	}
	if st.Supply, err = s.Supply(ctx); err != nil {
		return st, err
	}
	return st, nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// SyncedMRN returns an MRN this registry knows OpenMRS holds (one of ours
// whose registration reached OpenMRS, or one a pull recorded), or "" when
// there is none; the syncer uses it to test a server's prefix search.
func (s *Store) SyncedMRN(ctx context.Context) (string, error) {
	var mrn string
	err := s.queryRow(ctx, `SELECT coalesce((SELECT i.mrn FROM outbox o JOIN identifiers i ON i.patient_id = o.patient_id
		WHERE o.kind = 'register_patient' AND o.state = 'done' AND i.state = 'active' AND i.legacy = 0 ORDER BY o.id DESC LIMIT 1),
		(SELECT identifier FROM external_identifiers LIMIT 1), '')`).Scan(&mrn)
	if err != nil {
		return "", fmt.Errorf("registry: synced mrn: %w", err)
	}
	return mrn, nil
}
