package tui

import (
	"testing"
	"time"

	"github.com/idcards/idcards"
)

func TestSyncLabel(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   *idcards.SyncStatus
		want string
	}{
		{"unknown", nil, "sync: off"},
		{"not configured", &idcards.SyncStatus{Pending: 4}, "sync: off"},
		{"never run", &idcards.SyncStatus{Configured: true, Pending: 8, PendingPatients: 4}, "sync: not yet run (4 waiting)"},
		{"all sent", &idcards.SyncStatus{Configured: true, LastPushAt: now.Add(-3 * time.Minute)}, "sync: ok 3m ago"},
		{"some waiting", &idcards.SyncStatus{Configured: true, Pending: 3, PendingPatients: 2, LastPushAt: now.Add(-10 * time.Second)}, "sync: 2 waiting, last ok just now"},
		{"server down", &idcards.SyncStatus{Configured: true, Pending: 14, PendingPatients: 7, LastPushAt: now.Add(-2 * time.Hour), LastError: "unreachable", LastErrorAt: now.Add(-time.Minute)},
			"sync: failing 1m ago (7 waiting)"},
		{"error cleared by a later push", &idcards.SyncStatus{Configured: true, LastPushAt: now.Add(-time.Minute), LastError: "x", LastErrorAt: now.Add(-time.Hour)}, "sync: ok 1m ago"},
		{"conflicts", &idcards.SyncStatus{Configured: true, LastPushAt: now.Add(-time.Minute), Conflicts: 2}, "sync: ok 1m ago · 2 conflict(s): idcards sync conflicts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := syncLabel(tc.st, now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
