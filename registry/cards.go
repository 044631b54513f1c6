package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// newSerial draws a random card serial in the form barcode.IsSerial
// accepts; 32 divides 256, so every character is equally likely.
func newSerial() string {
	var b [barcode.SerialLen - 1]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = barcode.SerialAlphabet[int(b[i])%len(barcode.SerialAlphabet)]
	}
	return "C" + string(b[:])
}

// BadID is an ID refused for printing, with the reason.
type BadID struct {
	Input  string
	Reason string
}

// CheckPrintable verifies each code for a print run: only IDs that exist in
// this registry and are not voided may be printed. It returns the canonical
// MRNs of the good ones and the refused ones with reasons.
func (s *Store) CheckPrintable(ctx context.Context, codes []string) (good []string, bad []BadID, err error) {
	seen := map[string]bool{}
	for _, c := range codes {
		v, err := s.Verify(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case !v.Status.OK():
			reason := string(v.Status)
			if v.Detail != "" {
				reason += ": " + v.Detail
			}
			bad = append(bad, BadID{Input: c, Reason: reason})
		case seen[v.Code]:
			bad = append(bad, BadID{Input: c, Reason: "listed twice in this run"})
		default:
			seen[v.Code] = true
			good = append(good, v.Code)
		}
	}
	return good, bad, nil
}

// RecordCards gives each MRN a new card serial and records the cards (one
// transaction) before they are rendered, so every card that can leave the
// printer is known. Earlier active cards of the same MRN become
// "replaced" (a lost card scanned later is recognised). Batch printing
// (more than one card) needs the print_batch permission.
func (s *Store) RecordCards(ctx context.Context, mrns []string, layout, batchID, reason string) ([]idcards.Card, error) {
	perm := idcards.PermPrintCard
	if len(mrns) > 1 {
		perm = idcards.PermPrintBatch
	}
	a, err := idcards.Require(ctx, perm)
	if err != nil {
		return nil, err
	}
	if len(mrns) == 0 {
		return nil, idcards.Errorf(idcards.Invalid, "nothing to print")
	}
	out := make([]idcards.Card, 0, len(mrns))
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO cards(serial, mrn, state, batch_id, layout, printed_by, printed_at, reason) VALUES (?,?,'active',?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		state, err := tx.PrepareContext(ctx, `SELECT state FROM identifiers WHERE mrn = ?`)
		if err != nil {
			return err
		}
		defer state.Close()
		repl, err := tx.PrepareContext(ctx, `UPDATE cards SET state = 'replaced', replaced_by = ? WHERE mrn = ? AND state = 'active' AND serial <> ?`)
		if err != nil {
			return err
		}
		defer repl.Close()
		replaced := 0
		for _, mrn := range mrns {
			var st string
			if err := state.QueryRowContext(ctx, mrn).Scan(&st); errors.Is(err, sql.ErrNoRows) {
				return idcards.Errorf(idcards.NotFound, "%s is not in this registry", mrn)
			} else if err != nil {
				return err
			}
			if st == string(idcards.IDVoided) {
				return idcards.Errorf(idcards.Conflict, "%s is voided and cannot be printed", mrn)
			}
			c := idcards.Card{MRN: mrn, State: idcards.CardActive, BatchID: batchID, Layout: layout, PrintedBy: a.Name, PrintedAt: parseTime(now)}
			for try := 0; ; try++ {
				c.Serial = newSerial()
				_, err := ins.ExecContext(ctx, c.Serial, mrn, nullStr(batchID), layout, a.Name, now, nullStr(reason))
				if err == nil {
					break
				}
				if !isConstraint(err) || try > 5 {
					return fmt.Errorf("registry: record card: %w", err)
				}
			}
			res, err := repl.ExecContext(ctx, c.Serial, mrn, c.Serial)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			replaced += int(n)
			out = append(out, c)
		}
		detail := fmt.Sprintf("cards=%d layout=%s batch=%s replaced=%d", len(out), layout, batchID, replaced)
		if reason != "" {
			detail += " reason=" + reason
		}
		subject := out[0].MRN
		if len(out) > 1 {
			subject = batchID
		}
		return s.insertAudit(ctx, tx, a.Name, "card.print", subject, detail)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UnprintedIDs lists issued, non-voided IDs that have no card yet, oldest first.
func (s *Store) UnprintedIDs(ctx context.Context, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 1_000_000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT i.mrn FROM identifiers i WHERE i.state <> 'voided'
		AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.mrn = i.mrn) ORDER BY i.issued_at, i.mrn LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// CardFilter selects cards for ListCards; zero values match everything.
type CardFilter struct {
	MRN, BatchID string
	State        idcards.CardState
	Limit        int
}

// ListCards lists printed cards, newest first.
func (s *Store) ListCards(ctx context.Context, f CardFilter) ([]idcards.Card, error) {
	var conds []string
	var args []any
	if f.MRN != "" {
		conds, args = append(conds, "mrn = ?"), append(args, f.MRN)
	}
	if f.BatchID != "" {
		conds, args = append(conds, "batch_id = ?"), append(args, f.BatchID)
	}
	if f.State != "" {
		conds, args = append(conds, "state = ?"), append(args, string(f.State))
	}
	q := `SELECT serial, mrn, state, coalesce(batch_id,''), layout, printed_by, printed_at FROM cards`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	q += " ORDER BY printed_at DESC, serial LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []idcards.Card
	for rows.Next() {
		var c idcards.Card
		var st, at string
		if err := rows.Scan(&c.Serial, &c.MRN, &st, &c.BatchID, &c.Layout, &c.PrintedBy, &at); err != nil {
			return nil, err
		}
		c.State, c.PrintedAt = idcards.CardState(st), parseTime(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// VoidCard voids one card (e.g. spoiled in the printer) without touching
// its MRN.
func (s *Store) VoidCard(ctx context.Context, serial, reason string) error {
	a, err := idcards.Require(ctx, idcards.PermVoid)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return idcards.Errorf(idcards.Invalid, "voiding card %s needs a reason", serial)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cards SET state = 'voided', reason = ? WHERE serial = ? AND state = 'active'`, reason, serial)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return idcards.Errorf(idcards.NotFound, "no active card with serial %s", serial)
		}
		return s.insertAudit(ctx, tx, a.Name, "card.void", serial, reason)
	})
}
