package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// metricsToken decides whether /metrics needs a bearer token and which:
// from file when given; beyond loopback, by default, from
// REGISTRY.metrics-token, made (random, 0600) when missing; none on
// loopback or with --metrics-open.
func (a *app) metricsToken(addr, file string, open bool) (string, error) {
	if open {
		if file != "" {
			return "", idcards.Errorf(idcards.Invalid, "--metrics-open or --metrics-token-file, not both")
		}
		return "", nil
	}
	if file == "" {
		if isLoopback(addr) {
			return "", nil
		}
		// Next to a registry file; for a PostgreSQL registry in the config
		// directory (its URL is no directory to write in).
		file = registry.LocalFile(a.registryPath(), ".metrics-token")
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return "", idcards.Errorf(idcards.Invalid, "--metrics-token-file: %v", err)
		}
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		var raw [24]byte
		rand.Read(raw[:])
		tok := hex.EncodeToString(raw[:])
		if err := registry.WriteNewFile(file, []byte(tok+"\n")); err != nil {
			return "", idcards.Errorf(idcards.Invalid, "--metrics-token-file: %v", err)
		}
		fmt.Fprintf(a.stderr, "/metrics needs a bearer token: made one in %s (mode 0600); give it to Prometheus as bearer_token_file\n", file)
		return tok, nil
	}
	if err != nil {
		return "", idcards.Errorf(idcards.Invalid, "--metrics-token-file: %v", err)
	}
	a.warnKeyFile(file)
	line, _, _ := strings.Cut(string(b), "\n")
	tok := strings.TrimSpace(line)
	if len(tok) < 16 || len(tok) > 128 {
		return "", idcards.Errorf(idcards.Invalid, "--metrics-token-file %s: the token must be 16 to 128 characters (it is %d)", file, len(tok))
	}
	fmt.Fprintf(a.stderr, "/metrics needs the bearer token in %s\n", file)
	return tok, nil
}

// warnKeyFile warns when a secret file (TLS key, token) can be read or
// written by other users: anyone who reads the TLS key can impersonate the
// server to every scanner.
func (a *app) warnKeyFile(path string) {
	fi, err := os.Stat(path)
	if err != nil {
		return // the load that follows reports it
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		fmt.Fprintf(a.stderr, "WARNING: %s is readable by other users (mode %04o): run chmod 600 %s\n", path, m, path)
	}
}
