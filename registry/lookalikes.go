package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// OpenMRSLookalikes scores people, the OpenMRS patients a name search
// found before sync creates registry patient patientID there, the way the
// desk's duplicate check scores the registry's own records (this
// registry's model, thresholds and name frequencies; the people found
// are each other's rivals). It returns those at possible or above, best
// first. Left out are OpenMRS patients that are records of this registry
// (their uuid is one of ours: the desk's check and the review list cover
// those) and people a supervisor judged someone else for this patient
// (JudgeLookalike).
func (s *Store) OpenMRSLookalikes(ctx context.Context, patientID int64, people []idcards.Patient) ([]idcards.Candidate, error) {
	if _, err := idcards.Require(ctx, idcards.PermSync); err != nil {
		return nil, err
	}
	if len(people) == 0 {
		return nil, nil
	}
	p, err := scanPatient(s.db.QueryRowContext(ctx, `SELECT `+patientCols+` FROM patients WHERE id = ?`, patientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, idcards.Errorf(idcards.NotFound, "no patient with id %d", patientID)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: look-alikes: %w", err)
	}
	skip := map[string]bool{}
	if err := addStrings(ctx, s.db, skip, `SELECT remote_uuid FROM openmrs_judgements WHERE patient_id = ? AND status = 'different'`, patientID); err != nil {
		return nil, fmt.Errorf("registry: look-alikes: %w", err)
	}
	// Records of this registry, in one query (a common name's search
	// finds a page of them).
	args := make([]any, len(people))
	for i, x := range people {
		args[i] = x.UUID
	}
	if err := addStrings(ctx, s.db, skip, `SELECT uuid FROM patients WHERE uuid IN (?`+strings.Repeat(",?", len(people)-1)+`)`, args...); err != nil {
		return nil, fmt.Errorf("registry: look-alikes: %w", err)
	}
	byID := map[int64]idcards.Patient{}
	var pats []matchRow
	for i, x := range people {
		if x.UUID == p.UUID || skip[x.UUID] {
			continue
		}
		id := -int64(i + 1) // not a registry id
		byID[id] = x
		pats = append(pats, matchRow{id, toPerson(x)})
	}
	if len(pats) == 0 {
		return nil, nil
	}
	qs, err := s.prepareQuery(ctx, newPatientOf(p))
	if err != nil {
		return nil, err
	}
	if qs, err = s.scoreRows(ctx, qs, pats, nil); err != nil {
		return nil, err
	}
	var out []idcards.Candidate
	for _, o := range qs.scored {
		if o.r.Level == "" {
			continue
		}
		ev := qs.sc.Explain(&qs.q, &o.rec, o.r)
		out = append(out, idcards.Candidate{Patient: byID[o.rec.ID], Score: roundProb(o.r.Probability), Level: o.r.Level,
			Reasons: match.Reasons(ev), Weight: math.Round(o.r.Weight*10) / 10, Evidence: ev})
	}
	return out, nil
}

// JudgeLookalike resolves a look-alike conflict (idcards.ConflictLookalike)
// with a supervisor's judgement and note.
//
// same: the registry patient is the OpenMRS patient, whose details the
// caller read from OpenMRS just now (remote: names, sex, birth date,
// village; it must be the conflict's OpenMRS patient). The registry
// patient takes that patient's uuid and its details (OpenMRS is the
// clinic's record; a field OpenMRS leaves empty keeps the desk's value,
// and the phone stays), the held registration is closed as done (OpenMRS
// holds the person already) and the patient's MRNs queued with it go onto
// the OpenMRS record. Refused when the OpenMRS patient is already another
// record of this registry (merge the two here instead), or when the
// registry patient was merged into another since (that record carries the
// MRNs now).
//
// Otherwise the two are different people: the judgement is kept, so that
// OpenMRS patient is not raised again for this patient, and the
// registration is queued again (another look-alike found then is a new
// conflict).
func (s *Store) JudgeLookalike(ctx context.Context, id int64, same bool, note string, rp *idcards.Patient) error {
	a, err := idcards.Require(ctx, idcards.PermResolve)
	if err != nil {
		return err
	}
	note = strings.TrimSpace(note)
	if note == "" {
		return idcards.Errorf(idcards.Invalid, "resolving conflict %d needs a note saying how you decided (e.g. \"same mother's name and village, asked the patient\")", id)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var kind, ident, remote string
		var pid, outbox int64
		err := tx.QueryRowContext(ctx, `SELECT kind, identifier, coalesce(local_patient_id,0), coalesce(remote_patient_uuid,''), coalesce(outbox_id,0)
			FROM sync_conflicts WHERE id = ? AND resolved_at IS NULL`, id).Scan(&kind, &ident, &pid, &remote, &outbox)
		if errors.Is(err, sql.ErrNoRows) {
			return idcards.Errorf(idcards.NotFound, "no open conflict %d (see idcards sync conflicts)", id)
		}
		if err != nil {
			return err
		}
		if kind != idcards.ConflictLookalike || pid == 0 || remote == "" {
			return idcards.Errorf(idcards.Invalid, "conflict %d is not a possible second record of one person: resolve it with --note [--retry]", id)
		}
		p, err := scanPatient(tx.QueryRowContext(ctx, `SELECT `+patientCols+` FROM patients WHERE id = ?`, pid))
		if err != nil {
			return err
		}
		puuid := p.UUID
		now := s.now()
		action, detail := "sync.resolve", fmt.Sprintf("patient %d is not OpenMRS patient %s (queued again): %s", pid, remote, note)
		if same {
			if p.MergedInto != 0 {
				return idcards.Errorf(idcards.Conflict, "patient %d was merged into patient %d since: that record carries the MRNs now. Close this conflict with --note \"merged\" --retry (the held registration is then settled), and check that record against OpenMRS patient %s", pid, p.MergedInto, remote)
			}
			if rp == nil || rp.UUID != remote {
				return idcards.Errorf(idcards.Invalid, "linking conflict %d needs OpenMRS patient %s as OpenMRS has it now", id, remote)
			}
			var other int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM patients WHERE uuid = ?`, remote).Scan(&other)
			if err == nil {
				return idcards.Errorf(idcards.Conflict, "OpenMRS patient %s is already patient %d of this registry: if the two are one person, merge them here (idcards patients merge %s %s: the first is merged into the second), then resolve this conflict with --note",
					remote, other, s.firstMRN(ctx, tx, pid), s.firstMRN(ctx, tx, other))
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE patients SET uuid = ?, updated_at = ? WHERE id = ?`, remote, now, pid); err != nil {
				return err
			}
			// OpenMRS's details become the registry's, so that the desk,
			// the card and the chart agree, and a later correction at the
			// desk sends only what was corrected.
			q := p
			q.UUID = remote
			if g, f := strings.TrimSpace(rp.GivenName), strings.TrimSpace(rp.FamilyName); g != "" && f != "" {
				q.GivenName, q.FamilyName = g, f
			}
			if rp.Sex == idcards.SexMale || rp.Sex == idcards.SexFemale || rp.Sex == idcards.SexOther {
				q.Sex = rp.Sex
			}
			if rp.BirthDate != "" {
				q.BirthDate, q.BirthDateEstimated = rp.BirthDate, rp.BirthDateEstimated
			}
			if v := strings.TrimSpace(rp.Village); v != "" {
				q.Village = v
			}
			var took []string
			for _, c := range PatientChanges(p, q) {
				took = append(took, fmt.Sprintf("%s %q -> %q", c.Field, c.Old, c.New))
			}
			if len(took) > 0 {
				if err := s.updatePatient(ctx, tx, q); err != nil {
					return err
				}
			}
			if outbox != 0 {
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'done', done_at = ?, remote_uuid = ?, last_error = NULL, next_attempt_at = NULL
					WHERE id = ? AND state = 'conflict'`, now, remote, outbox); err != nil {
					return err
				}
			}
			action, detail = "sync.link", fmt.Sprintf("patient %d (uuid was %s) is OpenMRS patient %s: its MRNs go onto that record: %s", pid, puuid, remote, note)
			if len(took) > 0 {
				detail += "; details from OpenMRS: " + strings.Join(took, "; ")
			}
		} else if outbox != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', next_attempt_at = NULL WHERE id = ? AND state = 'conflict'`, outbox); err != nil {
				return err
			}
		}
		// The patient's other queued changes (its MRNs, waiting for the
		// patient to reach OpenMRS) are due at the next sync, not after
		// their back-off.
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = NULL WHERE patient_id = ? AND state = 'pending'`, pid); err != nil {
			return err
		}
		status := map[bool]string{true: "same", false: "different"}[same]
		if _, err := tx.ExecContext(ctx, `INSERT INTO openmrs_judgements(patient_id, remote_uuid, status, judged_by, judged_at) VALUES (?,?,?,?,?)
			ON CONFLICT(patient_id, remote_uuid) DO UPDATE SET status = excluded.status, judged_by = excluded.judged_by, judged_at = excluded.judged_at`,
			pid, remote, status, a.Name, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sync_conflicts SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ?`,
			now, a.Name, status+" person: "+note, id); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, a.Name, action, ident, detail)
	})
}

// firstMRN is a patient's first active MRN, or "patient N" without one.
func (s *Store) firstMRN(ctx context.Context, tx *sql.Tx, id int64) string {
	var m string
	if err := tx.QueryRowContext(ctx, `SELECT mrn FROM identifiers WHERE patient_id = ? AND state = 'active' ORDER BY mrn LIMIT 1`, id).Scan(&m); err != nil {
		return fmt.Sprintf("patient-%d", id)
	}
	return m
}

// addStrings adds the one-column result of query to set.
func addStrings(ctx context.Context, q queryer, set map[string]bool, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		set[v] = true
	}
	return rows.Err()
}
