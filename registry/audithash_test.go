package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/idcards/idcards"
)

// auditHashReflect is the original definition of the chain's hash; rows
// written before auditHash was hand-encoded must keep verifying.
func auditHashReflect(e idcards.AuditEvent, at string) string {
	b, _ := json.Marshal([]any{e.PrevHash, e.Seq, at, e.Actor, e.Action, e.Subject, e.Detail})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func FuzzAuditHash(f *testing.F) {
	for _, s := range []string{"", "token:ward3", "status=active addr=127.0.0.1", "<script>&", "Łukasz \"x\" \\ \n\t\x00", "\xff\xfe", "\u2028", "~\x7f"} {
		f.Add(int64(7), s, s+"!")
	}
	f.Fuzz(func(t *testing.T, seq int64, a, b string) {
		e := idcards.AuditEvent{Seq: seq, PrevHash: a, Actor: b, Action: "scan.verify", Subject: a + b, Detail: b}
		if got, want := auditHash(e, b), auditHashReflect(e, b); got != want {
			t.Fatalf("auditHash(%q, %q) differs from the json.Marshal definition", a, b)
		}
	})
}
