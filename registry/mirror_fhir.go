package registry

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/idcards/idcards"
)

// The mirror's copy of what a FHIR Patient without details shows
// (PatientRecord(…, false)): the patient's UUID, their active MRNs and
// their OpenMRS UUID, so an identifier search with a verify-scope token
// (scanapi's /fhir/Patient?identifier=) is answered without SQL, as
// /v1/ids is.
//
// The facts come from the same places as everything else the mirror
// holds: one read transaction at rebuild, then the verify_changes feed.
// Whenever the feed names an identifier, the patients it belonged to
// before and after are read again whole (PatientRecord, the statement the
// SQL path runs), and so is every patient the feed names: merges (0010),
// OpenMRS sync confirming or forgetting a registration and UUID changes
// (0017). Anything the copy cannot vouch for is answered from the file:
// an identifier put by miss (it may be newer than its patient's copy), a
// patient with an active MRN the mirror does not hold, an ambiguous
// OpenMRS UUID, a UUID not in canonical form.
//
// Memory: per patient a 16-byte UUID and two bytes of counts and flags, in
// a slice indexed by patient ID (IDs are SQLite rowids, so dense; 18 bytes
// per patient, without pointers); the lists of patients with more than one
// active MRN and OpenMRS UUIDs that differ from the patient's own are in
// small side maps.

// patients is the per-patient part of a Mirror (embedded in it; guarded
// by Mirror.mu).
type patients struct {
	pats   []mirrorPatient    // by patient ID; the zero value: not held
	multi  map[int64][]string // active MRNs, newest first, of patients with more than one
	remote map[int64]string   // OpenMRS UUID, when OpenMRS holds the patient under another

	recordHits atomic.Int64 // VerifyRecord answers from memory (for tests)
}

// mirrorPatient is one patient. The UUID is held as bytes: canonical
// lower-case UUIDs only, so formatting it gives back the stored text.
type mirrorPatient struct {
	uuid    [16]byte
	active  uint8 // active MRNs (their list is in multi when more than one)
	openmrs uint8 // omNone, omSame, omOther or omUnsure
}

const (
	omUnheld uint8 = iota // not held, or not vouched for: the file answers
	omNone                // not confirmed by sync: no OpenMRS UUID
	omSame                // OpenMRS holds the patient under the patient's own UUID
	omOther               // under the UUID in patients.remote
	omUnsure              // confirmations disagree: the file answers
)

// patient is the copy of patient id, if held.
func (m *patients) patient(id int64) (mirrorPatient, bool) {
	if id <= 0 || id >= int64(len(m.pats)) {
		return mirrorPatient{}, false
	}
	p := m.pats[id]
	return p, p.openmrs != omUnheld
}

// setPatient stores the copy of patient id. IDs far beyond those held
// (a sparse ID space, which SQLite's rowids are not unless rows were
// deleted or set by hand) are not held, to bound memory.
func (m *patients) setPatient(id int64, p mirrorPatient) {
	if id <= 0 {
		return
	}
	if id >= int64(len(m.pats)) {
		if p.openmrs == omUnheld || id >= 2*int64(len(m.pats))+1<<16 {
			return
		}
		m.pats = append(m.pats, make([]mirrorPatient, id+1-int64(len(m.pats)))...)
	}
	m.pats[id] = p
}

// parseUUID accepts only the canonical lower-case form (8-4-4-4-12). It
// runs for every patient when the mirror is built: no allocation.
func parseUUID[T ~string | ~[]byte](s T) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i-- // skip the dash
			continue
		}
		hi, lo := hexVal[s[i]], hexVal[s[i+1]]
		if hi|lo > 0x0f {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
	}
	return u, true
}

// hexVal is a lower-case hex digit's value, 0xff for anything else.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	return t
}()

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// loadPatients reads every patient's UUID and confirmed OpenMRS UUID, in
// rebuild's read transaction; the MRN counts follow from countMRN and
// loadMRNLists.
func (m *Mirror) loadPatients(ctx context.Context, conn *sql.Conn) error {
	var n, hi int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*), coalesce(max(id), 0) FROM patients`).Scan(&n, &hi); err != nil {
		return err
	}
	hi = min(hi, 4*n+1<<20) // beyond: not held (setPatient)
	m.pats = make([]mirrorPatient, hi+1, hi+1+hi/8)
	m.multi = map[int64][]string{}
	m.remote = map[int64]string{}
	rows, err := conn.QueryContext(ctx, `SELECT id, uuid FROM patients`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var uuid sql.RawBytes
		if err := rows.Scan(&id, &uuid); err != nil {
			rows.Close()
			return err
		}
		if u, ok := parseUUID(uuid); ok && id > 0 && id < int64(len(m.pats)) {
			m.pats[id] = mirrorPatient{uuid: u, openmrs: omNone}
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	// As qPatientRecord: a done register_patient row with a remote UUID.
	// Several that disagree: the statement's LIMIT 1 picks one, so the
	// file answers.
	rows, err = conn.QueryContext(ctx, `SELECT patient_id, remote_uuid FROM outbox
		WHERE kind = 'register_patient' AND state = 'done' AND remote_uuid IS NOT NULL AND patient_id IS NOT NULL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var remote sql.RawBytes
		if err := rows.Scan(&id, &remote); err != nil {
			return err
		}
		p, ok := m.patient(id)
		if !ok || p.openmrs == omUnsure {
			continue
		}
		u, canonical := parseUUID(remote)
		same := canonical && u == p.uuid
		switch {
		case p.openmrs == omNone && same:
			p.openmrs = omSame
		case p.openmrs == omNone:
			p.openmrs = omOther
			m.remote[id] = string(remote)
		case p.openmrs == omSame && same, p.openmrs == omOther && m.remote[id] == string(remote):
		default:
			p.openmrs = omUnsure
			delete(m.remote, id)
		}
		m.pats[id] = p
	}
	return rows.Err()
}

// countMRN counts an identifiers row read by rebuild (after put) towards
// its patient's active MRNs.
func (m *Mirror) countMRN(r idRow) {
	if r.state != string(idcards.IDActive) || r.patientID == 0 {
		return
	}
	p, ok := m.patient(r.patientID)
	if !ok {
		return
	}
	k, fits := keyOf(r.mrn)
	if _, held := m.ids[k]; !fits || !held || p.active == 255 {
		p.openmrs = omUnheld // the feed could change this MRN without naming the patient
	} else {
		p.active++
	}
	m.pats[r.patientID] = p
}

// loadMRNLists reads, in rebuild's transaction, the MRN lists of the
// patients with more than one active MRN, in qPatientRecord's order.
func (m *Mirror) loadMRNLists(ctx context.Context, conn *sql.Conn) error {
	var ids []int64
	for id, p := range m.pats {
		if p.active > 1 && p.openmrs != omUnheld {
			ids = append(ids, int64(id))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	st, err := conn.PrepareContext(ctx, `SELECT mrn FROM identifiers WHERE patient_id = ? AND state = 'active' ORDER BY issued_at DESC, mrn DESC`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, id := range ids {
		rows, err := st.QueryContext(ctx, id)
		if err != nil {
			return err
		}
		var list []string
		for rows.Next() {
			var mrn string
			if err := rows.Scan(&mrn); err != nil {
				rows.Close()
				return err
			}
			list = append(list, mrn)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if p := m.pats[id]; len(list) == int(p.active) {
			m.multi[id] = list
		} else {
			p.openmrs = omUnheld
			m.pats[id] = p
		}
	}
	return nil
}

// unhold marks a patient whose active MRN rebuild dropped.
func (m *Mirror) unhold(pid int64) {
	if p, ok := m.patient(pid); ok {
		p.openmrs = omUnheld
		m.pats[pid] = p
	}
}

// patientsOf is the set of patients whose copies a feed batch may change:
// those it names, and those its identifiers belong to now (in this copy).
// apply adds the ones they belong to after the batch.
func (m *Mirror) patientsOf(mrns map[string]bool, pats map[int64]bool) map[int64]bool {
	people := make(map[int64]bool, len(mrns)+len(pats))
	for pid := range pats {
		people[pid] = true
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for mrn := range mrns {
		if k, ok := keyOf(mrn); ok {
			if e, held := m.ids[k]; held && e.patientID != 0 {
				people[e.patientID] = true
			}
		}
	}
	return people
}

// readPatients reads the records of these patients from the file; a
// patient no longer there maps to nil.
func (m *Mirror) readPatients(ctx context.Context, people map[int64]bool) (map[int64]*PatientRecord, error) {
	recs := make(map[int64]*PatientRecord, len(people))
	for pid := range people {
		rec, err := m.s.PatientRecord(ctx, pid, false)
		switch {
		case idcards.ErrorKind(err) == idcards.NotFound:
			recs[pid] = nil
		case err != nil:
			return nil, fmt.Errorf("registry: mirror: patient %d: %w", pid, err)
		default:
			recs[pid] = &rec
		}
	}
	return recs, nil
}

// setPatients stores records read by readPatients; the caller holds mu
// and has applied the identifiers of the same batch.
func (m *Mirror) setPatients(recs map[int64]*PatientRecord) {
	for pid, rec := range recs {
		delete(m.multi, pid)
		delete(m.remote, pid)
		p := mirrorPatient{}
		if rec == nil {
			m.setPatient(pid, p)
			continue
		}
		u, ok := parseUUID(rec.Patient.UUID)
		if ok && len(rec.MRNs) < 256 {
			p = mirrorPatient{uuid: u, active: uint8(len(rec.MRNs))}
			switch {
			case rec.OpenMRSUUID == "":
				p.openmrs = omNone
			case rec.OpenMRSUUID == rec.Patient.UUID:
				p.openmrs = omSame
			default:
				p.openmrs = omOther
				m.remote[pid] = rec.OpenMRSUUID
			}
			for _, mrn := range rec.MRNs {
				k, fits := keyOf(mrn)
				if _, held := m.ids[k]; !fits || !held {
					p.openmrs = omUnheld
				}
			}
			switch {
			case p.openmrs == omUnheld:
				delete(m.remote, pid)
			case len(rec.MRNs) > 1:
				m.multi[pid] = rec.MRNs
			}
		}
		m.setPatient(pid, p)
	}
}

// recordLocked fills rec with the record of the patient holding the
// active identifier e (key k) if this copy vouches for it; the caller
// holds mu for reading.
func (m *Mirror) recordLocked(k mrnKey, e mirrorID, rec *PatientRecord) bool {
	if e.state != stActive || e.patientID == 0 || e.fromMiss {
		return false
	}
	p, ok := m.patient(e.patientID)
	if !ok || p.openmrs == omUnsure || p.active == 0 {
		return false
	}
	mrn := string(k.b[:k.n])
	*rec = PatientRecord{Patient: idcards.Patient{ID: e.patientID, UUID: formatUUID(p.uuid), Sex: idcards.SexUnknown, MergedInto: m.merged[e.patientID]}}
	if p.active == 1 {
		rec.MRNs = []string{mrn} // its only active MRN is this one
	} else {
		list := m.multi[e.patientID]
		if !slices.Contains(list, mrn) {
			return false
		}
		rec.MRNs = slices.Clone(list)
	}
	switch p.openmrs {
	case omSame:
		rec.OpenMRSUUID = rec.Patient.UUID
	case omOther:
		rec.OpenMRSUUID = m.remote[e.patientID]
	}
	if into := rec.Patient.MergedInto; into != 0 {
		q, ok := m.patient(into)
		if !ok {
			return false
		}
		rec.MergedIntoUUID = formatUUID(q.uuid)
	}
	return true
}

// VerifyRecord answers VerifyScan(ctx, raw, false) and, when the code is
// an active identifier of a patient, that patient's PatientRecord(ctx, id,
// false) (nil otherwise, or if the patient is gone): what an identifier
// search of /fhir/ needs for a token without read:patient. Both come from
// memory where the mirror holds them, else from the file.
func (m *Mirror) VerifyRecord(ctx context.Context, raw string) (idcards.Verification, *PatientRecord, error) {
	var rec PatientRecord
	v, ok, err := m.verify(ctx, raw, false, &rec)
	switch {
	case err != nil:
		return v, nil, err
	case ok:
		m.recordHits.Add(1)
		return v, &rec, nil
	}
	r, err := m.s.recordOf(ctx, v)
	return v, r, err
}

// VerifyRecord is Mirror.VerifyRecord read from the file.
func (s *Store) VerifyRecord(ctx context.Context, raw string) (idcards.Verification, *PatientRecord, error) {
	v, err := s.VerifyScan(ctx, raw, false)
	if err != nil {
		return v, nil, err
	}
	r, err := s.recordOf(ctx, v)
	return v, r, err
}

// recordOf is the record VerifyRecord returns with v.
func (s *Store) recordOf(ctx context.Context, v idcards.Verification) (*PatientRecord, error) {
	id := v.Identifier
	if id == nil || id.State != idcards.IDActive || id.PatientID == 0 {
		return nil, nil
	}
	rec, err := s.PatientRecord(ctx, id.PatientID, false)
	if idcards.ErrorKind(err) == idcards.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rec, nil
}
