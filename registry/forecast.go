package registry

// Days of IDs left: for every series (its width caps it: six digits end at
// 999,999) and the idgen pool, how many new MRNs remain and how long they
// last at the recent issue rate, so that an admin adds the next series, or
// a site with a pool reconnects, before the desk runs dry.

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// The rate is a weighted mean of the daily counts of the last
// ForecastWindow days, each day weighing half as much as the one
// ForecastHalfLife later: recent days count most, one busy day does not
// swing it.
const (
	ForecastWindow   = 30
	ForecastHalfLife = 7.0
)

// WeightedRate is the issue rate per day from daily counts (counts[0] is
// the last 24 hours, counts[1] the 24 before…) over the days observed
// (days < len(counts) when the source is younger than the window).
func WeightedRate(counts []int64, days int) float64 {
	days = max(1, min(days, len(counts)))
	var num, den float64
	for d := 0; d < days; d++ {
		w := math.Pow(0.5, float64(d)/ForecastHalfLife)
		num += w * float64(counts[d])
		den += w
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// DaysLeft is left/perDay, or -1 when nothing is being issued.
func DaysLeft(left int64, perDay float64) float64 {
	if perDay <= 0 {
		return -1
	}
	return float64(left) / perDay
}

// Supply forecasts every source of new MRNs: the series (current first)
// and, when the registry issues from an idgen pool, the pool. A pool's
// days are how long it lasts without a refill (offline).
func (s *Store) Supply(ctx context.Context) ([]idcards.IDSupply, error) {
	series, err := s.SeriesList(ctx)
	if err != nil {
		return nil, err
	}
	src, err := s.IDSource(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	var out []idcards.IDSupply
	if src.Idgen != "" {
		st, err := s.Pool(ctx)
		if err != nil {
			return nil, err
		}
		counts, days, err := s.dailyIssued(ctx, now, `changed_at`, `id_pool WHERE state = 'issued'`)
		if err != nil {
			return nil, err
		}
		rate := WeightedRate(counts, days)
		out = append(out, idcards.IDSupply{Name: "idgen pool", Pool: true, Current: true, Left: st.Free, PerDay: rate, DaysLeft: DaysLeft(st.Free, rate)})
	}
	for _, se := range series {
		c, err := barcode.NewCodec(se.Format)
		if err != nil {
			return nil, err
		}
		left := max(0, c.MaxSeq()-se.NextSeq+1)
		counts, days, err := s.dailyIssued(ctx, now, `issued_at`, fmt.Sprintf(`identifiers WHERE series_id = %d`, se.ID))
		if err != nil {
			return nil, err
		}
		rate := WeightedRate(counts, days)
		name := "series " + se.Format.Prefix
		if se.Format.Prefix == "" {
			name = "series (no prefix)"
		}
		out = append(out, idcards.IDSupply{Name: name, Current: se.Current && src.Idgen == "", Left: left, PerDay: rate, DaysLeft: DaysLeft(left, rate)})
	}
	return out, nil
}

// dailyIssued counts the rows of from (a table and WHERE clause, both
// indexed on col) on each of the last ForecastWindow days by their time
// col, and how many of those days the source existed (since its first row).
func (s *Store) dailyIssued(ctx context.Context, now time.Time, col, from string) ([]int64, int, error) {
	counts := make([]int64, ForecastWindow)
	since := now.Add(-ForecastWindow * 24 * time.Hour).Format(TimeFormat)
	rows, err := s.db.QueryContext(ctx, `SELECT CAST((julianday(?1) - julianday(`+col+`)) AS INTEGER) AS d, count(*)
		FROM `+from+` AND `+col+` >= ?2 GROUP BY d`, now.Format(TimeFormat), since)
	if err != nil {
		return nil, 0, fmt.Errorf("registry: forecast: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d int
		var n int64
		if err := rows.Scan(&d, &n); err != nil {
			return nil, 0, err
		}
		if d >= 0 && d < ForecastWindow {
			counts[d] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var first string
	if err := s.queryRow(ctx, `SELECT coalesce(min(`+col+`), '') FROM `+from).Scan(&first); err != nil {
		return nil, 0, fmt.Errorf("registry: forecast: %w", err)
	}
	days := ForecastWindow
	if first != "" {
		days = int(math.Ceil(now.Sub(parseTime(first)).Hours() / 24))
	}
	return counts, max(1, min(days, ForecastWindow)), nil
}
