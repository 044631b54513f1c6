package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// Without a terminal, `idcards` explains instead of failing obscurely.
func TestTUINeedsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	dir := t.TempDir()
	env := map[string]string{"HOME": dir, "XDG_DATA_HOME": dir}
	var out, errb bytes.Buffer
	for _, args := range [][]string{nil, {"tui"}} {
		err = run(context.Background(), args, r, &out, &errb, func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), "needs a terminal") {
			t.Fatalf("%v: err = %v", args, err)
		}
	}
}
