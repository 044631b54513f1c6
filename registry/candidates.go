package registry

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// matcher builds the duplicate matcher with thresholds from the settings
// match_probable and match_possible (scores 0..1). The phonetic key is the
// one the stored blocking keys were made with (Store.Keys, default
// match.Skeleton).
func (s *Store) matcher(ctx context.Context) (*match.Matcher, error) {
	m := match.New(nil)
	for key, dst := range map[string]*float64{"match_probable": &m.Thresholds.Probable, "match_possible": &m.Thresholds.Possible} {
		v, err := s.Setting(ctx, key, "")
		if err != nil {
			return nil, err
		}
		if v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f > 1 {
				return nil, idcards.Errorf(idcards.Invalid, "setting %s = %q: a score between 0 and 1", key, v)
			}
			*dst = f
		}
	}
	return m, nil
}

// blockLimit caps each block of one candidate query; blocks are small
// (phonetic key x birth year), so this only bites on very common names,
// and then the rows sharing both name keys and the nearest birth years are
// kept (see Candidates).
const blockLimit = 200

// Candidates returns existing patients who may be the same person as np,
// best first, at most limit, each with a score, a level (probable or
// possible) and reasons. Merged-away records are left out.
//
// Blocking keeps it fast at any registry size: only records that share a
// phonetic key of either name (in either position, for swapped names) with
// the birth year within ±2 (or unknown), or that share
// the phone's last four digits, are scored.
func (s *Store) Candidates(ctx context.Context, np NewPatient, limit int) ([]idcards.Candidate, error) {
	if limit <= 0 {
		limit = 5
	}
	m, err := s.matcher(ctx)
	if err != nil {
		return nil, err
	}
	gk, fk := s.keys(np.GivenName, np.FamilyName)
	keys := []any{}
	for _, k := range []string{gk, fk} {
		if k != "" {
			keys = append(keys, k)
		}
	}
	var conds []string
	var args []any
	year := 0
	if len(np.BirthDate) >= 4 {
		year, _ = strconv.Atoi(np.BirthDate[:4])
	}
	yearCond := func() string {
		if year == 0 {
			return ""
		}
		args = append(args, year-2, year+2)
		return ` AND (birth_year IS NULL OR birth_year BETWEEN ? AND ?)`
	}
	// Each block is a capped, index-only subquery, so a very common name
	// costs the same as a rare one: first the records sharing both name
	// keys (either order), then each key alone nearest in birth year, then
	// the phone suffix. The union is at most 4 × blockLimit rows.
	near := ""
	if year != 0 {
		near = ` ORDER BY abs(coalesce(birth_year, ?) - ?)`
	}
	block := func(where string, whereArgs ...any) {
		args = append(args, whereArgs...)
		yc := yearCond()
		sub := `SELECT id FROM patients WHERE ` + where + yc
		if near != "" {
			sub += near
			args = append(args, year, year)
		}
		args = append(args, blockLimit)
		conds = append(conds, `SELECT id FROM (`+sub+` LIMIT ?) AS b`)
	}
	if len(keys) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(keys)), ",")
		both := append(append([]any{}, keys...), keys...)
		block(`family_key IN (`+ph+`) AND given_key IN (`+ph+`)`, both...)
		for _, col := range []string{"family_key", "given_key"} {
			block(col+` IN (`+ph+`)`, keys...)
		}
	}
	if suf := phoneSuffix(np.Phone); len(suf) == 4 {
		args = append(args, suf, blockLimit)
		conds = append(conds, `SELECT id FROM (SELECT id FROM patients WHERE phone_suffix = ? LIMIT ?) AS b`)
	}
	if len(conds) == 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+patientCols+` FROM patients WHERE id IN (`+strings.Join(conds, " UNION ")+`) AND merged_into IS NULL`, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	q := match.Person{Given: np.GivenName, Family: np.FamilyName, Sex: np.Sex, BirthDate: np.BirthDate, BirthDateEstimated: np.BirthDateEstimated, Phone: np.Phone, Village: np.Village}
	var out []idcards.Candidate
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		score, reasons := m.Score(q, match.Person{Given: p.GivenName, Family: p.FamilyName, Sex: p.Sex, BirthDate: p.BirthDate, BirthDateEstimated: p.BirthDateEstimated, Phone: p.Phone, Village: p.Village})
		lvl := m.Thresholds.Level(score)
		if lvl == "" {
			continue
		}
		out = append(out, idcards.Candidate{Patient: p, Score: math.Round(score*1000) / 1000, Level: lvl, Reasons: reasons})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Patient.ID < out[j].Patient.ID
	})
	if len(out) > limit {
		out = out[:limit]
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
