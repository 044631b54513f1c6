package patientfile_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/patientfile"
	"github.com/idcards/idcards/registry"
)

var today = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func TestParseRow(t *testing.T) {
	cols := []string{"mrn", "given_name", "family_name", "sex", "birth_date", "age"}
	for _, tc := range []struct {
		name    string
		rec     []string
		want    string // birth date
		est     bool
		wantErr string
	}{
		{"iso", []string{"", "A", "B", "F", "1990-04-12", ""}, "1990-04-12", false, ""},
		{"local", []string{"", "A", "B", "F", "12/4/1990", ""}, "1990-04-12", false, ""},
		{"bare year", []string{"", "A", "B", "F", "1990", ""}, "1990-07-01", true, ""},
		{"age", []string{"", "A", "B", "F", "", "36"}, "1990-07-01", true, ""},
		{"not a date", []string{"", "A", "B", "F", "31/02/1990", ""}, "", false, `row 7, column birth_date: "31/02/1990" is not a date`},
		{"bad sex", []string{"", "A", "B", "Q", "", ""}, "", false, "column sex"},
		{"no name", []string{"", "", "", "F", "", ""}, "", false, "no name"},
		{"bad utf8", []string{"", "A\xff", "B", "F", "", ""}, "", false, "column given_name: not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row, err := patientfile.ParseRow(cols, tc.rec, 7, "2/1/2006", today)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || row.Patient.BirthDate != tc.want || row.Patient.BirthDateEstimated != tc.est {
				t.Fatalf("got %+v, %v", row.Patient, err)
			}
		})
	}
}

func TestParseMap(t *testing.T) {
	if _, err := patientfile.ParseMap([]string{"Nom=family"}); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, err := patientfile.ParseMap([]string{"Nom"}); err == nil {
		t.Fatal("missing = accepted")
	}
	m, err := patientfile.ParseMap([]string{"Date of Birth=birth_date", "Notes=-"})
	if err != nil || m["date_of_birth"] != "birth_date" || m["notes"] != "-" {
		t.Fatalf("%v %v", m, err)
	}
}

// A file the reader refuses at its header says what is wrong with it.
func TestNewReader_HeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"empty", "", "the file is empty"},
		{"binary", "given_name,fam\x00ily\n", "not a CSV text file (binary data or not UTF-8)"},
		{"not utf8", "given_name,f\xffamily\n", "not a CSV text file (binary data or not UTF-8)"},
		{"cr cr lf line ends", "given_name,family_name,sex\r\r\nA,B,F\r\r\n", "stray carriage return at the end of the line (broken line ends"},
		{"unknown column", "given_name,shoe_size\n", "shoe_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := patientfile.NewReader(strings.NewReader(tc.body), patientfile.Config{Now: today})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(tc.name, "cr cr") && strings.Contains(err.Error(), "not UTF-8") {
				t.Fatalf("err = %v: blames the encoding", err)
			}
		})
	}
}

// FuzzReader feeds arbitrary files to the reader: it must never panic,
// every row error must be a *RowError with a line, and every accepted row
// must pass the registry's validation or fail it with an error.
func FuzzReader(f *testing.F) {
	f.Add("given_name,family_name,sex,dob\nA,B,F,1990-01-01\n")
	f.Add("\uFEFFid,first name,surname,gender,dob,age\r\nX1,\"a, b\",c,m,1/2/1990,\r\n")
	f.Add("given_name\n\"unterminated\n")
	f.Add("given_name,family_name\r\r\nA,B\r\r\n")
	f.Add("mrn,given_name,other_mrns,uuid,birth_date_estimated\n1,a,2;3,00000000-0000-0000-0000-000000000000,yes\n")
	f.Fuzz(func(t *testing.T, body string) {
		r, err := patientfile.NewReader(strings.NewReader(body), patientfile.Config{DateFormat: "DD/MM/YYYY", Now: today})
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *registry.RowError
			if err != nil {
				if !errors.As(err, &re) || re.Line < 1 {
					t.Fatalf("error %v is not a row error with a line", err)
				}
				continue
			}
			_ = row.Patient.Validate(today)
		}
	})
}

func FuzzJSONLReader(f *testing.F) {
	f.Add(`{"mrn":"1","given_name":"A","family_name":"B","sex":"F","uuid":"00000000-0000-0000-0000-000000000000"}` + "\n{bad\n")
	f.Fuzz(func(t *testing.T, body string) {
		r := patientfile.NewJSONLReader(strings.NewReader(body))
		for i := 0; i < 1000; i++ {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *registry.RowError
			if err != nil && (!errors.As(err, &re) || re.Line < 1) {
				t.Fatalf("error %v is not a row error with a line", err)
			}
		}
	})
}

// FuzzExportRoundTrip: whatever names a registry holds, the CSV export
// reads back to the same fields.
func FuzzExportRoundTrip(f *testing.F) {
	f.Add("Zoë", "N'Diaye, \"Jr\"", "0772 123456", "Kireka East")
	f.Fuzz(func(t *testing.T, given, family, phone, village string) {
		np := registry.NewPatient{GivenName: given, FamilyName: family, Phone: phone, Village: village, Sex: "F"}
		if np.Validate(today) != nil || np.GivenName != given || np.FamilyName != family || np.Phone != phone || np.Village != village {
			return // the registry never holds such values (control characters, untrimmed)
		}
		var buf strings.Builder
		w, _ := patientfile.NewWriter(&buf, "csv")
		p := idcards.Patient{GivenName: given, FamilyName: family, Sex: "F", Phone: phone, Village: village, UUID: "00000000-0000-4000-8000-000000000000"}
		if err := w.Write(p, []string{"X1", "X2"}); err != nil {
			return
		}
		w.Flush()
		r, err := patientfile.NewReader(strings.NewReader(buf.String()), patientfile.Config{Now: today})
		if err != nil {
			t.Fatal(err)
		}
		row, err := r.Next()
		if err != nil {
			return // e.g. invalid UTF-8 or an empty name: refused with a row error
		}
		trim := strings.TrimSpace
		if row.Patient.GivenName != trim(given) || row.Patient.FamilyName != trim(family) || row.Patient.Phone != trim(phone) || row.Patient.Village != trim(village) || len(row.MRNs) != 2 {
			t.Fatalf("round trip changed the row: %+v", row)
		}
	})
}
