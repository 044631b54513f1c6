package scanapi

import (
	"context"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// The one rule for patient details, for /v1/ and /fhir/ alike: a token
// with the read:patient scope sees who the person is (names, sex, birth
// date, phone, village); any other token learns only whether an ID is good
// and which record it belongs to (the record's UUID, its identifiers, a
// merge) — never a name, birth date or phone. Every route that shows a
// patient goes through disclose; none checks the scope itself.

// mayReadPatient reports whether the request's token may see patient
// details.
func mayReadPatient(ctx context.Context) bool {
	return tokenFrom(ctx).Scope == registry.ScopeReadPatient
}

// disclose returns what the request's token may see of p, and whether
// that includes the details.
func disclose(ctx context.Context, p idcards.Patient) (idcards.Patient, bool) {
	if mayReadPatient(ctx) {
		return p, true
	}
	return idcards.Patient{ID: p.ID, UUID: p.UUID, MergedInto: p.MergedInto}, false
}
