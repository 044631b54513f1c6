package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/idcards/idcards/internal/pgtest"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// scanLogEnv is a registry whose scan log holds two batches written the
// way `idcards serve` writes them: ids 1-3 (ward3) and 4-5 (lab).
func scanLogEnv(t *testing.T) *cliEnv {
	t.Helper()
	e := newCLIEnv(t)
	e.must("init", "--site", "KLA", "--scheme", "luhn-mod-30")
	ctx := context.Background()
	s, err := registry.Open(ctx, e.db())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	rec := func(min int, tok, code string, st idcards.Status) registry.ScanRecord {
		return registry.ScanRecord{At: t0.Add(time.Duration(min) * time.Minute), Token: tok, Code: code, Status: st, Addr: "10.1.2." + fmt.Sprint(min)}
	}
	for _, batch := range [][]registry.ScanRecord{
		{rec(1, "ward3", "KLA000001D", idcards.StatusActive), rec(2, "ward3", "KLA000001E", idcards.StatusInvalidCheck), rec(3, "ward3", "KLA000002A", idcards.StatusVoided)},
		{rec(60, "lab", "KLA000001D", idcards.StatusActive), rec(61, "lab", "HELLO\x1b[2J", idcards.StatusMalformed)},
	} {
		if err := s.ScanLogBatch(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestCLI_AuditScans(t *testing.T) {
	e := scanLogEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string // ids in order
	}{
		{"AllNewestFirst", nil, []string{"5", "4", "3", "2", "1"}},
		{"Code", []string{"--code", "kla000001d"}, []string{"4", "1"}},
		{"Token", []string{"--token", "ward3"}, []string{"3", "2", "1"}},
		{"Status", []string{"--status", "invalid_check"}, []string{"2"}},
		{"Since", []string{"--since", "2026-03-01T08:30:00Z"}, []string{"5", "4"}},
		{"Limit", []string{"--limit", "2"}, []string{"5", "4"}},
		{"Combined", []string{"--token", "lab", "--code", "KLA000001D"}, []string{"4"}},
		{"None", []string{"--token", "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var recs []registry.ScanRecord
			if err := json.Unmarshal([]byte(e.must(append([]string{"audit", "scans", "--json"}, tc.args...)...)), &recs); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range recs {
				ids = append(ids, fmt.Sprint(r.ID))
			}
			if strings.Join(ids, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("ids %v, want %v", ids, tc.want)
			}
			table := e.must(append([]string{"audit", "scans"}, tc.args...)...)
			if lines := strings.Count(table, "\n"); lines < len(tc.want)+1 {
				t.Fatalf("table has %d lines for %d rows:\n%s", lines, len(tc.want), table)
			}
		})
	}
	table := e.must("audit", "scans")
	for _, want := range []string{"ID  AT", "ward3", "2026-03-01T08:02:00Z", "invalid_check", "10.1.2.61", `HELLO\u001B[2J`} {
		if !strings.Contains(table, want) {
			t.Errorf("table has no %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "\x1b") {
		t.Error("a control character from a scanner reached the terminal")
	}
	if out := e.must("audit", "scans", "--limit", "1"); !strings.Contains(out, "newest 1 shown; --limit 0 for all") {
		t.Errorf("a cut list does not say so:\n%s", out)
	}
}

func TestCLI_AuditScans_BadInput(t *testing.T) {
	e := scanLogEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		sub  string
	}{
		{"UnknownStatus", []string{"--status", "ok"}, "use one of active, unassigned"},
		{"NegativeLimit", []string{"--limit", "-1"}, "--limit -1"},
		{"BadSince", []string{"--since", "last week"}, "--since"},
		{"Args", []string{"KLA000001D"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run("", append([]string{"audit", "scans"}, tc.args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.sub) {
				t.Fatalf("exit %d, stderr %q; want a failure saying %q", r.code, r.stderr, tc.sub)
			}
		})
	}
}

// A scan row edited in the file makes `audit verify` exit 1 naming the
// batch and how to look at it.
func TestCLI_AuditVerify_ScanLogTampered(t *testing.T) {
	e := scanLogEnv(t)
	if out := e.must("audit", "verify"); !strings.Contains(out, "ok: 5 scan log rows verified against 2 scan.batch digests") {
		t.Fatalf("untouched:\n%s", out)
	}
	db := pgtest.OpenDB(t, e.db())
	if _, err := db.Exec(`UPDATE scan_log SET token = 'ward3' WHERE id = 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := e.run("", "audit", "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "scan log batch scan_log:4-5 (2 rows)") || !strings.Contains(r.stdout, "select(.id >= 4 and .id <= 5)") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
