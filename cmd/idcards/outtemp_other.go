//go:build !linux

package main

import (
	"errors"
	"os"
)

var errNoUnnamed = errors.New("unnamed files need Linux's O_TMPFILE")

// openUnnamed is Linux's (outtemp_linux.go); elsewhere outTemp uses a
// named file.
func openUnnamed(dir string) (*os.File, error) { return nil, errNoUnnamed }

func linkUnnamed(f *os.File, path string) error { return errNoUnnamed }
