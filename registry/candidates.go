package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
)

// Candidates returns existing patients who may be the same person as np,
// best first, at most limit. This baseline matches the exact folded name
// (either order) and birth year ± 1; the duplicate-detection package
// replaces it with blocking and scoring.
func (s *Store) Candidates(ctx context.Context, np NewPatient, limit int) ([]idcards.Candidate, error) {
	if limit <= 0 {
		limit = 5
	}
	name := FoldName(np.GivenName + " " + np.FamilyName)
	swapped := FoldName(np.FamilyName + " " + np.GivenName)
	q := `SELECT ` + patientCols + ` FROM patients WHERE name_norm IN (?, ?) AND merged_into IS NULL`
	args := []any{name, swapped}
	if len(np.BirthDate) >= 4 {
		var y int
		fmt.Sscan(np.BirthDate[:4], &y)
		q += ` AND (birth_year IS NULL OR birth_year BETWEEN ? AND ?)`
		args = append(args, y-1, y+1)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	var out []idcards.Candidate
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		c := idcards.Candidate{Patient: p, Score: 1, Level: idcards.MatchProbable, Reasons: []string{"same name"}}
		if FoldName(p.GivenName+" "+p.FamilyName) != name {
			c.Reasons[0] = "same names, given and family swapped"
		}
		if np.BirthDate != "" && p.BirthDate != "" {
			if p.BirthDate[:4] == np.BirthDate[:4] {
				c.Reasons = append(c.Reasons, "same birth year")
			} else {
				c.Reasons = append(c.Reasons, "birth year ±1")
			}
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		ids, err := s.PatientIdentifiers(ctx, out[i].Patient.ID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if id.State != idcards.IDVoided {
				out[i].MRNs = append(out[i].MRNs, id.MRN)
			}
		}
	}
	return out, nil
}

// SearchPatients finds patients by MRN, phone, birth date (YYYY-MM-DD) or
// name words (folded: case and accents ignored), newest first.
func (s *Store) SearchPatients(ctx context.Context, text string, limit int) ([]idcards.Patient, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = 20
	}
	if v, err := s.Verify(ctx, text); err == nil && v.Status == idcards.StatusActive && v.Patient != nil {
		return []idcards.Patient{*v.Patient}, nil
	}
	var conds []string
	var args []any
	for _, w := range strings.Fields(FoldName(text)) {
		conds = append(conds, `(name_norm LIKE ? ESCAPE '\' OR phone LIKE ? ESCAPE '\' OR birth_date = ?)`)
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(w)
		args = append(args, "%"+esc+"%", "%"+esc+"%", w)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+patientCols+` FROM patients WHERE `+strings.Join(conds, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: search: %w", err)
	}
	defer rows.Close()
	var out []idcards.Patient
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
