package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/idcards/idcards"
)

func TestPatients_Edit(t *testing.T) {
	db := newRegistry(t)
	mrn := strings.TrimSpace(mustOut(t, db, "patients", "add", "--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12", "--phone", "0772 123456", "--issue"))
	other := strings.TrimSpace(mustOut(t, db, "patients", "add", "--given", "Okello", "--family", "John", "--sex", "M", "--age", "50", "--issue"))

	for _, tc := range []struct {
		name    string
		args    []string
		kind    idcards.Kind // 0 = success
		wantOut []string
		wantErr []string // on stderr (success) or in the error
	}{
		{"name without reason", []string{"--given", "Aminah"}, idcards.Invalid, nil, []string{"changing the given name needs a reason"}},
		{"no field", nil, idcards.Invalid, nil, []string{"nothing to change"}},
		{"dob and age", []string{"--dob", "1990-01-01", "--age", "3", "--reason", "x"}, idcards.Invalid, nil, []string{"--dob or --age"}},
		{"bad age", []string{"--age", "3q", "--reason", "x"}, idcards.Invalid, nil, []string{"type years"}},
		{"emoji", []string{"--family", "Nakato 😀", "--reason", "x"}, idcards.Invalid, nil, []string{"family name contains an emoji"}},
		{"name with reason", []string{"--given", "Aminah", "--reason", "typing mistake"}, 0, []string{"updated Aminah Nakato (" + mrn + ")", "given name:", "Amina -> Aminah"}, nil},
		{"same again", []string{"--given", "Aminah", "--reason", "x"}, 0, nil, []string{"nothing changed"}},
		{"phone needs no reason", []string{"--phone", "+256 772 123456"}, 0, []string{"phone:", "0772 123456 -> +256 772 123456"}, nil},
		{"clear the village", []string{"--village", ""}, 0, nil, []string{"nothing changed"}},
		{"age in weeks", []string{"--age", "6w", "--reason", "it is the baby"}, 0, []string{"birth date:", "birth date estimated: no -> yes"}, nil},
		{"exact date clears the estimate", []string{"--dob", "1990-04-12", "--reason", "card seen"}, 0, []string{"birth date estimated: yes -> no"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := patientsCLI(t, db, "", append([]string{"patients", "edit", mrn}, tc.args...)...)
			if tc.kind != 0 {
				if err == nil || idcards.ErrorKind(err) != tc.kind {
					t.Fatalf("err = %v (kind %v), want %v", err, idcards.ErrorKind(err), tc.kind)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}

	// The edited record now looks like another patient: warned, kept.
	out, errOut, err := patientsCLI(t, db, "", "patients", "edit", other, "--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12",
		"--phone", "0772123456", "--reason", "wrong form typed")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "now looks like 1 other patient") || !strings.Contains(errOut, mrn) || !strings.Contains(out, "updated Amina Nakato") {
		t.Errorf("look-alike warning missing:\n%s\n%s", out, errOut)
	}

	// --json gives the patient, the changes and the candidates.
	out, _, err = patientsCLI(t, db, "", "patients", "edit", other, "--village", "Kireka", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Patient    idcards.Patient
		Changes    []struct{ Field, Old, New string }
		Candidates []idcards.Candidate
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Patient.Village != "Kireka" || len(got.Changes) != 1 || got.Changes[0].Field != "village" || len(got.Candidates) == 0 {
		t.Errorf("json = %+v", got)
	}

	// Every change is in the audit trail with its old and new value.
	audit := mustOut(t, db, "audit", "list", "--action", "patient.edit")
	for _, w := range []string{`given_name "Amina" -> "Aminah"; reason: typing mistake`, `phone "0772 123456" -> "+256 772 123456"`} {
		if !strings.Contains(audit, w) {
			t.Errorf("audit lacks %q:\n%s", w, audit)
		}
	}
	// Unknown MRN.
	if _, _, err := patientsCLI(t, db, "", "patients", "edit", "1299999999", "--phone", "0772000000"); err == nil {
		t.Error("edit of an unknown MRN accepted")
	}
}

func TestPatients_IssueAnother(t *testing.T) {
	db := newRegistry(t)
	mrn := strings.TrimSpace(mustOut(t, db, "patients", "add", "--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12", "--issue"))
	_, _, err := patientsCLI(t, db, "", "patients", "issue", mrn)
	if idcards.ErrorKind(err) != idcards.Invalid || !strings.Contains(err.Error(), "already has active ID "+mrn+"; give a reason") {
		t.Fatalf("issue without reason: %v", err)
	}
	second := strings.TrimSpace(mustOut(t, db, "patients", "issue", mrn, "--reason", "card kept by the TB clinic"))
	if second == "" || second == mrn {
		t.Fatalf("second MRN %q", second)
	}
	show := mustOut(t, db, "patients", "show", second)
	if !strings.Contains(show, mrn+"  active") || !strings.Contains(show, second+"  active") {
		t.Errorf("show:\n%s", show)
	}
	if audit := mustOut(t, db, "audit", "list", "--action", "id.issue_another"); !strings.Contains(audit, "beside "+mrn) || !strings.Contains(audit, "card kept by the TB clinic") {
		t.Errorf("audit:\n%s", audit)
	}
}

func TestPatients_AddRules(t *testing.T) {
	db := newRegistry(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no birth date nor age", []string{"--given", "A", "--family", "B"}, "a date of birth or an age is needed"},
		{"digits", []string{"--given", "Amina2", "--family", "B", "--age", "3"}, "contains a digit"},
		{"long name", []string{"--given", strings.Repeat("a", 51), "--family", "B", "--age", "3"}, "at most 50"},
		{"emoji", []string{"--given", "🙂", "--family", "B", "--age", "3"}, "emoji"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := patientsCLI(t, db, "", append([]string{"patients", "add", "--sex", "F", "--issue"}, tc.args...)...)
			if idcards.ErrorKind(err) != idcards.Invalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	mrn := strings.TrimSpace(mustOut(t, db, "patients", "add", "--given", "Baby", "--family", "Nakato", "--sex", "F", "--age", "6w", "--issue"))
	if show := mustOut(t, db, "patients", "show", mrn); !strings.Contains(show, "(estimated)") {
		t.Errorf("infant age not estimated:\n%s", show)
	}
}

func mustOut(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, errOut, err := patientsCLI(t, db, "", args...)
	if err != nil {
		t.Fatalf("idcards %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func TestPatients_SearchMistypedMRN(t *testing.T) {
	db := newRegistry(t)
	mrn := strings.TrimSpace(mustOut(t, db, "patients", "add", "--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12", "--phone", "0772 123456", "--issue"))
	last := mrn[len(mrn)-1]
	bad := mrn[:len(mrn)-1] + string(rune('0'+(last-'0'+1)%10))
	_, errOut, err := patientsCLI(t, db, "", "patients", "search", bad)
	if err == nil || !strings.Contains(errOut, "wrong check character — probably mistyped") {
		t.Errorf("search %s: %v\n%s", bad, err, errOut)
	}
	_, errOut, _ = patientsCLI(t, db, "", "patients", "search", "zzzz")
	if !strings.Contains(errOut, "no patient found") {
		t.Errorf("search zzzz: %s", errOut)
	}
	if out := mustOut(t, db, "patients", "search", "+256 772 123 456"); !strings.Contains(out, mrn) {
		t.Errorf("international phone: %s", out)
	}
	if out := mustOut(t, db, "patients", "search", "1990"); !strings.Contains(out, mrn) {
		t.Errorf("birth year: %s", out)
	}
}
