package scanapi

import (
	"context"
	"testing"

	"github.com/idcards/idcards"
	"github.com/prometheus/client_golang/prometheus"
)

func TestSupplyCollector(t *testing.T) {
	c := NewSupplyCollector(func(context.Context) ([]idcards.IDSupply, error) {
		return []idcards.IDSupply{
			{Name: "idgen pool", Pool: true, Current: true, Left: 90, PerDay: 10, DaysLeft: 9},
			{Name: "series 10", Left: 999_000, DaysLeft: -1},
		}, nil
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"idcards_ids_left current=true source=idgen pool":           90,
		"idcards_ids_left current=false source=series 10":           999_000,
		"idcards_ids_days_left current=true source=idgen pool":      9,
		"idcards_ids_issued_per_day current=true source=idgen pool": 10,
		"idcards_ids_issued_per_day current=false source=series 10": 0,
		"idcards_ids_low current=true source=idgen pool":            1,
		"idcards_ids_low current=false source=series 10":            0,
	}
	if len(got) != len(want) {
		t.Errorf("got %d samples, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
