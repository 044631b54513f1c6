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

// rateTTL is how long Supply reuses the issue rates it computed: they
// move over days, while counting a busy registry's last 30 days takes
// tens of milliseconds and the desk asks on every status refresh. How
// many IDs are left is read fresh every time.
const rateTTL = 5 * time.Minute

// rateCache holds the weighted rates by source key ("pool", "series:ID").
type rateCache struct {
	at    time.Time
	rates map[string]float64
}

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
	series, err := s.seriesFormats(ctx)
	if err != nil {
		return nil, err
	}
	src, err := s.IDSource(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	rc := s.rates.Load()
	if rc == nil || now.Sub(rc.at) > rateTTL || now.Before(rc.at) {
		rc = &rateCache{at: now, rates: map[string]float64{}}
	} else {
		// Copy on write: another goroutine may be reading the cached map.
		fresh := &rateCache{at: rc.at, rates: make(map[string]float64, len(rc.rates)+1)}
		for k, v := range rc.rates {
			fresh.rates[k] = v
		}
		rc = fresh
	}
	rate := func(key, col, from string) (float64, error) {
		if r, ok := rc.rates[key]; ok {
			return r, nil
		}
		counts, days, err := s.dailyIssued(ctx, now, col, from)
		if err != nil {
			return 0, err
		}
		r := WeightedRate(counts, days)
		rc.rates[key] = r
		return r, nil
	}
	var out []idcards.IDSupply
	if src.Idgen != "" {
		st, err := s.Pool(ctx)
		if err != nil {
			return nil, err
		}
		rate, err := rate("pool", `changed_at`, `id_pool WHERE state = 'issued'`)
		if err != nil {
			return nil, err
		}
		out = append(out, idcards.IDSupply{Name: "idgen pool", Pool: true, Current: true, Left: st.Free, PerDay: rate, DaysLeft: DaysLeft(st.Free, rate)})
	}
	for _, se := range series {
		c, err := barcode.NewCodec(se.Format)
		if err != nil {
			return nil, err
		}
		left := max(0, c.MaxSeq()-se.NextSeq+1)
		rate, err := rate(fmt.Sprintf("series:%d", se.ID), `issued_at`, fmt.Sprintf(`identifiers WHERE series_id = %d`, se.ID))
		if err != nil {
			return nil, err
		}
		name := "series " + se.Format.Prefix
		if se.Format.Prefix == "" {
			name = "series (no prefix)"
		}
		out = append(out, idcards.IDSupply{Name: name, Current: se.Current && src.Idgen == "", Left: left, PerDay: rate, DaysLeft: DaysLeft(left, rate)})
	}
	s.rates.Store(rc)
	return out, nil
}

// dailyIssued counts the rows of from (a table and WHERE clause, both
// indexed on col) on each of the last ForecastWindow days by their time
// col, and how many of those days the source existed (since its first row).
func (s *Store) dailyIssued(ctx context.Context, now time.Time, col, from string) ([]int64, int, error) {
	counts := make([]int64, ForecastWindow)
	// One range count per 24-hour period back from now: SQLite counts
	// index entries without reading them, several times faster than
	// grouping the rows' times.
	q := `SELECT count(*) FROM ` + from + ` AND ` + col + ` >= ?1 AND ` + col + ` < ?2`
	for d := range ForecastWindow {
		hi := now.Add(-time.Duration(d) * 24 * time.Hour).Format(TimeFormat)
		lo := now.Add(-time.Duration(d+1) * 24 * time.Hour).Format(TimeFormat)
		if d == 0 {
			hi = "9999" // and whatever is stamped a little ahead of this clock
		}
		if err := s.queryRow(ctx, q, lo, hi).Scan(&counts[d]); err != nil {
			return nil, 0, fmt.Errorf("registry: forecast: %w", err)
		}
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

// seriesFormats is SeriesList without the per-series count of issued IDs
// (Supply runs on every status refresh of the desk).
func (s *Store) seriesFormats(ctx context.Context) ([]Series, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, prefix, width, scheme, next_seq, is_current FROM series ORDER BY is_current DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("registry: forecast: %w", err)
	}
	defer rows.Close()
	var out []Series
	for rows.Next() {
		var x Series
		if err := rows.Scan(&x.ID, &x.Format.Prefix, &x.Format.Width, &x.Format.Scheme, &x.NextSeq, &x.Current); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
