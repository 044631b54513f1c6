package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
)

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
	// Each word must match somewhere: part of the folded name, phone or
	// birth date, or — so a name spelled by ear is found (Nakatto for
	// Nakato, Achieng for Ochieng) — the phonetic key of a given or family
	// name, the same keys duplicate detection uses.
	for _, w := range strings.Fields(FoldName(text)) {
		conds = append(conds, `(name_norm LIKE ? ESCAPE '\' OR phone LIKE ? ESCAPE '\' OR birth_date = ? OR given_key = ? OR family_key = ?)`)
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(w)
		gk, fk := s.keys(w, w)
		args = append(args, "%"+esc+"%", "%"+esc+"%", w, nonEmpty(gk), nonEmpty(fk))
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

// nonEmpty keeps an empty key from matching every patient without one.
func nonEmpty(k string) any {
	if k == "" {
		return nil
	}
	return k
}
