package patientfile

import (
	"fmt"
	"io"

	"github.com/idcards/idcards"
)

// MaxLineBytes bounds one line of an import file (CSV or JSON lines). A
// register's line is a few hundred bytes; every cell is at most 1,000
// bytes. Without a bound, the CSV reader buffers a whole line before
// anything can refuse it: one 50 MB line cost 281 MB of memory. The bound
// is checked while reading, so memory stays near it whatever the file.
const MaxLineBytes = 256 << 10

// LineTooLongError: the file has a line longer than MaxLineBytes; the
// import stops (nothing is imported: imports are all-or-nothing).
type LineTooLongError struct {
	Line int // physical line number, from 1
	Max  int
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than %d KiB: this is not a patient register (a binary file, or a cell holding a whole document?); nothing was imported", e.Line, e.Max>>10)
}

// Unwrap classifies it as Invalid input.
func (e *LineTooLongError) Unwrap() error { return idcards.Errorf(idcards.Invalid, "line too long") }

// lineLimiter passes bytes through and fails once a line grows past max.
type lineLimiter struct {
	r    io.Reader
	max  int
	cur  int // bytes of the current line so far
	line int // completed lines
	err  error
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.line++
			l.cur = 0
			continue
		}
		l.cur++
		if l.cur > l.max {
			l.err = &LineTooLongError{Line: l.line + 1, Max: l.max}
			return i, l.err
		}
	}
	return n, err
}
