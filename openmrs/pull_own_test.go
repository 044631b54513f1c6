package openmrs_test

import (
	"testing"
	"time"

	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/openmrs"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// TestSyncer_PullDoesNotCountOwnMRNsAsNew: the pull after a push counted
// the MRNs we had just pushed as identifiers "new" to the registry (and
// configure run again warned that another system issues our prefix).
// Only numbers this registry never issued are new.
func TestSyncer_PullDoesNotCountOwnMRNsAsNew(t *testing.T) {
	fake := openmrstest.New(t, openmrstest.Options{})
	d := newDesk(t, fake, 5*time.Second)
	d.register(t, 1)
	d.register(t, 2)
	full := openmrs.Round{Pull: true, FullPull: true, Push: true}
	if rep, err := d.sy.Run(d.ctx, full, nil); err != nil || rep.Push.Pushed != 2 {
		t.Fatalf("first round: %+v, %v", rep.Push, err)
	}
	codec, err := barcode.NewCodec(luhn30)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := codec.Make(codec.MaxSeq())
	for _, tc := range []struct {
		name        string
		add         string // an identifier of our prefix filed in OpenMRS by someone else first
		identifiers int
		added       int
	}{
		{"OnlyOurOwn", "", 2, 0},
		{"AnotherSystemsNumber", foreign, 3, 1},
		{"SeenBefore", "", 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.add != "" {
				fake.AddPatient(openmrstest.Patient{GivenName: "Other", FamilyName: "Person", Gender: "M", Birthdate: "1970-01-01",
					Identifiers: []openmrstest.Identifier{{Identifier: tc.add, TypeUUID: openmrstest.StockIdentifierTypeUUID, LocationUUID: openmrstest.StockLocationUUID, Preferred: true}}})
			}
			rep, err := d.sy.Run(d.ctx, full, nil)
			if err != nil || rep.Pull.Identifiers != tc.identifiers || rep.Pull.Added != tc.added || rep.Pull.Conflicts != 0 {
				t.Fatalf("pull = %+v, %v", rep.Pull, err)
			}
		})
	}
}
