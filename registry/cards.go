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
// MRNs of the good ones and the refused ones with reasons, in input order.
//
// It is Verify for a list: codes are normalised and their check characters
// checked in memory with the same series codecs, and the good ones looked
// up a few hundred per statement; any code that is not plainly good (a
// parse failure, a legacy ID, a card serial, unknown, voided) goes through
// Verify itself, so every refusal reads exactly as a scan of it would.
func (s *Store) CheckPrintable(ctx context.Context, codes []string) (good []string, bad []BadID, err error) {
	sc, err := s.seriesCodecs(ctx)
	if err != nil {
		return nil, nil, err
	}
	parsed := make([]string, len(codes)) // canonical MRN, "" = ask Verify
	for i, c := range codes {
		v, n, serial, done := s.prepare(c)
		if done || serial != "" {
			continue
		}
		if ok, _ := parseCode(sc, &v, n); ok {
			parsed[i] = v.Code
		}
	}
	printable := map[string]bool{}
	for i := 0; i < len(codes); i += serialChunk {
		var args []any
		for _, m := range parsed[i:min(i+serialChunk, len(codes))] {
			if m != "" {
				args = append(args, m)
			}
		}
		if len(args) == 0 {
			continue
		}
		rows, err := s.db.QueryContext(ctx, `SELECT mrn FROM identifiers WHERE state <> 'voided' AND mrn IN (?`+strings.Repeat(",?", len(args)-1)+`)`, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("registry: check printable: %w", err)
		}
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				rows.Close()
				return nil, nil, err
			}
			printable[m] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	seen := map[string]bool{}
	for i, c := range codes {
		code := parsed[i]
		if !printable[code] {
			v, err := s.Verify(ctx, c)
			if err != nil {
				return nil, nil, err
			}
			if !v.Status.OK() {
				reason := string(v.Status)
				if v.Detail != "" {
					reason += ": " + v.Detail
				}
				bad = append(bad, BadID{Input: c, Reason: reason})
				continue
			}
			code = v.Code
		}
		if seen[code] {
			bad = append(bad, BadID{Input: c, Reason: "listed twice in this run"})
			continue
		}
		seen[code] = true
		good = append(good, code)
	}
	return good, bad, nil
}

// RecordCards records cards that are already printed: BeginCards and
// ConfirmCards in one step (tests, and cards printed outside idcards).
// The print paths use BeginCards, render, then ConfirmCards or FailCards.
func (s *Store) RecordCards(ctx context.Context, mrns []string, layout, batchID, reason string) ([]idcards.Card, error) {
	cards, err := s.BeginCards(ctx, mrns, layout, batchID, reason)
	if err != nil {
		return nil, err
	}
	if err := s.ConfirmCards(ctx, cards); err != nil {
		return nil, err
	}
	for i := range cards {
		cards[i].State = idcards.CardActive
	}
	return cards, nil
}

// BeginCards is phase one of printing: it gives each MRN a new card
// serial and records the cards as pending (one transaction) before they
// are rendered, so every card that can leave the printer is known — a
// pending card scanned later is still recognised by its serial. Phase two
// is ConfirmCards once a card's page is in a completely written PDF (or lp
// accepted the job), or FailCards when the run failed. An MRN that already
// has a pending card is refused (Conflict): another run is printing it, or
// one died and must be resolved first. Batch printing (more than one card)
// needs the print_batch permission.
func (s *Store) BeginCards(ctx context.Context, mrns []string, layout, batchID, reason string) ([]idcards.Card, error) {
	a, err := idcards.Require(ctx, printPerm(len(mrns)))
	if err != nil {
		return nil, err
	}
	if len(mrns) == 0 {
		return nil, idcards.Errorf(idcards.Invalid, "nothing to print")
	}
	out := make([]idcards.Card, 0, len(mrns))
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		// Checked inside the transaction, in chunks: every MRN is in the
		// registry and not voided, and none has a pending card (another
		// run printing it, or one that stopped).
		seen := make(map[string]bool, len(mrns))
		for i := 0; i < len(mrns); i += serialChunk {
			chunk := mrns[i:min(i+serialChunk, len(mrns))]
			args := make([]any, len(chunk))
			for j, m := range chunk {
				args[j] = m
			}
			in := "(?" + strings.Repeat(",?", len(chunk)-1) + ")"
			states := make(map[string]string, len(chunk))
			if err := eachRow(ctx, tx, `SELECT mrn, state FROM identifiers WHERE mrn IN `+in, args, func(r *sql.Rows) error {
				var m, st string
				if err := r.Scan(&m, &st); err != nil {
					return err
				}
				states[m] = st
				return nil
			}); err != nil {
				return err
			}
			pending := map[string]string{}
			if err := eachRow(ctx, tx, `SELECT mrn, serial || ' of batch ' || coalesce(batch_id, '-') FROM cards WHERE state = 'pending' AND mrn IN `+in, args, func(r *sql.Rows) error {
				var m, p string
				if err := r.Scan(&m, &p); err != nil {
					return err
				}
				pending[m] = p
				return nil
			}); err != nil {
				return err
			}
			for _, mrn := range chunk {
				switch st, ok := states[mrn]; {
				case !ok:
					return idcards.Errorf(idcards.NotFound, "%s is not in this registry", mrn)
				case st == string(idcards.IDVoided):
					return idcards.Errorf(idcards.Conflict, "%s is voided and cannot be printed", mrn)
				case pending[mrn] != "" && !seen[mrn]:
					return idcards.Errorf(idcards.Conflict, "%s already has pending card %s (a print run in progress, or one that stopped: see idcards cards list --state pending)", mrn, pending[mrn])
				}
				seen[mrn] = true
				out = append(out, idcards.Card{MRN: mrn, Serial: newSerial(), State: idcards.CardPending, BatchID: batchID, Layout: layout, PrintedBy: a.Name, PrintedAt: parseTime(now)})
			}
		}
		if err := insertPending(ctx, tx, out, batchID, layout, a.Name, now, reason); err != nil {
			return err
		}
		detail := fmt.Sprintf("cards=%d layout=%s batch=%s state=pending", len(out), layout, batchID)
		if reason != "" {
			detail += " reason=" + reason
		}
		return s.insertAudit(ctx, tx, a.Name, "card.record", subjectOf(out, batchID), detail)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertRows is how many cards one INSERT statement writes.
const insertRows = 100

// insertPending writes the pending card rows, insertRows at a time. A
// serial that is already taken (1 in 32^8 per pair) makes that group go
// row by row with fresh serials.
func insertPending(ctx context.Context, tx *sql.Tx, cards []idcards.Card, batchID, layout, by, now, reason string) error {
	const cols = `INSERT INTO cards(serial, mrn, state, batch_id, layout, printed_by, printed_at, reason) VALUES `
	row := func(args []any, c idcards.Card) []any {
		return append(args, c.Serial, c.MRN, nullStr(batchID), layout, by, now, nullStr(reason))
	}
	for i := 0; i < len(cards); i += insertRows {
		group := cards[i:min(i+insertRows, len(cards))]
		args := make([]any, 0, 7*len(group))
		for _, c := range group {
			args = row(args, c)
		}
		q := cols + "(?,?,'pending',?,?,?,?,?)" + strings.Repeat(",(?,?,'pending',?,?,?,?,?)", len(group)-1)
		_, err := tx.ExecContext(ctx, q, args...)
		if err == nil {
			continue
		}
		if !isConstraint(err) {
			return fmt.Errorf("registry: record cards: %w", err)
		}
		for k := range group {
			for try := 0; ; try++ {
				_, err := tx.ExecContext(ctx, cols+"(?,?,'pending',?,?,?,?,?)", row(nil, group[k])...)
				if err == nil {
					break
				}
				if !isConstraint(err) || try > 5 {
					return fmt.Errorf("registry: record card: %w", err)
				}
				group[k].Serial = newSerial()
			}
		}
	}
	return nil
}

// eachRow runs q and calls f for each row.
func eachRow(ctx context.Context, tx *sql.Tx, q string, args []any, f func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func printPerm(n int) idcards.Permission {
	if n > 1 {
		return idcards.PermPrintBatch
	}
	return idcards.PermPrintCard
}

func subjectOf(cards []idcards.Card, batchID string) string {
	if len(cards) == 1 || batchID == "" {
		return cards[0].MRN
	}
	return batchID
}

// serialChunk bounds the serials bound into one statement.
const serialChunk = 500

// ConfirmCards is phase two of a successful print: the pending cards with
// these serials become active, and any earlier active card of the same
// MRN becomes replaced by the new one (a lost card scanned later is
// recognised). One transaction, audited as card.print. A serial that is
// not pending (unknown, already confirmed, failed, voided) fails the whole
// call and nothing changes.
func (s *Store) ConfirmCards(ctx context.Context, cards []idcards.Card) error {
	if len(cards) == 0 {
		return nil
	}
	a, err := idcards.Require(ctx, printPerm(len(cards)))
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		replaced := 0
		for _, chunk := range confirmChunks(cards) {
			in, args := serialList(chunk)
			// The earlier active card of each MRN is replaced by the new one.
			res, err := tx.ExecContext(ctx, `UPDATE cards SET state = 'replaced', replaced_by = (SELECT n.serial FROM cards n WHERE n.mrn = cards.mrn AND n.serial IN `+in+`)
				WHERE state = 'active' AND mrn IN (SELECT mrn FROM cards WHERE serial IN `+in+`)`, append(args, args...)...)
			if err != nil {
				return fmt.Errorf("registry: confirm cards: %w", err)
			}
			n, _ := res.RowsAffected()
			replaced += int(n)
			res, err = tx.ExecContext(ctx, `UPDATE cards SET state = 'active' WHERE state = 'pending' AND serial IN `+in, args...)
			if err != nil {
				return fmt.Errorf("registry: confirm cards: %w", err)
			}
			if n, _ := res.RowsAffected(); int(n) != len(chunk) {
				return notPending(ctx, tx, chunk)
			}
		}
		detail := fmt.Sprintf("cards=%d layout=%s batch=%s replaced=%d", len(cards), cards[0].Layout, cards[0].BatchID, replaced)
		return s.insertAudit(ctx, tx, a.Name, "card.print", subjectOf(cards, cards[0].BatchID), detail)
	})
}

// FailCards is phase two of a failed print run: the pending cards with
// these serials become failed (they were never printed: no complete PDF
// held them and no printer accepted them), with why as the reason. Their
// MRNs keep whatever active card they had, and --unprinted offers those
// left with no valid card. Cards no longer pending are left as they are.
func (s *Store) FailCards(ctx context.Context, cards []idcards.Card, why string) error {
	if len(cards) == 0 {
		return nil
	}
	a, err := idcards.Require(ctx, printPerm(len(cards)))
	if err != nil {
		return err
	}
	why = strings.TrimSpace(why)
	if why == "" {
		why = "print run failed"
	}
	if len(why) > 500 {
		why = why[:500]
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		failed := 0
		for i := 0; i < len(cards); i += serialChunk {
			chunk := cards[i:min(i+serialChunk, len(cards))]
			in, args := serialList(chunk)
			res, err := tx.ExecContext(ctx, `UPDATE cards SET state = 'failed', reason = CASE WHEN reason IS NULL THEN ? ELSE reason || '; ' || ? END
				WHERE state = 'pending' AND serial IN `+in, append([]any{"not printed: " + why, "not printed: " + why}, args...)...)
			if err != nil {
				return fmt.Errorf("registry: fail cards: %w", err)
			}
			n, _ := res.RowsAffected()
			failed += int(n)
		}
		detail := fmt.Sprintf("cards=%d batch=%s why=%s", failed, cards[0].BatchID, why)
		return s.insertAudit(ctx, tx, a.Name, "card.fail", subjectOf(cards, cards[0].BatchID), detail)
	})
}

// confirmChunks splits cards into runs of at most serialChunk with no MRN
// twice in a run, so an MRN printed twice in one call ends with its later
// card active and the earlier one replaced by it.
func confirmChunks(cards []idcards.Card) [][]idcards.Card {
	var out [][]idcards.Card
	start, seen := 0, map[string]bool{}
	for i, c := range cards {
		if seen[c.MRN] || i-start == serialChunk {
			out, start, seen = append(out, cards[start:i]), i, map[string]bool{}
		}
		seen[c.MRN] = true
	}
	return append(out, cards[start:])
}

func serialList(cards []idcards.Card) (string, []any) {
	args := make([]any, len(cards))
	var b strings.Builder
	b.WriteString("(")
	for i, c := range cards {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("?")
		args[i] = c.Serial
	}
	b.WriteString(")")
	return b.String(), args
}

// notPending names the first card of chunk that is not pending.
func notPending(ctx context.Context, tx *sql.Tx, chunk []idcards.Card) error {
	for _, c := range chunk {
		var st string
		err := tx.QueryRowContext(ctx, `SELECT state FROM cards WHERE serial = ?`, c.Serial).Scan(&st)
		if errors.Is(err, sql.ErrNoRows) {
			return idcards.Errorf(idcards.NotFound, "no card with serial %s", c.Serial)
		}
		if err != nil {
			return err
		}
		if st != string(idcards.CardActive) {
			return idcards.Errorf(idcards.Conflict, "card %s is %s, not pending: it cannot be confirmed", c.Serial, st)
		}
	}
	return idcards.Errorf(idcards.Conflict, "some cards were confirmed twice")
}

// UnprintedIDs lists issued, non-voided IDs that have no valid card,
// oldest first. A valid card is an active one, or a pending one (it may
// have printed: resolve it with ConfirmCards or FailCards). A failed card
// was never printed, a voided one was spoiled and never handed out, and a
// replaced one was superseded (lost, damaged): none of them counts, so an
// ID whose only cards are such is offered again.
func (s *Store) UnprintedIDs(ctx context.Context, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 1_000_000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT i.mrn FROM identifiers i WHERE i.state <> 'voided'
		AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.mrn = i.mrn AND c.state IN ('active', 'pending')) ORDER BY i.issued_at, i.mrn LIMIT ?`, limit)
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

// VoidCard voids one active or pending card (e.g. spoiled in the printer)
// without touching its MRN. A voided card was never handed out: an MRN
// left with no active or pending card is offered by UnprintedIDs again, and
// a card it had replaced stays replaced (it was reported lost or damaged)
// but no longer names it as the valid card (see decide).
func (s *Store) VoidCard(ctx context.Context, serial, reason string) error {
	a, err := idcards.Require(ctx, idcards.PermVoid)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return idcards.Errorf(idcards.Invalid, "voiding card %s needs a reason", serial)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cards SET state = 'voided', reason = ? WHERE serial = ? AND state IN ('active', 'pending')`, reason, serial)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return idcards.Errorf(idcards.NotFound, "no active or pending card with serial %s", serial)
		}
		return s.insertAudit(ctx, tx, a.Name, "card.void", serial, reason)
	})
}

// CardHolder is what a card prints about its MRN: the patient (zero ID for
// a pre-printed ID not yet given to anyone) and the MRN's current active
// and pending cards.
type CardHolder struct {
	MRN           string
	Patient       idcards.Patient
	ActiveSerial  string
	PendingSerial string
	PendingBatch  string
}

// CardHolders reads the card holders of mrns (canonical MRNs) in a few
// statements, in the order given: a print run of 100,000 cards does not
// make 200,000 round trips. An MRN not in the registry is an error.
func (s *Store) CardHolders(ctx context.Context, mrns []string) ([]CardHolder, error) {
	out := make([]CardHolder, 0, len(mrns))
	for i := 0; i < len(mrns); i += serialChunk {
		chunk := mrns[i:min(i+serialChunk, len(mrns))]
		args := make([]any, len(chunk))
		for j, m := range chunk {
			args[j] = m
		}
		q := `SELECT i.mrn, coalesce(p.id, 0), coalesce(p.given_name, ''), coalesce(p.family_name, ''), coalesce(p.sex, ''),
			coalesce(p.birth_date, ''), coalesce(p.birth_date_estimated, 0),
			coalesce((SELECT c.serial FROM cards c WHERE c.mrn = i.mrn AND c.state = 'active' ORDER BY c.printed_at DESC LIMIT 1), ''),
			coalesce((SELECT c.serial || ' ' || coalesce(c.batch_id, '') FROM cards c WHERE c.mrn = i.mrn AND c.state = 'pending' LIMIT 1), '')
			FROM identifiers i LEFT JOIN patients p ON i.state = 'active' AND p.id = i.patient_id
			WHERE i.mrn IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("registry: card holders: %w", err)
		}
		got := make(map[string]CardHolder, len(chunk))
		for rows.Next() {
			var h CardHolder
			var sex, pending string
			if err := rows.Scan(&h.MRN, &h.Patient.ID, &h.Patient.GivenName, &h.Patient.FamilyName, &sex, &h.Patient.BirthDate, &h.Patient.BirthDateEstimated, &h.ActiveSerial, &pending); err != nil {
				rows.Close()
				return nil, err
			}
			h.Patient.Sex = idcards.Sex(sex)
			h.PendingSerial, h.PendingBatch, _ = strings.Cut(pending, " ")
			got[h.MRN] = h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, m := range chunk {
			h, ok := got[m]
			if !ok {
				return nil, idcards.Errorf(idcards.NotFound, "%s is not in this registry", m)
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// ConfirmBatch is ConfirmCards for every pending card of a batch: a print
// run records each file's cards just before rendering them and confirms
// the batch when the file is complete, so the batch's pending cards are
// exactly that file's. Set-based (two statements), whatever the count; it
// returns how many cards became active.
func (s *Store) ConfirmBatch(ctx context.Context, batchID string) (int, error) {
	if batchID == "" {
		return 0, idcards.Errorf(idcards.Invalid, "confirm: no batch")
	}
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cards WHERE batch_id = ? AND state = 'pending'`, batchID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		a, err := idcards.Require(ctx, printPerm(n))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE cards SET state = 'replaced',
				replaced_by = (SELECT n.serial FROM cards n WHERE n.mrn = cards.mrn AND n.batch_id = ? AND n.state = 'pending' ORDER BY n.printed_at DESC, n.serial LIMIT 1)
			WHERE state = 'active' AND mrn IN (SELECT mrn FROM cards WHERE batch_id = ? AND state = 'pending')`, batchID, batchID)
		if err != nil {
			return fmt.Errorf("registry: confirm batch: %w", err)
		}
		replaced, _ := res.RowsAffected()
		var layout string
		if err := tx.QueryRowContext(ctx, `SELECT layout FROM cards WHERE batch_id = ? AND state = 'pending' LIMIT 1`, batchID).Scan(&layout); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cards SET state = 'active' WHERE batch_id = ? AND state = 'pending'`, batchID); err != nil {
			return fmt.Errorf("registry: confirm batch: %w", err)
		}
		detail := fmt.Sprintf("cards=%d layout=%s batch=%s replaced=%d", n, layout, batchID, replaced)
		return s.insertAudit(ctx, tx, a.Name, "card.print", batchID, detail)
	})
	return n, err
}

// FailBatch is FailCards for every pending card of a batch; it returns how
// many cards became failed.
func (s *Store) FailBatch(ctx context.Context, batchID, why string) (int, error) {
	if batchID == "" {
		return 0, idcards.Errorf(idcards.Invalid, "fail: no batch")
	}
	why = strings.TrimSpace(why)
	if why == "" {
		why = "print run failed"
	}
	if len(why) > 500 {
		why = why[:500]
	}
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := idcards.Require(ctx, idcards.PermPrintCard)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE cards SET state = 'failed', reason = CASE WHEN reason IS NULL THEN ? ELSE reason || '; ' || ? END
			WHERE batch_id = ? AND state = 'pending'`, "not printed: "+why, "not printed: "+why, batchID)
		if err != nil {
			return fmt.Errorf("registry: fail batch: %w", err)
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil
		}
		return s.insertAudit(ctx, tx, a.Name, "card.fail", batchID, fmt.Sprintf("cards=%d batch=%s why=%s", n, batchID, why))
	})
	return int(n), err
}

// CardStates reads the active and pending cards of mrns (canonical MRNs),
// in a few statements; MRNs with neither are left out of the map. (A
// lighter CardHolders, for checking a long run before it starts.)
func (s *Store) CardStates(ctx context.Context, mrns []string) (map[string]CardHolder, error) {
	out := map[string]CardHolder{}
	for i := 0; i < len(mrns); i += serialChunk {
		chunk := mrns[i:min(i+serialChunk, len(mrns))]
		args := make([]any, len(chunk))
		for j, m := range chunk {
			args[j] = m
		}
		rows, err := s.db.QueryContext(ctx, `SELECT mrn, state, serial, coalesce(batch_id, '') FROM cards WHERE state IN ('active', 'pending') AND mrn IN (?`+strings.Repeat(",?", len(chunk)-1)+`) ORDER BY printed_at`, args...)
		if err != nil {
			return nil, fmt.Errorf("registry: card states: %w", err)
		}
		for rows.Next() {
			var m, st, serial, batch string
			if err := rows.Scan(&m, &st, &serial, &batch); err != nil {
				rows.Close()
				return nil, err
			}
			h := out[m]
			h.MRN = m
			if st == string(idcards.CardActive) {
				h.ActiveSerial = serial // the latest, by the ORDER BY
			} else {
				h.PendingSerial, h.PendingBatch = serial, batch
			}
			out[m] = h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
