package scanapi

import (
	"context"
	"sync"
	"time"

	"github.com/idcards/idcards"
	"github.com/prometheus/client_golang/prometheus"
)

// Register adds a collector to the endpoint's /metrics.
func (s *Server) Register(c prometheus.Collector) error { return s.metrics.Register(c) }

// SupplyCollector reports how many new MRNs each source (series, idgen
// pool) has left and how many days they last at the recent issue rate
// (registry.Store.Supply), so an alert can be set on
// idcards_ids_days_left < 14. A source with nothing issued lately has no
// days_left sample. Read at most once a minute.
type SupplyCollector struct {
	supply                  func(context.Context) ([]idcards.IDSupply, error)
	left, days, rate, alarm *prometheus.Desc

	mu   sync.Mutex
	at   time.Time
	last []idcards.IDSupply
}

// NewSupplyCollector returns a collector over supply.
func NewSupplyCollector(supply func(context.Context) ([]idcards.IDSupply, error)) *SupplyCollector {
	labels := []string{"source", "current"}
	return &SupplyCollector{supply: supply,
		left:  prometheus.NewDesc("idcards_ids_left", "New MRNs left in a series (its width caps it) or in the idgen pool.", labels, nil),
		days:  prometheus.NewDesc("idcards_ids_days_left", "Days the MRNs left last at the weighted 30-day issue rate (a pool: without a refill).", labels, nil),
		rate:  prometheus.NewDesc("idcards_ids_issued_per_day", "Weighted 30-day issue rate of a series or the idgen pool.", labels, nil),
		alarm: prometheus.NewDesc("idcards_ids_low", "1 when the source in use runs out within 14 days (pool) or 90 days (series).", labels, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *SupplyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.left
	ch <- c.days
	ch <- c.rate
	ch <- c.alarm
}

// Collect implements prometheus.Collector.
func (c *SupplyCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > time.Minute {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if sup, err := c.supply(ctx); err == nil {
			c.last, c.at = sup, time.Now()
		}
	}
	for _, sp := range c.last {
		cur := "false"
		if sp.Current {
			cur = "true"
		}
		ch <- prometheus.MustNewConstMetric(c.left, prometheus.GaugeValue, float64(sp.Left), sp.Name, cur)
		ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, sp.PerDay, sp.Name, cur)
		if sp.DaysLeft >= 0 {
			ch <- prometheus.MustNewConstMetric(c.days, prometheus.GaugeValue, sp.DaysLeft, sp.Name, cur)
		}
		low := 0.0
		if sp.Low() {
			low = 1
		}
		ch <- prometheus.MustNewConstMetric(c.alarm, prometheus.GaugeValue, low, sp.Name, cur)
	}
}
