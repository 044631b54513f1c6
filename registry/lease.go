package registry

import (
	"errors"
	"syscall"
)

// processGone reports whether no process pid runs on this machine (it was
// killed, or the machine restarted): its sync lease can be taken at once.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
