package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// cli runs idcards against the registry at db and returns stdout, stderr.
func patientsCLI(t *testing.T, db string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "IDCARDS_DB" {
			return db
		}
		return ""
	}
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, env)
	return out.String(), errb.String(), err
}

func newRegistry(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "r.db")
	if _, _, err := patientsCLI(t, db, "", "init", "--site", "12", "--scheme", "luhn", "--width", "7"); err != nil {
		t.Fatal(err)
	}
	return db
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPatients_AddShowSearch(t *testing.T) {
	db := newRegistry(t)
	out, _, err := patientsCLI(t, db, "", "patients", "add", "--given", "Amina", "--family", "Nakató", "--sex", "F", "--dob", "1990-04-12", "--phone", "0772 123456", "--issue")
	if err != nil {
		t.Fatal(err)
	}
	mrn := strings.TrimSpace(out)
	show, _, err := patientsCLI(t, db, "", "patients", "show", mrn)
	if err != nil || !strings.Contains(show, "Amina Nakató") || !strings.Contains(show, mrn+"  active") {
		t.Fatalf("show: %v\n%s", err, show)
	}
	found, _, err := patientsCLI(t, db, "", "patients", "search", "nakato")
	if err != nil || !strings.Contains(found, mrn) {
		t.Fatalf("search: %v\n%s", err, found)
	}
	// The same person again is refused as a probable duplicate...
	_, stderr, err := patientsCLI(t, db, "", "patients", "add", "--given", "Nakato", "--family", "Amina", "--sex", "F", "--dob", "1990-04-12", "--issue")
	if idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(stderr, mrn) {
		t.Fatalf("duplicate: err=%v stderr=%s", err, stderr)
	}
	// ...unless forced with a reason.
	if _, _, err := patientsCLI(t, db, "", "patients", "add", "--given", "Nakato", "--family", "Amina", "--sex", "F", "--dob", "1990-04-12", "--issue", "--force"); idcards.ErrorKind(err) != idcards.Invalid {
		t.Fatalf("force without reason: %v", err)
	}
	if _, _, err := patientsCLI(t, db, "", "patients", "add", "--given", "Nakato", "--family", "Amina", "--sex", "F", "--dob", "1990-04-12", "--issue", "--force", "--reason", "twin"); err != nil {
		t.Fatal(err)
	}
	// A legacy ID is kept, unchecked on request.
	out, _, err = patientsCLI(t, db, "", "patients", "add", "--given", "Okello", "--family", "John", "--sex", "M", "--age", "40", "--mrn", "OLD-77", "--legacy-unchecked")
	if err != nil || strings.TrimSpace(out) != "OLD77" {
		t.Fatalf("legacy add: %v %q", err, out)
	}
	if _, _, err := patientsCLI(t, db, "", "patients", "show", "old-77"); err != nil {
		t.Fatalf("show legacy: %v", err)
	}
}

const register = "\uFEFFPatient ID,First Name,Surname,Gender,DOB,Phone,Village\r\n" +
	"OLD-1,Amina,Nakato,F,12/04/1990,0772123456,Kireka\r\n" +
	"OLD-2,\"Okello, Jr\",John,M,1985,,\"Bweyogerere\"\r\n" +
	",Zoë,Achieng,female,01/01/2001,,\r\n"

func TestPatients_ImportLegacyRegister(t *testing.T) {
	db := newRegistry(t)
	file := writeFile(t, "reg.csv", register)
	args := []string{"patients", "import", file, "--date-format", "DD/MM/YYYY", "--map", "Patient ID=mrn", "--legacy-unchecked", "--issue-missing"}
	out, _, err := patientsCLI(t, db, "", append(args, "--dry-run")...)
	if err != nil || !strings.Contains(out, "row 2: would import Amina Nakato OLD1") || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if out, _, _ := patientsCLI(t, db, "", "patients", "search", "amina"); strings.Contains(out, "Amina") {
		t.Fatal("dry run wrote")
	}
	out, _, err = patientsCLI(t, db, "", args...)
	if err != nil || !strings.Contains(out, "3 rows: 3 imported, 0 already present, 0 rejected; 2 IDs recorded, 1 issued") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	// Re-running is idempotent.
	out, _, err = patientsCLI(t, db, "", args...)
	if err != nil || !strings.Contains(out, "3 rows: 0 imported, 3 already present") {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	show, _, err := patientsCLI(t, db, "", "patients", "show", "OLD1")
	if err != nil || !strings.Contains(show, "1990-04-12") || !strings.Contains(show, "(legacy)") {
		t.Fatalf("show: %v\n%s", err, show)
	}
}

// An imported row that looks like a patient already registered is put in
// the review list, and the import says so; --no-duplicate-check skips it.
func TestPatients_ImportChecksDuplicates(t *testing.T) {
	db := newRegistry(t)
	if _, _, err := patientsCLI(t, db, "", "patients", "add", "--given", "Anjali", "--family", "Nair", "--sex", "F", "--dob", "1990-03-14", "--phone", "0772123456", "--village", "Mukono"); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "reg.csv", "given_name,family_name,sex,birth_date,phone,village\n"+
		"Anjali,Nair,F,1990-03-14,+256772123456,Mukono town\nOkello,Wanyama,M,1961-11-02,,Gulu\n")
	out, _, err := patientsCLI(t, db, "", "patients", "import", file, "--no-duplicate-check")
	if err != nil || strings.Contains(out, "duplicate check") {
		t.Fatalf("--no-duplicate-check: %v\n%s", err, out)
	}
	db2 := newRegistry(t)
	if _, _, err := patientsCLI(t, db2, "", "patients", "add", "--given", "Anjali", "--family", "Nair", "--sex", "F", "--dob", "1990-03-14", "--phone", "0772123456", "--village", "Mukono"); err != nil {
		t.Fatal(err)
	}
	// A dry run names the row and the record it looks like, and records nothing.
	out, _, err = patientsCLI(t, db2, "", "patients", "import", file, "--dry-run")
	if err != nil || !strings.Contains(out, "row 2: Anjali Nair looks like") || !strings.Contains(out, "1 of 2 rows look like registered patients (1 probable)") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if out, _, _ := patientsCLI(t, db2, "", "patients", "review"); strings.Contains(out, "Anjali") {
		t.Fatalf("a dry run recorded a pair:\n%s", out)
	}
	out, _, err = patientsCLI(t, db2, "", "patients", "import", file)
	if err != nil || !strings.Contains(out, "duplicate check of the 2 imported patients") || !strings.Contains(out, "1 pair may be one person (1 probable)") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, _, err = patientsCLI(t, db2, "", "patients", "review")
	if err != nil || !strings.Contains(out, "Anjali Nair") || strings.Contains(out, "Wanyama") {
		t.Fatalf("review: %v\n%s", err, out)
	}
}

func TestPatients_ImportBadRows(t *testing.T) {
	db := newRegistry(t)
	body := "mrn,given_name,family_name,sex,dob,age\n" +
		",Good,Row,F,1990-01-01,\n" + // row 2
		",Bad,Date,F,31/02/1990,\n" + // row 3
		",Bad,Sex,X,,\n" + // row 4
		",,,M,,\n" + // row 5: no name
		",Bad,Age,M,,old\n" + // row 6
		"9999,Foreign,Id,M,,\n" + // row 7: not this registry's, no legacy option
		",Too,Few\n" + // row 8
		",Future,Born,F,2999-01-01,\n" + // row 9
		",\"Broken,quote,F,,\n" // row 10: unterminated quote to EOF
	file := writeFile(t, "bad.csv", body)
	_, _, err := patientsCLI(t, db, "", "patients", "import", file, "--date-format", "DD/MM/YYYY")
	if err == nil || !strings.Contains(err.Error(), "row 3, column birth_date: \"31/02/1990\" is not a date") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("all-or-none: %v", err)
	}
	rej := filepath.Join(t.TempDir(), "rejects.csv")
	out, stderr, err := patientsCLI(t, db, "", "patients", "import", file, "--date-format", "DD/MM/YYYY", "--skip-bad", "--rejects", rej)
	if err == nil || !strings.Contains(out, "9 rows: 1 imported, 0 already present, 8 rejected") {
		t.Fatalf("skip-bad: %v\n%s\n%s", err, out, stderr)
	}
	for _, want := range []string{
		"row 3, column birth_date",
		"row 4, column sex: \"X\" is not a sex",
		"row 5: no name",
		"row 6, column age",
		"row 7, column mrn: 9999 is not an ID of this registry",
		"row 8: 3 cells, but the header has 6",
		"row 9, column birth_date: \"2999-01-01\" is in the future",
		"row 10: not valid CSV",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	b, _ := os.ReadFile(rej)
	if n := strings.Count(string(b), "\n"); n < 9 || !strings.Contains(string(b), "source_row,error") {
		t.Errorf("rejects file:\n%s", b)
	}
}

func TestPatients_ImportRefusals(t *testing.T) {
	db := newRegistry(t)
	mrn1 := mustMRN(t, db)
	for _, tc := range []struct {
		name, body, want string
		args             []string
	}{
		{"not CSV at all", "%PDF-1.4\x00\x01\x02\n\xff\xfe binary", "not a CSV text file", nil},
		{"empty", "", "the file is empty", nil},
		{"unknown column", "given_name,shoe size\nA,42\n", `unknown column(s) "shoe size"`, nil},
		{"no name column", "sex\nF\n", "no name column", nil},
		{"age and birth date disagree", "given_name,birth_date,age\nAmina,1990-01-01,50\n", "disagree", nil},
		{"semicolons", "given_name;family_name;sex\nAmina;Nakato;F\n", `--separator ";"`, nil},
		{"one column twice", "given_name,family_name,given_name\nAmina,Nakato,Amina\n", "two columns are named", nil},
		{"duplicate in file", "mrn,given_name\nOLD1,A\nOLD1,B\n", "row 3, column mrn: OLD1 is also on row 2", []string{"--legacy-unchecked"}},
		{"taken in registry", "mrn,given_name\n" + mrn1 + ",Someone Else\n", "already belongs to another patient", nil},
		{"bad check", "mrn,given_name\n" + mrn1[:len(mrn1)-1] + "0,X\n", "has this registry's prefix", nil},
		// A typo of one of our own cards is not a legacy ID, whatever the flags.
		{"bad check, legacy unchecked", "mrn,given_name\n" + mrn1[:len(mrn1)-1] + "0,X\n", "wrong check character", []string{"--legacy-unchecked"}},
		{"bad check, legacy scheme", "mrn,given_name\n" + mrn1[:len(mrn1)-1] + "0,X\n", "wrong check character", []string{"--legacy-scheme", "luhn"}},
		{"ten MB line", "given_name\n" + strings.Repeat("a", 10<<20) + "\n", "line 2 is longer than 256 KiB", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "f.csv", tc.body)
			_, _, err := patientsCLI(t, db, "", append([]string{"patients", "import", file}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func mustMRN(t *testing.T, db string) string {
	t.Helper()
	out, _, err := patientsCLI(t, db, "", "patients", "add", "--given", "First", "--family", "Patient", "--sex", "F", "--age", "30", "--issue", "--force", "--reason", "test")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// TestPatients_ImportTwoEntriesTwoPatients: two register entries with the
// same details and each its own ID are two patients (two John Okellos born
// in 1990), not one record with two IDs: the pair goes to the review list.
// Re-running the file finds both present; an ID added to a row of a record
// that holds it already is added to that record (a fixed file).
func TestPatients_ImportTwoEntriesTwoPatients(t *testing.T) {
	db := newRegistry(t)
	c, _ := barcode.NewCodec(idcards.Format{Prefix: "12", Width: 7, Scheme: "luhn"})
	a, _ := c.Make(11)
	b, _ := c.Make(12)
	extra, _ := c.Make(13)
	body := "mrn,given_name,family_name,sex,birth_date\n" + a + ",John,Okello,M,1990\n" + b + ",John,Okello,M,1990\n"
	file := writeFile(t, "f.csv", body)
	out, _, err := patientsCLI(t, db, "", "patients", "import", file)
	if err != nil || !strings.Contains(out, "2 rows: 2 imported, 0 already present") || !strings.Contains(out, "1 probable") {
		t.Fatalf("%v\n%s", err, out)
	}
	out, _, err = patientsCLI(t, db, "", "patients", "import", file)
	if err != nil || !strings.Contains(out, "2 rows: 0 imported, 2 already present") {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	fixed := writeFile(t, "g.csv", "mrn,other_mrns,given_name,family_name,sex,birth_date\n"+b+","+extra+",John,Okello,M,1990\n")
	if out, _, err = patientsCLI(t, db, "", "patients", "import", fixed); err != nil || !strings.Contains(out, "1 rows: 0 imported, 1 already present") {
		t.Fatalf("fixed file: %v\n%s", err, out)
	}
	out, _, err = patientsCLI(t, db, "", "patients", "show", extra)
	if err != nil || !strings.Contains(out, b) || strings.Contains(out, a) {
		t.Fatalf("the added ID is not on the record holding %s:\n%s %v", b, out, err)
	}
}

func TestPatients_ImportSkipsFutureSequence(t *testing.T) {
	db := newRegistry(t)
	// Legacy IDs of this registry's own series, ahead of the sequence.
	first := mustMRN(t, db) // seq 1
	c, _ := barcode.NewCodec(idcards.Format{Prefix: "12", Width: 7, Scheme: "luhn"})
	two, _ := c.Make(2)
	three, _ := c.Make(3)
	four, _ := c.Make(4)
	body := "mrn,given_name\n" + two + ",Legacy Two\n" + three + ",Legacy Three\n"
	file := writeFile(t, "f.csv", body)
	if out, _, err := patientsCLI(t, db, "", "patients", "import", file); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	next := mustMRN(t, db)
	if next == first || next == two || next == three || next != four {
		t.Fatalf("next = %s, want seq 4 (%s): the sequence must skip imported IDs", next, four)
	}
}

func TestPatients_ExportImportRoundTrip(t *testing.T) {
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			a := newRegistry(t)
			file := writeFile(t, "reg.csv", register)
			if _, _, err := patientsCLI(t, a, "", "patients", "import", file, "--date-format", "DD/MM/YYYY", "--map", "Patient ID=mrn", "--legacy-unchecked", "--issue-missing"); err != nil {
				t.Fatal(err)
			}
			mustMRN(t, a)
			exp := filepath.Join(t.TempDir(), "all."+format)
			if _, _, err := patientsCLI(t, a, "", "patients", "export", "--format", format, "--out", exp); err != nil {
				t.Fatal(err)
			}
			b := newRegistry(t)
			if out, _, err := patientsCLI(t, b, "", "patients", "import", exp, "--legacy-unchecked"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			ea, _, _ := patientsCLI(t, a, "", "patients", "export", "--format", format)
			eb, _, _ := patientsCLI(t, b, "", "patients", "export", "--format", format)
			if ea != eb || strings.Count(ea, "\n") < 4 {
				t.Fatalf("round trip differs:\n%s\n---\n%s", ea, eb)
			}
		})
	}
}

func TestPatients_MatchAndMerge(t *testing.T) {
	db := newRegistry(t)
	out, _, err := patientsCLI(t, db, "", "patients", "add", "--given", "Amina", "--family", "Nakato", "--sex", "F", "--dob", "1990-04-12", "--phone", "0772123456", "--issue")
	if err != nil {
		t.Fatal(err)
	}
	keep := strings.TrimSpace(out)
	// A typo, swapped names and an estimated age still match.
	out, _, err = patientsCLI(t, db, "", "patients", "match", "--given", "Nakatto", "--family", "Aminah", "--sex", "F", "--age", "36")
	if !strings.Contains(out, keep) || !strings.Contains(out, "swapped") {
		t.Fatalf("match: %v\n%s", err, out)
	}
	out, _, err = patientsCLI(t, db, "", "patients", "add", "--given", "Nakatto", "--family", "Aminah", "--sex", "F", "--age", "36", "--issue", "--force", "--reason", "clerk unsure")
	if err != nil {
		t.Fatal(err)
	}
	dup := strings.TrimSpace(out)
	if _, _, err := patientsCLI(t, db, "", "patients", "merge", dup, keep); idcards.ErrorKind(err) != idcards.Invalid {
		t.Fatalf("merge without reason: %v", err)
	}
	if _, _, err := patientsCLI(t, db, "", "patients", "merge", dup, keep, "--reason", "same person"); err != nil {
		t.Fatal(err)
	}
	show, _, err := patientsCLI(t, db, "", "patients", "show", dup)
	if err != nil || !strings.Contains(show, "Amina Nakato") || !strings.Contains(show, keep) || !strings.Contains(show, dup) {
		t.Fatalf("show after merge: %v\n%s", err, show)
	}
	if _, _, err := patientsCLI(t, db, "", "patients", "merge", dup, keep, "--reason", "again"); err == nil {
		t.Fatal("merging a patient into itself accepted")
	}
}

func TestPatients_DuplicatesSweep(t *testing.T) {
	db := newRegistry(t)
	// A legacy register with the same person twice (swapped names, typo).
	file := writeFile(t, "reg.csv", "given_name,family_name,sex,birth_date,phone\nAmina,Nakato,F,1990-04-12,0772123456\nNakatto,Amina,F,1990-04-12,0772123456\nOkello,John,M,1960-01-01,\n")
	if _, _, err := patientsCLI(t, db, "", "patients", "import", file, "--issue-missing"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := patientsCLI(t, db, "", "patients", "duplicates")
	if err != nil || !strings.Contains(out, "Amina Nakato") || !strings.Contains(out, "Nakatto Amina") || !strings.Contains(stderr, "review list: 1 open") {
		t.Fatalf("duplicates: %v\n%s\n%s", err, out, stderr)
	}
	// Judged "not the same person": never raised again.
	if _, _, err := patientsCLI(t, db, "", "patients", "review", "different", "1", "--reason", "sisters"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = patientsCLI(t, db, "", "patients", "duplicates")
	if err != nil || strings.Contains(out, "Amina") || !strings.Contains(stderr, "0 open, 1 judged") {
		t.Fatalf("judged pair raised again: %v\n%s\n%s", err, out, stderr)
	}
}

// A record corrected after its pair was raised: the next scan scores the
// open pair again and takes it off the list, and says so.
func TestPatients_DuplicatesRetiresStalePairs(t *testing.T) {
	db := newRegistry(t)
	file := writeFile(t, "reg.csv", "given_name,family_name,sex,birth_date,phone\nAmina,Nakato,F,1990-04-12,0772123456\nNakatto,Amina,F,1990-04-12,0772123456\n")
	if _, _, err := patientsCLI(t, db, "", "patients", "import", file, "--issue-missing"); err != nil {
		t.Fatal(err)
	}
	out, _, err := patientsCLI(t, db, "", "patients", "duplicates", "--json")
	var pair registry.ReviewPair
	if err != nil || json.Unmarshal([]byte(strings.TrimSpace(out)), &pair) != nil || len(pair.BMRNs) != 1 {
		t.Fatalf("duplicates: %v\n%s", err, out)
	}
	if _, _, err := patientsCLI(t, db, "", "patients", "edit", pair.BMRNs[0], "--given", "Musa", "--family", "Okot", "--sex", "M", "--dob", "1955-02-02", "--reason", "another patient's card was used"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := patientsCLI(t, db, "", "patients", "duplicates")
	if err != nil || strings.Contains(out, "Amina") || !strings.Contains(stderr, "1 earlier pair scored again, 1 of them no longer alike and taken off; review list: 0 open") {
		t.Fatalf("stale pair: %v\n%s\n%s", err, out, stderr)
	}
}

func TestPatients_AddBindsPreprintedID(t *testing.T) {
	db := newRegistry(t)
	out, _, err := patientsCLI(t, db, "", "issue", "--count", "1")
	if err != nil {
		t.Fatal(err)
	}
	pre := strings.TrimSpace(out)
	out, _, err = patientsCLI(t, db, "", "patients", "add", "--given", "Kato", "--family", "Ssali", "--sex", "M", "--dob", "2001-02-03", "--mrn", strings.ToLower(pre))
	if err != nil || strings.TrimSpace(out) != pre {
		t.Fatalf("bind: %v %q", err, out)
	}
	// Binding it again is refused: it now belongs to someone.
	_, _, err = patientsCLI(t, db, "", "patients", "add", "--given", "Other", "--family", "Person", "--sex", "F", "--age", "30", "--mrn", pre)
	if idcards.ErrorKind(err) != idcards.Conflict {
		t.Fatalf("second bind: %v", err)
	}
	if _, _, err := patientsCLI(t, db, "", "patients", "add", "--given", "X", "--family", "Y", "--issue", "--mrn", pre); idcards.ErrorKind(err) != idcards.Invalid {
		t.Fatalf("--issue with --mrn: %v", err)
	}
}

func TestPatients_ImportTruncatedThenResumed(t *testing.T) {
	db := newRegistry(t)
	full := "given_name,family_name,sex,birth_date\nAmina,Nakato,F,1990-04-12\nOkello,John,M,1960-01-01\nZoë,Achieng,F,2001-01-01\n"
	cut := full[:len(full)-12] // the last row is cut mid-way, as by a failed copy
	rej := filepath.Join(t.TempDir(), "rej.csv")
	out, _, err := patientsCLI(t, db, "", "patients", "import", writeFile(t, "cut.csv", cut), "--skip-bad", "--rejects", rej)
	if err == nil || !strings.Contains(out, "3 rows: 2 imported, 0 already present, 1 rejected") {
		t.Fatalf("truncated: %v\n%s", err, out)
	}
	out, _, err = patientsCLI(t, db, "", "patients", "import", writeFile(t, "full.csv", full))
	if err != nil || !strings.Contains(out, "3 rows: 1 imported, 2 already present") {
		t.Fatalf("resume: %v\n%s", err, out)
	}
}

// TestImportFailed: what an import that did not commit tells the user. A
// connection lost at the commit may have saved it: never "nothing was
// imported" then, and re-running is the way on.
func TestImportFailed(t *testing.T) {
	lostAtCommit := fmt.Errorf("registry: commit: %w: unexpected EOF", registry.ErrMaybeSaved)
	for _, tc := range []struct {
		name    string
		skipBad bool
		err     error
		want    string
		notWant string
	}{
		{"a bad row", false, idcards.Errorf(idcards.Invalid, "line 3: birth_date"), "nothing was imported", ""},
		{"lost at commit", false, lostAtCommit, "may have been saved or not", "nothing was imported"},
		{"lost at commit, skip-bad", true, lostAtCommit, "run the same command again", "nothing was imported"},
		{"down before commit", false, registry.Unreachable(os.ErrDeadlineExceeded), "nothing was imported", "may have been"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := importFailed("f.csv", tc.skipBad, tc.err).Error()
			if !strings.Contains(msg, tc.want) || (tc.notWant != "" && strings.Contains(msg, tc.notWant)) {
				t.Errorf("%s", msg)
			}
		})
	}
}

// TestPatients_OverrideGoesToReview: a clerk registered past a probable
// duplicate with the reason "x", and no supervisor heard of it until
// someone ran patients duplicates. A reason must say something, and the
// pair is on the review list at once.
func TestPatients_OverrideGoesToReview(t *testing.T) {
	db := newRegistry(t)
	add := func(reason string) error {
		args := []string{"patients", "add", "--given", "Anjali", "--family", "Nair", "--sex", "F", "--dob", "1990-03-14", "--phone", "0772123456", "--issue"}
		if reason != "" {
			args = append(args, "--force", "--reason", reason)
		}
		_, _, err := patientsCLI(t, db, "", args...)
		return err
	}
	if err := add(""); err != nil {
		t.Fatal(err)
	}
	if err := add("x"); err == nil || !strings.Contains(err.Error(), "says too little") {
		t.Fatalf("a one-letter reason: %v", err)
	}
	if err := add("twin sister, other mother's name"); err != nil {
		t.Fatal(err)
	}
	out, _, err := patientsCLI(t, db, "", "patients", "review")
	if err != nil || strings.Count(out, "Anjali Nair") < 2 {
		t.Fatalf("review after an override: %v\n%s", err, out)
	}
}

// TestPatients_AddOntoCardLostInRestore: a patient registered after the
// backup comes back with their card after a restore; `patients add --mrn`
// registers them again onto it.
func TestPatients_AddOntoCardLostInRestore(t *testing.T) {
	db := newRegistry(t)
	add := func(given string, extra ...string) (string, error) {
		out, _, err := patientsCLI(t, db, "", append([]string{"patients", "add", "--given", given, "--family", "Ssali", "--sex", "M", "--dob", "2001-02-03"}, extra...)...)
		return strings.TrimSpace(out), err
	}
	if _, err := add("Kato", "--issue"); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(t.TempDir(), "b.db")
	if _, _, err := patientsCLI(t, db, "", "backup", "--out", b); err != nil {
		t.Fatal(err)
	}
	out, err := add("Mukasa", "--issue")
	if err != nil {
		t.Fatal(err)
	}
	lost := out[strings.LastIndex(out, " ")+1:]
	if _, _, err := patientsCLI(t, db, "", "restore", b, "--to", db, "--force"); err != nil {
		t.Fatal(err)
	}
	out, _, err = patientsCLI(t, db, "", "verify", lost)
	if err == nil || !strings.Contains(out, "lost with the restore") {
		t.Fatalf("verify %s after the restore: %v\n%s", lost, err, out)
	}
	if out, err = add("Mukasa", "--mrn", lost); err != nil || !strings.Contains(out, lost) {
		t.Fatalf("add --mrn %s: %v %q", lost, err, out)
	}
	if out, _, err = patientsCLI(t, db, "", "verify", lost); err != nil || !strings.Contains(out, "active") {
		t.Fatalf("verify after: %v\n%s", err, out)
	}
}

// TestPatients_AddRefusesANeverIssuedNumber: `patients add --mrn` with a
// number of this registry's series that it never issued (a card misread
// into another valid number, say) is refused, not kept as a "legacy" ID;
// the series does not skip it. An old system's number is still recorded
// as legacy with --legacy-unchecked.
func TestPatients_AddRefusesANeverIssuedNumber(t *testing.T) {
	db := newRegistry(t)
	add := func(given, mrn string, extra ...string) (string, error) {
		out, _, err := patientsCLI(t, db, "", append([]string{"patients", "add", "--given", given, "--family", "Namuli", "--sex", "F", "--age", "60", "--mrn", mrn}, extra...)...)
		return out, err
	}
	out, _, err := patientsCLI(t, db, "", "mrn", "compute", "--scheme", "luhn", "120000050")
	if err != nil {
		t.Fatal(err)
	}
	never := strings.TrimSpace(out)
	if out, err := add("Ruth", never); err == nil || !strings.Contains(err.Error(), "never issued") || !strings.Contains(err.Error(), "scan it again") {
		t.Fatalf("add --mrn %s (never issued): %v %q", never, err, out)
	}
	if out, _, _ := patientsCLI(t, db, "", "patients", "search", "Namuli"); strings.Contains(out, "Ruth") {
		t.Errorf("a patient was registered with a never-issued number:\n%s", out)
	}
	if out, _, err := patientsCLI(t, db, "", "verify", never); err == nil || !strings.Contains(out, "never issued") {
		t.Errorf("verify %s after the refusal: %v %s", never, err, out)
	}
	if out, err := add("Ruth", "OLD-4711", "--legacy-unchecked"); err != nil || !strings.Contains(out, "OLD4711") {
		t.Errorf("a legacy number: %v %q", err, out)
	}
}
