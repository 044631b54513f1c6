// Package patientfile reads legacy patient registers (CSV, as typed into a
// spreadsheet or exported by an old system) and writes the registry's own
// export (CSV or JSON lines) so that an export imports back unchanged.
//
// Reading streams: one row at a time, so a file of any length is read in
// constant memory, and every bad row is reported with its line and column.
package patientfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// Field names: the registry's own column names, which export writes.
const (
	FieldMRN       = "mrn"
	FieldOtherMRNs = "other_mrns"
	FieldGiven     = "given_name"
	FieldFamily    = "family_name"
	FieldSex       = "sex"
	FieldBirthDate = "birth_date"
	FieldEstimated = "birth_date_estimated"
	FieldAge       = "age"
	FieldPhone     = "phone"
	FieldVillage   = "village"
	FieldUUID      = "uuid"
	// Ignore as a --map target drops a column.
	Ignore = "-"
)

// Fields lists every field a column can map to, in export order.
var Fields = []string{FieldMRN, FieldOtherMRNs, FieldGiven, FieldFamily, FieldSex, FieldBirthDate, FieldEstimated, FieldAge, FieldPhone, FieldVillage, FieldUUID}

// aliases are common header spellings in registers and other systems'
// exports, after normaliseHeader.
func aliasOf(h string) string {
	switch h {
	case "mrn", "id", "patient_id", "identifier", "hospital_number", "record_number", "card_number", "openmrs_id":
		return FieldMRN
	case "other_mrns", "other_ids", "old_ids", "previous_ids":
		return FieldOtherMRNs
	case "given_name", "given", "first_name", "firstname", "first", "forename", "given_names", "prenom", "prénom":
		return FieldGiven
	case "family_name", "family", "surname", "last_name", "lastname", "nom":
		return FieldFamily
	case "sex", "gender":
		return FieldSex
	case "birth_date", "dob", "date_of_birth", "birthdate", "born":
		return FieldBirthDate
	case "birth_date_estimated", "dob_estimated", "estimated":
		return FieldEstimated
	case "age", "age_years":
		return FieldAge
	case "phone", "telephone", "tel", "mobile", "phone_number":
		return FieldPhone
	case "village", "address", "location", "residence":
		return FieldVillage
	case "uuid":
		return FieldUUID
	}
	return ""
}

func normaliseHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '/':
			return '_'
		}
		return r
	}, h)
}

// Config says how to read a file.
type Config struct {
	// Map maps a header (as written, case-insensitive) to a field or to
	// Ignore, for headers that are not recognised.
	Map map[string]string
	// DateFormat is the local date format besides ISO YYYY-MM-DD, written
	// with DD, MM and YYYY, e.g. "DD/MM/YYYY". Empty: ISO only.
	DateFormat string
	// Now is "today", for ages and dates in the future.
	Now time.Time
	// Comma is the separator; 0 means ','.
	Comma rune
}

// ParseMap parses --map values "column=field".
func ParseMap(pairs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, p := range pairs {
		col, field, ok := strings.Cut(p, "=")
		col, field = normaliseHeader(col), strings.TrimSpace(field)
		if !ok || col == "" || field == "" {
			return nil, idcards.Errorf(idcards.Invalid, "--map %q: write COLUMN=FIELD, e.g. --map \"Date of birth=birth_date\"", p)
		}
		if field != Ignore && !isField(field) {
			return nil, idcards.Errorf(idcards.Invalid, "--map %q: unknown field %q; fields are %s, or - to ignore the column", p, field, strings.Join(Fields, ", "))
		}
		m[col] = field
	}
	return m, nil
}

func isField(f string) bool {
	for _, x := range Fields {
		if x == f {
			return true
		}
	}
	return false
}

// dateLayout turns "DD/MM/YYYY" into a Go layout. Day and month accept one
// or two digits.
func dateLayout(f string) (string, error) {
	if f == "" {
		return "", nil
	}
	r := strings.NewReplacer("YYYY", "2006", "DD", "2", "MM", "1")
	l := r.Replace(strings.ToUpper(f))
	if strings.Count(l, "2006") != 1 || strings.Count(l, "1") != 1 || strings.Count(l, "2") != 2 ||
		strings.Trim(l, "20061/-. ") != "" {
		return "", idcards.Errorf(idcards.Invalid, "date format %q: use DD, MM and YYYY with separators / - . or space, e.g. DD/MM/YYYY", f)
	}
	return l, nil
}

// Reader reads patient rows from a CSV file with a header row.
type Reader struct {
	csv    *csv.Reader
	cols   []string // field per column ("" = ignored)
	header []string
	layout string
	now    time.Time
	raw    []string
	line   int
}

// maxFieldBytes caps any one cell; registers have short cells, and a huge
// one is a broken file, not a name.
const maxFieldBytes = 1000

// NewReader reads the header and checks every column is known.
func NewReader(r io.Reader, cfg Config) (*Reader, error) {
	layout, err := dateLayout(cfg.DateFormat)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(&bomSkipper{r: &lineLimiter{r: r, max: MaxLineBytes}})
	if cfg.Comma != 0 {
		cr.Comma = cfg.Comma
	}
	cr.ReuseRecord = false
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, idcards.Errorf(idcards.Invalid, "the file is empty: expected a header row such as %s", strings.Join(Fields[:6], ","))
	}
	var le *LineTooLongError
	if errors.As(err, &le) {
		return nil, le
	}
	if err != nil {
		return nil, idcards.Errorf(idcards.Invalid, "header row: not readable as CSV: %v", err)
	}
	rd := &Reader{csv: cr, header: header, layout: layout, now: cfg.Now}
	seen := map[string]string{}
	var unknown []string
	for _, h := range header {
		if strings.HasSuffix(h, "\r") {
			// A line ending in \r\r\n (a Windows line end converted
			// twice, by a text-mode copy or an editor): CSV keeps the
			// stray carriage return in the last cell of every row.
			return nil, idcards.Errorf(idcards.Invalid, "header row: stray carriage return at the end of the line (broken line ends: \\r\\r\\n instead of \\r\\n); save the spreadsheet again as \"CSV UTF-8\", or repair the line ends (e.g. sed -i 's/\\r\\r$/\\r/' FILE)")
		}
		if !utf8.ValidString(h) || strings.ContainsFunc(h, func(r rune) bool { return r < ' ' && r != '\t' }) {
			return nil, idcards.Errorf(idcards.Invalid, "header row: not a CSV text file (binary data or not UTF-8); save the spreadsheet as \"CSV UTF-8\"")
		}
		n := normaliseHeader(h)
		f, ok := cfg.Map[n]
		if !ok {
			f = aliasOf(n)
		}
		if f == Ignore {
			f = ""
		} else if f == "" {
			unknown = append(unknown, clip(h))
		} else if prev, dup := seen[f]; dup {
			if normaliseHeader(prev) == n {
				// --map names a column by its header: it cannot tell two
				// columns of one name apart (it would drop both).
				return nil, idcards.Errorf(idcards.Invalid, "header row: two columns are named %q: rename or delete one of them in the file (--map cannot tell them apart)", h)
			}
			return nil, idcards.Errorf(idcards.Invalid, "header row: columns %q and %q both mean %s; map one of them with --map %q=-", prev, h, f, h)
		} else {
			seen[f] = h
		}
		rd.cols = append(rd.cols, f)
	}
	if len(unknown) > 0 && len(header) == 1 {
		for _, sep := range []string{";", "\t", "|"} {
			if strings.Count(header[0], sep) >= 2 {
				flag := `"` + sep + `"`
				if sep == "\t" {
					flag = "tab"
				}
				return nil, idcards.Errorf(idcards.Invalid, "header row: one column %q: the cells seem separated by %s, not commas: import with --separator %s", clip(header[0]), flag, flag)
			}
		}
	}
	if len(unknown) > 0 {
		return nil, idcards.Errorf(idcards.Invalid, "header row: unknown column(s) %s; map each with --map \"COLUMN=FIELD\" (fields: %s) or ignore it with --map \"COLUMN=-\"",
			strings.Join(quoteAll(unknown), ", "), strings.Join(Fields, ", "))
	}
	if seen[FieldGiven] == "" && seen[FieldFamily] == "" {
		return nil, idcards.Errorf(idcards.Invalid, "header row: no name column (given_name or family_name)")
	}
	return rd, nil
}

func quoteAll(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// Header returns the header row as read.
func (r *Reader) Header() []string { return r.header }

// Raw returns the cells of the last row read (for a rejects file).
func (r *Reader) Raw() []string { return r.raw }

// Next returns the next row, io.EOF at the end, or a *registry.RowError
// for a row that cannot be read or parsed (the next call goes on with the
// following row).
func (r *Reader) Next() (registry.ImportRow, error) {
	rec, err := r.csv.Read()
	r.raw = rec
	if errors.Is(err, io.EOF) {
		return registry.ImportRow{}, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line := pe.StartLine
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return registry.ImportRow{Line: line}, &registry.RowError{Line: line, Err: idcards.Errorf(idcards.Invalid, "%d cells, but the header has %d (a missing or extra separator, or a truncated line)", len(rec), len(r.cols))}
		}
		return registry.ImportRow{Line: line}, &registry.RowError{Line: line, Err: idcards.Errorf(idcards.Invalid, "not valid CSV (line %d, column %d): %v; check the quotes", pe.Line, pe.Column, pe.Err)}
	}
	if err != nil {
		return registry.ImportRow{}, err
	}
	line, _ := r.csv.FieldPos(0)
	r.line = line
	cells := make([]string, len(rec))
	for i, c := range rec {
		cells[i] = UnescapeCell(c) // escape.go: what export escaped
	}
	return ParseRow(r.cols, cells, line, r.layout, r.now)
}

// ParseRow turns one record into an ImportRow. cols gives the field of each
// cell ("" = ignored). It is the parser of outside input that the fuzz
// target exercises: it must never panic and must name the column of every
// problem.
func ParseRow(cols, rec []string, line int, layout string, now time.Time) (registry.ImportRow, error) {
	row := registry.ImportRow{Line: line}
	bad := func(col, format string, args ...any) error {
		return &registry.RowError{Line: line, Column: col, Err: idcards.Errorf(idcards.Invalid, format, args...)}
	}
	if len(rec) != len(cols) {
		return row, bad("", "%d cells, but the header has %d", len(rec), len(cols))
	}
	var age, est string
	for i, v := range rec {
		f := cols[i]
		if f == "" {
			continue
		}
		if !utf8.ValidString(v) {
			return row, bad(f, "not UTF-8 text (save the spreadsheet as \"CSV UTF-8\")")
		}
		if len(v) > maxFieldBytes {
			return row, bad(f, "%d bytes long; at most %d", len(v), maxFieldBytes)
		}
		v = strings.TrimSpace(v)
		switch f {
		case FieldGiven:
			row.Patient.GivenName = v
		case FieldFamily:
			row.Patient.FamilyName = v
		case FieldSex:
			s, err := idcards.ParseSex(v)
			if err != nil {
				return row, bad(f, "%s is not a sex: use M, F, O or U", clip(v))
			}
			row.Patient.Sex = s
		case FieldBirthDate:
			d, estimated, err := parseDate(v, layout, now)
			if err != nil {
				return row, bad(f, "%v", err)
			}
			row.Patient.BirthDate = d
			row.Patient.BirthDateEstimated = row.Patient.BirthDateEstimated || estimated
		case FieldEstimated:
			est = v
		case FieldAge:
			age = v
		case FieldPhone:
			row.Patient.Phone = v
		case FieldVillage:
			row.Patient.Village = v
		case FieldMRN:
			if v != "" {
				row.MRNs = append([]string{v}, row.MRNs...)
			}
		case FieldOtherMRNs:
			row.MRNs = append(row.MRNs, strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '|' })...)
		case FieldUUID:
			if v != "" && !isUUID(v) {
				return row, bad(f, "%s is not a UUID", clip(v))
			}
			row.UUID = strings.ToLower(v)
		}
	}
	if est != "" {
		b, ok := parseBool(est)
		if !ok {
			return row, bad(FieldEstimated, "%s: use yes/no, true/false or 1/0", clip(est))
		}
		row.Patient.BirthDateEstimated = b || row.Patient.BirthDateEstimated
	}
	if age != "" {
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.ToLower(age), "y")))
		if err != nil {
			return row, bad(FieldAge, "%s is not a whole number of years", clip(age))
		}
		d, err := registry.BirthDateFromAge(n, now)
		if err != nil {
			return row, bad(FieldAge, "%v", err)
		}
		if row.Patient.BirthDate == "" {
			row.Patient.BirthDate, row.Patient.BirthDateEstimated = d, true
		} else if y, err := strconv.Atoi(row.Patient.BirthDate[:min(4, len(row.Patient.BirthDate))]); err == nil && (now.Year()-y-n > 1 || n-(now.Year()-y) > 1) {
			// Both given and years apart: one of them is wrong, and which
			// is for the clerk who reads the register to say.
			return row, bad(FieldAge, "age %d and birth date %s (age about %d) disagree: keep the right one, or leave one empty", n, row.Patient.BirthDate, now.Year()-y)
		}
	}
	if row.Patient.GivenName == "" && row.Patient.FamilyName == "" {
		return row, bad("", "no name: given_name and family_name are both empty")
	}
	return row, nil
}

// parseDate accepts YYYY-MM-DD, the local layout, or a bare year (then the
// date is estimated as 1 July of that year).
func parseDate(v, layout string, now time.Time) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	if len(v) == 4 && strings.Trim(v, "0123456789") == "" {
		y, _ := strconv.Atoi(v)
		if y < now.Year()-130 || y > now.Year() {
			return "", false, fmt.Errorf("year %s is not a plausible birth year", v)
		}
		return v + "-07-01", true, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil && layout != "" {
		t, err = time.Parse(layout, v)
	}
	if err != nil {
		want := "YYYY-MM-DD"
		if layout != "" {
			want += " or the local format (--date-format)"
		}
		return "", false, fmt.Errorf("%s is not a date (expected %s)", clip(v), want)
	}
	if t.After(now) {
		return "", false, fmt.Errorf("%s is in the future", clip(v))
	}
	return t.Format("2006-01-02"), false, nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "y", "yes", "true", "t", "x":
		return true, true
	case "0", "n", "no", "false", "f", "":
		return false, true
	}
	return false, false
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// clip shortens a value for an error message.
func clip(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut] + "…")
	}
	return strconv.Quote(s)
}

// bomSkipper drops a UTF-8 byte order mark at the start of the stream, as
// spreadsheets write it.
type bomSkipper struct {
	r    io.Reader
	done bool
	buf  []byte
}

func (b *bomSkipper) Read(p []byte) (int, error) {
	if !b.done {
		b.done = true
		head := make([]byte, 3)
		n, err := io.ReadFull(b.r, head)
		head = head[:n]
		head = bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
		b.buf = head
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return 0, err
		}
	}
	if len(b.buf) > 0 {
		n := copy(p, b.buf)
		b.buf = b.buf[n:]
		return n, nil
	}
	return b.r.Read(p)
}
