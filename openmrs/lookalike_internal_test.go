package openmrs

import (
	"reflect"
	"testing"

	"github.com/idcards/idcards"
)

func TestLookalikeQueries(t *testing.T) {
	for _, tc := range []struct {
		given, family string
		want          []string
	}{
		{"Grace", "Nakato", []string{"Grace Nakato", "Nakato", "Grace"}},
		{"Mary Grace", "Nakato Ssemakula", []string{"Mary Grace Nakato Ssemakula", "Mary Nakato", "Nakato", "Mary"}},
		// One letter finds nothing in OpenMRS (minSearchCharacters).
		{"J", "Okello", []string{"Okello"}},
		{"Juma", "Juma", []string{"Juma Juma", "Juma"}},
		{"Łucja", "Nowak-Ødegård", []string{"Łucja Nowak-Ødegård", "Nowak-Ødegård", "Łucja"}},
		{"", "", nil},
	} {
		got := lookalikeQueries(idcards.Patient{GivenName: tc.given, FamilyName: tc.family})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q %q: %q, want %q", tc.given, tc.family, got, tc.want)
		}
		if len(got) > maxLookalikeQueries {
			t.Errorf("%q %q: %d searches", tc.given, tc.family, len(got))
		}
	}
}

func TestAsPatientAndDescribe(t *testing.T) {
	r := Patient{UUID: "u", GivenName: "Joseph", MiddleName: "Kato", FamilyName: "Okello", Gender: "M", Birthdate: "1985-01-01", BirthdateEstimated: true,
		Village: "Kireka", Identifiers: []PatientIdentifier{{Identifier: "1006YR", TypeName: "OpenMRS ID"}, {Identifier: "OLD-1", Voided: true}}}
	p := AsPatient(r)
	if p.GivenName != "Joseph Kato" || p.FamilyName != "Okello" || p.Sex != idcards.SexMale || !p.BirthDateEstimated || p.Village != "Kireka" {
		t.Errorf("asPatient = %+v", p)
	}
	if got, want := describeRemote(r), "Joseph Kato Okello, M, born about 1985-01-01, Kireka, OpenMRS ID 1006YR"; got != want {
		t.Errorf("describeRemote = %q, want %q", got, want)
	}
	if p := AsPatient(Patient{Gender: "?"}); p.Sex != idcards.SexUnknown {
		t.Errorf("unknown gender: %+v", p)
	}
}
