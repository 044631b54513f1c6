package registry_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// TestPostgres_TLS: desks reach the server across the LAN over TLS with
// the server's certificate verified (sslmode=verify-full, the setting
// docs/deploy.md prescribes). A server whose certificate another CA signed
// is refused, and so is a plain connection where the server requires TLS:
// each with a clear error, nothing written.
func TestPostgres_TLS(t *testing.T) {
	tc := pgtest.NewTLSCluster(t)
	tc.Database("idcards")
	ctx := operator(context.Background())
	opt := registry.Options{KeyPath: filepath.Join(t.TempDir(), "tls.auditkey")}
	loc := tc.TCPURL("idcards", "verify-full", tc.CA)
	s, err := registry.CreateWith(ctx, loc, testFormat, opt)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.Reserve(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Verify(ctx, ids[0]); err != nil || v.Status != idcards.StatusUnassigned {
		t.Fatalf("verify over TLS: %+v %v", v, err)
	}
	var ssl bool
	var version string
	if err := s.DB().QueryRowContext(ctx, `SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version); err != nil || !ssl {
		t.Fatalf("the connection is not encrypted: ssl=%v %v", ssl, err)
	}
	t.Logf("connected with %s", version)
	s.Close()

	for _, tc := range []struct {
		name, loc, want string
		kind            idcards.Kind
	}{
		// Not "cannot be reached … reconnects by itself": retrying
		// will not help.
		{"CertificateOfAnotherCA", tc.TCPURL("idcards", "verify-full", tc.OtherCA), "certificate could not be verified", idcards.Invalid},
		{"PlainWhereTLSRequired", tc.TCPURL("idcards", "disable", ""), "no encryption", idcards.Other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := registry.OpenWith(ctx, tc.loc, opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || tc.kind != idcards.Other && idcards.ErrorKind(err) != tc.kind {
				t.Fatalf("open: %v (%s), want a %s error about %q", err, idcards.ErrorKind(err), tc.kind, tc.want)
			}
			t.Logf("refused: %v", err)
		})
	}
	// Nothing was written by the refused attempts.
	s, err = registry.OpenWith(ctx, loc, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.VerifyAudit(ctx); err != nil || n < 2 {
		t.Fatalf("audit after the refusals: %d %v", n, err)
	}
}
