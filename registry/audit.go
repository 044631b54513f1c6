package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/idcards/idcards"
)

// genesisHash is the prev_hash of the first audit row.
var genesisHash = strings.Repeat("0", 64)

// auditHash is SHA-256 over the previous row's hash and this row's content,
// JSON-encoded so no field boundary is ambiguous: the bytes of
// json.Marshal([]any{prev_hash, seq, at, actor, action, subject, detail}),
// built by hand (appendJSONString falls back to encoding/json for any
// string it would not copy verbatim, so the bytes are the same).
func auditHash(e idcards.AuditEvent, at string) string {
	var buf [512]byte
	b := append(buf[:0], '[')
	b = appendJSONString(b, e.PrevHash)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Seq, 10)
	for _, f := range [...]string{at, e.Actor, e.Action, e.Subject, e.Detail} {
		b = append(b, ',')
		b = appendJSONString(b, f)
	}
	b = append(b, ']')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendJSONString appends s as encoding/json would: verbatim between
// quotes when it is printable ASCII that json does not escape, else through
// json.Marshal itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// insertAudit appends one row to the chain inside tx, so the record and the
// change it describes commit or fail together.
func (s *Store) insertAudit(ctx context.Context, tx *sql.Tx, actor, action, subject, detail string) error {
	detail, err := s.countersigned(ctx, tx, actor, detail) // countersign.go
	if err != nil {
		return err
	}
	return s.appendAudit(ctx, tx, []idcards.AuditEvent{{Actor: actor, Action: action, Subject: subject, Detail: detail}})
}

const (
	qAuditHead   = `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`
	qAuditInsert = `INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)`
)

// appendAudit chains events after the current head inside tx: the head is
// read once and the chain continued in memory, through prepared statements.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, events []idcards.AuditEvent) error {
	head, err := s.prepared(ctx, qAuditHead)
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	ins, err := s.prepared(ctx, qAuditInsert)
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	var seq int64
	prev := genesisHash
	err = tx.StmtContext(ctx, head).QueryRowContext(ctx).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registry: audit: %w", err)
	}
	insert := tx.StmtContext(ctx, ins)
	at := s.now()
	for _, ev := range events {
		seq++
		e := idcards.AuditEvent{Seq: seq, Actor: ev.Actor, Action: ev.Action, Subject: ev.Subject, Detail: ev.Detail, PrevHash: prev}
		e.Hash = auditHash(e, at)
		if _, err := insert.ExecContext(ctx, e.Seq, at, e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash); err != nil {
			return fmt.Errorf("registry: audit: %w", err)
		}
		prev = e.Hash
	}
	return nil
}

// Audit records an event that changes nothing else in the registry (a
// clerk's decision, a print sent to a printer, a refused sign-in). The actor
// comes from ctx.
func (s *Store) Audit(ctx context.Context, action, subject, detail string) error {
	a, _ := idcards.ActorFrom(ctx)
	name := a.Name
	if name == "" {
		name = "unknown"
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertAudit(ctx, tx, name, action, subject, detail) })
}

// ChainError names the first audit row that does not verify.
type ChainError struct {
	Seq    int64
	Reason string
	// ScanFirst and ScanLast are the scan_log ids concerned when the
	// break is in the scan log (a scan.batch whose rows do not match, or
	// rows no batch covers); zero otherwise.
	ScanFirst, ScanLast int64
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at row %d: %s", e.Seq, e.Reason)
}

// AuditVerification is what a successful VerifyAuditDetail checked.
type AuditVerification struct {
	Rows        int64 // audit rows
	ScanBatches int64 // scan.batch rows among them
	ScanRows    int64 // scan_log rows their digests cover
}

// VerifyAudit walks the whole chain and returns the number of rows checked,
// or a *ChainError for the first row that was edited, deleted or inserted.
// It checks the scan log with it (see VerifyAuditDetail).
func (s *Store) VerifyAudit(ctx context.Context) (int64, error) {
	v, err := s.VerifyAuditDetail(ctx)
	return v.Rows, err
}

// VerifyAuditDetail walks the whole chain, and the scan log beside it: each
// scan.batch row's digest is recomputed from the scan_log rows it covers,
// and every scan_log row must be covered by one. It returns what it
// checked, or a *ChainError for the first row that does not verify (Rows
// then counts the good rows before it). Both tables are read in one read
// transaction, so batches committed meanwhile by a running server are not
// half seen.
func (s *Store) VerifyAuditDetail(ctx context.Context) (AuditVerification, error) {
	var v AuditVerification
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	defer conn.Close()
	// A deferred BEGIN (not the pool's BEGIN IMMEDIATE): a snapshot for
	// reading, which blocks no writer.
	if _, err := conn.ExecContext(ctx, s.dialect.beginRead); err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	hasScanLog, err := s.hasTable(ctx, conn, "scan_log")
	if err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	// A registry (or a backup) from before the scan log has nothing to check.
	scanConn, err := s.snapshotTwin(ctx, conn) // dialect.go: PostgreSQL runs one query at a time per connection
	if err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	defer scanConn.Close()
	scans := &scanChecker{ctx: ctx, q: scanConn, done: !hasScanLog}
	defer scans.close()
	rows, err := conn.QueryContext(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq`)
	if err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	defer rows.Close()
	prev, want := genesisHash, int64(1)
	for rows.Next() {
		var e idcards.AuditEvent
		var at string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return v, err
		}
		switch {
		case e.Seq != want:
			return v, &ChainError{Seq: want, Reason: fmt.Sprintf("row %d is missing (next row is %d): deleted", want, e.Seq)}
		case e.PrevHash != prev:
			return v, &ChainError{Seq: e.Seq, Reason: "prev_hash does not match the previous row: a row before it was deleted, inserted or rewritten"}
		case auditHash(e, at) != e.Hash:
			return v, &ChainError{Seq: e.Seq, Reason: "content does not match its hash: the row was edited"}
		}
		if e.Action == ScanBatchAction {
			if err := scans.batch(e); err != nil {
				return v, err
			}
		}
		prev, want, v.Rows = e.Hash, want+1, v.Rows+1
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	if err := scans.finish(want); err != nil {
		return v, err
	}
	v.ScanBatches, v.ScanRows = scans.Batches, scans.Rows
	return v, nil
}
