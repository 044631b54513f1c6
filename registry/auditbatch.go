package registry

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync"
	"time"
)

// auditBatcher writes batches of scan log rows (ScanLogBatch) through one
// connection of its own, kept out of the pool:
//   - its page cache stays warm on the tail of the scan_log table, which
//     only it appends to (a pooled connection's cache is shared with, and
//     evicted by, thousands of random lookups);
//   - its statements are prepared on it once (a *sql.Stmt prepared on a
//     Conn is re-prepared by Tx.Stmt, so the transaction is BEGIN IMMEDIATE
//     and COMMIT on the connection itself);
//   - rows go in multi-row INSERTs (multiRowInsert).
type auditBatcher struct {
	mu    sync.Mutex
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	args  []any
	key   *ChainKey // the store's chain key (set at open)
	// dialect is the store's (set by ScanLogBatch before open).
	dialect *dialect
}

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
// multiRowInsert is "head VALUES (?,…),(?,…)…": n rows of cols
// parameters each.
func multiRowInsert(head string, cols, n int) string {
	row := "(" + strings.Repeat("?,", cols-1) + "?)"
	var sb strings.Builder
	sb.WriteString(head)
	sb.WriteString(" VALUES ")
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(row)
	}
	return sb.String()
}

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
	if _, err := c.ExecContext(ctx, `PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY`); !b.dialect.postgres() && err != nil {
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
