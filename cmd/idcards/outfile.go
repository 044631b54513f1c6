package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/idcards/idcards"
)

// Files the program writes for the user under a name they chose (exports,
// print -o FILE.pdf) are written into a temporary file beside it and put in
// place only when complete. An existing file is never replaced unless the
// user said so (--force): it may be the only copy of cards recorded active
// but not yet printed, or an export someone still needs.

// existsError refuses an existing out; why says what the file may be.
func existsError(flag, out, why string) error {
	return idcards.Errorf(idcards.Conflict, "%s %s already exists; refusing to overwrite it%s (name a new file, or add --force to replace it)", flag, out, why)
}

// checkAbsent refuses out if it exists (as a file, directory or symlink)
// and force is not set: said before any work is done. placeFile refuses it
// again, atomically, when the file is put in place.
func checkAbsent(flag, out, why string, force bool) error {
	if force {
		return nil
	}
	if _, err := os.Lstat(out); err == nil {
		return existsError(flag, out, why)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return idcards.Errorf(idcards.Invalid, "%s %s: %v", flag, out, err)
	}
	return nil
}

// placeFile puts the complete (synced) file tmp, in out's directory, at
// out. Without force it is hard-linked, which fails if out exists (no
// check-then-rename race); on a file system without hard links (a FAT USB
// stick, where tmp is always named) it is renamed after a last check that
// out is still absent. With force it replaces out. The directory is synced
// so the new name is durable. The caller discards tmp afterwards.
func placeFile(tmp *outTemp, out, flag, why string, force bool) error {
	if force {
		if err := tmp.replace(out); err != nil {
			return fmt.Errorf("%s %s: %w", flag, out, err)
		}
	} else if err := tmp.link(out); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return existsError(flag, out, why)
		}
		if _, serr := os.Lstat(out); serr == nil {
			return existsError(flag, out, why)
		}
		if !tmp.named {
			return fmt.Errorf("%s %s: %w", flag, out, err)
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			return fmt.Errorf("%s %s: %w", flag, out, err)
		}
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeNewFileAtomic writes out through fill: into a file in out's
// directory that has no name until it is complete where the system allows
// (outTemp), else a hidden one, created 0600 whatever the umask (an export
// holds patient data), fsynced and then put in place (placeFile) only when
// fill succeeded; an existing out is refused before fill runs unless force.
// Nothing is left behind on any way out (a named temporary file survives
// only a killed process).
func writeNewFileAtomic(out string, force bool, fill func(io.Writer) error) error {
	if err := checkAbsent("--out", out, "", force); err != nil {
		return err
	}
	tmp, err := newOutTemp(filepath.Dir(out), "."+filepath.Base(out)+".part-*", false)
	if err != nil {
		return idcards.Errorf(idcards.Invalid, "--out: %v", err)
	}
	defer tmp.discard()
	err = fill(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		return err
	}
	return placeFile(tmp, out, "--out", "", force)
}
