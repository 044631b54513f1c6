package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/idcards/idcards"
)

// Setting returns a registry setting, or def when it is not set.
func (s *Store) Setting(ctx context.Context, key, def string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return "", fmt.Errorf("registry: setting %s: %w", key, err)
	}
	return v, nil
}

// Settings returns every setting.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM settings ORDER BY key`)
	if err != nil {
		return nil, err
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

// SetSetting changes a setting (admin), audited with old and new value.
// Callers that hold secrets must not store them here.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	a, err := idcards.Require(ctx, idcards.PermSettings)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.setSetting(ctx, tx, a.Name, key, value)
	})
}

func (s *Store) setSetting(ctx context.Context, tx *sql.Tx, actor, key, value string) error {
	var old sql.NullString
	_ = tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&old)
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("registry: set %s: %w", key, err)
	}
	return s.insertAudit(ctx, tx, actor, "setting.set", key, fmt.Sprintf("%q -> %q", old.String, value))
}
