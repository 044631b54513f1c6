package registry_test

import (
	"slices"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

func TestCheckFHIRSystem(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"", true},
		{"urn:oid:1.3.6.1.4.1.21367.13.20.1000", true},
		{"urn:idcards:KLA", true},
		{"https://clinic.example.org/fhir/mrn", true},
		{"KLA", false},
		{"https://", false},
		{"urn:idcards:K LA", false},
		{"urn:a|b", false},
		{"urn:ietf:rfc:3986", false},
		{"urn:idcards:Zoë", false},
		{"urn:x:" + string(make([]byte, 300)), false},
	} {
		if err := registry.CheckFHIRSystem(tc.v); (err == nil) != tc.ok {
			t.Errorf("CheckFHIRSystem(%q) = %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}

func TestStore_FHIRSystem(t *testing.T) {
	s, ctx := newStore(t)
	if got, err := s.FHIRSystem(ctx); err != nil || got != "urn:idcards:12" {
		t.Fatalf("default = %q, %v; want urn:idcards:12 (the first series' prefix)", got, err)
	}
	if err := s.AddSeries(ctx, idcards.Format{Prefix: "34", Width: 7, Scheme: "luhn"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FHIRSystem(ctx); got != "urn:idcards:12" {
		t.Errorf("a new series changed the default to %q", got)
	}
	if err := s.SetFHIRSystem(ctx, "not a uri"); idcards.ErrorKind(err) != idcards.Invalid {
		t.Errorf("bad URI accepted: %v", err)
	}
	if err := s.SetFHIRSystem(ctx, "urn:oid:1.2.3"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FHIRSystem(ctx); got != "urn:oid:1.2.3" {
		t.Errorf("after set: %q", got)
	}
}

func TestStore_PatientRecord(t *testing.T) {
	s, ctx := newStore(t)
	p, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-03-04"}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.IssueID(ctx, p.ID, "lost card, test")
	if err != nil {
		t.Fatal(err)
	}
	voided, err := s.IssueID(ctx, p.ID, "second card, test")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, voided.MRN, "typo on card"); err != nil {
		t.Fatal(err)
	}
	rec, err := s.PatientRecordByUUID(ctx, p.UUID, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{second.MRN, mrn}; !slices.Equal(rec.MRNs, want) {
		t.Errorf("MRNs %v, want %v (active only, newest first)", rec.MRNs, want)
	}
	if rec.OpenMRSUUID != "" || rec.MergedIntoUUID != "" || rec.Patient.GivenName != "Amina" || rec.Patient.BirthDate != "1990-03-04" {
		t.Errorf("record before sync: %+v", rec)
	}
	items, err := s.Outbox(ctx, "pending", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := s.OutboxDone(ctx, it.ID, p.UUID, ""); err != nil {
			t.Fatal(err)
		}
	}
	q, _, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-03-04"}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(ctx, q.ID, p.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	rec, err = s.PatientRecord(ctx, p.ID, true)
	if err != nil || rec.OpenMRSUUID != p.UUID || len(rec.MRNs) != 3 {
		t.Errorf("survivor after sync and merge: %+v, %v", rec, err)
	}
	gone, err := s.PatientRecordByUUID(ctx, q.UUID, false)
	if err != nil || gone.MergedIntoUUID != p.UUID || len(gone.MRNs) != 0 || gone.Patient.MergedInto != p.ID || gone.Patient.GivenName != "" || gone.Patient.UUID != q.UUID {
		t.Errorf("merged-away record: %+v, %v", gone, err)
	}
	if _, err := s.PatientRecordByUUID(ctx, "no-such", false); idcards.ErrorKind(err) != idcards.NotFound {
		t.Errorf("unknown UUID: %v", err)
	}
}
