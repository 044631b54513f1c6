package registry

// The path the scanner endpoint used before the scan log: one hash-chained
// audit row per request, written in batches. Kept only as the side-by-side
// baseline of BenchmarkScanLogBatch.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idcards/idcards"
)

// auditChunk is the most rows per INSERT statement (8 parameters each).
const auditChunk = 64

func auditInsertN(n int) string {
	return multiRowInsert(`INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash)`, 8, n)
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
