package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

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

// stateChunk is the piece of a large state text writeJSONString escapes at
// a time.
const stateChunk = 32 << 10

// writeJSONString writes to w the bytes appendJSONString(nil, s) appends,
// escaping s a piece at a time in buf. Pieces end just before an ASCII
// byte, where JSON's escaping (rune by rune, an invalid byte as one
// U+FFFD) is the same in the piece as in the whole string.
func writeJSONString(w io.Writer, buf []byte, s string) {
	w.Write([]byte{'"'})
	for len(s) > 0 {
		n := min(stateChunk, len(s))
		for n < len(s) && s[n] >= utf8.RuneSelf {
			n++
		}
		buf = appendJSONString(buf[:0], s[:n])
		w.Write(buf[1 : len(buf)-1]) // without its quotes
		s = s[n:]
	}
	w.Write([]byte{'"'})
}

// chainHMAC is the hash of a keyed row: HMAC-SHA256 under the registry's
// chain key over the same JSON array as auditHash with the row's state
// digests appended: [prev_hash, seq, at, actor, action, subject, detail,
// state].
func chainHMAC(key []byte, e idcards.AuditEvent, at, state string) string {
	return chainMAC(hmac.New(sha256.New, key), nil, e, at, state)
}

// chainMAC is chainHMAC with a reusable HMAC (its key schedule kept) and
// buffer: verify hashes a million rows.
func chainMAC(m hash.Hash, buf []byte, e idcards.AuditEvent, at, state string) string {
	if cap(buf) < 512 {
		buf = make([]byte, 0, 512)
	}
	b := append(buf[:0], '[')
	b = appendJSONString(b, e.PrevHash)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Seq, 10)
	for _, f := range [...]string{at, e.Actor, e.Action, e.Subject, e.Detail} {
		b = append(b, ',')
		b = appendJSONString(b, f)
	}
	b = append(b, ',')
	m.Reset()
	if len(state) <= stateChunk {
		b = appendJSONString(b, state)
		m.Write(append(b, ']'))
	} else {
		// A confirm of 100,000 cards has a state of some 8 MB: hashed
		// a piece at a time rather than copied (escaped) whole.
		m.Write(b)
		writeJSONString(m, b[:0], state)
		m.Write([]byte{']'})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}

// errNoChainKey is returned by every write when the registry's audit chain
// key could not be read: a row the chain cannot carry must not be written.
var errNoChainKey = idcards.Errorf(idcards.Unavailable, "the audit chain key is not available: nothing can be recorded (see `idcards audit --help`, \"chain key\")")

// insertAudit appends one row to the chain inside tx, so the record and the
// change it describes commit or fail together. It is the one door every
// audit row goes through (appendAudit), and there the state digests of the
// rows the transaction changed are folded in (auditstate.go).
func (s *Store) insertAudit(ctx context.Context, tx *sql.Tx, actor, action, subject, detail string) error {
	detail, err := s.countersigned(ctx, tx, actor, detail) // countersign.go
	if err != nil {
		return err
	}
	return s.appendAudit(ctx, tx, []idcards.AuditEvent{{Actor: actor, Action: action, Subject: subject, Detail: detail}})
}

const (
	qAuditHead   = `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`
	qAuditInsert = `INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash, state) VALUES (?,?,?,?,?,?,?,?,?)`
)

// appendAudit chains events after the current head inside tx: the head is
// read once and the chain continued in memory, through prepared statements.
// The state digests of every protected row changed in tx so far (the
// audit_pending rows the triggers wrote) go into the last event.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, events []idcards.AuditEvent) error {
	state, err := s.foldState(ctx, tx)
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	states := make([]string, len(events))
	states[len(states)-1] = state
	return s.appendAuditState(ctx, tx, events, states)
}

// appendAuditState writes events with the given state digests (one per
// event, "" for none).
func (s *Store) appendAuditState(ctx context.Context, tx *sql.Tx, events []idcards.AuditEvent, states []string) error {
	if s.key == nil {
		return errNoChainKey
	}
	var headRow *sql.Row
	var insert *sql.Stmt
	if s.stateReady {
		head, err := s.prepared(ctx, qAuditHead)
		if err != nil {
			return fmt.Errorf("registry: audit: %w", err)
		}
		ins, err := s.prepared(ctx, qAuditInsert)
		if err != nil {
			return fmt.Errorf("registry: audit: %w", err)
		}
		// The insert first: binding it may prepare it on tx's connection,
		// which PostgreSQL cannot do while the head's result is open.
		insert = tx.StmtContext(ctx, ins)
		headRow = tx.StmtContext(ctx, head).QueryRowContext(ctx)
	} else {
		// Inside the migration transaction (the schema may have changed
		// in it): statements prepared on the transaction itself.
		ins, err := tx.PrepareContext(ctx, qAuditInsert)
		if err != nil {
			return fmt.Errorf("registry: audit: %w", err)
		}
		defer ins.Close()
		headRow, insert = tx.QueryRowContext(ctx, qAuditHead), ins
	}
	var seq int64
	prev := genesisHash
	err := headRow.Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registry: audit: %w", err)
	}
	if err := checkHeadSeq(seq, len(events)); err != nil {
		return err
	}
	at := s.now()
	for i, ev := range events {
		seq++
		e := idcards.AuditEvent{Seq: seq, Actor: ev.Actor, Action: ev.Action, Subject: ev.Subject, Detail: ev.Detail, PrevHash: prev}
		e.Hash = chainHMAC(s.key.Secret, e, at, states[i])
		if _, err := insert.ExecContext(ctx, e.Seq, at, e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash, states[i]); err != nil {
			return fmt.Errorf("registry: audit: %w", err)
		}
		prev = e.Hash
	}
	return nil
}

// checkHeadSeq refuses to number audit rows past the largest int64: a row
// forged with seq 9223372036854775807 made the next row's number wrap to
// the most negative one. Nothing is recorded (so nothing changes) until
// the forged row is removed; audit verify names it.
func checkHeadSeq(seq int64, n int) error {
	if seq > math.MaxInt64-int64(n) || seq < 0 {
		return &idcards.Error{Kind: idcards.Conflict, Msg: fmt.Sprintf("the audit trail's last row number (%d) cannot be followed: that row was not written by idcards. Nothing was saved; the database owner must remove it (idcards audit verify names it)", seq)}
	}
	return nil
}

// auditTx writes one audit row inside tx without the store's prepared
// statements (for a transaction on a connection of its own, as a restore
// has), state digests folded in.
func (s *Store) auditTx(ctx context.Context, tx *sql.Tx, actor, action, subject, detail string) error {
	if s.key == nil {
		return errNoChainKey
	}
	state, err := s.foldState(ctx, tx)
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	var seq int64
	prev := genesisHash
	if err := tx.QueryRowContext(ctx, qAuditHead).Scan(&seq, &prev); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registry: audit: %w", err)
	}
	if err := checkHeadSeq(seq, 1); err != nil {
		return err
	}
	at := s.now()
	e := idcards.AuditEvent{Seq: seq + 1, Actor: actor, Action: action, Subject: subject, Detail: detail, PrevHash: prev}
	e.Hash = chainHMAC(s.key.Secret, e, at, state)
	if _, err := tx.ExecContext(ctx, qAuditInsert, e.Seq, at, e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash, state); err != nil {
		return fmt.Errorf("registry: audit: %w", err)
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
	// Keyed rows were checked against the chain key (KeyID); Unkeyed are
	// rows from before the registry had a key (plain SHA-256, anchored by
	// the first keyed row); NotChecked are keyed rows whose key was not
	// available (CheckFile without the key, or a key replaced after loss):
	// their links were checked, their keyed hashes could not be.
	Keyed, Unkeyed, NotChecked int64
	KeyID                      string
	// StateRows protected rows were compared with their recorded digests
	// (0 for a registry from before digests).
	StateRows int64
	Head      string // hash of the last row
	HeadSeq   int64
}

// VerifyAudit walks the whole chain and returns the number of rows checked,
// or a *ChainError for the first row that was edited, deleted or inserted,
// or a *StateError naming protected rows no audit row explains.
func (s *Store) VerifyAudit(ctx context.Context) (int64, error) {
	v, err := s.VerifyAuditDetail(ctx)
	return v.Rows, err
}

// isAnchor reports whether e starts a keyed stretch of the chain, and the
// id of its key: the registry's creation row (registry.init, seq 1) of a
// registry made with a key, or an audit.key_created / audit.key_replaced
// row.
func isAnchor(e idcards.AuditEvent) (string, bool) {
	if e.Action != "registry.init" && e.Action != "audit.key_created" && e.Action != "audit.key_replaced" {
		return "", false
	}
	if e.Action == "registry.init" && e.Seq != 1 {
		return "", false
	}
	for f := range strings.FieldsSeq(e.Detail) {
		if v, ok := strings.CutPrefix(f, "key_id="); ok {
			return v, true
		}
	}
	return "", false
}

// VerifyAuditDetail walks the whole chain, and the scan log beside it: each
// scan.batch row's digest is recomputed from the scan_log rows it covers,
// and every scan_log row must be covered by one. The first row must be the
// registry's creation; from the first anchor row on every hash is keyed
// (chainHMAC) and checked with the store's chain key. Then every protected
// row's state is compared with the last digest the chain recorded for it
// (auditstate.go). It returns what it checked, or a *ChainError for the
// first row that does not verify (Rows then counts the good rows before
// it), or a *StateError. All tables are read in one read transaction, so
// rows committed meanwhile by a running server are not half seen.
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
	hasScanLog, err := s.hasTable(ctx, conn, "scan_log") // dialect.go
	if err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	var hasState int
	if ok, err := s.hasColumn(ctx, conn, "audit", "state"); err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	} else if ok {
		hasState = 1
	}
	// A registry (or a backup) from before the scan log has nothing to check.
	scanConn, err := s.snapshotTwin(ctx, conn) // dialect.go: PostgreSQL runs one query at a time per connection
	if err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	defer scanConn.Close()
	scans := &scanChecker{ctx: ctx, q: scanConn, done: !hasScanLog}
	defer scans.close()
	stateCol := "''"
	if hasState > 0 {
		stateCol = "state"
	}
	// Sized for the rows there are, so the maps do not grow step by step.
	// (Counted before the audit rows are read: one result at a time per
	// connection on PostgreSQL.)
	rec := newStateRecorder(tableSizes(ctx, conn))
	rows, err := conn.QueryContext(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash, `+stateCol+` FROM audit ORDER BY seq`)
	if err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	defer rows.Close()
	var secret []byte // the key of the current keyed stretch; nil when not held
	var mac hash.Hash
	buf := make([]byte, 0, 1024)
	keyed := false
	prev, want := genesisHash, int64(1)
	for rows.Next() {
		var e idcards.AuditEvent
		var at, state string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.PrevHash, &e.Hash, &state); err != nil {
			return v, err
		}
		if e.Seq == 1 && e.Action != "registry.init" {
			return v, &ChainError{Seq: 1, Reason: fmt.Sprintf("the first row is %s, not the registry's creation (registry.init): the trail was rewritten from its start", e.Action)}
		}
		if id, ok := isAnchor(e); ok {
			keyed, secret, v.KeyID = true, nil, id
			if s.key != nil && s.key.ID() == id {
				secret = s.key.Secret
				mac = hmac.New(sha256.New, secret)
			}
		}
		switch {
		case e.Seq != want:
			return v, &ChainError{Seq: want, Reason: fmt.Sprintf("row %d is missing (next row is %d): deleted", want, e.Seq)}
		case e.PrevHash != prev:
			return v, &ChainError{Seq: e.Seq, Reason: "prev_hash does not match the previous row: a row before it was deleted, inserted or rewritten"}
		case !keyed && (state != "" || auditHash(e, at) != e.Hash):
			return v, &ChainError{Seq: e.Seq, Reason: "content does not match its hash: the row was edited"}
		case keyed && secret != nil && chainMAC(mac, buf, e, at, state) != e.Hash:
			return v, &ChainError{Seq: e.Seq, Reason: "content does not match its keyed hash: the row was edited, or written without the registry's chain key"}
		}
		switch {
		case !keyed:
			v.Unkeyed++
		case secret != nil:
			v.Keyed++
		default:
			v.NotChecked++
		}
		if state != "" {
			if err := rec.add(e.Seq, state); err != nil {
				return v, &ChainError{Seq: e.Seq, Reason: err.Error()}
			}
		}
		if e.Action == ScanBatchAction {
			if err := scans.batch(e); err != nil {
				return v, err
			}
		}
		prev, want, v.Rows = e.Hash, want+1, v.Rows+1
		v.Head, v.HeadSeq = e.Hash, e.Seq
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	rows.Close()
	if err := scans.finish(want); err != nil {
		return v, err
	}
	v.ScanBatches, v.ScanRows = scans.Batches, scans.Rows
	if v.Rows == 0 {
		return v, &ChainError{Seq: 1, Reason: "the audit trail is empty: the registry's creation row (registry.init) is missing, so every row was deleted"}
	}
	if hasState == 0 {
		return v, nil // from before keys and digests: nothing more to check
	}
	if !keyed {
		return v, &ChainError{Seq: v.HeadSeq, Reason: "no row of the trail is keyed although the registry has keyed audit support (migration 0013a): the trail was rewritten without the chain key"}
	}
	if s.key != nil && s.key.ID() != v.KeyID {
		return v, &ChainError{Seq: v.HeadSeq, Reason: fmt.Sprintf("the trail is keyed with key %s, not with the chain key at %s (%s): the wrong key file, or the trail was rewritten under another key", v.KeyID, s.key.Path, s.key.ID())}
	}
	se, n, err := checkState(ctx, conn, rec)
	v.StateRows = n
	if err != nil {
		return v, fmt.Errorf("registry: audit verify: %w", err)
	}
	if se != nil {
		return v, se
	}
	return v, nil
}
