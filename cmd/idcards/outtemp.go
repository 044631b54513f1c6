package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// outTemp is a file being written for a name the user chose (an export, a
// print's PDF). Where the system allows (Linux, a file system with
// O_TMPFILE: ext4, xfs, btrfs, tmpfs) it has no name at all until it is
// complete and linked into place, so a process killed half-way, or a power
// cut, leaves nothing in the user's directory: no hidden partial file of
// patients' names to find later. Elsewhere it is a hidden 0600 file beside
// the target (pattern, as os.CreateTemp), removed on every way out the
// process survives.
type outTemp struct {
	*os.File
	dir   string
	named bool
}

// newOutTemp creates the file in dir; named forces a named file (lp reads
// the file by its path).
func newOutTemp(dir, pattern string, named bool) (*outTemp, error) {
	if !named {
		if f, err := openUnnamed(dir); err == nil {
			return &outTemp{File: f, dir: dir}, nil
		}
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil { // CreateTemp makes 0600; said here, as the contract
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &outTemp{File: f, dir: dir, named: true}, nil
}

// what names the file in messages.
func (t *outTemp) what() string {
	if t.named {
		return t.Name()
	}
	return "the file being written in " + t.dir
}

// link gives the complete, synced file the name path, failing with
// fs.ErrExist if path exists: nothing is ever overwritten.
func (t *outTemp) link(path string) error {
	if t.named {
		return os.Link(t.Name(), path)
	}
	return linkUnnamed(t.File, path)
}

// replace puts the file at path, over whatever is there (--force).
func (t *outTemp) replace(path string) error {
	if t.named {
		return os.Rename(t.Name(), path)
	}
	// An unnamed file is linked under a fresh hidden name, then renamed.
	for i := 0; ; i++ {
		tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d-%d.new", filepath.Base(path), os.Getpid(), i))
		err := linkUnnamed(t.File, tmp)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			return err
		}
		return nil
	}
}

// discard closes the file and removes a named one's name (after it was
// linked into place, or on failure).
func (t *outTemp) discard() {
	t.Close()
	if t.named {
		os.Remove(t.Name())
	}
}
