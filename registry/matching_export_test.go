package registry

import (
	"context"

	"github.com/idcards/idcards"

	"github.com/idcards/idcards/match"
)

// LookupIDsForTest returns, per lookup of np's blocking (match.QueryLookups,
// in order), its key and the ids it offers, for the benchmark's per-pass
// figures.
func (s *Store) LookupIDsForTest(ctx context.Context, np NewPatient) ([]string, [][]int64, error) {
	cfg, err := s.matchConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	q := match.Prepare(npPerson(np), match.PrepareOptions{Region: cfg.region, Variants: cfg.variants})
	lookups := match.QueryLookups(&q, s.Now().Year())
	keys := make([]string, len(lookups))
	ids := make([][]int64, len(lookups))
	for i, l := range lookups {
		keys[i] = l.K
		sub, args := blockedSQL([]match.Lookup{l})
		rows, err := s.db.QueryContext(ctx, `SELECT patient_id FROM (`+sub+`) AS u`, args...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids[i] = append(ids[i], id)
		}
		rows.Close()
	}
	return keys, ids, nil
}

// RefreshUForTest measures u now (see refreshU), so a benchmark registry
// built by an older version is scored with today's levels.
func (s *Store) RefreshUForTest(ctx context.Context) error {
	cfg, err := s.matchConfig(ctx)
	if err != nil {
		return err
	}
	return s.refreshU(ctx, cfg.variants, true)
}

// ScoreForTest scores np as the desk does and returns the result of one
// stored patient, whatever its level (the miss diagnosis of the benchmark).
func (s *Store) ScoreForTest(ctx context.Context, np NewPatient, id int64) (match.Result, error) {
	p, err := s.Patient(ctx, id)
	if err != nil {
		return match.Result{}, err
	}
	qs, err := s.scoreQuery(ctx, np, 0, []idcards.Patient{p})
	if err != nil {
		return match.Result{}, err
	}
	for _, o := range qs.scored {
		if o.rec.ID == id {
			return o.r, nil
		}
	}
	return match.Result{}, nil
}
