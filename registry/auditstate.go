package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/idcards/idcards"
)

// Row-state digests: what makes an edit of a data table behind the
// program's back visible.
//
// Every protected table has three triggers (created by ensureStateTriggers,
// so a dropped trigger comes back at the next open) that note the key of
// every inserted, updated or deleted row in audit_pending. Whatever writes
// the row — a store method of today, one added tomorrow, or sqlite3 in an
// attacker's hands — the triggers fire. The audit writer (appendAudit) reads
// the pending keys, digests each row's current state and stores the
// digests in the audit row it writes (column state, covered by the keyed
// hash), then clears audit_pending; all in the writing transaction. A
// program transaction that changed protected rows after its last audit row
// gets one more row (action audit.state) at commit (Store.tx).
//
// `idcards audit verify` replays the chain to learn the last recorded
// digest of every row and compares it with each row's digest now. An
// attacker's direct edit leaves the row's digest different from the last
// recorded one (the triggers' note is discarded at the start of the next
// program transaction, so it is never folded into an unrelated audit row);
// a dropped trigger hides nothing either, because the comparison does not
// depend on the triggers.

// protectedTable is a table whose every row's state is accounted for by
// the audit chain.
type protectedTable struct {
	name string
	key  string   // primary key column
	skip []string // columns left out of the digest (and out of the update trigger)
}

// protectedTables: what a desk relies on. Adding a table here is all it
// takes to protect it (its triggers are created at the next open and its
// rows are baselined). tokens.last_used_at is written on every scanner
// request without an audit row, and proves nothing, so it is left out.
var protectedTables = []protectedTable{
	{name: "settings", key: "key"},
	{name: "series", key: "id"},
	{name: "patients", key: "id"},
	{name: "identifiers", key: "mrn"},
	{name: "cards", key: "serial"},
	{name: "users", key: "id"},
	{name: "tokens", key: "id", skip: []string{"last_used_at"}},
	{name: "approvals", key: "id"},
}

func protectedByName(name string) (protectedTable, bool) {
	for _, t := range protectedTables {
		if t.name == name {
			return t, true
		}
	}
	return protectedTable{}, false
}

type queryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// tableColumns lists a table's columns in declaration order.
func tableColumns(ctx context.Context, q queryer, table string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// stateTriggers returns the trigger name → SQL of one table.
// The update and delete triggers note, with the key, the row's canonical
// text before the change (the first note of a transaction is kept: the
// state before the transaction), so the audit writer can record the state
// the program found (migration 0018).
func stateTriggers(t protectedTable, cols []string) [][2]string {
	before := canonExprOf(t, cols, "old.")
	ins := fmt.Sprintf(`CREATE TRIGGER audit_state_%[1]s_ins AFTER INSERT ON %[1]s BEGIN INSERT OR IGNORE INTO audit_pending(tbl, key) VALUES ('%[1]s', new.%[2]s); END`, t.name, t.key)
	of := ""
	if len(t.skip) > 0 {
		var watched []string
		for _, c := range cols {
			if !slices.Contains(t.skip, c) {
				watched = append(watched, c)
			}
		}
		of = " OF " + strings.Join(watched, ", ")
	}
	upd := fmt.Sprintf(`CREATE TRIGGER audit_state_%[1]s_upd AFTER UPDATE%[3]s ON %[1]s BEGIN INSERT OR IGNORE INTO audit_pending(tbl, key, old) VALUES ('%[1]s', old.%[2]s, %[4]s); INSERT OR IGNORE INTO audit_pending(tbl, key) SELECT '%[1]s', new.%[2]s WHERE new.%[2]s IS NOT old.%[2]s; END`, t.name, t.key, of, before)
	del := fmt.Sprintf(`CREATE TRIGGER audit_state_%[1]s_del AFTER DELETE ON %[1]s BEGIN INSERT OR IGNORE INTO audit_pending(tbl, key, old) VALUES ('%[1]s', old.%[2]s, %[3]s); END`, t.name, t.key, before)
	return [][2]string{
		{"audit_state_" + t.name + "_ins", ins},
		{"audit_state_" + t.name + "_upd", upd},
		{"audit_state_" + t.name + "_del", del},
	}
}

// stateSchema is every protected table's columns and the triggers they
// should have.
type stateSchema struct {
	cols     map[string][]string
	triggers [][2]string
	pg       bool // on PostgreSQL (dialect_postgres.go: pgStateTriggers)
}

func loadStateSchema(ctx context.Context, q queryer) (stateSchema, error) {
	sc := stateSchema{cols: map[string][]string{}, pg: queryerIsPG(ctx, q)}
	for _, t := range protectedTables {
		cols, err := tableColumns(ctx, q, t.name)
		if err != nil {
			return sc, err
		}
		if len(cols) == 0 {
			continue // a table this registry does not have (yet)
		}
		sc.cols[t.name] = cols
		if sc.pg {
			sc.triggers = append(sc.triggers, pgStateTriggers(t, cols)...)
			continue
		}
		sc.triggers = append(sc.triggers, stateTriggers(t, cols)...)
	}
	return sc, nil
}

// fingerprint names the digested columns of every protected table: a
// migration that changes them changes every digest, so the rows are
// baselined again (recorded as such).
func (sc stateSchema) fingerprint() string {
	h := sha256.New()
	for _, t := range protectedTables {
		fmt.Fprintf(h, "%s(%s)\n", t.name, strings.Join(sc.cols[t.name], ","))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// colspec lists the protected tables' columns, "table:c1,c2;table:…", so
// a later re-baseline can compare rows the way they were digested.
func (sc stateSchema) colspec() string {
	var parts []string
	for _, t := range protectedTables {
		if cols := sc.cols[t.name]; cols != nil {
			parts = append(parts, t.name+":"+strings.Join(cols, ","))
		}
	}
	return strings.Join(parts, ";")
}

func parseColspec(s string) map[string][]string {
	m := map[string][]string{}
	for part := range strings.SplitSeq(s, ";") {
		if t, cols, ok := strings.Cut(part, ":"); ok && cols != "" {
			m[t] = strings.Split(cols, ",")
		}
	}
	return m
}

// missingTriggers compares the triggers in the file with what they should be.
func (sc stateSchema) missingTriggers(ctx context.Context, q queryer) ([]string, error) {
	have := map[string]string{}
	query := `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_state_%'`
	if sc.pg {
		query = pgStateTriggersQuery
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var n, s string
		if err := rows.Scan(&n, &s); err != nil {
			rows.Close()
			return nil, err
		}
		have[n] = s
	}
	rows.Close()
	var bad []string
	for _, tr := range sc.triggers {
		if have[tr[0]] != tr[1] {
			bad = append(bad, tr[0])
		}
	}
	return bad, rows.Err()
}

// ensureStateTriggers (re)creates every protected table's triggers that are
// missing or differ, inside tx. It returns those it made.
func ensureStateTriggers(ctx context.Context, tx *sql.Tx, sc stateSchema) ([]string, error) {
	bad, err := sc.missingTriggers(ctx, tx)
	if err != nil || len(bad) == 0 {
		return nil, err
	}
	for _, tr := range sc.triggers {
		if !slices.Contains(bad, tr[0]) {
			continue
		}
		drop := `DROP TRIGGER IF EXISTS ` + tr[0]
		if sc.pg {
			drop += ` ON ` + pgTriggerTable(tr[0])
		}
		if _, err := tx.ExecContext(ctx, drop); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, tr[1]); err != nil {
			return nil, fmt.Errorf("create trigger %s: %w", tr[0], err)
		}
	}
	return bad, nil
}

// digestLen is the digest's length: 128 bits of SHA-256, enough that no
// edit can be made to match a recorded digest by search.
const digestLen = 16

// A row's digest is SHA-256 over the table's name and the row's canonical
// text, built by SQLite itself: for every column not skipped and not NULL,
// in declaration order, name=quote(value); (quote() renders integers in
// decimal, text between single quotes with quotes doubled, blobs as X'..').
// NULL columns are left out, so a migration adding a nullable column does
// not change existing digests. Built in SQL so verify reads one text per
// row rather than every column through the driver (a million patients).

// canonExpr is the SQL expression of a row's canonical text.
func canonExpr(t protectedTable, cols []string) string { return canonExprOf(t, cols, "") }

// canonExprOf is canonExpr over the columns of row (a trigger's "old.").
func canonExprOf(t protectedTable, cols []string, row string) string {
	var parts []string
	for _, c := range cols {
		if slices.Contains(t.skip, c) {
			continue
		}
		q := row + quoteIdent(c)
		parts = append(parts, fmt.Sprintf(`CASE WHEN %s IS NULL THEN '' ELSE '%s=' || quote(%s) || ';' END`, q, strings.ReplaceAll(c, "'", "''"), q))
	}
	if len(parts) == 0 {
		return "''"
	}
	return strings.Join(parts, " || ")
}

// canonQueries: the whole table, and one row by key.
func canonAll(t protectedTable, cols []string) string {
	return `SELECT ` + quoteIdent(t.key) + `, ` + canonExpr(t, cols) + ` FROM ` + quoteIdent(t.name)
}

func canonOne(t protectedTable, cols []string) string {
	return `SELECT ` + canonExpr(t, cols) + ` FROM ` + quoteIdent(t.name) + ` WHERE ` + quoteIdent(t.key) + ` = ?`
}

// digestOf digests one row's canonical text.
func digestOf(h *digester, table, canon string) string {
	b := append(h.buf[:0], table...)
	b = append(b, 0)
	b = append(b, canon...)
	h.buf = b
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:digestLen])
}

type digester struct {
	buf []byte
}

// canonCache holds the one-row queries for the schema version they were
// built for: another process's migration changes the columns, and every
// process must digest a row the same way.
type canonCache struct {
	mu      sync.Mutex
	version int64
	one     map[string]string
}

func (s *Store) canonQueries(ctx context.Context, q queryer) (map[string]string, error) {
	var v int64
	version := `PRAGMA schema_version`
	if s.dialect.postgres() {
		version = `SELECT count(*) FROM schema_migrations` // columns change only by migration
	}
	if err := q.QueryRowContext(ctx, version).Scan(&v); err != nil {
		return nil, err
	}
	s.canon.mu.Lock()
	defer s.canon.mu.Unlock()
	if s.canon.one != nil && s.canon.version == v {
		return s.canon.one, nil
	}
	sc, err := loadStateSchema(ctx, q)
	if err != nil {
		return nil, err
	}
	one := map[string]string{}
	for _, t := range protectedTables {
		if cols := sc.cols[t.name]; cols != nil {
			one[t.name] = canonOne(t, cols)
			if sc.pg {
				one[oldCanonKey+t.name] = pgCanonOfOld(t, cols) // auditstate_postgres.go
			}
		}
	}
	s.canon.version, s.canon.one = v, one
	return one, nil
}

// deletedDigest is recorded for a row its transaction deleted.
const deletedDigest = "-"

// unexplainedMark starts a digest recorded by a baseline for a row whose
// state no earlier audit row explained: verify keeps reporting it.
const unexplainedMark = "!"

// overwrittenMark starts a digest the recorder derives (never stored) for a
// row the program changed from a state no audit row recorded: someone
// edited it behind the program's back before. verify keeps reporting it.
const overwrittenMark = "?"

// stateEntry formats one "table/key=digest" entry.
func stateEntry(b []byte, table, key, digest string) []byte {
	if len(b) > 0 {
		b = append(b, ' ')
	}
	b = append(b, table...)
	b = append(b, '/')
	b = append(b, url.PathEscape(key)...)
	b = append(b, '=')
	return append(b, digest...)
}

// parseState calls fn for every entry of an audit row's state. Entries are
// separated by the one ASCII space stateEntry writes (keys are escaped, so
// they hold none); other white space, e.g. U+2000, belongs to the entry.
func parseState(state string, fn func(table, key, digest string)) error {
	for f := range strings.SplitSeq(state, " ") {
		if f == "" {
			continue
		}
		table, rest, ok := strings.Cut(f, "/")
		i := strings.LastIndexByte(rest, '=')
		if !ok || i < 0 {
			return fmt.Errorf("malformed state entry %q", f)
		}
		key, err := url.PathUnescape(rest[:i])
		if err != nil {
			return fmt.Errorf("malformed state entry %q", f)
		}
		fn(table, key, rest[i+1:])
	}
	return nil
}

// beforeSep separates, in a state entry's digest, the state the row was
// left in from the state the program found it in
// ("patients/12=<after><<before>", migration 0018): verify names a row
// whose state before a program change is not the one last recorded.
const beforeSep = '<'

// oldCanonKey prefixes, in canonQueries' map, a table's query that turns a
// trigger's note of the old row into its canonical text (PostgreSQL only;
// SQLite's triggers note the canonical text itself).
const oldCanonKey = "old:"

// foldPage is how many audit_pending rows foldState reads at a time: a
// print run's confirm changes every card of the file in one transaction
// (100,000 rows), and only one page of their old canonical text is held.
const foldPage = 1000

var (
	// The pending notes in (tbl, key) order, a page at a time (keyset:
	// the row-value comparison works on SQLite ≥ 3.15 and PostgreSQL, and
	// walks audit_pending's primary key). A page is read to the end before
	// its rows are digested: pgx cannot have a second result set open on
	// the transaction's connection.
	qPendingBeforeFirst = `SELECT tbl, key, old FROM audit_pending ORDER BY tbl, key LIMIT ` + strconv.Itoa(foldPage)
	qPendingBeforeNext  = `SELECT tbl, key, old FROM audit_pending WHERE (tbl, key) > (?, ?) ORDER BY tbl, key LIMIT ` + strconv.Itoa(foldPage)
	qPendingListFirst   = `SELECT tbl, key FROM audit_pending ORDER BY tbl, key LIMIT ` + strconv.Itoa(foldPage)
	qPendingListNext    = `SELECT tbl, key FROM audit_pending WHERE (tbl, key) > (?, ?) ORDER BY tbl, key LIMIT ` + strconv.Itoa(foldPage)
)

const (
	qPendingList  = `SELECT tbl, key FROM audit_pending ORDER BY tbl, key`
	qPendingClear = `DELETE FROM audit_pending`
	qPendingAny   = `SELECT EXISTS (SELECT 1 FROM audit_pending)`
	qPendingCount = `SELECT count(*) FROM audit_pending`
)

// foldState digests every row the transaction changed so far and clears
// the notes: the state column of the audit row being written. Its memory
// is one page of notes and the state text itself (about 75 bytes a row,
// which the audit row must hold).
func (s *Store) foldState(ctx context.Context, tx *sql.Tx) (string, error) {
	if !s.hasPending {
		return "", nil
	}
	type pk struct {
		tbl, key string
		old      sql.NullString
	}
	// After open, through statements prepared once (an import folds a
	// million times), bound to tx once per fold (tx keeps every statement
	// bound to it until it ends: binding one per row held 100,000 of them
	// in a large confirm); inside the migration transaction, directly.
	bound := map[string]*sql.Stmt{}
	query := func(q string, args ...any) (*sql.Rows, error) {
		if !s.stateReady {
			return tx.QueryContext(ctx, q, args...)
		}
		st := bound[q]
		if st == nil {
			ps, err := s.prepared(ctx, q)
			if err != nil {
				return nil, err
			}
			st = tx.StmtContext(ctx, ps)
			bound[q] = st
		}
		return st.QueryContext(ctx, args...)
	}
	// Inside the migration transaction audit_pending may not have its old
	// column yet, and the migrations' own changes are explained by the
	// registry.migrate row: no state before is recorded.
	first, next := qPendingListFirst, qPendingListNext
	if s.stateReady {
		first, next = qPendingBeforeFirst, qPendingBeforeNext
	}
	var h digester
	var b strings.Builder // its String() is not a copy
	var one map[string]string
	page := make([]pk, 0, foldPage)
	done := 0
	for {
		var rows *sql.Rows
		var err error
		if len(page) == 0 {
			rows, err = query(first)
		} else {
			last := page[len(page)-1]
			rows, err = query(next, last.tbl, last.key)
		}
		if err != nil {
			return "", err
		}
		page = page[:0]
		for rows.Next() {
			var p pk
			dst := []any{&p.tbl, &p.key}
			if s.stateReady {
				dst = append(dst, &p.old)
			}
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return "", err
			}
			page = append(page, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", err
		}
		if len(page) == 0 {
			break
		}
		if one == nil {
			if one, err = s.canonQueries(ctx, tx); err != nil {
				return "", err
			}
		}
		for _, p := range page {
			q, ok := one[p.tbl]
			if !ok {
				continue
			}
			rr, err := query(q, p.key)
			if err != nil {
				return "", err
			}
			d := deletedDigest
			if rr.Next() {
				var canon string
				if err := rr.Scan(&canon); err != nil {
					rr.Close()
					return "", err
				}
				d = digestOf(&h, p.tbl, canon)
			}
			rr.Close()
			if err := rr.Err(); err != nil {
				return "", err
			}
			if s.stateReady {
				before := deletedDigest // inserted: there was no row
				if p.old.Valid {
					canon := p.old.String
					if oq, ok := one[oldCanonKey+p.tbl]; ok {
						if err := tx.QueryRowContext(ctx, oq, canon).Scan(&canon); err != nil {
							return "", err
						}
					}
					before = digestOf(&h, p.tbl, canon)
				}
				d += string(beforeSep) + before
			}
			h.buf = stateEntry(h.buf[:0], p.tbl, p.key, d)
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.Write(h.buf)
		}
		done += len(page)
		if len(page) < foldPage {
			break
		}
		if done == foldPage {
			// A large fold: size the text once rather than let it grow
			// (and be copied) step by step.
			var n int
			if err := tx.QueryRowContext(ctx, qPendingCount).Scan(&n); err != nil {
				return "", err
			}
			if n > done {
				b.Grow((n - done) * (b.Len()/done + 1) * 17 / 16)
			}
		}
	}
	if done == 0 {
		return "", nil
	}
	var err error
	if !s.stateReady {
		_, err = tx.ExecContext(ctx, qPendingClear)
	} else if st, perr := s.prepared(ctx, qPendingClear); perr != nil {
		err = perr
	} else {
		_, err = tx.StmtContext(ctx, st).ExecContext(ctx)
	}
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// txBegin discards notes left by a writer that wrote no audit row (sqlite3
// in someone's hands): they must never be folded into this transaction's
// audit row, which would make the foreign edit look explained. The rows
// they name stay unexplained; verify finds them by digest.
func (s *Store) txBegin(ctx context.Context, tx *sql.Tx) error {
	if !s.stateReady {
		return nil
	}
	st, err := s.prepared(ctx, qPendingClear)
	if err != nil {
		return err
	}
	_, err = tx.StmtContext(ctx, st).ExecContext(ctx)
	return err
}

// txEnd records the state of protected rows the transaction changed after
// its last audit row (or without one) in an audit.state row, so every
// program write is explained.
func (s *Store) txEnd(ctx context.Context, tx *sql.Tx) error {
	if !s.stateReady {
		return nil
	}
	st, err := s.prepared(ctx, qPendingAny)
	if err != nil {
		return err
	}
	var any bool
	if err := tx.StmtContext(ctx, st).QueryRowContext(ctx).Scan(&any); err != nil || !any {
		return err
	}
	a, _ := idcards.ActorFrom(ctx)
	return s.insertAudit(ctx, tx, actorName(a), "audit.state", "", "rows changed by the program after its audit record")
}

// baselineChunk is how many row digests one audit.baseline row holds.
const baselineChunk = 2000

// priorState is what a re-baseline compares with: the digests recorded so
// far, the columns they were made from, and the rows the migrations of this
// transaction changed (explained: the program changed them).
type priorState struct {
	rec     *stateRecorder
	cols    map[string][]string
	changed map[string]map[string]bool
}

// baseline records the digest of every protected row in audit.baseline rows
// (a registry made before digests existed, or one whose protected columns a
// migration changed). prior (nil for the first baseline) holds what was
// recorded before: a row whose state it does not explain — compared over the
// columns it was digested with, so a column a migration added with a default
// does not count — is recorded with the unexplained mark, so verify keeps
// naming it. A last row (subject "*") records the columns.
func (s *Store) baseline(ctx context.Context, tx *sql.Tx, sc stateSchema, reason string, prior *priorState) (int, error) {
	actor := "system:idcards"
	fp := sc.fingerprint()
	var h digester
	total := 0
	part := 0
	flush := func(table string, b []byte, n int) error {
		if n == 0 {
			return nil
		}
		part++
		detail := fmt.Sprintf("columns=%s rows=%d part=%d reason=%s", fp, n, part, reason)
		return s.appendAuditState(ctx, tx, []idcards.AuditEvent{{Actor: actor, Action: "audit.baseline", Subject: table, Detail: detail}}, []string{string(b)})
	}
	for _, t := range protectedTables {
		cols := sc.cols[t.name]
		if cols == nil {
			continue
		}
		// The old digest's columns: those recorded, still present.
		oldExpr := canonExpr(t, cols)
		if prior != nil {
			if old := prior.cols[t.name]; old != nil {
				var keep []string
				for _, c := range old {
					if slices.Contains(cols, c) {
						keep = append(keep, c)
					}
				}
				oldExpr = canonExpr(t, keep)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+quoteIdent(t.key)+`, `+canonExpr(t, cols)+`, `+oldExpr+` FROM `+quoteIdent(t.name)+` ORDER BY `+quoteIdent(t.key))
		if err != nil {
			return total, err
		}
		var b []byte
		n := 0
		var entries [][3]string
		for rows.Next() {
			var kv any
			var canon, oldCanon string
			if err := rows.Scan(&kv, &canon, &oldCanon); err != nil {
				rows.Close()
				return total, err
			}
			key := keyString(kv)
			d := digestOf(&h, t.name, canon)
			if prior != nil && !prior.changed[t.name][key] {
				old := digestOf(&h, t.name, oldCanon)
				if r, ok := prior.rec.get(t.name, key); !ok || (r.digest != old && r.digest != d) || unexplained(r.digest) {
					d = unexplainedMark + d
				}
			}
			entries = append(entries, [3]string{t.name, key, d})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, err
		}
		// Written after the read: appending audit rows while reading would
		// interleave statements on the transaction's connection.
		for _, e := range entries {
			b = stateEntry(b, e[0], e[1], e[2])
			n++
			total++
			if n == baselineChunk {
				if err := flush(t.name, b, n); err != nil {
					return total, err
				}
				b, n = b[:0], 0
			}
		}
		if err := flush(t.name, b, n); err != nil {
			return total, err
		}
	}
	// The columns, so the next open does not baseline again and a later
	// re-baseline knows how these digests were made.
	detail := fmt.Sprintf("columns=%s rows=%d reason=%s colspec=%s", fp, total, reason, sc.colspec())
	if err := s.appendAuditState(ctx, tx, []idcards.AuditEvent{{Actor: actor, Action: "audit.baseline", Subject: "*", Detail: detail}}, []string{""}); err != nil {
		return 0, err
	}
	_, err := tx.ExecContext(ctx, qPendingClear)
	return total, err
}

func keyString(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		return x
	case []byte:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

// recorded is the last digest the chain holds for one row.
type recorded struct {
	digest string
	seq    int64
}

// StateFinding is a protected row whose current state no audit row explains.
type StateFinding struct {
	Table  string `json:"table"`
	Key    string `json:"key"`
	Seq    int64  `json:"seq,omitempty"` // the audit row that last recorded it (0: none)
	Reason string `json:"reason"`
}

func (f StateFinding) String() string {
	return fmt.Sprintf("%s %s: %s", f.Table, f.Key, f.Reason)
}

// StateError lists the rows whose state no audit row explains.
type StateError struct {
	Findings []StateFinding
	// Triggers names state triggers that are missing or were changed.
	Triggers []string
}

func (e *StateError) Error() string {
	var parts []string
	if len(e.Triggers) > 0 {
		parts = append(parts, fmt.Sprintf("triggers missing or altered: %s", strings.Join(e.Triggers, ", ")))
	}
	for i, f := range e.Findings {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Findings)-5))
			break
		}
		parts = append(parts, f.String())
	}
	return fmt.Sprintf("%d rows changed behind the program's back: %s", len(e.Findings), strings.Join(parts, "; "))
}

// stateRecorder collects the last recorded digest of every row while the
// chain is walked: one map per table, keyed by the row's key as it stands
// in the state text (no copy: a million rows' keys would otherwise be
// allocated twice).
type stateRecorder struct {
	tables map[string]map[string]recorded
	hints  map[string]int // expected rows per table (nil: none)
}

func newStateRecorder(hints map[string]int) *stateRecorder {
	return &stateRecorder{tables: map[string]map[string]recorded{}, hints: hints}
}

func (r *stateRecorder) table(name string) map[string]recorded {
	m := r.tables[name]
	if m == nil {
		m = make(map[string]recorded, r.hints[name])
		r.tables[name] = m
	}
	return m
}

// tableSizes counts the protected tables' rows, to size the recorder.
func tableSizes(ctx context.Context, q queryer) map[string]int {
	hints := map[string]int{}
	for _, t := range protectedTables {
		var n int
		if q.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t.name)).Scan(&n) == nil {
			hints[t.name] = min(n+n/8, 8_000_000)
		}
	}
	return hints
}

func (r *stateRecorder) add(seq int64, state string) error {
	var last string
	var m map[string]recorded
	return parseState(state, func(table, key, digest string) {
		if m == nil || table != last {
			m, last = r.table(table), table
		}
		if i := strings.IndexByte(digest, beforeSep); i >= 0 {
			// The program changed the row: from the state last recorded?
			after, before := digest[:i], digest[i+1:]
			prev, ok := m[key]
			switch {
			case ok && unexplained(prev.digest):
				after = prev.digest[:1] + after // still unexplained
			case before == deletedDigest && (!ok || prev.digest == deletedDigest):
			case ok && prev.digest == before:
			default:
				after = overwrittenMark + after
			}
			digest = after
		}
		m[key] = recorded{digest: digest, seq: seq}
	})
}

// unexplained reports whether a recorded digest carries a mark that keeps
// verify naming the row.
func unexplained(d string) bool {
	return strings.HasPrefix(d, unexplainedMark) || strings.HasPrefix(d, overwrittenMark)
}

func (r *stateRecorder) get(table, key string) (recorded, bool) {
	v, ok := r.tables[table][key]
	return v, ok
}

// checkState compares every protected row with its last recorded digest.
func checkState(ctx context.Context, q queryer, rec *stateRecorder) (*StateError, int64, error) {
	sc, err := loadStateSchema(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	se := &StateError{}
	if se.Triggers, err = sc.missingTriggers(ctx, q); err != nil {
		return nil, 0, err
	}
	var h digester
	var checked int64
	for _, t := range protectedTables {
		cols := sc.cols[t.name]
		if cols == nil {
			continue
		}
		rows, err := q.QueryContext(ctx, canonAll(t, cols))
		if err != nil {
			return nil, checked, err
		}
		for rows.Next() {
			var kv any
			var canon string
			if err := rows.Scan(&kv, &canon); err != nil {
				rows.Close()
				return nil, checked, err
			}
			checked++
			key := keyString(kv)
			d := digestOf(&h, t.name, canon)
			m := rec.tables[t.name]
			r, ok := m[key]
			if ok {
				delete(m, key)
			}
			switch {
			case !ok:
				se.Findings = append(se.Findings, StateFinding{Table: t.name, Key: key, Reason: "no audit row records this row: inserted behind the program's back"})
			case strings.HasPrefix(r.digest, unexplainedMark):
				se.Findings = append(se.Findings, StateFinding{Table: t.name, Key: key, Seq: r.seq,
					Reason: fmt.Sprintf("its state was already unexplained when audit row %d re-baselined the table", r.seq)})
			case strings.HasPrefix(r.digest, overwrittenMark):
				se.Findings = append(se.Findings, StateFinding{Table: t.name, Key: key, Seq: r.seq,
					Reason: fmt.Sprintf("changed behind the program's back before the program changed it again (by audit row %d, at the latest)", r.seq)})
			case r.digest == deletedDigest:
				se.Findings = append(se.Findings, StateFinding{Table: t.name, Key: key, Seq: r.seq,
					Reason: fmt.Sprintf("audit row %d recorded it as deleted: re-inserted behind the program's back", r.seq)})
			case r.digest != d:
				se.Findings = append(se.Findings, StateFinding{Table: t.name, Key: key, Seq: r.seq,
					Reason: fmt.Sprintf("changed since audit row %d recorded it, with no audit row", r.seq)})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, checked, err
		}
	}
	// What is left was recorded but is gone.
	var gone []StateFinding
	for table, m := range rec.tables {
		if _, ok := sc.cols[table]; !ok {
			continue
		}
		for key, r := range m {
			reason := fmt.Sprintf("deleted behind the program's back (audit row %d recorded it)", r.seq)
			switch {
			case r.digest == deletedDigest:
				continue
			case unexplained(r.digest) && r.digest[1:] == deletedDigest:
				reason = fmt.Sprintf("its state was unexplained (changed behind the program's back) when the program deleted it (audit row %d)", r.seq)
			}
			gone = append(gone, StateFinding{Table: table, Key: key, Seq: r.seq, Reason: reason})
		}
	}
	sort.Slice(gone, func(i, j int) bool {
		if gone[i].Table != gone[j].Table {
			return gone[i].Table < gone[j].Table
		}
		return gone[i].Key < gone[j].Key
	})
	se.Findings = append(se.Findings, gone...)
	if len(se.Findings) == 0 && len(se.Triggers) == 0 {
		return nil, checked, nil
	}
	return se, checked, nil
}

// errStateNotReady is not an error to report: a registry or backup from
// before migration 0013a has no digests to check.
var errStateNotReady = errors.New("no state digests")
