package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// syncLabel is the status line's word on OpenMRS sync: whether it is on,
// how many patients wait to reach OpenMRS, whether a person must look at conflicts, and the last
// error in a few words.
// It ends with SupplyNote when new MRNs run out soon, and otherwise, when
// MRNs come from an idgen pool, with how many the pool has left.
func syncLabel(st *idcards.SyncStatus, now time.Time) string {
	if st == nil {
		return syncWord(st, now)
	}
	note := SupplyNote(st.Supply)
	if note == "" && strings.HasPrefix(st.IDSource, "idgen:") {
		note = fmt.Sprintf(" · pool %d left", st.PoolFree)
	}
	return syncWord(st, now) + note
}

// SupplyNote is the status line's warning that new MRNs run out soon: the
// idgen pool within idcards.PoolWarnDays at the recent issue rate, or the
// current series within idcards.SeriesWarnDays; "" when neither.
func SupplyNote(supply []idcards.IDSupply) string {
	for _, sp := range supply {
		if !sp.Low() {
			continue
		}
		what := "add a series (idcards series add)"
		if sp.Pool {
			what = "connect to OpenMRS to refill"
		}
		if sp.Left == 0 {
			return fmt.Sprintf(" · no MRNs left in the %s: %s", sp.Name, what)
		}
		days := fmt.Sprintf("%.0f days", sp.DaysLeft)
		if sp.DaysLeft < 1 {
			days = "under a day"
		} else if sp.DaysLeft < 1.5 {
			days = "1 day"
		}
		return fmt.Sprintf(" · MRNs: %s lasts %s (%d left): %s", sp.Name, days, sp.Left, what)
	}
	return ""
}

func syncWord(st *idcards.SyncStatus, now time.Time) string {
	switch {
	case st == nil || !st.Configured:
		return "sync: off"
	case st.LastError != "" && !st.LastErrorAt.Before(st.LastPushAt):
		return fmt.Sprintf("sync: failing %s (%d waiting)%s", ago(now, st.LastErrorAt), st.PendingPatients, conflictsNote(st))
	case st.LastPushAt.IsZero():
		return fmt.Sprintf("sync: not yet run (%d waiting)%s", st.PendingPatients, conflictsNote(st))
	case st.Pending > 0:
		return fmt.Sprintf("sync: %d waiting, last ok %s%s", st.PendingPatients, ago(now, st.LastPushAt), conflictsNote(st))
	}
	return "sync: ok " + ago(now, st.LastPushAt) + conflictsNote(st)
}

func conflictsNote(st *idcards.SyncStatus) string {
	if st.Conflicts == 0 {
		return ""
	}
	return fmt.Sprintf(" · %d conflict(s): idcards sync conflicts", st.Conflicts)
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Local().Format("2 Jan")
}
