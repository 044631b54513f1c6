package registry

// The idgen pool: for a site whose "OpenMRS ID"s all come from OpenMRS's
// idgen module, the registry issues numbers exported from an idgen
// identifier source instead of minting its own. The Syncer fills the pool
// (openmrs.Syncer.Refill) when it falls below its low-water mark; issuance
// (issue.go) takes the oldest free number in the issuing transaction, so a
// number is handed out once, only when that transaction commits, and never
// goes back (idgen has no "give back": an exported number is used for
// good). Offline, the pool serves until it is empty.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/idcards/idcards"
)

// Settings keys of the ID source. They are kept by `sync off`: a registry
// that issued idgen numbers must not fall back to minting its own in the
// same namespace just because sync was turned off.
const (
	SettingIDSource     = "openmrs_id_source"         // "" / "series": own series; "idgen:UUID": the pool
	SettingPoolSize     = "openmrs_pool_size"         // numbers held after a refill
	SettingPoolLowWater = "openmrs_pool_low_water"    // refill when fewer are free
	SettingTypeScheme   = "openmrs_identifier_scheme" // check scheme of the configured identifier type
)

// Pool defaults.
const (
	DefaultPoolSize     = 500
	DefaultPoolLowWater = 100
	// MaxPoolSize bounds one pool (and so one refill).
	MaxPoolSize = 100_000
)

// IDSource says where new MRNs come from.
type IDSource struct {
	// Idgen is the idgen identifier source uuid; empty means the
	// registry's own series.
	Idgen    string
	Size     int
	LowWater int
}

// String is the --id-source spelling: "series" or "idgen:UUID".
func (c IDSource) String() string {
	if c.Idgen == "" {
		return "series"
	}
	return "idgen:" + c.Idgen
}

// ParseIDSource reads the --id-source spelling.
func ParseIDSource(v string) (IDSource, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "" || v == "series":
		return IDSource{}, nil
	case strings.HasPrefix(v, "idgen:") && len(v) > len("idgen:"):
		u := strings.TrimPrefix(v, "idgen:")
		for _, r := range u {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') || len(u) > 64 {
				return IDSource{}, idcards.Errorf(idcards.Invalid, "--id-source %q: the idgen source uuid has letters, digits and '-' only", v)
			}
		}
		return IDSource{Idgen: u, Size: DefaultPoolSize, LowWater: DefaultPoolLowWater}, nil
	}
	return IDSource{}, idcards.Errorf(idcards.Invalid, "--id-source %q: want \"series\" (this registry's own series) or \"idgen:UUID\" (numbers from an OpenMRS idgen source; list them with idcards sync sources)", v)
}

// Validate checks the pool size and low-water mark.
func (c IDSource) Validate() error {
	if c.Idgen == "" {
		return nil
	}
	if c.Size < 1 || c.Size > MaxPoolSize {
		return idcards.Errorf(idcards.Invalid, "--pool %d: hold between 1 and %d numbers", c.Size, MaxPoolSize)
	}
	if c.LowWater < 0 || c.LowWater >= c.Size {
		return idcards.Errorf(idcards.Invalid, "--low-water %d: must be at least 0 and below --pool %d (refills bring the pool back to --pool)", c.LowWater, c.Size)
	}
	return nil
}

// IDSource returns where new MRNs come from.
func (s *Store) IDSource(ctx context.Context) (IDSource, error) {
	m, err := s.Settings(ctx)
	if err != nil {
		return IDSource{}, err
	}
	src, err := ParseIDSource(m[SettingIDSource])
	if err != nil || src.Idgen == "" {
		return IDSource{}, err
	}
	if n, err := strconv.Atoi(m[SettingPoolSize]); err == nil {
		src.Size = n
	}
	if n, err := strconv.Atoi(m[SettingPoolLowWater]); err == nil {
		src.LowWater = n
	}
	return src, nil
}

// SetIDSource switches where new MRNs come from (admin), audited. The
// caller (sync configure) has checked the idgen source against OpenMRS.
// Numbers already in the pool stay there; switching back to the series
// leaves them unused (they are consumed in idgen either way).
func (s *Store) SetIDSource(ctx context.Context, c IDSource) error {
	a, err := idcards.Require(ctx, idcards.PermSettings)
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.setSetting(ctx, tx, a.Name, SettingIDSource, c.String()); err != nil {
			return err
		}
		if c.Idgen == "" {
			return nil
		}
		if err := s.setSetting(ctx, tx, a.Name, SettingPoolSize, strconv.Itoa(c.Size)); err != nil {
			return err
		}
		return s.setSetting(ctx, tx, a.Name, SettingPoolLowWater, strconv.Itoa(c.LowWater))
	})
}

// poolSource returns the idgen source uuid new MRNs come from inside tx,
// or "" for the registry's own series.
func poolSource(ctx context.Context, tx *sql.Tx) (string, error) {
	var v string
	err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, SettingIDSource).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	src, err := ParseIDSource(v)
	return src.Idgen, err
}

// PoolStatus is what the pool holds.
type PoolStatus struct {
	Source    string `json:"source"` // idgen source uuid; "" when the registry uses its own series
	Size      int    `json:"size"`
	LowWater  int    `json:"low_water"`
	Free      int64  `json:"free"`      // numbers left to issue
	Issued    int64  `json:"issued"`    // numbers issued from the pool
	Withdrawn int64  `json:"withdrawn"` // numbers OpenMRS turned out to hold for someone else
	// Other counts free numbers of another source (left from before the
	// source was changed); they are not issued.
	Other int64 `json:"other,omitempty"`
}

// Pool returns the pool's counts.
func (s *Store) Pool(ctx context.Context) (PoolStatus, error) {
	src, err := s.IDSource(ctx)
	if err != nil {
		return PoolStatus{}, err
	}
	st := PoolStatus{Source: src.Idgen, Size: src.Size, LowWater: src.LowWater}
	err = s.queryRow(ctx, `SELECT coalesce(sum(state = 'free' AND source = ?1), 0), coalesce(sum(state = 'issued'), 0),
		coalesce(sum(state = 'withdrawn'), 0), coalesce(sum(state = 'free' AND source <> ?1), 0) FROM id_pool`, src.Idgen).
		Scan(&st.Free, &st.Issued, &st.Withdrawn, &st.Other)
	if err != nil {
		return st, fmt.Errorf("registry: pool: %w", err)
	}
	return st, nil
}

// PoolNeed returns how many numbers to ask idgen for now: enough to bring
// the pool back to its size when fewer than the low-water mark are free,
// else 0. source is the idgen source to ask ("" when not in pool mode).
func (s *Store) PoolNeed(ctx context.Context) (source string, n int, err error) {
	st, err := s.Pool(ctx)
	if err != nil || st.Source == "" {
		return "", 0, err
	}
	if st.Free >= int64(st.LowWater) && st.Free > 0 {
		return st.Source, 0, nil
	}
	return st.Source, max(0, st.Size-int(st.Free)), nil
}

// FillPool adds numbers exported from idgen source to the pool, in one
// transaction, audited. idgen never looks at existing patients, so a
// number this registry already recorded or OpenMRS already holds
// (external_identifiers) is kept as withdrawn instead.
func (s *Store) FillPool(ctx context.Context, source string, ids []string) (idcards.PoolFill, error) {
	var f idcards.PoolFill
	a, err := idcards.Require(ctx, idcards.PermSync)
	if err != nil {
		return f, err
	}
	if source == "" {
		return f, idcards.Errorf(idcards.Invalid, "fill pool: no idgen source")
	}
	now := s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		f = idcards.PoolFill{}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO id_pool(identifier, source, fetched_at, state, changed_at, note) VALUES (?,?,?,?,?,?)
			ON CONFLICT(identifier) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		taken, err := tx.PrepareContext(ctx, `SELECT coalesce((SELECT 'issued here' FROM identifiers WHERE mrn = ?1),
			(SELECT 'held in OpenMRS by patient ' || coalesce(patient_uuid, '?') FROM external_identifiers WHERE identifier = ?1), '')`)
		if err != nil {
			return err
		}
		defer taken.Close()
		for _, id := range ids {
			id = strings.ToUpper(strings.TrimSpace(id))
			if id == "" || len(id) > 64 {
				return idcards.Errorf(idcards.Invalid, "fill pool: identifier %q from idgen is not usable", id)
			}
			var why string
			if err := taken.QueryRowContext(ctx, id).Scan(&why); err != nil {
				return err
			}
			state, changed, note := "free", any(nil), any(nil)
			if why != "" {
				state, changed, note = "withdrawn", now, why
			}
			res, err := ins.ExecContext(ctx, id, source, now, state, changed, note)
			if err != nil {
				return fmt.Errorf("registry: fill pool: %w", err)
			}
			switch k, _ := res.RowsAffected(); {
			case k == 0:
				f.Known++
			case why != "":
				f.Withdrawn++
			default:
				f.Added++
			}
		}
		if len(ids) == 0 {
			return nil
		}
		return s.insertAudit(ctx, tx, a.Name, "pool.fill", source, fmt.Sprintf("count=%d first=%s last=%s added=%d withdrawn=%d",
			len(ids), ids[0], ids[len(ids)-1], f.Added, f.Withdrawn))
	})
	return f, err
}

// PoolEntry is one withdrawn pool number, for reports.
type PoolEntry struct {
	Identifier string `json:"identifier"`
	Source     string `json:"source"`
	State      string `json:"state"`
	FetchedAt  string `json:"fetched_at"`
	ChangedAt  string `json:"changed_at,omitempty"`
	Note       string `json:"note,omitempty"`
}

// PoolWithdrawn lists the numbers withdrawn from the pool, newest first.
func (s *Store) PoolWithdrawn(ctx context.Context, limit int) ([]PoolEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT identifier, source, state, fetched_at, coalesce(changed_at,''), coalesce(note,'')
		FROM id_pool WHERE state = 'withdrawn' ORDER BY changed_at DESC, seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: pool: %w", err)
	}
	defer rows.Close()
	var out []PoolEntry
	for rows.Next() {
		var e PoolEntry
		if err := rows.Scan(&e.Identifier, &e.Source, &e.State, &e.FetchedAt, &e.ChangedAt, &e.Note); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// freePool returns the pool's free numbers (any source) inside tx, for
// MergeExternal to test each pulled identifier against without a query
// per identifier.
func freePool(ctx context.Context, tx *sql.Tx) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT identifier FROM id_pool WHERE state = 'free'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	free := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		free[id] = true
	}
	return free, rows.Err()
}

// withdrawHeld marks a free pool number withdrawn because OpenMRS holds it
// (MergeExternal, inside its transaction), audited.
func (s *Store) withdrawHeld(ctx context.Context, tx *sql.Tx, actor, id, patientUUID, now string) error {
	note := "held in OpenMRS by patient " + patientUUID
	if _, err := tx.ExecContext(ctx, qWithdrawHeld, now, note, id); err != nil {
		return err
	}
	return s.insertAudit(ctx, tx, actor, "pool.withdraw", id, note)
}

const qWithdrawHeld = `UPDATE id_pool SET state = 'withdrawn', changed_at = ?, note = ? WHERE identifier = ? AND state = 'free'`

// takeFromPool issues the oldest free number of source inside tx: it
// records the identifier (patientID 0: unassigned) and marks the number
// issued, both undone together if tx rolls back. Numbers this registry or
// OpenMRS already holds are withdrawn on the way.
func (is *issuer) takeFromPool(ctx context.Context, patientID int64) (string, error) {
	for {
		var seq int64
		var mrn string
		err := is.tx.QueryRowContext(ctx, `SELECT seq, identifier FROM id_pool WHERE state = 'free' AND source = ? ORDER BY seq LIMIT 1`, is.pool).Scan(&seq, &mrn)
		if errors.Is(err, sql.ErrNoRows) {
			return "", idcards.Errorf(idcards.Unavailable, "no MRNs left: the pool of numbers from OpenMRS idgen is empty; it refills when sync reaches OpenMRS (idcards sync --once, or leave the desk screen or serve --sync running)")
		}
		if err != nil {
			return "", fmt.Errorf("registry: issue from pool: %w", err)
		}
		var n int
		if err := is.external.QueryRowContext(ctx, mrn).Scan(&n); err != nil {
			return "", err
		}
		if n > 0 {
			if _, err := is.tx.ExecContext(ctx, qWithdrawHeld, is.at, "held in OpenMRS (found when issuing)", mrn); err != nil {
				return "", err
			}
			continue
		}
		state, pid, assigned := string(idcards.IDUnassigned), any(nil), any(nil)
		if patientID != 0 {
			state, pid, assigned = string(idcards.IDActive), patientID, is.at
		}
		res, err := is.insert.ExecContext(ctx, mrn, nil, nil, state, pid, is.at, is.actor, assigned)
		if err != nil {
			return "", fmt.Errorf("registry: issue: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			if _, err := is.tx.ExecContext(ctx, qWithdrawHeld, is.at, "already recorded in this registry", mrn); err != nil {
				return "", err
			}
			continue
		}
		if _, err := is.tx.ExecContext(ctx, `UPDATE id_pool SET state = 'issued', changed_at = ? WHERE seq = ?`, is.at, seq); err != nil {
			return "", err
		}
		return mrn, nil
	}
}

// PoolFree lists up to limit free numbers of the pool's source, in the
// order they will be issued.
func (s *Store) PoolFree(ctx context.Context, limit int) ([]string, error) {
	src, err := s.IDSource(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT identifier FROM id_pool WHERE state = 'free' AND source = ? ORDER BY seq LIMIT ?`, src.Idgen, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: pool: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
