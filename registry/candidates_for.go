package registry

import (
	"context"

	"github.com/idcards/idcards"
)

// replaced by the matching branch
//
// CandidatesFor is Candidates for an existing patient's (edited) details:
// the other patients np looks like, the patient itself left out.
func (s *Store) CandidatesFor(ctx context.Context, patientID int64, np NewPatient, limit int) ([]idcards.Candidate, error) {
	if limit <= 0 {
		limit = 5
	}
	cs, err := s.Candidates(ctx, np, limit+1)
	if err != nil {
		return nil, err
	}
	out := cs[:0]
	for _, c := range cs {
		if c.Patient.ID != patientID {
			out = append(out, c)
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
