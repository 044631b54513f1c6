package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idcards/idcards"
)

// keyMigration is the migration that brought keyed rows and state digests.
const keyMigration = "0013a_audit_state.sql"

// upgradeAudit runs at every open, in the migration transaction, after the
// migrations:
//   - the state triggers are (re)created where missing or altered;
//   - a registry made before chain keys (its audit rows exist, migration
//     0013a was applied just now) gets an identity and a key file (mode
//     0600, O_EXCL), an audit.key_created row that anchors all earlier,
//     unkeyed rows under the key, and a baseline of every protected row's
//     digest;
//   - a registry whose protected columns a migration changed gets a new
//     baseline (rows whose state the chain did not explain before are
//     recorded as still unexplained);
//   - migrations applied now are recorded in a registry.migrate row (which
//     also explains any rows they changed).
//
// Otherwise the chain key must be there: a registry with keyed rows cannot
// be written without it.
func (s *Store) upgradeAudit(ctx context.Context, tx *sql.Tx, applied []string) error {
	var hasState int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('audit') WHERE name = 'state'`).Scan(&hasState); err != nil {
		return err
	}
	if hasState == 0 {
		return nil
	}
	sc, err := loadStateSchema(ctx, tx)
	if err != nil {
		return err
	}
	remade, err := ensureStateTriggers(ctx, tx, sc)
	if err != nil {
		return err
	}
	s.hasPending = true
	var rows int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM audit LIMIT 1) AS a`).Scan(&rows); err != nil {
		return err
	}
	var regID string
	_ = tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'registry_id'`).Scan(&regID)
	if rows == 0 {
		// A new registry (Create writes its creation row next), or one
		// whose every audit row was deleted, which verify reports.
		if _, err := tx.ExecContext(ctx, qPendingClear); err != nil {
			return err
		}
		return nil
	}
	if slices.Contains(applied, keyMigration) {
		return s.keyLegacy(ctx, tx, sc, regID, applied)
	}
	if s.key == nil {
		return idcards.Errorf(idcards.Unavailable, "the audit chain key of the registry is missing at %s: restore that file from where it was backed up (it is kept apart from the registry), or set IDCARDS_AUDIT_KEY to its path", s.keyPath)
	}
	if regID != "" && s.key.Registry != regID {
		return idcards.Errorf(idcards.Conflict, "the audit chain key at %s belongs to registry %s, not to this one (%s): point IDCARDS_AUDIT_KEY at this registry's key", s.key.Path, s.key.Registry, regID)
	}
	if len(remade) > 0 {
		// A trigger missing or altered when the registry was opened: the
		// program's own upgrade (a migration applied now), or someone's
		// doing, which this row keeps on record after the trigger is back.
		reason := "missing-or-altered"
		if len(applied) > 0 {
			reason = "upgrade"
		}
		if err := s.insertAudit(ctx, tx, "system:idcards", "audit.triggers", "", "recreated="+strings.Join(remade, ",")+" reason="+reason); err != nil {
			return err
		}
	}
	fp := sc.fingerprint()
	if last, colspec, err := lastFingerprint(ctx, tx); err != nil {
		return err
	} else if last != fp {
		rec, err := recordedStates(ctx, tx)
		if err != nil {
			return err
		}
		changed, err := pendingKeys(ctx, tx)
		if err != nil {
			return err
		}
		reason := "columns-changed"
		if last == "" {
			reason = "no-baseline"
		}
		prior := &priorState{rec: rec, cols: parseColspec(colspec), changed: changed}
		if _, err := s.baseline(ctx, tx, sc, reason, prior); err != nil {
			return fmt.Errorf("registry: audit baseline: %w", err)
		}
	}
	return s.recordMigrations(ctx, tx, applied)
}

// keyLegacy gives a registry from before chain keys its identity, key,
// anchor row and first baseline.
func (s *Store) keyLegacy(ctx context.Context, tx *sql.Tx, sc stateSchema, regID string, applied []string) error {
	if s.key != nil {
		// A key file left by an upgrade that was rolled back, or placed
		// there by an admin: adopt it.
		if regID != "" && s.key.Registry != regID {
			return idcards.Errorf(idcards.Conflict, "the audit chain key at %s belongs to registry %s, not to this one (%s)", s.key.Path, s.key.Registry, regID)
		}
		regID = s.key.Registry
	} else {
		if regID == "" {
			regID = newRegistryID()
		}
		k, err := newChainKey(s.keyPath, regID)
		if err != nil {
			return err
		}
		s.key = k
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('registry_id', ?) ON CONFLICT(key) DO NOTHING`, regID); err != nil {
		return err
	}
	detail := fmt.Sprintf("registry_id=%s key_id=%s columns=%s rows before this one are unkeyed SHA-256 and anchored by it", regID, s.key.ID(), sc.fingerprint())
	if err := s.insertAudit(ctx, tx, "system:idcards", "audit.key_created", s.key.Path, detail); err != nil {
		return err
	}
	if _, err := s.baseline(ctx, tx, sc, "upgrade", nil); err != nil {
		return fmt.Errorf("registry: audit baseline: %w", err)
	}
	return s.recordMigrations(ctx, tx, applied)
}

func (s *Store) recordMigrations(ctx context.Context, tx *sql.Tx, applied []string) error {
	if len(applied) == 0 {
		return nil
	}
	return s.insertAudit(ctx, tx, "system:idcards", "registry.migrate", "", "applied="+strings.Join(applied, ","))
}

// lastFingerprint is the columns= (and colspec=) of the newest row that
// recorded one (registry.init, audit.key_created or audit.baseline).
func lastFingerprint(ctx context.Context, q queryer) (string, string, error) {
	var best int64
	var fp, spec string
	for _, action := range []string{"registry.init", "audit.key_created", "audit.baseline"} {
		var seq int64
		var detail string
		err := q.QueryRowContext(ctx, `SELECT seq, detail FROM audit WHERE action = ? ORDER BY seq DESC LIMIT 1`, action).Scan(&seq, &detail)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		if seq <= best {
			continue
		}
		var rowFP, rowSpec string
		for f := range strings.FieldsSeq(detail) {
			if v, ok := strings.CutPrefix(f, "columns="); ok {
				rowFP = v
			} else if v, ok := strings.CutPrefix(f, "colspec="); ok {
				rowSpec = v
			}
		}
		if rowFP != "" {
			best, fp, spec = seq, rowFP, rowSpec
		}
	}
	return fp, spec, nil
}

// pendingKeys reads audit_pending: inside the migration transaction, the
// rows its migrations changed (notes from before were cleared at its start).
func pendingKeys(ctx context.Context, q queryer) (map[string]map[string]bool, error) {
	rows, err := q.QueryContext(ctx, qPendingList)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]map[string]bool{}
	for rows.Next() {
		var t, k string
		if err := rows.Scan(&t, &k); err != nil {
			return nil, err
		}
		if m[t] == nil {
			m[t] = map[string]bool{}
		}
		m[t][k] = true
	}
	return m, rows.Err()
}

// recordedStates replays the digests the chain recorded.
func recordedStates(ctx context.Context, q queryer) (*stateRecorder, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, state FROM audit WHERE state <> '' ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rec := newStateRecorder(nil)
	for rows.Next() {
		var seq int64
		var st string
		if err := rows.Scan(&seq, &st); err != nil {
			return nil, err
		}
		if err := rec.add(seq, st); err != nil {
			return nil, err
		}
	}
	return rec, rows.Err()
}

// RegistryID is the registry's identity, given at init (or at the upgrade
// that brought identities): a backup of another registry is refused by
// restore without an explicit flag.
func (s *Store) RegistryID(ctx context.Context) (string, error) {
	return s.Setting(ctx, "registry_id", "")
}

// ChainKey is the store's audit chain key (nil when not available).
func (s *Store) ChainKey() *ChainKey { return s.key }

// KeyPath is where the store's chain key is kept.
func (s *Store) KeyPath() string { return s.keyPath }

// creationIdentity stores the new registry's identity (from its key) and
// returns what its creation row records: registry_id, key_id (which makes
// the row the chain's keyed anchor) and the protected columns.
func (s *Store) creationIdentity(ctx context.Context, tx *sql.Tx) (string, error) {
	if s.key == nil {
		return "", errNoChainKey
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('registry_id', ?)`, s.key.Registry); err != nil {
		return "", err
	}
	sc, err := loadStateSchema(ctx, tx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("registry_id=%s key_id=%s columns=%s colspec=%s", s.key.Registry, s.key.ID(), sc.fingerprint(), sc.colspec()), nil
}
