package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/idcards/idcards"
)

// CreateNewFile creates path for writing with mode 0600 whatever the umask,
// refusing an existing file or symlink (O_EXCL does not follow a link).
// Reports, rejects files, checksums and exports are created this way: they
// hold patient data or vouch for a backup.
func CreateNewFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, idcards.Errorf(idcards.Conflict, "%s already exists; refusing to overwrite it (choose a new name)", path)
		}
		return nil, err
	}
	// The umask can only take bits away, but a file system may add some
	// (ACL defaults): make it exactly 0600.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

// WriteNewFile writes b to a new file (CreateNewFile) and fsyncs it.
func WriteNewFile(path string, b []byte) error {
	f, err := CreateNewFile(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
