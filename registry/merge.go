package registry

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
)

// Merge records that two patient records are one person (supervisor). The
// record merged away (from) keeps its row, marked merged_into = into; its
// MRNs stay valid and now point to into, so old cards keep verifying and
// show the surviving record. Each moved MRN is queued for OpenMRS as an
// identifier of the surviving patient. Audited, in one transaction.
func (s *Store) Merge(ctx context.Context, from, into int64, reason string) error {
	a, err := idcards.Require(ctx, idcards.PermMerge)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return idcards.Errorf(idcards.Invalid, "a merge needs a reason (it is audited)")
	}
	if from == into {
		return idcards.Errorf(idcards.Invalid, "cannot merge patient %d into itself", from)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var fm, im sql.NullInt64
		var fuuid, iuuid string
		for _, x := range []struct {
			id   int64
			m    *sql.NullInt64
			uuid *string
		}{{from, &fm, &fuuid}, {into, &im, &iuuid}} {
			err := tx.QueryRowContext(ctx, `SELECT merged_into, uuid FROM patients WHERE id = ?`, x.id).Scan(x.m, x.uuid)
			if err == sql.ErrNoRows {
				return idcards.Errorf(idcards.NotFound, "no patient with id %d", x.id)
			}
			if err != nil {
				return err
			}
		}
		if fm.Valid {
			return idcards.Errorf(idcards.Conflict, "patient %d was already merged into patient %d", from, fm.Int64)
		}
		if im.Valid {
			return idcards.Errorf(idcards.Conflict, "patient %d was itself merged into patient %d: merge into that one", into, im.Int64)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE patients SET merged_into = ?, updated_at = ? WHERE id = ?`, into, now, from); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT mrn FROM identifiers WHERE patient_id = ? AND state = 'active'`, from)
		if err != nil {
			return err
		}
		var moved []string
		for rows.Next() {
			var m string
			rows.Scan(&m)
			moved = append(moved, m)
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, `UPDATE identifiers SET patient_id = ? WHERE patient_id = ?`, into, from); err != nil {
			return err
		}
		for _, m := range moved {
			if err := enqueue(ctx, tx, "add_identifier", into, m, now); err != nil {
				return err
			}
		}
		return s.insertAudit(ctx, tx, a.Name, "patient.merge", fuuid,
			fmt.Sprintf("into=%s from_id=%d into_id=%d mrns=%s reason=%s", iuuid, from, into, strings.Join(moved, ","), reason))
	})
}

// Rekey fills missing search keys (patients registered before keys were
// computed, e.g. by an older version) and returns how many were set. Keys
// already set are left alone, so it is cheap to run again. Duplicate
// matching has its own index (matching.go), kept current by triggers.
func (s *Store) Rekey(ctx context.Context) (int, error) {
	a, err := idcards.Require(ctx, idcards.PermRegister)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, given_name, family_name FROM patients WHERE given_key IS NULL AND family_key IS NULL`)
		if err != nil {
			return err
		}
		type key struct {
			id     int64
			gk, fk string
		}
		var keys []key
		for rows.Next() {
			var k key
			var g, f string
			if err := rows.Scan(&k.id, &g, &f); err != nil {
				rows.Close()
				return err
			}
			k.gk, k.fk = s.keys(g, f)
			if k.gk != "" || k.fk != "" {
				keys = append(keys, k)
			}
		}
		rows.Close()
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `UPDATE patients SET given_key = ?, family_key = ? WHERE id = ?`, nullStr(k.gk), nullStr(k.fk), k.id); err != nil {
				return err
			}
		}
		n = len(keys)
		if n == 0 {
			return nil
		}
		return s.insertAudit(ctx, tx, a.Name, "patients.rekey", "", fmt.Sprintf("count=%d", n))
	})
	if err != nil {
		return 0, fmt.Errorf("registry: rekey: %w", err)
	}
	return n, nil
}
