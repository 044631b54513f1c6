package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idcards/idcards"
)

// Token scopes. A verify token learns only an ID's status; read:patient
// also gets the minimum demographics (display name, sex, birth year).
const (
	ScopeVerify      = "verify"
	ScopeReadPatient = "read:patient"
)

// tokenPrefix marks idcards scanner tokens so a leaked one is recognisable
// (secret scanners, logs) and a pasted password is not mistaken for one.
const tokenPrefix = "idc_"

// Token is a scanner or integration credential. Only its SHA-256 hash is
// stored; the secret is shown once, when it is created.
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Scope     string     `json:"scope"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	LastUsed  *time.Time `json:"last_used_at,omitempty"`
}

// Actor is who a request with this token acts as, for the audit trail.
func (t Token) Actor() idcards.Actor {
	return idcards.Actor{Name: "token:" + t.Name, Role: idcards.RoleSystem}
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// validTokenName keeps names printable in logs and audit rows.
func validTokenName(n string) error {
	if n == "" || len(n) > 64 {
		return idcards.Errorf(idcards.Invalid, "token name must be 1 to 64 characters")
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return idcards.Errorf(idcards.Invalid, "token name %q: use letters, digits, - _ . only", n)
		}
	}
	return nil
}

// CreateToken makes a new token and returns its secret, which is not stored
// and cannot be shown again. Needs the manage_tokens permission.
func (s *Store) CreateToken(ctx context.Context, name, scope string) (string, error) {
	a, err := idcards.Require(ctx, idcards.PermTokens)
	if err != nil {
		return "", err
	}
	if err := validTokenName(name); err != nil {
		return "", err
	}
	if scope != ScopeVerify && scope != ScopeReadPatient {
		return "", idcards.Errorf(idcards.Invalid, "token scope %q: use %s or %s", scope, ScopeVerify, ScopeReadPatient)
	}
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	secret := tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens(name, scope, token_hash, created_at, created_by) VALUES (?,?,?,?,?)`,
			name, scope, hashToken(secret), s.now(), a.Name)
		if isConstraint(err) {
			return idcards.Errorf(idcards.Conflict, "a token named %q exists already (revoked tokens keep their name)", name)
		}
		if err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, a.Name, "token.create", "token:"+name, "scope="+scope)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Tokens lists every token, revoked ones included. Needs manage_tokens.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	if _, err := idcards.Require(ctx, idcards.PermTokens); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, scope, created_at, created_by, revoked_at, last_used_at FROM tokens ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func scanToken(sc interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var created string
	var revoked, used sql.NullString
	if err := sc.Scan(&t.ID, &t.Name, &t.Scope, &created, &t.CreatedBy, &revoked, &used); err != nil {
		return t, err
	}
	t.CreatedAt, _ = time.Parse(TimeFormat, created)
	if revoked.Valid {
		r, _ := time.Parse(TimeFormat, revoked.String)
		t.RevokedAt = &r
	}
	if used.Valid {
		u, _ := time.Parse(TimeFormat, used.String)
		t.LastUsed = &u
	}
	return t, nil
}

// RevokeToken stops a token working: at once through this Store, within
// TokenCacheTTL in other processes that had just used it. Needs
// manage_tokens.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	a, err := idcards.Require(ctx, idcards.PermTokens)
	if err != nil {
		return err
	}
	defer s.forgetTokens(name)
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`, s.now(), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return idcards.Errorf(idcards.NotFound, "no active token named %q", name)
		}
		return s.insertAudit(ctx, tx, a.Name, "token.revoke", "token:"+name, "")
	})
}

// ErrBadToken is returned for a missing, unknown or revoked token; callers
// must not tell these apart to the client.
var ErrBadToken = idcards.Errorf(idcards.Forbidden, "invalid or revoked token")

// TokenCacheTTL bounds how stale LookupToken may be: a token it found
// valid is trusted for this long without reading the file again, so a token
// revoked by another process (`idcards tokens revoke`) stops working within
// TokenCacheTTL; revoked through this Store, at once.
const TokenCacheTTL = time.Second

// tokenCache holds valid tokens by the SHA-256 of their secret. Only tokens
// that exist and are active are cached, so its size is bounded by the
// number of tokens in use, not by what clients send.
type tokenCache struct {
	m sync.Map // [32]byte → *cachedToken
	n atomic.Int64
}

type cachedToken struct {
	tok Token
	at  time.Time // when it was read from the file
}

const tokenCacheMax = 4096

// LookupToken returns the active token whose secret this is. It reads only:
// last use is recorded by ScanLogBatch, off the request path. Results are
// cached for up to TokenCacheTTL.
func (s *Store) LookupToken(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return Token{}, ErrBadToken
	}
	sum := sha256.Sum256([]byte(secret))
	now := s.Now()
	if e, ok := s.tokens.m.Load(sum); ok {
		c := e.(*cachedToken)
		if d := now.Sub(c.at); d >= 0 && d < TokenCacheTTL {
			return c.tok, nil
		}
	}
	t, err := scanToken(s.queryRow(ctx, `SELECT id, name, scope, created_at, created_by, revoked_at, last_used_at
		FROM tokens WHERE token_hash = ?`, hex.EncodeToString(sum[:])))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && t.RevokedAt != nil) {
		if _, loaded := s.tokens.m.LoadAndDelete(sum); loaded {
			s.tokens.n.Add(-1)
		}
		return Token{}, ErrBadToken
	}
	if err != nil {
		return t, err
	}
	if _, loaded := s.tokens.m.Swap(sum, &cachedToken{tok: t, at: now}); !loaded {
		if s.tokens.n.Add(1) > tokenCacheMax {
			s.forgetTokens("")
		}
	}
	return t, nil
}

// forgetTokens drops cached tokens named name, or all for "".
func (s *Store) forgetTokens(name string) {
	s.tokens.m.Range(func(k, v any) bool {
		if name == "" || v.(*cachedToken).tok.Name == name {
			if _, loaded := s.tokens.m.LoadAndDelete(k); loaded {
				s.tokens.n.Add(-1)
			}
		}
		return true
	})
}

// TouchTokens records when tokens were last used (names → time).
func (s *Store) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for name, at := range used {
			if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE name = ?`, at.UTC().Format(TimeFormat), name); err != nil {
				return err
			}
		}
		return nil
	})
}

// IdentifierCount is the number of IDs in the registry (for metrics).
func (s *Store) IdentifierCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM identifiers`).Scan(&n)
	return n, err
}

// Ping checks that the registry file can be read (for health checks).
func (s *Store) Ping(ctx context.Context) error {
	var n int
	return s.db.QueryRowContext(ctx, `SELECT count(*) FROM series`).Scan(&n)
}
