// Command idcards issues check-digit medical record numbers, prints
// barcoded patient ID cards, verifies scanned codes and keeps a local
// registry in step with OpenMRS. Run `idcards --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/idcards/idcards"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitError carries an exit status without a message (e.g. verify found an
// invalid code and already said so on stdout).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "idcards:", userMessage(err))
	switch idcards.ErrorKind(err) {
	case idcards.Invalid:
		return 2
	case idcards.Forbidden:
		return 4
	case idcards.Unavailable:
		return 5
	}
	return 1
}

// userMessage shows known kinds as they are and anything else in full: the
// CLI's user is the operator, who needs the whole chain to act on it.
func userMessage(err error) string { return err.Error() }
