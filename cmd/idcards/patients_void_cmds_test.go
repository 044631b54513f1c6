package main

import (
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/openmrs/openmrstest"
)

// TestCLI_PatientsVoid: the CLI had no way to void an MRN (the desk has).
// Every refusal says what to do; a void is audited like the desk's, its
// cards stop verifying, it reaches OpenMRS once, and the output points to
// a replacement (patients issue).
func TestCLI_PatientsVoid(t *testing.T) {
	e := newSyncEnv(t, openmrstest.Options{})
	if r := e.configure(); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	mrn := e.register("Amina")
	e.must("sync", "--once")
	if h := e.fake.PatientsWithIdentifier(mrn); len(h) != 1 {
		t.Fatalf("%s held by %d OpenMRS patients before the void", mrn, len(h))
	}
	codec, err := barcode.NewCodec(idcards.Format{Prefix: "KLA", Width: 6, Scheme: "luhn-mod-30"})
	if err != nil {
		t.Fatal(err)
	}
	never, _ := codec.Make(999_999)
	typo := mrn[:len(mrn)-1] + "A"
	if strings.HasSuffix(mrn, "A") {
		typo = mrn[:len(mrn)-1] + "C"
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string // in stdout (success) or stderr (refusal)
	}{
		{"NoReason", []string{"patients", "void", mrn}, 2, []string{"needs --reason"}},
		{"Malformed", []string{"patients", "void", "KLA-12", "--reason", "x"}, 2, []string{"not an MRN of this registry", "nothing voided", "type the number again"}},
		{"WrongCheckCharacter", []string{"patients", "void", typo, "--reason", "x"}, 2, []string{"wrong check character", "nothing voided"}},
		{"NeverIssued", []string{"patients", "void", never, "--reason", "x"}, 1, []string{"never issued", "nothing to void", "check the number"}},
		{"Voids", []string{"patients", "void", strings.ToLower(mrn), "--reason", "given in error"}, 0,
			[]string{"voided " + mrn + " of Amina Nakato", "its cards no longer verify", "no active MRN now", "idcards patients issue " + mrn, "reaches OpenMRS at the next sync"}},
		{"AlreadyVoided", []string{"patients", "void", mrn, "--reason", "again"}, 1, []string{"already voided (given in error)", "idcards patients issue " + mrn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run("", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			got := r.stderr
			if tc.code == 0 {
				got = r.stdout
			}
			wantIn(t, tc.name, got, tc.out...)
		})
	}
	r := e.run("", "verify", mrn)
	wantIn(t, "verify after the void", r.stdout, "voided", "given in error")
	wantIn(t, "audit", e.must("audit", "list", "--action", "id.void"), mrn, "given in error")
	if n := strings.Count(e.must("audit", "list", "--action", "id.void"), mrn); n != 1 {
		t.Errorf("id.void audited %d times, want once (refusals write nothing)", n)
	}
	e.must("sync", "--once")
	if h := e.fake.PatientsWithIdentifier(mrn); len(h) != 0 {
		t.Errorf("%s still active in OpenMRS after the void was synced: %+v", mrn, h)
	}
	// The replacement the output points to.
	next := strings.TrimSpace(e.must("patients", "issue", mrn))
	if next == mrn || next == "" {
		t.Fatalf("patients issue after the void: %q", next)
	}
}
