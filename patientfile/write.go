package patientfile

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// ExportFields are the columns export writes; import reads them back.
var ExportFields = []string{FieldMRN, FieldOtherMRNs, FieldGiven, FieldFamily, FieldSex, FieldBirthDate, FieldEstimated, FieldPhone, FieldVillage, FieldUUID}

// Writer writes an export as CSV (with header) or JSON lines.
type Writer struct {
	csv  *csv.Writer
	json *json.Encoder
	rec  []string
}

// NewWriter starts an export in format "csv" or "jsonl".
func NewWriter(w io.Writer, format string) (*Writer, error) {
	switch format {
	case "csv", "":
		cw := csv.NewWriter(w)
		if err := cw.Write(ExportFields); err != nil {
			return nil, err
		}
		return &Writer{csv: cw, rec: make([]string, len(ExportFields))}, nil
	case "jsonl", "json":
		return &Writer{json: json.NewEncoder(w)}, nil
	}
	return nil, idcards.Errorf(idcards.Invalid, "format %q: use csv or jsonl", format)
}

// Record is one exported patient in JSON lines.
type Record struct {
	MRN                string   `json:"mrn,omitempty"`
	OtherMRNs          []string `json:"other_mrns,omitempty"`
	GivenName          string   `json:"given_name"`
	FamilyName         string   `json:"family_name"`
	Sex                string   `json:"sex"`
	BirthDate          string   `json:"birth_date,omitempty"`
	BirthDateEstimated bool     `json:"birth_date_estimated,omitempty"`
	Phone              string   `json:"phone,omitempty"`
	Village            string   `json:"village,omitempty"`
	UUID               string   `json:"uuid"`
}

// Write writes one patient with their MRNs (first = primary).
func (w *Writer) Write(p idcards.Patient, mrns []string) error {
	r := Record{GivenName: p.GivenName, FamilyName: p.FamilyName, Sex: string(p.Sex), BirthDate: p.BirthDate,
		BirthDateEstimated: p.BirthDateEstimated, Phone: p.Phone, Village: p.Village, UUID: p.UUID}
	if len(mrns) > 0 {
		r.MRN, r.OtherMRNs = mrns[0], mrns[1:]
	}
	if w.json != nil {
		return w.json.Encode(r)
	}
	est := ""
	if r.BirthDateEstimated {
		est = "yes"
	}
	copy(w.rec, []string{r.MRN, strings.Join(r.OtherMRNs, ";"), r.GivenName, r.FamilyName, r.Sex, r.BirthDate, est, r.Phone, r.Village, r.UUID})
	return w.csv.Write(EscapeRecord(w.rec)) // escape.go: no cell starts a formula
}

// Flush writes buffered data and reports any write error.
func (w *Writer) Flush() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	return nil
}

// JSONLReader reads an export in JSON lines, one Record per line.
type JSONLReader struct {
	r    *bufio.Reader
	line int
}

// NewJSONLReader reads JSON lines written by Writer.
func NewJSONLReader(r io.Reader) *JSONLReader {
	return &JSONLReader{r: bufio.NewReader(&bomSkipper{r: &lineLimiter{r: r, max: MaxLineBytes}})}
}

// Next returns the next row, io.EOF at the end, or a *registry.RowError.
// Blank lines are skipped.
func (j *JSONLReader) Next() (registry.ImportRow, error) {
	for {
		text, err := j.r.ReadString('\n')
		var le *LineTooLongError
		if errors.As(err, &le) {
			return registry.ImportRow{}, le
		}
		if text == "" && err != nil {
			return registry.ImportRow{}, err
		}
		j.line++
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		return parseJSONLine(text, j.line)
	}
}

func parseJSONLine(text string, line int) (registry.ImportRow, error) {
	var r Record
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return registry.ImportRow{Line: line}, &registry.RowError{Line: line, Err: idcards.Errorf(idcards.Invalid, "not a JSON patient record: %v", err)}
	}
	row := registry.ImportRow{Line: line, UUID: strings.ToLower(r.UUID), Patient: registry.NewPatient{GivenName: r.GivenName, FamilyName: r.FamilyName,
		Sex: idcards.Sex(r.Sex), BirthDate: r.BirthDate, BirthDateEstimated: r.BirthDateEstimated, Phone: r.Phone, Village: r.Village}}
	if r.MRN != "" {
		row.MRNs = append(row.MRNs, r.MRN)
	}
	row.MRNs = append(row.MRNs, r.OtherMRNs...)
	if r.UUID != "" && !isUUID(r.UUID) {
		return row, &registry.RowError{Line: line, Column: FieldUUID, Err: idcards.Errorf(idcards.Invalid, "%s is not a UUID", strconv.Quote(r.UUID))}
	}
	s, err := idcards.ParseSex(r.Sex)
	if err != nil {
		return row, &registry.RowError{Line: line, Column: FieldSex, Err: err}
	}
	row.Patient.Sex = s
	return row, nil
}
