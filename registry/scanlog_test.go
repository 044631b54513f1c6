package registry_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/internal/pgtest"
	"github.com/idcards/idcards/registry"
)

// scans makes n scan records from token tok, one second apart.
func scans(n int, tok string, t0 time.Time) []registry.ScanRecord {
	rs := make([]registry.ScanRecord, n)
	for i := range rs {
		st := idcards.StatusActive
		if i%3 == 2 {
			st = idcards.StatusInvalidCheck
		}
		rs[i] = registry.ScanRecord{At: t0.Add(time.Duration(i) * time.Second), Token: tok,
			Code: fmt.Sprintf("KLA%06dX", i), Status: st, Addr: "10.0.0." + fmt.Sprint(i%7)}
	}
	return rs
}

// scanStore is a registry with three scan batches: ids 1-3, 4-8, 9-9.
func scanStore(t *testing.T) (*registry.Store, context.Context) {
	t.Helper()
	s, ctx := newStore(t)
	if _, err := s.CreateToken(ctx, "ward3", registry.ScopeVerify); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, n := range []int{3, 5, 1} {
		tok := "ward3"
		if i == 1 {
			tok = "lab \"quoted\" ünïcode"
		}
		if err := s.ScanLogBatch(context.Background(), scans(n, tok, t0.Add(time.Duration(i)*time.Hour)), map[string]time.Time{"ward3": t0}); err != nil {
			t.Fatal(err)
		}
	}
	return s, ctx
}

func TestStore_ScanLogBatch(t *testing.T) {
	s, ctx := scanStore(t)
	v, err := s.VerifyAuditDetail(ctx)
	if err != nil {
		t.Fatalf("untouched scan log: %v", err)
	}
	if v.ScanBatches != 3 || v.ScanRows != 9 {
		t.Fatalf("verified %+v, want 3 batches covering 9 rows", v)
	}
	var subjects []string
	rows, err := s.DB().Query(`SELECT subject, detail, actor FROM audit WHERE action = 'scan.batch' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sub, det, actor string
		rows.Scan(&sub, &det, &actor)
		if actor != "serve" || !strings.Contains(det, "sha256=") {
			t.Errorf("batch row %s: actor %q detail %q", sub, actor, det)
		}
		subjects = append(subjects, sub+" "+strings.Fields(det)[0])
	}
	rows.Close()
	if got := strings.Join(subjects, ", "); got != "scan_log:1-3 rows=3, scan_log:4-8 rows=5, scan_log:9-9 rows=1" {
		t.Fatalf("batch rows: %s", got)
	}
	toks, _ := s.Tokens(ctx)
	for _, tk := range toks {
		if tk.Name == "ward3" && (tk.LastUsed == nil || tk.LastUsed.Year() != 2026) {
			t.Errorf("last use of ward3: %v", tk.LastUsed)
		}
	}
	// Only token times: no scan.batch row, no scan rows.
	if err := s.ScanLogBatch(ctx, nil, map[string]time.Time{"ward3": time.Now()}); err != nil {
		t.Fatal(err)
	}
	if v2, _ := s.VerifyAuditDetail(ctx); v2.ScanBatches != 3 || v2.Rows != v.Rows {
		t.Fatalf("a batch of no rows wrote audit rows: %+v", v2)
	}
}

// TestVerifyAudit_ScanLogTampering edits the scan log of a real file the
// way someone with the file and sqlite3 could, and wants verify to name
// the batch.
func TestVerifyAudit_ScanLogTampering(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sql         string
		first, last int64
		reason      string
	}{
		{"edited code", `UPDATE scan_log SET code = 'KLA999999X' WHERE id = 5`, 4, 8, "edited"},
		{"edited status", `UPDATE scan_log SET status = 'active' WHERE id = 3`, 1, 3, "edited"},
		{"edited time", `UPDATE scan_log SET at = '2026-03-01T08:00:00.000001Z' WHERE id = 9`, 9, 9, "edited"},
		{"deleted row", `DELETE FROM scan_log WHERE id = 2`, 1, 3, "1 of its rows are missing"},
		{"deleted batch", `DELETE FROM scan_log WHERE id BETWEEN 4 AND 8`, 4, 8, "5 of its rows are missing"},
		{"deleted and reinserted", `DELETE FROM scan_log WHERE id = 6; INSERT INTO scan_log VALUES (6, '2026-03-01T09:00:02.000000Z', 'ward3', 'KLA000002X', 'active', '10.0.0.2')`, 4, 8, "edited"},
		{"inserted after", `INSERT INTO scan_log VALUES (10, '2026-03-01T11:00:00.000000Z', 'ward3', 'KLA000001X', 'active', '10.0.0.1')`, 10, 10, "not covered by any scan.batch"},
		{"inserted before", `INSERT INTO scan_log VALUES (0, '2026-03-01T07:00:00.000000Z', 'ward3', 'KLA000001X', 'active', '10.0.0.1')`, 1, 3, "no batch covers it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := scanStore(t)
			// Through a connection of its own, as another program would.
			db := pgtest.OpenDB(t, s.Path())
			if _, err := db.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err := s.VerifyAudit(ctx)
			var ce *registry.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("tampered scan log verified: %v", err)
			}
			if ce.ScanFirst != tc.first || ce.ScanLast != tc.last || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("got %+v (%v), want scan_log %d-%d and %q", ce, err, tc.first, tc.last, tc.reason)
			}
			if tc.reason != "not covered by any scan.batch" && !strings.Contains(ce.Reason, fmt.Sprintf("scan_log:%d-%d", tc.first, tc.last)) {
				t.Fatalf("reason does not name the batch: %s", ce.Reason)
			}
		})
	}
}

// A forged scan.batch audit row (new digest after an edit) breaks the
// chain itself.
func TestVerifyAudit_ScanBatchRowEdited(t *testing.T) {
	s, ctx := scanStore(t)
	if _, err := s.DB().Exec(`UPDATE audit SET detail = replace(detail, 'rows=5', 'rows=4'), subject = 'scan_log:4-7' WHERE subject = 'scan_log:4-8'`); err != nil {
		t.Fatal(err)
	}
	_, err := s.VerifyAudit(ctx)
	var ce *registry.ChainError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "edited") {
		t.Fatalf("edited batch row: %v", err)
	}
}

// Batches from two stores on one file (two serve processes) interleave
// with other audit rows and stay contiguous.
func TestStore_ScanLogBatch_TwoProcesses(t *testing.T) {
	s, ctx := newStore(t)
	other, err := registry.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 20; i++ {
			if err := other.ScanLogBatch(ctx, scans(7, "b", time.Now()), nil); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 20; i++ {
		if err := s.ScanLogBatch(ctx, scans(11, "a", time.Now()), nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Audit(ctx, "desk.note", "x", "between batches"); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	v, err := s.VerifyAuditDetail(ctx)
	if err != nil || v.ScanRows != 20*7+20*11 || v.ScanBatches != 40 {
		t.Fatalf("%+v %v", v, err)
	}
}

func TestStore_EachScan(t *testing.T) {
	s, ctx := scanStore(t)
	list := func(f registry.ScanFilter) string {
		t.Helper()
		var ids []string
		if err := s.EachScan(ctx, f, func(r registry.ScanRecord) error {
			ids = append(ids, fmt.Sprint(r.ID))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(ids, " ")
	}
	for _, tc := range []struct {
		name string
		f    registry.ScanFilter
		want string
	}{
		{"all newest first", registry.ScanFilter{}, "9 8 7 6 5 4 3 2 1"},
		{"limit", registry.ScanFilter{Limit: 2}, "9 8"},
		{"token", registry.ScanFilter{Token: "ward3"}, "9 3 2 1"},
		{"code", registry.ScanFilter{Code: "KLA000001X"}, "5 2"},
		{"status", registry.ScanFilter{Status: idcards.StatusInvalidCheck}, "6 3"},
		{"since", registry.ScanFilter{Since: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, "9 8 7 6 5 4"},
		{"nothing", registry.ScanFilter{Code: "nope"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.f); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	clerk := idcards.WithActor(context.Background(), idcards.Actor{Name: "john", Role: idcards.RoleClerk})
	wantKind(t, s.EachScan(clerk, registry.ScanFilter{}, func(registry.ScanRecord) error { return nil }), idcards.Forbidden, "")
}

// FuzzScanRow: the hand-built canonical encoding is exactly json.Marshal's.
func FuzzScanRow(f *testing.F) {
	for _, s := range []string{"", "KLA000001X", "10.0.0.1", "<script>&", "Łukasz \"x\" \\ \n\t\x00", "\xff\xfe", "\u2028", "~\x7f"} {
		f.Add(int64(7), s, s+"!")
	}
	f.Fuzz(func(t *testing.T, id int64, a, b string) {
		want, _ := json.Marshal([]any{id, a, b, a + b, "active", b})
		got := registry.AppendScanRowForTest(nil, id, a, b, a+b, "active", b)
		if string(got) != string(want)+"\n" {
			t.Fatalf("row %q, want %q", got, want)
		}
	})
}

// Backups carry the scan log (same file) and CheckFile verifies it with
// the chain; a file from before the scan log still checks.
func TestBackup_ScanLog(t *testing.T) {
	s, ctx := scanStore(t)
	dir := t.TempDir()
	r, err := s.Backup(ctx, registry.BackupOptions{Out: dir + "/b.db"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Counts["scan_log"] != 9 {
		t.Fatalf("backup counts %v, want 9 scan_log rows", r.Counts)
	}
	// Tamper with the copy: CheckFile (and so restore) refuses it.
	db, err := sql.Open("sqlite", "file:"+r.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM scan_log WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.CheckFile(ctx, r.Path); err == nil || !strings.Contains(err.Error(), "scan_log:4-8") {
		t.Fatalf("tampered backup: %v", err)
	}
	// A registry from before migration 0009.
	if _, err := db.Exec(`DROP TABLE scan_log; DELETE FROM audit WHERE action = 'scan.batch'; DELETE FROM schema_migrations WHERE name = '0009_scan_log.sql'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	old, err := registry.CheckFile(ctx, r.Path)
	if err != nil {
		t.Fatalf("pre-scan-log file: %v", err)
	}
	if _, ok := old.Counts["scan_log"]; ok {
		t.Fatalf("counts %v", old.Counts)
	}
}

// A garbled scan's raw text may carry control bytes, NUL included; it is
// logged and the chain still verifies (PostgreSQL stores NUL as U+FFFD).
func TestScanLog_ControlBytesVerify(t *testing.T) {
	s, ctx := newStore(t)
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	recs := []registry.ScanRecord{{At: at, Token: "ward3", Code: "\x00\x01\x02garbled", Status: idcards.StatusMalformed, Addr: "10.0.0.9"}}
	if err := s.ScanLogBatch(ctx, recs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}
