package registry_test

import (
	"reflect"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// Verify keeps the series in memory; a series added or reformatted by
// another process (here another Store on the same file, as the CLI would
// be) must be used from the very next scan, with no staleness window.
func TestVerify_SeesSeriesChangedByAnotherProcess(t *testing.T) {
	server, ctx := newStore(t)
	cli, err := registry.Open(ctx, server.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	first, err := server.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := server.Verify(ctx, first[0]); err != nil || v.Status != idcards.StatusUnassigned {
		t.Fatalf("before: %s %v", v.Status, err)
	}
	newFmt := idcards.Format{Prefix: "34", Width: 5, Scheme: testFormat.Scheme}
	codec, err := barcode.NewCodec(newFmt)
	if err != nil {
		t.Fatal(err)
	}
	newCode, _ := codec.Make(1)
	if err := cli.AddSeries(ctx, newFmt); err != nil {
		t.Fatal(err)
	}
	// Not issued yet: a well-formed code of the new series is unknown, not
	// a foreign prefix.
	if v, err := server.Verify(ctx, newCode); err != nil || v.Status != idcards.StatusUnknown {
		t.Fatalf("new series, nothing issued: %s %q %v", v.Status, v.Detail, err)
	}
	// The empty series may still be reformatted; the old width's codes
	// must stop parsing at once.
	wider := idcards.Format{Prefix: "34", Width: 7, Scheme: testFormat.Scheme}
	if err := cli.SetFormat(ctx, wider); err != nil {
		t.Fatal(err)
	}
	if v, err := server.Verify(ctx, newCode); err != nil || v.Status != idcards.StatusMalformed {
		t.Fatalf("after reformat, old width: %s %q %v", v.Status, v.Detail, err)
	}
	ids, err := cli.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := server.Verify(ctx, ids[0]); err != nil || v.Status != idcards.StatusUnassigned {
		t.Fatalf("ID of the new series: %s %q %v", v.Status, v.Detail, err)
	}
	if v, err := server.Verify(ctx, first[0]); err != nil || v.Status != idcards.StatusUnassigned {
		t.Fatalf("old series after the change: %s %q %v", v.Status, v.Detail, err)
	}
}

// The one-statement lookup must fill the patient exactly as Patient does
// (a field added to one and not the other fails here).
func TestVerify_PatientAsStored(t *testing.T) {
	s, ctx := newStore(t)
	p, mrn, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-03-04", Phone: "+256 772 123456", Village: "Kisoro"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Verify(ctx, mrn)
	if err != nil || v.Patient == nil || v.Identifier == nil {
		t.Fatalf("%+v %v", v, err)
	}
	want, err := s.Patient(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*v.Patient, want) {
		t.Errorf("Verify's patient\n%+v\nwant\n%+v", *v.Patient, want)
	}
	wantID, err := s.Identifier(ctx, mrn)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*v.Identifier, wantID) {
		t.Errorf("Verify's identifier\n%+v\nwant\n%+v", *v.Identifier, wantID)
	}
}
