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
		{"idgen pool", &idcards.SyncStatus{Configured: true, LastPushAt: now.Add(-time.Minute), IDSource: "idgen:691eed12", PoolFree: 412,
			Supply: []idcards.IDSupply{{Name: "idgen pool", Pool: true, Current: true, Left: 412, PerDay: 20, DaysLeft: 20.6}}}, "sync: ok 1m ago · pool 412 left"},
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

func TestSupplyNote(t *testing.T) {
	tests := []struct {
		name   string
		supply []idcards.IDSupply
		want   string
	}{
		{"none", nil, ""},
		{"series with years left", []idcards.IDSupply{{Name: "series 10", Current: true, Left: 900_000, PerDay: 100, DaysLeft: 9000}}, ""},
		{"series under 90 days", []idcards.IDSupply{{Name: "series 10", Current: true, Left: 4_000, PerDay: 100, DaysLeft: 40}},
			" · MRNs: series 10 lasts 40 days (4000 left): add a series (idcards series add)"},
		{"old series do not warn", []idcards.IDSupply{{Name: "series 09", Left: 0, DaysLeft: -1}}, ""},
		{"pool at 20 days is fine", []idcards.IDSupply{{Name: "idgen pool", Pool: true, Current: true, Left: 200, PerDay: 10, DaysLeft: 20}}, ""},
		{"pool under 14 days", []idcards.IDSupply{{Name: "idgen pool", Pool: true, Current: true, Left: 90, PerDay: 10, DaysLeft: 9}},
			" · MRNs: idgen pool lasts 9 days (90 left): connect to OpenMRS to refill"},
		{"pool empty", []idcards.IDSupply{{Name: "idgen pool", Pool: true, Current: true, Left: 0, PerDay: 10, DaysLeft: 0}},
			" · no MRNs left in the idgen pool: connect to OpenMRS to refill"},
		{"no recent issues: no forecast", []idcards.IDSupply{{Name: "series 10", Current: true, Left: 10, DaysLeft: -1}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SupplyNote(tc.supply); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	st := &idcards.SyncStatus{Supply: []idcards.IDSupply{{Name: "idgen pool", Pool: true, Current: true, Left: 5, PerDay: 10, DaysLeft: 0.5}}}
	if got, want := syncLabel(st, time.Now()), "sync: off · MRNs: idgen pool lasts under a day (5 left): connect to OpenMRS to refill"; got != want {
		t.Errorf("syncLabel = %q, want %q", got, want)
	}
}
