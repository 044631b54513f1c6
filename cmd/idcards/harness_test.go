package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcards/idcards/internal/pgtest"
)

// cliResult is what one run of the CLI produced.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cliEnv is a fresh environment for CLI tests: its own registry path and
// data directory, nothing inherited from the machine running the tests.
type cliEnv struct {
	t   *testing.T
	env map[string]string
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	dir := t.TempDir()
	return &cliEnv{t: t, env: map[string]string{
		"IDCARDS_DB":    pgtest.Location(t), // a file, or a PostgreSQL database (IDCARDS_TEST_POSTGRES)
		"HOME":          dir,
		"XDG_DATA_HOME": filepath.Join(dir, "data"),
		"USER":          "tester",
	}}
}

func (e *cliEnv) db() string { return e.env["IDCARDS_DB"] }

// run runs the CLI in-process with stdin and returns what it printed and
// the exit status main would use.
func (e *cliEnv) run(stdin string, args ...string) cliResult {
	e.t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return e.env[k] })
	code := exitCode(err, &errb)
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// must runs the CLI and fails the test unless it exits 0.
func (e *cliEnv) must(args ...string) string {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != 0 {
		e.t.Fatalf("idcards %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}
