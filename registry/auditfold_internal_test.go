package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
)

// foldStateUnpaged is foldState as it was before it read audit_pending in
// pages (every note collected first, then digested, the text grown by
// append): the paged fold must write the same text, byte for byte, so
// registries written before and after verify the same way.
func (s *Store) foldStateUnpaged(ctx context.Context, tx *sql.Tx) (string, error) {
	type pk struct {
		tbl, key string
		old      sql.NullString
	}
	var pending []pk
	rows, err := tx.QueryContext(ctx, `SELECT tbl, key, old FROM audit_pending ORDER BY tbl, key`)
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var p pk
		if err := rows.Scan(&p.tbl, &p.key, &p.old); err != nil {
			rows.Close()
			return "", err
		}
		pending = append(pending, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(pending) == 0 {
		return "", err
	}
	var h digester
	var b []byte
	one, err := s.canonQueries(ctx, tx)
	if err != nil {
		return "", err
	}
	for _, p := range pending {
		q, ok := one[p.tbl]
		if !ok {
			continue
		}
		d := deletedDigest
		var canon string
		switch err := tx.QueryRowContext(ctx, q, p.key).Scan(&canon); {
		case err == nil:
			d = digestOf(&h, p.tbl, canon)
		case !errors.Is(err, sql.ErrNoRows):
			return "", err
		}
		before := deletedDigest
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
		b = stateEntry(b, p.tbl, p.key, d)
	}
	if _, err := tx.ExecContext(ctx, qPendingClear); err != nil {
		return "", err
	}
	return string(b), nil
}

var errRollBack = errors.New("roll back")

// TestFoldState_PagedSameAsUnpaged: a transaction that changes a few
// thousand protected rows in three tables (inserted, updated, deleted;
// keys that need escaping) folds into the same state text in pages of
// foldPage as in one piece, and that text verifies when committed.
func TestFoldState_PagedSameAsUnpaged(t *testing.T) {
	ctx := idcards.WithActor(context.Background(), idcards.Actor{Name: "os:test", Role: idcards.RoleOperator})
	s, err := Create(ctx, pgtest.Location(t), idcards.Format{Prefix: "12", Width: 6, Scheme: "luhn"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, given := range []string{"Amina", "Zoë", "Kato"} {
		if _, _, err := s.Register(ctx, Registration{Patient: NewPatient{GivenName: given, FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-02"}, Decision: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 2*foldPage + 617 // three pages and a part, whatever the other rows
	change := func(tx *sql.Tx) error {
		for i := range n {
			// Keys sorted across the page boundaries, some escaped.
			key := fmt.Sprintf("test.fold/%05d %s", i, []string{"a", "b c", "ü%", "=<"}[i%4])
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?)`, key, fmt.Sprint(i)); err != nil {
				return err
			}
			if i%7 == 0 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, key); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE patients SET family_name = family_name || 'x'`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE identifiers SET patient_id = patient_id`)
		return err
	}
	var paged, unpaged string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE fold_copy AS SELECT tbl, key, old FROM audit_pending`); err != nil {
			return err
		}
		if unpaged, err = s.foldStateUnpaged(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_pending(tbl, key, old) SELECT tbl, key, old FROM fold_copy`); err != nil {
			return err
		}
		if paged, err = s.foldState(ctx, tx); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatal(err)
	}
	if got := strings.Count(unpaged, " ") + 1; got < n+3 {
		t.Fatalf("unpaged fold has %d entries, want at least %d", got, n+3)
	}
	if paged != unpaged {
		t.Fatalf("paged fold differs from the unpaged one (%d and %d bytes)", len(paged), len(unpaged))
	}
	for _, want := range []string{"patients/", "identifiers/", "settings/test.fold%2F00001%20b%20c=", "<-"} {
		if !strings.Contains(paged, want) {
			t.Errorf("state lacks %q", want)
		}
	}

	// Committed through the one door every audit row goes through, the
	// large state verifies.
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, "os:test", "test.bulk", "", fmt.Sprintf("rows=%d", n))
	}); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := s.db.QueryRowContext(ctx, `SELECT state FROM audit WHERE action = 'test.bulk'`).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if len(state) < stateChunk {
		t.Fatalf("state of %d bytes: not large enough to be hashed in pieces", len(state))
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatalf("verify after a large fold: %v", err)
	}
}

// TestWriteJSONString: escaping a large text in pieces writes what
// escaping it whole appends, whatever it holds (invalid UTF-8, the '<' of
// every state entry, U+2028, quotes), so the chain's hash over a large
// state is the one it always was.
func TestWriteJSONString(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", " ", "<", ">", "&", `"`, `\`, "\n", "\x00", "é", "\u2028", "𝄞", "\xff", "\xe2\x82", "/", "%20"}
	for i := range 40 {
		var sb strings.Builder
		size := r.IntN(3 * stateChunk)
		if i == 0 {
			size = 5 * stateChunk
		}
		for sb.Len() < size {
			if r.IntN(4) == 0 {
				sb.WriteString(alphabet[r.IntN(len(alphabet))])
			} else {
				sb.WriteString(strings.Repeat("x", r.IntN(200)))
			}
		}
		if i == 1 { // long runs without an ASCII byte to end a piece on
			sb.Reset()
			sb.WriteString(strings.Repeat("é", stateChunk) + "a" + strings.Repeat("\xff", stateChunk+3))
		}
		s := sb.String()
		var got strings.Builder
		writeJSONString(&got, nil, s)
		if want := string(appendJSONString(nil, s)); got.String() != want {
			t.Fatalf("case %d (%d bytes): pieces differ from the whole", i, len(s))
		}
	}
}

// TestChainMAC_LargeState: a state above stateChunk is hashed in pieces,
// to the same HMAC as the whole JSON array.
func TestChainMAC_LargeState(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	e := idcards.AuditEvent{Seq: 7, Actor: "os:test", Action: "card.print", Subject: "b1", Detail: "cards=3", PrevHash: genesisHash}
	var sb strings.Builder
	for i := 0; sb.Len() < 3*stateChunk; i++ {
		sb.WriteString(fmt.Sprintf("cards/KLA%07d-%d=abcdefghijklmnopqrstuv<- ", i, i%3))
	}
	state := strings.TrimSpace(sb.String())
	b := []byte("[")
	b = appendJSONString(b, e.PrevHash)
	b = append(b, ",7"...)
	for _, f := range []string{"2026-12-04T00:00:00Z", e.Actor, e.Action, e.Subject, e.Detail, state} {
		b = append(b, ',')
		b = appendJSONString(b, f)
	}
	b = append(b, ']')
	m := hmac.New(sha256.New, key)
	m.Write(b)
	if got, want := chainHMAC(key, e, "2026-12-04T00:00:00Z", state), hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("chainHMAC over a %d-byte state = %s, want %s", len(state), got, want)
	}
}
