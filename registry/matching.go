package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// Matching: the registry keeps a blocking index (match_keys) and term
// frequencies (match_tf) for package match, current with every patient
// change through the match_pending queue that triggers fill (0011), and a
// Fellegi–Sunter model estimated from the registry (match_model). One
// scorer serves the desk (Candidates, CandidatesFor), the CLI and the
// whole-registry scan (duplicates.go).

// matchSetup is everything one scoring session needs from the settings.
type matchSetup struct {
	th       match.Thresholds
	variants *match.Variants
	region   string
	model    *match.Model
}

// matchConfig reads the matching settings: match_probable and
// match_possible (probabilities), match_variants and
// phone_country.
func (s *Store) matchConfig(ctx context.Context) (matchSetup, error) {
	cfg := matchSetup{th: match.DefaultThresholds}
	for key, dst := range map[string]*float64{"match_probable": &cfg.th.Probable, "match_possible": &cfg.th.Possible} {
		v, err := s.Setting(ctx, key, "")
		if err != nil {
			return cfg, err
		}
		if v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f >= 1 {
				return cfg, idcards.Errorf(idcards.Invalid, "setting %s = %q: a probability between 0 and 1 (exclusive)", key, v)
			}
			*dst = f
		}
	}
	if cfg.th.Possible > cfg.th.Probable {
		return cfg, idcards.Errorf(idcards.Invalid, "setting match_possible (%v) is above match_probable (%v)", cfg.th.Possible, cfg.th.Probable)
	}
	v, err := s.Setting(ctx, "match_variants", "")
	if err != nil {
		return cfg, err
	}
	if cfg.region, err = s.Setting(ctx, "phone_country", ""); err != nil {
		return cfg, err
	}
	js, err := s.matchModelJSON(ctx)
	if err != nil {
		return cfg, err
	}
	// Every check reads the settings (another desk may change them) but
	// parses them again only when their text changed: the variants
	// table and the model are the same for weeks.
	if p := s.parsed.Load(); p != nil && p.variantsText == v && p.modelText == js {
		cfg.variants, cfg.model = p.variants, p.model
		return cfg, nil
	}
	if cfg.variants, err = match.NewVariants(v); err != nil {
		return cfg, err
	}
	cfg.model = modelFromJSON(js)
	if cfg.model.Upgraded {
		// A model stored by an older version, with a level it did not
		// have: measure u again now rather than use the defaults' for
		// that level until the registry doubles. (A registry too small to
		// measure keeps the upgraded model.)
		if err := s.refreshU(ctx, cfg.variants, true); err != nil {
			return cfg, err
		}
		if js, err = s.matchModelJSON(ctx); err != nil {
			return cfg, err
		}
		cfg.model = modelFromJSON(js)
	}
	s.parsed.Store(&parsedMatch{variantsText: v, modelText: js, variants: cfg.variants, model: cfg.model})
	return cfg, nil
}

// parsedMatch is matchConfig's cache. Its model and variants are shared
// by concurrent checks and must not be changed (MatchModel returns a
// fresh model for callers that change theirs).
type parsedMatch struct {
	variantsText, modelText string
	variants                *match.Variants
	model                   *match.Model
}

// PhoneRegion is the site's default country for phone numbers without a
// country code (setting phone_country), "" when not set.
func (s *Store) PhoneRegion(ctx context.Context) (string, error) {
	return s.Setting(ctx, "phone_country", "")
}

// MatchModel returns the stored model, or match.DefaultModel when the
// registry was never trained (or was trained by a version with other
// levels).
func (s *Store) MatchModel(ctx context.Context) (*match.Model, error) {
	js, err := s.matchModelJSON(ctx)
	if err != nil {
		return nil, err
	}
	return modelFromJSON(js), nil
}

// matchModelJSON is the stored model's text, "" when there is none.
func (s *Store) matchModelJSON(ctx context.Context) (string, error) {
	var js string
	err := s.queryRow(ctx, `SELECT model FROM match_model WHERE id = 1`).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("registry: match model: %w", err)
	}
	return js, nil
}

// modelFromJSON parses a stored model (see MatchModel); "" or another
// version's model gives the defaults.
func modelFromJSON(js string) *match.Model {
	if js == "" {
		return match.DefaultModel()
	}
	m, err := match.ParseModel([]byte(js))
	if err != nil {
		return match.DefaultModel() // another version's model: defaults until retrained
	}
	if m.Source != "em" {
		// m (and the return rate) are the built-in priors: take this
		// version's, so better priors reach registries trained before.
		d := match.DefaultModel()
		for f := range match.NumFields {
			m.Fields[f].M = d.Fields[f].M
		}
		m.ReturnRate = d.ReturnRate
	}
	return m
}

func toPerson(p idcards.Patient) match.Person {
	return match.Person{Given: p.GivenName, Family: p.FamilyName, Sex: p.Sex, BirthDate: p.BirthDate, BirthDateEstimated: p.BirthDateEstimated, Phone: p.Phone, Village: p.Village}
}

func npPerson(np NewPatient) match.Person {
	return match.Person{Given: np.GivenName, Family: np.FamilyName, Sex: np.Sex, BirthDate: np.BirthDate, BirthDateEstimated: np.BirthDateEstimated, Phone: np.Phone, Village: np.Village}
}

// tfFields are the fields with term frequencies, in match_indexed.tf order
// (the word fields hold a record's distinct words, space-separated).
var tfFields = []match.Field{match.FGiven, match.FFamily, match.FBirth, match.FPhone, match.FVillage, match.FGivenWord, match.FFamilyWord, match.FFullName}

func tfValues(r *match.Record) []string {
	return []string{r.Given, r.Family, match.BirthValue(r), r.Phone, r.Village,
		strings.Join(match.Words(r, match.FGiven), " "), strings.Join(match.Words(r, match.FFamily), " "), match.FullName(r)}
}

// tfEach calls fn for every (field, value) a record's tfValues count
// under: one value per field, one per word for the word fields.
func tfEach(vals []string, fn func(f match.Field, v string)) {
	for i, v := range vals {
		if v == "" || i >= len(tfFields) {
			continue
		}
		f := tfFields[i]
		if f == match.FGivenWord || f == match.FFamilyWord {
			for _, w := range strings.Split(v, " ") {
				if w != "" {
					fn(f, w)
				}
			}
			continue
		}
		fn(f, v)
	}
}

const (
	tfCountField       = -1 // match_tf row holding the number of indexed patients
	tfFingerprintField = -2 // the variants table the keys were made with
	tfVariantsField    = -3 // that table itself: one row "spelling=canonical" per spelling
)

// SyncMatchIndex (re)computes blocking keys and term frequencies of every
// patient in match_pending — new, changed, merged or deleted patients —
// and returns how many it processed. Candidates calls it first, so the
// index is always current; import calls it at the end. progress, if not
// nil, is called after each batch with done and total.
func (s *Store) SyncMatchIndex(ctx context.Context, progress func(done, total int)) (int, error) {
	cfg, err := s.matchConfig(ctx)
	if err != nil {
		return 0, err
	}
	return s.syncMatchIndex(ctx, cfg.variants, progress)
}

func (s *Store) syncMatchIndex(ctx context.Context, v *match.Variants, progress func(done, total int)) (int, error) {
	var any int
	if err := s.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM match_pending LIMIT 1) AS p`).Scan(&any); err != nil {
		return 0, fmt.Errorf("registry: match index: %w", err)
	}
	// A changed variants table changes keys: queue everyone again.
	fp := v.Fingerprint()
	var stored string
	err := s.queryRow(ctx, `SELECT value FROM match_tf WHERE field = ?`, tfFingerprintField).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("registry: match index: %w", err)
	}
	if stored != fp {
		// Only the patients with a name word whose canonical spelling the
		// new table changes get other keys; when the table the keys were
		// made with is stored (and the key version is the same), only they
		// are queued, so adding Khamis=Hamisi re-indexes the Khamises, not a
		// million patients on the desk's first duplicate check.
		all := stored != ""
		var ids []int64
		if all {
			if old, ok, err := s.storedVariants(ctx, stored); err != nil {
				return 0, fmt.Errorf("registry: match index: %w", err)
			} else if ok {
				if ids, err = s.patientsWithWords(ctx, match.Changed(old, v.Table())); err != nil {
					return 0, fmt.Errorf("registry: match index: %w", err)
				}
				all = false
			}
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if all {
				if _, err := tx.ExecContext(ctx, `INSERT INTO match_pending(patient_id) SELECT id FROM patients WHERE true ON CONFLICT DO NOTHING`); err != nil {
					return err
				}
			} else if err := queuePatients(ctx, tx, ids); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO match_tf(field, value, n) VALUES (?, ?, 0) ON CONFLICT(field, value) DO NOTHING`, tfFingerprintField, fp)
			if err != nil {
				return err
			}
			if _, err = tx.ExecContext(ctx, `DELETE FROM match_tf WHERE field = ? AND value <> ?`, tfFingerprintField, fp); err != nil {
				return err
			}
			return storeVariants(ctx, tx, v.Table())
		})
		if err != nil {
			return 0, fmt.Errorf("registry: match index: %w", err)
		}
		any = 1
	}
	if any == 0 {
		return 0, nil
	}
	defer func() {
		// u is measured on the registry itself once it is big enough,
		// and again whenever it has doubled (see refreshU).
		_ = s.refreshU(ctx, v, false)
	}()
	total := 0
	_ = s.db.QueryRowContext(ctx, `SELECT count(*) FROM match_pending`).Scan(&total)
	done := 0
	for {
		n, err := s.syncMatchBatch(ctx, v, 20000)
		if err != nil {
			return done, fmt.Errorf("registry: match index: %w", err)
		}
		done += n
		if progress != nil && n > 0 {
			progress(done, max(total, done))
		}
		if n == 0 {
			return done, nil
		}
	}
}

// storedVariants reads the variants table the blocking keys were made
// with (rows "spelling=canonical" under tfVariantsField); ok is false when
// none is stored or it is not the table of fingerprint fp (written by a
// version before tables were stored, or with other keys).
func (s *Store) storedVariants(ctx context.Context, fp string) (map[string]string, bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT value FROM match_tf WHERE field = ?`, tfVariantsField)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	t := map[string]string{}
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			return nil, false, err
		}
		if w, c, ok := strings.Cut(row, "="); ok {
			t[w] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return t, len(t) > 0 && match.TableFingerprint(t) == fp, nil
}

// storeVariants replaces the stored variants table with t.
func storeVariants(ctx context.Context, tx *sql.Tx, t map[string]string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM match_tf WHERE field = ?`, tfVariantsField); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO match_tf(field, value, n) VALUES (?, ?, 0)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for w, c := range t {
		if _, err := st.ExecContext(ctx, tfVariantsField, w+"="+c); err != nil {
			return err
		}
	}
	return nil
}

// patientsWithWords lists the active patients whose given or family name
// holds one of words (folded, as match.Prepare splits them).
func (s *Store) patientsWithWords(ctx context.Context, words map[string]bool) ([]int64, error) {
	if len(words) == 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, coalesce(given_name,''), coalesce(family_name,'') FROM patients WHERE merged_into IS NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		var g, f string
		if err := rows.Scan(&id, &g, &f); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(strings.Fields(match.Fold(g+" "+f)), func(w string) bool { return words[w] }) {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// queuePatients puts ids in match_pending.
func queuePatients(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO match_pending(patient_id) VALUES (?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, id := range ids {
		if _, err := st.ExecContext(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// syncMatchBatch indexes up to limit pending patients in one transaction.
func (s *Store) syncMatchBatch(ctx context.Context, v *match.Variants, limit int) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT mp.patient_id, p.id IS NOT NULL AND p.merged_into IS NULL, coalesce(p.given_name,''), coalesce(p.family_name,''), coalesce(p.sex,''), coalesce(p.birth_date,''), coalesce(p.birth_date_estimated,0), coalesce(p.phone,''), coalesce(p.village,''), coalesce(mi.tf, '')
			FROM match_pending mp LEFT JOIN patients p ON p.id = mp.patient_id LEFT JOIN match_indexed mi ON mi.patient_id = mp.patient_id
			ORDER BY mp.patient_id LIMIT ?`, limit)
		if err != nil {
			return err
		}
		type item struct {
			id     int64
			active bool
			rec    match.Record
			oldTF  string
		}
		var items []item
		for rows.Next() {
			var it item
			var p match.Person
			var sex string
			if err := rows.Scan(&it.id, &it.active, &p.Given, &p.Family, &sex, &p.BirthDate, &p.BirthDateEstimated, &p.Phone, &p.Village, &it.oldTF); err != nil {
				rows.Close()
				return err
			}
			p.Sex = idcards.Sex(sex)
			if it.active {
				it.rec = match.Prepare(p, match.PrepareOptions{Variants: v})
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(items)
		if n == 0 {
			return nil
		}
		// The batch's rows go in a few statements, not one per key: on
		// PostgreSQL each statement is a round trip, and a patient has a
		// dozen keys (an import of 20,000 patients spent most of its time
		// here).
		type tfk struct {
			f int
			v string
		}
		delta := map[tfk]int{}
		var reindexed, dropped []any // patient ids whose old keys go; inactive ones whose index row goes
		var keyArgs, idxArgs []any
		for _, it := range items {
			if it.oldTF != "" {
				tfEach(strings.Split(it.oldTF, "\x1f"), func(f match.Field, v string) { delta[tfk{int(f), v}]-- })
				delta[tfk{tfCountField, ""}]--
				reindexed = append(reindexed, it.id)
			}
			if !it.active {
				if it.oldTF != "" {
					dropped = append(dropped, it.id)
				}
				continue
			}
			for _, k := range match.IndexKeys(&it.rec) {
				if !match.DeskKey(k) {
					continue // the scan computes its own (duplicates.go)
				}
				keyArgs = append(keyArgs, k, it.rec.Y, it.id)
			}
			vals := tfValues(&it.rec)
			tfEach(vals, func(f match.Field, v string) { delta[tfk{int(f), v}]++ })
			delta[tfk{tfCountField, ""}]++
			tf := strings.Join(vals, "\x1f")
			if tf == "" {
				tf = "\x1f"
			}
			idxArgs = append(idxArgs, it.id, tf)
		}
		if err := execIn(ctx, tx, `DELETE FROM match_keys WHERE patient_id IN `, "", reindexed); err != nil {
			return err
		}
		if err := execIn(ctx, tx, `DELETE FROM match_indexed WHERE patient_id IN `, "", dropped); err != nil {
			return err
		}
		if err := execValues(ctx, tx, `INSERT INTO match_keys(k, y, patient_id) VALUES `, 3, ` ON CONFLICT DO NOTHING`, keyArgs); err != nil {
			return err
		}
		if err := execValues(ctx, tx, `INSERT INTO match_indexed(patient_id, tf) VALUES `, 2, ` ON CONFLICT(patient_id) DO UPDATE SET tf = excluded.tf`, idxArgs); err != nil {
			return err
		}
		keys := make([]tfk, 0, len(delta))
		for k, d := range delta {
			if d != 0 {
				keys = append(keys, k)
			}
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].f != keys[j].f {
				return keys[i].f < keys[j].f
			}
			return keys[i].v < keys[j].v
		})
		tfArgs := make([]any, 0, 3*len(keys))
		for _, k := range keys {
			tfArgs = append(tfArgs, k.f, k.v, delta[k])
		}
		// Each (field, value) once: an upsert may not touch a row twice.
		if err := execValues(ctx, tx, `INSERT INTO match_tf(field, value, n) VALUES `, 3, ` ON CONFLICT(field, value) DO UPDATE SET n = match_tf.n + excluded.n`, tfArgs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM match_tf WHERE n <= 0 AND field >= 0`); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM match_pending WHERE patient_id IN (SELECT patient_id FROM match_pending ORDER BY patient_id LIMIT ?)`, n)
		return err
	})
	return n, err
}

// queryTF holds the term frequencies of one query's values.
type queryTF struct {
	n    float64
	vals map[match.Field]map[string]float64
}

func (t *queryTF) Freq(f match.Field, v string) float64 {
	if t.n <= 0 {
		return 0
	}
	return t.vals[f][v] / t.n
}

// pairTF gives the frequencies for scoring two candidates against each
// other: the query's loaded counts where it holds the value, and for a
// record field's value it did not load, the share that makes its weight
// the model's own (tfU = u), as a scorer without frequencies would weigh
// it — never the "0: unknown to the registry" that would make a value
// both records hold look rare. Name words and full names it did not load
// stay 0, which their weights already read as "no count" (the level's
// weight).
type pairTF struct {
	t *queryTF
	m *match.Model
}

func (p pairTF) Freq(f match.Field, v string) float64 {
	if x := p.t.Freq(f, v); x > 0 || f >= match.NumFields || p.t.n <= 0 {
		return x
	}
	return p.m.Fields[f].U[0] + 1/p.t.n
}

// loadTF reads the frequencies of the query's values (and of its given and
// family names and their words in each other's field, for swapped names).
func (s *Store) loadTF(ctx context.Context, q *match.Record) (*queryTF, int, error) {
	t := &queryTF{vals: map[match.Field]map[string]float64{}}
	var n int64
	if err := s.queryRow(ctx, `SELECT coalesce((SELECT n FROM match_tf WHERE field = ? AND value = ''), 0)`, tfCountField).Scan(&n); err != nil {
		return nil, 0, err
	}
	t.n = float64(n)
	var want []fv
	tfEach(tfValues(q), func(f match.Field, v string) { want = append(want, fv{f, v}) })
	if q.Given != "" {
		want = append(want, fv{match.FFamily, q.Given})
	}
	if q.Family != "" {
		want = append(want, fv{match.FGiven, q.Family})
	}
	for _, w := range match.Words(q, match.FGiven) {
		want = append(want, fv{match.FFamilyWord, w})
	}
	for _, w := range match.Words(q, match.FFamily) {
		want = append(want, fv{match.FGivenWord, w})
	}
	return t, int(n), s.addTF(ctx, t, want)
}

// fv is one term-frequency key: a field and a value.
type fv struct {
	f match.Field
	v string
}

// addTF reads the frequencies of want into t, in batches of a few fixed
// sizes (padded with repeats) so the prepared statements stay few.
func (s *Store) addTF(ctx context.Context, t *queryTF, want []fv) error {
	const most = 64
	for len(want) > 0 {
		k := min(len(want), most)
		size := 1
		for size < k {
			size *= 2
		}
		batch := make([]fv, size)
		copy(batch, want[:k])
		for i := k; i < size; i++ {
			batch[i] = want[k-1]
		}
		if err := s.addTFBatch(ctx, t, batch); err != nil {
			return err
		}
		want = want[k:]
	}
	return nil
}

func (s *Store) addTFBatch(ctx context.Context, t *queryTF, want []fv) error {
	var sb strings.Builder
	args := make([]any, 0, 2*len(want))
	for i, w := range want {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString("(CAST(? AS INTEGER),?)") // typed: PostgreSQL reads an untyped VALUES column as text
		args = append(args, int(w.f), w.v)
	}
	st, err := s.prepared(ctx, `SELECT field, value, n FROM match_tf WHERE (field, value) IN (VALUES `+sb.String()+`)`)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f int
		var v string
		var c float64
		if err := rows.Scan(&f, &v, &c); err != nil {
			return err
		}
		m := t.vals[match.Field(f)]
		if m == nil {
			m = map[string]float64{}
			t.vals[match.Field(f)] = m
		}
		m[v] = c
	}
	return rows.Err()
}

// slipWeightFloor: a candidate whose pairwise weight is below this many
// bits (odds of 1 in 4,000 against a new person) cannot reach a level and
// moves no other candidate's probability by more than rounding; a slip's
// cap only lowers weights, so its names' frequencies are not worth reading.
const slipWeightFloor = -12

// rescoreSlips reads the frequencies of the candidates' own names where a
// name was a slip or a variant spelling (a slip of a common name is weak
// evidence, match.Scorer.fuzzyWeight), and scores those candidates again.
func (s *Store) rescoreSlips(ctx context.Context, sc *match.Scorer, tf *queryTF, q *match.Record, out []scoredPatient) error {
	fuzzy := func(l int8) bool { return l == match.NameClose || l == match.NameSimilar || l == match.NameVariant }
	var want []fv
	var again []int
	seen := map[fv]bool{}
	add := func(k fv) {
		if k.v == "" || seen[k] || tf.vals[k.f][k.v] > 0 {
			return
		}
		seen[k] = true
		want = append(want, k)
	}
	for i, o := range out {
		if o.r.Weight < slipWeightFloor || !(fuzzy(o.r.L[match.FGiven]) || fuzzy(o.r.L[match.FFamily])) {
			continue
		}
		again = append(again, i)
		add(fv{match.FGiven, o.rec.Given})
		add(fv{match.FFamily, o.rec.Family})
		// A one-word name in the variants table is weighed by its
		// group's commonest spelling (fuzzyWeight).
		for _, f := range []match.Field{match.FGiven, match.FFamily} {
			if w := match.Words(&o.rec, f); len(w) == 1 {
				for _, sp := range sc.Variants.Spellings(w[0]) {
					add(fv{f, sp})
				}
			}
		}
	}
	for _, f := range []match.Field{match.FGiven, match.FFamily} {
		if w := match.Words(q, f); len(w) == 1 && len(again) > 0 {
			for _, sp := range sc.Variants.Spellings(w[0]) {
				add(fv{f, sp})
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	if err := s.addTF(ctx, tf, want); err != nil {
		return err
	}
	for _, i := range again {
		out[i].r = sc.Score(q, &out[i].rec)
	}
	return nil
}

// Candidates returns existing patients who may be the same person as np,
// best first, at most limit, each with its match probability (Score), a
// level (probable or possible), the weight in bits and field-by-field
// evidence. Merged-away records are left out.
//
// Only records sharing a blocking key with np are scored (see match.Passes:
// phonetic keys of the names, initials, birth date, phone, village, each
// capped to the records nearest np's birth year), so the cost does not
// grow with the registry.
func (s *Store) Candidates(ctx context.Context, np NewPatient, limit int) ([]idcards.Candidate, error) {
	return s.candidates(ctx, np, 0, limit)
}

// CandidatesFor is Candidates for an existing patient being edited: the
// patient itself is left out, and so is every patient a supervisor judged
// "not the same person" as this one.
func (s *Store) CandidatesFor(ctx context.Context, patientID int64, np NewPatient, limit int) ([]idcards.Candidate, error) {
	return s.candidates(ctx, np, patientID, limit)
}

// CandidatesCompared is Candidates that also returns the ids of every
// record blocking offered and the check compared (Blocked, without
// blocking twice): for match-eval, which tells a record never compared
// from one scored too low.
func (s *Store) CandidatesCompared(ctx context.Context, np NewPatient, limit int) ([]idcards.Candidate, []int64, error) {
	qs, err := s.scoreQuery(ctx, np, 0, nil)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]int64, len(qs.scored))
	for i, o := range qs.scored {
		ids[i] = o.rec.ID
	}
	cands, err := s.candidatesOf(ctx, qs, limit)
	return cands, ids, err
}

func (s *Store) candidates(ctx context.Context, np NewPatient, self int64, limit int) ([]idcards.Candidate, error) {
	qs, err := s.scoreQuery(ctx, np, self, nil)
	if err != nil {
		return nil, err
	}
	return s.candidatesOf(ctx, qs, limit)
}

// candidatesOf is the listed candidates of a scored query, best first, at
// most limit (5 if not positive).
func (s *Store) candidatesOf(ctx context.Context, qs queryScores, limit int) ([]idcards.Candidate, error) {
	if limit <= 0 {
		limit = 5
	}
	out := qs.scored[:0]
	for _, o := range qs.scored {
		if o.r.Level != "" {
			out = append(out, o)
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	cands := make([]idcards.Candidate, 0, len(out))
	for _, o := range out {
		// Scoring read the matched fields only; a listed record is read
		// whole for the desk.
		p, err := s.Patient(ctx, o.rec.ID)
		if err != nil {
			return nil, err
		}
		ev := qs.sc.Explain(&qs.q, &o.rec, o.r)
		c := idcards.Candidate{Patient: p, Score: roundProb(o.r.Probability), Level: o.r.Level, Reasons: match.Reasons(ev),
			Weight: math.Round(o.r.Weight*10) / 10, Evidence: ev}
		ids, err := s.PatientIdentifiers(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if id.State != idcards.IDVoided {
				c.MRNs = append(c.MRNs, id.MRN)
			}
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	return cands, nil
}

// scoredPatient is one blocked record (rec.ID is the patient's id) and its
// result.
type scoredPatient struct {
	rec match.Record
	r   match.Result
}

// queryScores is one query scored against every record blocking offers.
type queryScores struct {
	sc     *match.Scorer
	q      match.Record
	scored []scoredPatient // best first
	cfg    matchSetup
	tf     *queryTF
	n      int
}

// scoreQuery scores np against every active record sharing a blocking key
// with it (and extra, for diagnosis), then turns the pairwise scores into
// the probability that each record is the person (match.Scorer.Posterior:
// records that fit nearly as well share it; two records that are
// themselves probably one person do not count as each other's rivals).
// self and the records judged "different" from it are left out.
func (s *Store) scoreQuery(ctx context.Context, np NewPatient, self int64, extra []idcards.Patient) (queryScores, error) {
	qs, err := s.prepareQuery(ctx, np)
	if err != nil {
		return qs, err
	}
	pats, err := s.blocked(ctx, &qs.q, qs.sc.Year)
	if err != nil {
		return qs, err
	}
	for _, p := range extra {
		dup := false
		for _, b := range pats {
			dup = dup || b.id == p.ID
		}
		if !dup {
			pats = append(pats, matchRow{p.ID, toPerson(p)})
		}
	}
	excluded := map[int64]bool{}
	if self != 0 {
		excluded[self] = true
		rows, err := s.db.QueryContext(ctx, `SELECT CASE WHEN a = ? THEN b ELSE a END FROM match_pairs WHERE (a = ? OR b = ?) AND status = 'different'`, self, self, self)
		if err != nil {
			return qs, fmt.Errorf("registry: candidates: %w", err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			excluded[id] = true
		}
		rows.Close()
	}
	return s.scoreRows(ctx, qs, pats, excluded)
}

// prepareQuery is the scorer of one query: the registry's model, settings
// and the query's term frequencies.
func (s *Store) prepareQuery(ctx context.Context, np NewPatient) (queryScores, error) {
	var qs queryScores
	cfg, err := s.matchConfig(ctx)
	if err != nil {
		return qs, err
	}
	if _, err := s.syncMatchIndex(ctx, cfg.variants, nil); err != nil {
		return qs, err
	}
	qs.cfg = cfg
	qs.q = match.Prepare(npPerson(np), match.PrepareOptions{Region: cfg.region, Variants: cfg.variants})
	tf, n, err := s.loadTF(ctx, &qs.q)
	if err != nil {
		return qs, fmt.Errorf("registry: candidates: %w", err)
	}
	qs.tf, qs.n = tf, n
	qs.sc = match.NewScorer(cfg.model, tf, n, s.Now().Year(), cfg.th)
	qs.sc.Variants = cfg.variants
	return qs, nil
}

// scoreRows scores the query against pats (those in excluded left out)
// and turns the scores into each record's probability of being the person.
func (s *Store) scoreRows(ctx context.Context, qs queryScores, pats []matchRow, excluded map[int64]bool) (queryScores, error) {
	cfg, tf, n, year := qs.cfg, qs.tf, qs.n, qs.sc.Year
	out := make([]scoredPatient, 0, len(pats))
	// Blocking offers the same names many times over (a name's block):
	// each distinct name is folded and keyed once per query.
	prep := match.NewPreparer(match.PrepareOptions{Variants: cfg.variants})
	for _, p := range pats {
		if excluded[p.id] {
			continue
		}
		rec := prep.Prepare(p.person)
		rec.ID = p.id
		out = append(out, scoredPatient{rec, qs.sc.Score(&qs.q, &rec)})
	}
	if err := s.rescoreSlips(ctx, qs.sc, tf, &qs.q, out); err != nil {
		return qs, fmt.Errorf("registry: candidates: %w", err)
	}
	rs := make([]match.Result, len(out))
	for i := range out {
		rs[i] = out[i].r
	}
	// Whether two candidates are one person is judged by the same model.
	// Two records born the same day are scored with the frequencies
	// loaded for the query: where they agree on the query's own values (a
	// patient registered twice, both records fitting the query) those are
	// the values' real counts; a value the query did not load weighs as
	// the model's u (pairTF). Without them a rare exact birth date weighed
	// only the model's average (a registry's 1 July estimates make that
	// weak), so two identical records of John Ocen, born 2008-08-20, were
	// judged 93 % one person and each stayed the other's rival, both at
	// possible. Two records whose dates differ are judged without the
	// counts, as before: a name, a phone and a village shared that way are
	// also what two relatives of one name in a household show (on the
	// independent check's registries counting them made such relatives
	// each other's "same person", the second one probable too).
	pairTFs := match.NewScorer(cfg.model, pairTF{tf, cfg.model}, n, year, cfg.th)
	pairTFs.Variants = cfg.variants
	pair := match.NewScorer(cfg.model, nil, n, year, cfg.th)
	memo := map[[2]int]float64{}
	qs.sc.Posterior(rs, func(i, j int) float64 {
		k := [2]int{min(i, j), max(i, j)}
		v, ok := memo[k]
		if !ok {
			r := pair.Score(&out[i].rec, &out[j].rec)
			if r.L[match.FBirth] == match.BirthExact {
				r = pairTFs.Score(&out[i].rec, &out[j].rec)
			}
			// Not rounded up to 1 when probable: a rival's remaining
			// share still counts. The top record often fits the query
			// far better (2^20 against 2^5), and 3 % of it is what keeps
			// a same-named relative of the household from probable too.
			if r.Guard == "" { // a twin or parent of the same name is someone else
				v = r.Probability
			}
			memo[k] = v
		}
		return v
	})
	for i := range out {
		out[i].r = rs[i]
	}
	// Sorted through an index: a scoredPatient is large, and moving
	// hundreds of them was a twentieth of a query's time.
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return candidateLess(&out[order[a]], &out[order[b]]) })
	qs.scored = make([]scoredPatient, len(out))
	for k, i := range order {
		qs.scored[k] = out[i]
	}
	return qs, nil
}

// candidateLess orders candidates best first. Probable first, and among
// probable records the best fitting (weight): several are probable
// together only when they are themselves one person registered twice
// (rivals share the probability), and then the record that fits the
// query best is the one to show first, though a third record resembling
// the other may leave it the lower posterior. Then by probability, then
// weight (finer than the rounded probability); equal: the record agreeing
// on more fields, then the older record.
func candidateLess(a, b *scoredPatient) bool {
	pa, pb := a.r.Level == idcards.MatchProbable, b.r.Level == idcards.MatchProbable
	if pa != pb {
		return pa
	}
	if pa && a.r.Weight != b.r.Weight {
		return a.r.Weight > b.r.Weight
	}
	if a.r.Probability != b.r.Probability {
		return a.r.Probability > b.r.Probability
	}
	if a.r.Weight != b.r.Weight {
		return a.r.Weight > b.r.Weight
	}
	ai, aj := agreements(a.r), agreements(b.r)
	if ai != aj {
		return ai > aj
	}
	return a.rec.ID < b.rec.ID
}

// roundProb keeps three decimals but never rounds a probability below 1 up
// to 1 (a clerk reads 1.000 as certainty).
func roundProb(p float64) float64 {
	r := math.Round(p*1000) / 1000
	if r >= 1 && p < 1 {
		return 0.999
	}
	return r
}

func agreements(r match.Result) int {
	n := 0
	for _, w := range r.W {
		if w > 0 {
			n++
		}
	}
	return n
}

// Blocked returns the ids of the active patients that blocking offers for
// np: the records the desk's check scores. A returning patient whose
// record is not among them cannot be found at any threshold, so this
// splits a miss into "never compared" and "compared, scored too low"
// (match-eval's blocking figure, the benchmark's pairs completeness).
func (s *Store) Blocked(ctx context.Context, np NewPatient) ([]int64, error) {
	cfg, err := s.matchConfig(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.syncMatchIndex(ctx, cfg.variants, nil); err != nil {
		return nil, err
	}
	q := match.Prepare(npPerson(np), match.PrepareOptions{Region: cfg.region, Variants: cfg.variants})
	ps, err := s.blocked(ctx, &q, s.Now().Year())
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.id
	}
	return ids, nil
}

// matchRow is a blocked patient's id and the fields matching compares.
type matchRow struct {
	id     int64
	person match.Person
}

// matchCols are the columns of patients that matching compares (scanned
// by scanMatchRow): a query scores hundreds of records at a million
// patients and shows five, so it reads the rest of a record (uuid,
// created_at and _by) for those five only.
const matchCols = `id, given_name, family_name, sex, coalesce(birth_date,''), birth_date_estimated, coalesce(phone,''), coalesce(village,'')`

func scanMatchRow(r scanner) (matchRow, error) {
	var m matchRow
	var sex string
	err := r.Scan(&m.id, &m.person.Given, &m.person.Family, &sex, &m.person.BirthDate, &m.person.BirthDateEstimated, &m.person.Phone, &m.person.Village)
	m.person.Sex = idcards.Sex(sex)
	return m, err
}

// blocked reads the active patients sharing a blocking key with q: one
// statement, a capped index-only subquery per lookup and year direction.
func (s *Store) blocked(ctx context.Context, q *match.Record, year int) ([]matchRow, error) {
	lookups := match.QueryLookups(q, year)
	if len(lookups) == 0 {
		return nil, nil
	}
	sub, args := blockedSQL(lookups)
	st, err := s.prepared(ctx, `SELECT `+matchCols+` FROM patients WHERE id IN (`+sub+`) AND merged_into IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	defer rows.Close()
	var out []matchRow
	for rows.Next() {
		m, err := scanMatchRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// blockedSQL is the union of capped index reads for lookups, and its
// arguments. The caps are written into the text, not bound: SQLite
// (3.45 and later) re-prepares a statement whenever a value bound to a
// LIMIT changes, in case the value changes the plan, and that parse was
// a sixth of a query's time at one million patients. A cap is one of a
// few per blocking pass (match.Passes), so the texts stay few and each
// is prepared once.
func blockedSQL(lookups []match.Lookup) (string, []any) {
	var b strings.Builder
	var args []any
	part := func(where string, order string, limit int) {
		if b.Len() > 0 {
			b.WriteString(" UNION ")
		}
		b.WriteString(`SELECT patient_id FROM (SELECT patient_id FROM match_keys WHERE k = ?`)
		b.WriteString(where)
		b.WriteString(order)
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.Itoa(limit))
		b.WriteString(`) AS b`)
	}
	for _, l := range lookups {
		switch {
		case l.Also != "":
			// The records of K also stored under Also: every key of a
			// record carries its birth year, so the probe is one primary
			// key lookup.
			if b.Len() > 0 {
				b.WriteString(" UNION ")
			}
			b.WriteString(`SELECT patient_id FROM (SELECT a.patient_id FROM (SELECT y, patient_id FROM match_keys WHERE k = ? LIMIT `)
			b.WriteString(strconv.Itoa(l.Scan))
			b.WriteString(`) AS a WHERE EXISTS (SELECT 1 FROM match_keys AS c WHERE c.k = ? AND c.y = a.y AND c.patient_id = a.patient_id) LIMIT `)
			b.WriteString(strconv.Itoa(l.Cap))
			b.WriteString(`) AS b`)
			args = append(args, l.K, l.Also)
		case l.Plain && l.Near != 0 && (l.Lo != 0 || l.Hi != 0):
			part(" AND y BETWEEN ? AND ?", "", l.Cap)
			args = append(args, l.K, l.Lo, l.Hi)
		case l.Plain:
			part("", "", l.Cap)
			args = append(args, l.K)
		case l.Near == 0:
			part("", "", 2*l.Cap)
			args = append(args, l.K)
		case l.Lo == 0 && l.Hi == 0:
			part(" AND y >= ?", " ORDER BY y", l.Cap)
			part(" AND y < ?", " ORDER BY y DESC", l.Cap)
			args = append(args, l.K, l.Near, l.K, l.Near)
		default:
			part(" AND y BETWEEN ? AND ?", " ORDER BY y", l.Cap)
			part(" AND y BETWEEN ? AND ?", " ORDER BY y DESC", l.Cap)
			part(" AND y = 0", "", max(1, l.Cap/2))
			args = append(args, l.K, l.Near, l.Hi, l.K, l.Lo, l.Near-1, l.K)
		}
	}
	return b.String(), args
}

// uSample is how many random patients refreshU reads; uPairs how many
// random pairs of them it compares.
const (
	uSample = 20_000
	uPairs  = 1_000_000
)

// refreshU measures u (the share of pairs of different people at each
// level) on random pairs of this registry's patients, Splink's "u by
// random sampling", and stores it with the model: when the registry first
// reaches 1,000 patients without a measured u, and whenever it has doubled
// since. m stays as it is (the defaults, or match-train's estimate).
func (s *Store) refreshU(ctx context.Context, v *match.Variants, force bool) error {
	var n int64
	if err := s.queryRow(ctx, `SELECT coalesce((SELECT n FROM match_tf WHERE field = ? AND value = ''), 0)`, tfCountField).Scan(&n); err != nil {
		return err
	}
	m, err := s.MatchModel(ctx)
	if err != nil {
		return err
	}
	if n < 1000 || (!force && m.Source != "default" && int(n) < 2*m.Records) {
		return nil
	}
	recs, err := s.sampleRecords(ctx, v, uSample)
	if err != nil || len(recs) < 100 {
		return err
	}
	u := match.EstimateU(recs, uPairs, s.Now().Year(), rand.New(rand.NewPCG(uint64(n), 7)))
	for f := range match.NumFields {
		m.Fields[f].U = u[f]
	}
	if m.Source == "default" {
		m.Source = "u"
	}
	m.Records = int(n)
	if m.TrainedAt == "" {
		m.TrainedAt = s.now()
	}
	return s.storeModel(ctx, m, v, "system", fmt.Sprintf("u measured on %d random pairs of %d patients", uPairs, len(recs)))
}

// sampleRecords reads about k random active patients.
func (s *Store) sampleRecords(ctx context.Context, v *match.Variants, k int) ([]match.Record, error) {
	var maxID int64
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM patients`).Scan(&maxID); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(maxID), 11))
	ids := make([]int64, 0, k)
	if int64(k) >= maxID {
		for i := int64(1); i <= maxID; i++ {
			ids = append(ids, i)
		}
	} else {
		seen := map[int64]bool{}
		for len(ids) < k {
			id := 1 + rng.Int64N(maxID)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	// In batches of a fixed size (the last padded with repeats), with
	// placeholders both engines read: json_each is SQLite's alone, and on
	// PostgreSQL the sample failed, so u was never measured there.
	const batch = 500
	slices.Sort(ids) // the sample in id order on both engines
	var qs strings.Builder
	qs.WriteString(`SELECT id, given_name, family_name, sex, coalesce(birth_date,''), birth_date_estimated, coalesce(phone,''), coalesce(village,'') FROM patients WHERE merged_into IS NULL AND id IN (?`)
	qs.WriteString(strings.Repeat(",?", batch-1) + ") ORDER BY id")
	st, err := s.prepared(ctx, qs.String())
	if err != nil {
		return nil, err
	}
	var out []match.Record
	args := make([]any, batch)
	for len(ids) > 0 {
		n := min(batch, len(ids))
		for i := range batch {
			args[i] = ids[min(i, n-1)]
		}
		ids = ids[n:]
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var p match.Person
			var sex string
			if err := rows.Scan(&id, &p.Given, &p.Family, &sex, &p.BirthDate, &p.BirthDateEstimated, &p.Phone, &p.Village); err != nil {
				rows.Close()
				return nil, err
			}
			p.Sex = idcards.Sex(sex)
			r := match.Prepare(p, match.PrepareOptions{Variants: v})
			r.ID = id
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// storeModel saves the model, audited.
func (s *Store) storeModel(ctx context.Context, m *match.Model, v *match.Variants, actor, detail string) error {
	if err := m.Check(); err != nil {
		return err
	}
	js, _ := json.Marshal(m)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO match_model(id, model, trained_at, keys) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET model = excluded.model, trained_at = excluded.trained_at, keys = excluded.keys`, string(js), m.TrainedAt, v.Fingerprint()); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, actor, "patients.match_model", m.Source, detail)
	})
}
