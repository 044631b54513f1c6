package main

import (
	"context"
	"os"
	"testing"

	"github.com/idcards/idcards/registry"
)

// registryExists reports whether a registry is at loc: a file, or a
// PostgreSQL database holding the schema (the suites run on both engines).
func registryExists(t *testing.T, loc string) bool {
	t.Helper()
	if !registry.IsPostgresURL(loc) {
		_, err := os.Stat(loc)
		return err == nil
	}
	s, err := registry.Open(context.Background(), loc)
	if err != nil {
		return false
	}
	s.Close()
	return true
}
