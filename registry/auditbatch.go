package registry

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/idcards/idcards"
)

// auditBatcher writes batches of scan log rows (ScanLogBatch) and of audit
// rows (AuditBatch) through one connection of its own, kept out of the
// pool:
//   - its page cache stays warm on the tail of the scan_log table (and the
//     audit table and its indexes), which only it appends to (a pooled connection's cache is
//     shared with, and evicted by, thousands of random lookups);
//   - its statements are prepared on it once (a *sql.Stmt prepared on a
//     Conn is re-prepared by Tx.Stmt, so the transaction is BEGIN IMMEDIATE
//     and COMMIT on the connection itself);
//   - rows go in multi-row INSERTs of up to auditChunk rows.
type auditBatcher struct {
	mu    sync.Mutex
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	args  []any
}

// auditChunk is the most rows per INSERT statement (8 parameters each).
const auditChunk = 64

func (b *auditBatcher) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := b.stmts[q]; ok {
		return st, nil
	}
	st, err := b.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	b.stmts[q] = st
	return st, nil
}

// close releases the connection; the caller holds mu.
func (b *auditBatcher) close() {
	for _, st := range b.stmts {
		st.Close()
	}
	b.stmts = nil
	if b.conn != nil {
		// The connection goes back to the pool: with its settings undone.
		b.conn.Raw(func(any) error { return driver.ErrBadConn })
		b.conn.Close()
		b.conn = nil
	}
}

func auditInsertN(n int) string {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash) VALUES `)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`(?,?,?,?,?,?,?,?)`)
	}
	return sb.String()
}

var auditInsertChunk = auditInsertN(auditChunk)

// AuditBatch appends many events to the hash chain in one transaction, and
// in the same transaction records when tokens were last used (names →
// time; nil for none). The chain continues after whatever other processes
// appended in the meantime. The scanner endpoint used to write one audit
// row per request through here; it now uses ScanLogBatch, which costs a
// fraction per request (BenchmarkScanLogBatch compares the two).
func (s *Store) AuditBatch(ctx context.Context, events []idcards.AuditEvent, lastUsed map[string]time.Time) error {
	if len(events) == 0 && len(lastUsed) == 0 {
		return nil
	}
	b := &s.audit
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.open(ctx, s.db); err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	err := b.write(ctx, s.now(), events, lastUsed)
	if err != nil {
		// Start the next batch on a fresh connection, in a known state.
		b.close()
	}
	return err
}

// open takes the batcher's own connection if it has none; the caller holds
// mu.
func (b *auditBatcher) open(ctx context.Context, db *sql.DB) error {
	if b.conn != nil {
		return nil
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	// A cache that holds a whole batch's pages (a 4,096-row batch
	// dirties some 400), and the statement journal of the multi-row
	// INSERTs in memory rather than in a temporary file.
	if _, err := c.ExecContext(ctx, `PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY`); err != nil {
		c.Close()
		return err
	}
	b.conn, b.stmts = c, map[string]*sql.Stmt{}
	return nil
}

// touchTokens records the tokens' last use inside the open transaction.
func (b *auditBatcher) touchTokens(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	touch, err := b.stmt(ctx, `UPDATE tokens SET last_used_at = ? WHERE name = ?`)
	if err != nil {
		return err
	}
	for name, t := range lastUsed {
		if _, err := touch.ExecContext(ctx, t.UTC().Format(TimeFormat), name); err != nil {
			return err
		}
	}
	return nil
}

func (b *auditBatcher) write(ctx context.Context, at string, events []idcards.AuditEvent, lastUsed map[string]time.Time) (err error) {
	if _, err := b.conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("registry: audit: begin: %w", err)
	}
	defer func() {
		if err != nil {
			b.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			err = fmt.Errorf("registry: audit: %w", err)
		}
	}()
	head, err := b.stmt(ctx, qAuditHead)
	if err != nil {
		return err
	}
	var seq int64
	prev := genesisHash
	if err := head.QueryRowContext(ctx).Scan(&seq, &prev); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	for len(events) > 0 {
		n := min(len(events), auditChunk)
		q := auditInsertChunk
		if n < auditChunk {
			q = auditInsertN(n)
		}
		ins, err := b.stmt(ctx, q)
		if err != nil {
			return err
		}
		args := b.args[:0]
		for _, ev := range events[:n] {
			seq++
			e := idcards.AuditEvent{Seq: seq, Actor: ev.Actor, Action: ev.Action, Subject: ev.Subject, Detail: ev.Detail, PrevHash: prev}
			e.Hash = auditHash(e, at)
			args = append(args, e.Seq, at, e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash)
			prev = e.Hash
		}
		b.args = args[:0]
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return err
		}
		clear(args)
		events = events[n:]
	}
	if err := b.touchTokens(ctx, lastUsed); err != nil {
		return err
	}
	if _, err := b.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
