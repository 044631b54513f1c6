package patientfile

// CSV formula injection (OWASP): a spreadsheet treats a cell that starts
// with '=', '+', '-', '@', a tab or a carriage return as a formula, so a
// patient named `=cmd|' /C calc'!A0` would run something on the machine of
// whoever opens an export. Every CSV this program writes (patients export,
// the rejects file, audit export) passes each cell through EscapeCell,
// which puts a single quote in front of such a cell; import reverses it
// with UnescapeCell, so an export imports back unchanged.
//
// To keep the two exact inverses, a cell that already starts with a quote
// followed by one of those characters (or by another quote) is escaped
// too: "'=x" is written "''=x" and read back as "'=x". A quote in front of
// anything else is left alone both ways ("'Brien" stays "'Brien").

func isFormulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

func needsEscape(s string) bool {
	if s == "" {
		return false
	}
	if isFormulaStart(s[0]) {
		return true
	}
	return s[0] == '\'' && len(s) > 1 && (isFormulaStart(s[1]) || s[1] == '\'')
}

// EscapeCell makes a cell safe to open in a spreadsheet.
func EscapeCell(s string) string {
	if needsEscape(s) {
		return "'" + s
	}
	return s
}

// UnescapeCell reverses EscapeCell.
func UnescapeCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && needsEscape(s[1:]) {
		return s[1:]
	}
	return s
}

// EscapeRecord escapes every cell of rec in place and returns it.
func EscapeRecord(rec []string) []string {
	for i, c := range rec {
		rec[i] = EscapeCell(c)
	}
	return rec
}
