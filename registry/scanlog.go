package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// The scan log holds one row per answered scanner request (table scan_log,
// migration 0009). It is append-only and has no secondary index, so a row
// costs one append to the tail of one B-tree. It is made tamper-evident by
// the audit chain, not by hashes of its own: every batch written by
// ScanLogBatch appends, in the same transaction, ONE audit row
//
//	action  scan.batch
//	subject scan_log:FIRST-LAST     (the batch's ids, contiguous)
//	detail  rows=N sha256=DIGEST
//
// where DIGEST is the hex SHA-256 of the batch's rows in id order, each in
// the canonical encoding of appendScanRow:
//
//	the bytes of json.Marshal([]any{id, at, token, code, status, addr}) + "\n"
//
// with at the stored text (TimeFormat). VerifyAudit recomputes each digest
// from scan_log, so a scan row that is changed, deleted or inserted breaks
// verification at the batch that covers it (or, for a row no batch covers,
// at the end of the chain).

// ScanBatchAction is the audit action of a scan log batch.
const ScanBatchAction = "scan.batch"

// ScanRecord is one row of the scan log: who asked about which code, what
// the answer was, from where.
type ScanRecord struct {
	ID     int64          `json:"id"` // assigned when written
	At     time.Time      `json:"at"`
	Token  string         `json:"token"`  // scanner token name
	Code   string         `json:"code"`   // normalised; the raw text when malformed
	Status idcards.Status `json:"status"` // the answer given
	Addr   string         `json:"addr"`   // client IP address
}

// scanChunk is the most rows per INSERT statement (6 parameters each).
const scanChunk = 128

func scanInsertN(n int) string {
	return multiRowInsert(`INSERT INTO scan_log(id, at, token, code, status, addr)`, 6, n)
}

var scanInsertChunk = scanInsertN(scanChunk)

// appendScanRow appends the canonical encoding of one scan log row (see
// the top of this file): a JSON array and a newline.
func appendScanRow(b []byte, id int64, at, token, code, status, addr string) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, id, 10)
	for _, f := range [...]string{at, token, code, status, addr} {
		b = append(b, ',')
		b = appendJSONString(b, f)
	}
	return append(b, ']', '\n')
}

// scanDetail is the detail of a scan.batch audit row.
func scanDetail(rows int64, digest []byte) string {
	return "rows=" + strconv.FormatInt(rows, 10) + " sha256=" + hex.EncodeToString(digest)
}

// ScanLogBatch appends scanner requests to the scan log in one
// transaction, together with the one scan.batch audit row that chains
// them, and records when tokens were last used (names → time; nil for
// none). A failed call wrote nothing and may be retried with the same
// records. The audit row's actor is ctx's actor, or "serve".
func (s *Store) ScanLogBatch(ctx context.Context, recs []ScanRecord, lastUsed map[string]time.Time) error {
	if len(recs) == 0 && len(lastUsed) == 0 {
		return nil
	}
	actor := "serve"
	if a, ok := idcards.ActorFrom(ctx); ok && a.Name != "" {
		actor = a.Name
	}
	b := &s.audit
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dialect = s.dialect
	if err := b.open(ctx, s.db); err != nil {
		return fmt.Errorf("registry: scan log: %w", err)
	}
	err := b.writeScans(ctx, s.now(), actor, recs, lastUsed)
	if err != nil {
		b.close()
	}
	return err
}

func (b *auditBatcher) writeScans(ctx context.Context, now, actor string, recs []ScanRecord, lastUsed map[string]time.Time) (err error) {
	if _, err := b.conn.ExecContext(ctx, b.dialect.beginWrite); err != nil {
		return fmt.Errorf("registry: scan log: begin: %w", err)
	}
	defer func() {
		if err != nil {
			b.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			err = fmt.Errorf("registry: scan log: %w", err)
		}
	}()
	if len(recs) > 0 {
		if err := b.insertScans(ctx, now, actor, recs); err != nil {
			return err
		}
	}
	if err := b.touchTokens(ctx, lastUsed); err != nil {
		return err
	}
	if _, err := b.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// insertScans writes recs with ids after the last scan_log row, then the
// scan.batch audit row, inside the open transaction.
func (b *auditBatcher) insertScans(ctx context.Context, now, actor string, recs []ScanRecord) error {
	last, err := b.stmt(ctx, `SELECT coalesce(max(id), 0) FROM scan_log`)
	if err != nil {
		return err
	}
	var id int64
	if err := last.QueryRowContext(ctx).Scan(&id); err != nil {
		return err
	}
	first := id + 1
	h := sha256.New()
	var line []byte
	var atBuf [len(TimeFormat)]byte
	for left := recs; len(left) > 0; {
		n := min(len(left), scanChunk)
		q := scanInsertChunk
		if n < scanChunk {
			q = scanInsertN(n)
		}
		ins, err := b.stmt(ctx, q)
		if err != nil {
			return err
		}
		args := b.args[:0]
		for _, r := range left[:n] {
			id++
			at := string(r.At.UTC().AppendFormat(atBuf[:0], TimeFormat))
			st := string(r.Status)
			code := b.dialect.storedText(r.Code) // dialect.go: what the engine will hold
			args = append(args, id, at, r.Token, code, st, r.Addr)
			line = appendScanRow(line[:0], id, at, r.Token, code, st, r.Addr)
			h.Write(line)
		}
		b.args = args[:0]
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return err
		}
		clear(args)
		left = left[n:]
	}
	head, err := b.stmt(ctx, qAuditHead)
	if err != nil {
		return err
	}
	var seq int64
	prev := genesisHash
	if err := head.QueryRowContext(ctx).Scan(&seq, &prev); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	e := idcards.AuditEvent{Seq: seq + 1, Actor: actor, Action: ScanBatchAction,
		Subject: fmt.Sprintf("scan_log:%d-%d", first, id), Detail: scanDetail(int64(len(recs)), h.Sum(nil)), PrevHash: prev}
	if b.key == nil {
		return errNoChainKey
	}
	e.Hash = chainHMAC(b.key.Secret, e, now, "")
	ins, err := b.stmt(ctx, qAuditInsert)
	if err != nil {
		return err
	}
	_, err = ins.ExecContext(ctx, e.Seq, now, e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash, "")
	return err
}

// parseScanBatch reads a scan.batch row's subject and detail.
func parseScanBatch(subject, detail string) (first, last, rows int64, digest string, ok bool) {
	rng, ok1 := strings.CutPrefix(subject, "scan_log:")
	a, z, ok2 := strings.Cut(rng, "-")
	var nrows, sum string
	for f := range strings.FieldsSeq(detail) {
		if v, ok := strings.CutPrefix(f, "rows="); ok {
			nrows = v
		} else if v, ok := strings.CutPrefix(f, "sha256="); ok {
			sum = v
		}
	}
	var e1, e2, e3 error
	first, e1 = strconv.ParseInt(a, 10, 64)
	last, e2 = strconv.ParseInt(z, 10, 64)
	rows, e3 = strconv.ParseInt(nrows, 10, 64)
	ok = ok1 && ok2 && e1 == nil && e2 == nil && e3 == nil && len(sum) == 64 && first >= 1 && last >= first && rows == last-first+1
	return first, last, rows, sum, ok
}

// scanChecker walks scan_log in id order alongside the audit chain: each
// scan.batch row consumes the rows of its range and checks their digest;
// rows no batch covers are reported too.
type scanChecker struct {
	ctx context.Context
	q   interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}
	rows    *sql.Rows
	peeked  bool // cur holds a row not yet consumed
	done    bool
	cur     scanRow
	h       hash.Hash
	line    []byte
	Batches int64
	Rows    int64
}

type scanRow struct {
	id                            int64
	at, token, code, status, addr string
}

func (c *scanChecker) close() {
	if c.rows != nil {
		c.rows.Close()
	}
}

// peek makes cur the next unconsumed row; false at the end.
func (c *scanChecker) peek() (bool, error) {
	if c.peeked {
		return true, nil
	}
	if c.done {
		return false, nil
	}
	if c.rows == nil {
		rows, err := c.q.QueryContext(c.ctx, `SELECT id, at, token, code, status, addr FROM scan_log ORDER BY id`)
		if err != nil {
			return false, err
		}
		c.rows = rows
	}
	if !c.rows.Next() {
		c.done = true
		return false, c.rows.Err()
	}
	r := &c.cur
	if err := c.rows.Scan(&r.id, &r.at, &r.token, &r.code, &r.status, &r.addr); err != nil {
		return false, err
	}
	c.peeked = true
	return true, nil
}

// batch checks the scan log rows of the scan.batch audit row e.
func (c *scanChecker) batch(e idcards.AuditEvent) error {
	first, last, rows, digest, ok := parseScanBatch(e.Subject, e.Detail)
	if !ok {
		return &ChainError{Seq: e.Seq, Reason: fmt.Sprintf("scan.batch row has a malformed subject %q or detail %q", e.Subject, e.Detail)}
	}
	bad := func(reason string) error {
		return &ChainError{Seq: e.Seq, ScanFirst: first, ScanLast: last,
			Reason: fmt.Sprintf("scan log batch %s (%d rows): %s", e.Subject, rows, reason)}
	}
	if c.h == nil {
		c.h = sha256.New()
	}
	c.h.Reset()
	var n int64
	for {
		more, err := c.peek()
		if err != nil {
			return err
		}
		if !more || c.cur.id > last {
			break
		}
		r := c.cur
		if r.id < first {
			return bad(fmt.Sprintf("scan_log row %d lies before this batch and no batch covers it: inserted by hand", r.id))
		}
		c.line = appendScanRow(c.line[:0], r.id, r.at, r.token, r.code, r.status, r.addr)
		c.h.Write(c.line)
		c.peeked = false
		n++
	}
	switch {
	case n < rows:
		return bad(fmt.Sprintf("%d of its rows are missing from scan_log: deleted", rows-n))
	case hex.EncodeToString(c.h.Sum(nil)) != digest:
		return bad("rows do not match the digest recorded in the audit chain: a scan row in this range was edited (or deleted and replaced)")
	}
	c.Batches++
	c.Rows += n
	return nil
}

// finish reports scan log rows after the last batch (seq is the row after
// the chain's last).
func (c *scanChecker) finish(seq int64) error {
	more, err := c.peek()
	if err != nil || !more {
		return err
	}
	return &ChainError{Seq: seq, ScanFirst: c.cur.id, ScanLast: c.cur.id,
		Reason: fmt.Sprintf("scan_log row %d (and any after it) is not covered by any scan.batch audit row: inserted by hand, or the audit rows at the end were deleted", c.cur.id)}
}

// ScanFilter selects scan log rows; zero fields select everything.
type ScanFilter struct {
	Since  time.Time // rows at or after
	Code   string
	Token  string
	Status idcards.Status
	Limit  int // 0 = no limit
}

// EachScan streams matching scan log rows to fn, newest first. The table
// has no secondary index (appends must stay cheap), so a filter is a scan
// from the newest row backwards, stopped early only by Limit. Reading the
// scan log needs PermReadAudit, like the audit trail.
func (s *Store) EachScan(ctx context.Context, f ScanFilter, fn func(ScanRecord) error) error {
	if _, err := idcards.Require(ctx, idcards.PermReadAudit); err != nil {
		return err
	}
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, f.Since.UTC().Format(TimeFormat))
	}
	if f.Code != "" {
		where, args = append(where, "code = ?"), append(args, f.Code)
	}
	if f.Token != "" {
		where, args = append(where, "token = ?"), append(args, f.Token)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	q := `SELECT id, at, token, code, status, addr FROM scan_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("registry: scan log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ScanRecord
		var at, status string
		if err := rows.Scan(&r.ID, &at, &r.Token, &r.Code, &status, &r.Addr); err != nil {
			return fmt.Errorf("registry: scan log: %w", err)
		}
		r.At, r.Status = parseTime(at), idcards.Status(status)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
