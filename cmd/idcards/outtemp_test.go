package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestOutTemp: the file an export or a print writes for the user's
// directory. Unnamed (Linux) or named, it is placed without overwriting
// (link refuses an existing name), replaces only on purpose, and leaves
// nothing in the directory once discarded, whether it was placed or not.
// On Linux the unnamed kind is what is used, and it shows no entry in the
// directory while it is written: a process killed then leaves nothing.
func TestOutTemp(t *testing.T) {
	for _, named := range []bool{false, true} {
		name := "unnamed"
		if named {
			name = "named"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			entries := func() []string {
				es, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, e := range es {
					out = append(out, e.Name())
				}
				return out
			}
			write := func(content string) *outTemp {
				t.Helper()
				tmp, err := newOutTemp(dir, ".x-*", named)
				if err != nil {
					t.Fatal(err)
				}
				if tmp.named != named && runtime.GOOS == "linux" {
					t.Fatalf("asked named=%v, got named=%v (no O_TMPFILE on this file system?)", named, tmp.named)
				}
				if _, err := tmp.WriteString(content); err != nil {
					t.Fatal(err)
				}
				if err := tmp.Sync(); err != nil {
					t.Fatal(err)
				}
				return tmp
			}
			tmp := write("abandoned")
			if !tmp.named {
				if es := entries(); len(es) != 0 {
					t.Errorf("an unnamed file shows in the directory while written: %v", es)
				}
			}
			tmp.discard()
			if es := entries(); len(es) != 0 {
				t.Fatalf("discarded without placing, left: %v", es)
			}
			out := filepath.Join(dir, "out.pdf")
			tmp = write("first")
			if err := tmp.link(out); err != nil {
				t.Fatal(err)
			}
			tmp.discard()
			tmp = write("second")
			if err := tmp.link(out); !errors.Is(err, fs.ErrExist) {
				t.Errorf("link over an existing file: %v, want it refused", err)
			}
			if err := placeFile(tmp, out, "--out", "", false); err == nil {
				t.Error("placeFile without force over an existing file succeeded")
			}
			if b, _ := os.ReadFile(out); string(b) != "first" {
				t.Fatalf("the existing file was written over: %q", b)
			}
			if err := placeFile(tmp, out, "--out", "", true); err != nil {
				t.Fatal(err)
			}
			tmp.discard()
			if b, _ := os.ReadFile(out); string(b) != "second" {
				t.Fatalf("--force did not replace the file: %q", b)
			}
			if es := entries(); len(es) != 1 || es[0] != "out.pdf" {
				t.Errorf("directory holds %v, want only out.pdf", es)
			}
			if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("out.pdf mode %v %v, want 0600", st.Mode(), err)
			}
		})
	}
}
