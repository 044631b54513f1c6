package registry

import "github.com/idcards/idcards"

// AuditHashForTest lets tests forge a row the way a careful attacker would.
func AuditHashForTest(e idcards.AuditEvent, at string) string { return auditHash(e, at) }
