package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// Mirror is an in-memory copy of what Verify reads about each issued
// identifier, for the scanner endpoint, where one SQLite statement per
// request is most of the cost. It answers through the same steps as
// Verify (prepare, parseCode, decide); only the facts come from memory:
//
//   - it is built from one read transaction and then follows the
//     verify_changes feed (filled by triggers on identifiers, cards and
//     patients, so every writer, in any process, is covered) every
//     MirrorLag, so another desk's void or reprint is seen within about
//     that long;
//   - an identifier it does not hold (issued since, or never) is looked up
//     in the file by Store.Verify and, if found, kept;
//   - codes with a card serial, legacy IDs, and patient details (only
//     read:patient tokens get them) are read from the file;
//   - it also holds what a FHIR Patient without details shows of each
//     patient (UUID, OpenMRS UUID, active MRNs), for VerifyRecord; see
//     mirror_fhir.go.
//
// Memory is about 170 bytes per identifier plus about 20 per patient, none
// of it scanned by the garbage collector (BenchmarkMirrorVerify1M).
type Mirror struct {
	s    *Store
	lag  time.Duration
	logf func(format string, args ...any)

	mu        sync.RWMutex
	ids       map[mrnKey]mirrorID
	voids     map[mrnKey]string // void reasons, for voided IDs
	merged    map[int64]int64   // patient → the patient it was merged into
	patients                    // mirror_fhir.go: per patient, for VerifyRecord
	hasLegacy bool
	names     []string          // issued_by values, by index
	nameIdx   map[string]uint16 // and their indexes
	seq       int64             // last verify_changes row applied
	disputes  map[mrnKey]string // open sync conflicts over an ID: the first one's kind and detail (verifyFacts.dispute)
	disputeAt string            // what disputes was read at (refreshDisputes)

	refreshing sync.Mutex // one Refresh at a time: an older read must not overwrite a newer one
	polls      atomic.Int64
	notified   atomic.Int64 // mirror_listen.go: NOTIFYs received (PostgreSQL)
	trimming   atomic.Bool
	trims      sync.WaitGroup
	stop       chan struct{}
	stopped    chan struct{}
}

// mirrorID is one identifier's row, as Verify reads it, packed: a million
// of them are held. Neither it nor mrnKey holds a pointer, so the garbage
// collector never scans the map (a 1M-entry map of strings cost every GC
// cycle a scan of ~150 MB, which showed in the endpoint's tail latency).
// The rare void reasons live in a side map.
type mirrorID struct {
	state     idState
	legacy    bool
	fromMiss  bool   // put by miss, not yet by the feed or a rebuild (mirror_fhir.go)
	issuedBy  uint16 // index into Mirror.names
	patientID int64
	issued    int64                   // issued_at, Unix microseconds
	card      [barcode.SerialLen]byte // current (active) card serial; zero: none
}

// mrnKey is an MRN as a fixed-size value. Longer MRNs are not held (they
// are looked up in the file).
type mrnKey struct {
	n uint8
	b [31]byte
}

func keyOf(mrn string) (mrnKey, bool) {
	var k mrnKey
	if len(mrn) > len(k.b) {
		return k, false
	}
	k.n = uint8(copy(k.b[:], mrn))
	return k, true
}

func (e *mirrorID) cardSerial() string {
	if e.card[0] == 0 {
		return ""
	}
	return string(e.card[:])
}

type idState uint8

const (
	stUnassigned idState = iota
	stActive
	stVoided
	stOther
)

var stateNames = [...]string{stUnassigned: "unassigned", stActive: "active", stVoided: "voided"}

func toState(s string) idState {
	for i, n := range stateNames {
		if n == s {
			return idState(i)
		}
	}
	return stOther
}

// MirrorLag is how often a Mirror reads the change feed.
const MirrorLag = 50 * time.Millisecond

// mirrorKeep is how many feed rows are kept for mirrors that fell behind;
// one that falls further behind rebuilds itself.
const mirrorKeep = 100_000

// NewMirror builds a mirror of s and keeps it current until Close. Errors
// while following the feed go to logf (nil: dropped); the mirror then
// answers from what it has until a read succeeds.
func NewMirror(ctx context.Context, s *Store, logf func(format string, args ...any)) (*Mirror, error) {
	m := &Mirror{s: s, lag: MirrorLag, logf: logf, stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := m.rebuild(ctx); err != nil {
		return nil, err
	}
	if err := m.refreshDisputes(ctx); err != nil {
		return nil, err
	}
	go m.follow()
	return m, nil
}

// Close stops following the feed.
func (m *Mirror) Close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.stopped
	m.trims.Wait()
}

// Len is the number of identifiers held.
func (m *Mirror) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.ids)
}

func (m *Mirror) follow() {
	defer close(m.stopped)
	kick, stopListening := m.listen() // mirror_listen.go: LISTEN/NOTIFY on PostgreSQL; nil on SQLite
	defer stopListening()
	t := time.NewTicker(m.pollEvery())
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		case <-kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := m.Refresh(ctx); err != nil && m.logf != nil {
			m.logf("mirror: %v (answers may lag until the next read succeeds)", err)
		}
		cancel()
		if m.polls.Add(1)%1200 == 0 && m.trimming.CompareAndSwap(false, true) {
			m.trims.Add(1)
			go func() {
				defer m.trims.Done()
				defer m.trimming.Store(false)
				m.trim()
			}()
		}
	}
}

// idRow is one identifiers row as read from the file.
type idRow struct {
	mrn, state, issued, issuedBy, voidReason, card string
	patientID                                      int64
	legacy                                         bool
}

// put stores r; the caller holds mu (or owns m before it is shared).
// States other than the three known ones, or more than 65,535 distinct
// issuers, are not held: such an MRN is looked up in the file.
func (m *Mirror) put(r idRow) {
	st := toState(r.state)
	idx, ok := m.nameIdx[r.issuedBy]
	if !ok && len(m.names) < 1<<16 {
		idx, ok = uint16(len(m.names)), true
		m.names = append(m.names, r.issuedBy)
		m.nameIdx[r.issuedBy] = idx
	}
	k, fits := keyOf(r.mrn)
	if !fits {
		return
	}
	e := mirrorID{state: st, legacy: r.legacy, issuedBy: idx, patientID: r.patientID, issued: parseTime(r.issued).UnixMicro()}
	if st == stOther || !ok || !e.setCard(r.card) {
		m.drop(r.mrn)
		return
	}
	m.ids[k] = e
	if r.voidReason != "" {
		m.voids[k] = r.voidReason
	} else {
		delete(m.voids, k)
	}
}

// setCard records serial as the current card; false if it does not fit.
func (e *mirrorID) setCard(serial string) bool {
	if serial == "" {
		e.card = [barcode.SerialLen]byte{}
		return true
	}
	if len(serial) != len(e.card) {
		return false
	}
	copy(e.card[:], serial)
	return true
}

func (m *Mirror) drop(mrn string) {
	if k, ok := keyOf(mrn); ok {
		delete(m.ids, k)
		delete(m.voids, k)
	}
}

// rebuild reads everything in one read transaction (readers never block
// the desks' writers in WAL mode).
func (m *Mirror) rebuild(ctx context.Context) (err error) {
	conn, err := m.s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, m.s.dialect.beginRead); err != nil { // deferred: a read transaction
		return fmt.Errorf("registry: mirror: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	var seq, n int64
	var legacy bool
	if err := conn.QueryRowContext(ctx, `SELECT coalesce((SELECT max(seq) FROM verify_changes), 0), (SELECT count(*) FROM identifiers),
		EXISTS (SELECT 1 FROM identifiers WHERE series_id IS NULL)`).Scan(&seq, &n, &legacy); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	fresh := &Mirror{ids: make(map[mrnKey]mirrorID, n), voids: map[mrnKey]string{}, merged: map[int64]int64{}, nameIdx: map[string]uint16{}}
	if err := fresh.loadPatients(ctx, conn); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT mrn, state, coalesce(patient_id, 0), legacy, issued_at, issued_by, coalesce(void_reason, '') FROM identifiers`)
	if err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	for rows.Next() {
		var r idRow
		if err := rows.Scan(&r.mrn, &r.state, &r.patientID, &r.legacy, &r.issued, &r.issuedBy, &r.voidReason); err != nil {
			rows.Close()
			return fmt.Errorf("registry: mirror: %w", err)
		}
		fresh.put(r)
		fresh.countMRN(r)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	if err := fresh.loadMRNLists(ctx, conn); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	// The current card is the newest active one (as in qVerify).
	rows, err = conn.QueryContext(ctx, `SELECT mrn, serial FROM cards WHERE state = 'active' ORDER BY printed_at`)
	if err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	for rows.Next() {
		var mrn, serial string
		if err := rows.Scan(&mrn, &serial); err != nil {
			rows.Close()
			return fmt.Errorf("registry: mirror: %w", err)
		}
		k, _ := keyOf(mrn)
		if e, ok := fresh.ids[k]; ok {
			if e.setCard(serial) {
				fresh.ids[k] = e
			} else {
				fresh.drop(mrn)
				fresh.unhold(e.patientID)
			}
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	rows, err = conn.QueryContext(ctx, `SELECT id, merged_into FROM patients WHERE merged_into IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	for rows.Next() {
		var id, into int64
		if err := rows.Scan(&id, &into); err != nil {
			rows.Close()
			return fmt.Errorf("registry: mirror: %w", err)
		}
		fresh.merged[id] = into
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	m.mu.Lock()
	m.ids, m.voids, m.merged, m.names, m.nameIdx = fresh.ids, fresh.voids, fresh.merged, fresh.names, fresh.nameIdx
	m.pats, m.multi, m.remote = fresh.pats, fresh.multi, fresh.remote
	m.hasLegacy, m.seq = legacy, seq
	m.mu.Unlock()
	return nil
}

const qMirrorID = `SELECT state, coalesce(patient_id, 0), legacy, issued_at, issued_by, coalesce(void_reason, ''),
	coalesce((SELECT serial FROM cards WHERE mrn = i.mrn AND state = 'active' ORDER BY printed_at DESC LIMIT 1), '')
	FROM identifiers i WHERE mrn = ?`

// Refresh applies the changes fed since the last one, and picks up a
// changed series table. It runs every MirrorLag on its own; tests call it
// to catch up at once.
func (m *Mirror) Refresh(ctx context.Context) error {
	m.refreshing.Lock()
	defer m.refreshing.Unlock()
	if err := m.checkSeries(ctx); err != nil {
		return err
	}
	if err := m.refreshDisputes(ctx); err != nil {
		return err
	}
	m.mu.RLock()
	after := m.seq
	m.mu.RUnlock()
	var hi int64
	if err := m.s.queryRow(ctx, `SELECT coalesce(max(seq), 0) FROM verify_changes`).Scan(&hi); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	switch {
	case hi < after:
		// A different file (seqs never go back: AUTOINCREMENT).
		return m.rebuild(ctx)
	case hi == after:
		return nil
	}
	st, err := m.s.prepared(ctx, `SELECT seq, coalesce(mrn, ''), coalesce(patient_id, 0) FROM verify_changes WHERE seq > ? ORDER BY seq LIMIT 5000`)
	if err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	for after < hi {
		rows, err := st.QueryContext(ctx, after)
		if err != nil {
			return fmt.Errorf("registry: mirror: %w", err)
		}
		mrns := map[string]bool{}
		pats := map[int64]bool{}
		last := after
		gap := false
		for rows.Next() {
			var seq int64
			var mrn string
			var pid int64
			if err := rows.Scan(&seq, &mrn, &pid); err != nil {
				rows.Close()
				return fmt.Errorf("registry: mirror: %w", err)
			}
			// Writers are serialised and a seq is never reused, so the
			// feed is contiguous unless rows were deleted (trimmed by
			// another mirror, or by hand) before this one read them.
			if seq != last+1 {
				gap = true
				break
			}
			last = seq
			if mrn != "" {
				mrns[mrn] = true
			}
			if pid != 0 {
				pats[pid] = true
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("registry: mirror: %w", err)
		}
		if gap {
			return m.rebuild(ctx)
		}
		if last == after {
			break
		}
		if err := m.apply(ctx, mrns, pats, last); err != nil {
			return err
		}
		after = last
	}
	return nil
}

// refreshDisputes re-reads the open sync conflicts when they changed (a
// conflict added or resolved changes the count of open ones or the
// largest id): they are few, and not fed through verify_changes.
func (m *Mirror) refreshDisputes(ctx context.Context) error {
	var open, last int64
	if err := m.s.queryRow(ctx, `SELECT (SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL), coalesce((SELECT max(id) FROM sync_conflicts), 0)`).Scan(&open, &last); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	at := fmt.Sprint(open, "/", last)
	m.mu.RLock()
	same := at == m.disputeAt
	m.mu.RUnlock()
	if same {
		return nil
	}
	rows, err := m.s.db.QueryContext(ctx, `SELECT identifier, kind || ' ' || detail FROM sync_conflicts WHERE resolved_at IS NULL ORDER BY id DESC`)
	if err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	defer rows.Close()
	d := map[mrnKey]string{}
	for rows.Next() {
		var mrn, detail string
		if err := rows.Scan(&mrn, &detail); err != nil {
			return fmt.Errorf("registry: mirror: %w", err)
		}
		if k, ok := keyOf(mrn); ok {
			d[k] = detail // newest first: the oldest, as Verify's, wins
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("registry: mirror: %w", err)
	}
	m.mu.Lock()
	m.disputes, m.disputeAt = d, at
	m.mu.Unlock()
	return nil
}

// apply re-reads the named identifiers and patients and records that the
// feed was applied up to seq.
func (m *Mirror) apply(ctx context.Context, mrns map[string]bool, pats map[int64]bool, seq int64) error {
	type got struct {
		r     idRow
		found bool
	}
	read := make(map[string]got, len(mrns))
	legacy := false
	people := m.patientsOf(mrns, pats) // mirror_fhir.go: whose records to re-read
	for mrn := range mrns {
		r := idRow{mrn: mrn}
		err := m.s.queryRow(ctx, qMirrorID, mrn).Scan(&r.state, &r.patientID, &r.legacy, &r.issued, &r.issuedBy, &r.voidReason, &r.card)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			read[mrn] = got{}
		case err != nil:
			return fmt.Errorf("registry: mirror: %s: %w", mrn, err)
		default:
			read[mrn] = got{r, true}
		}
	}
	if len(mrns) > 0 {
		if err := m.s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identifiers WHERE series_id IS NULL)`).Scan(&legacy); err != nil {
			return fmt.Errorf("registry: mirror: %w", err)
		}
	}
	merged := make(map[int64]int64, len(pats))
	for pid := range pats {
		var into int64
		err := m.s.queryRow(ctx, `SELECT coalesce(merged_into, 0) FROM patients WHERE id = ?`, pid).Scan(&into)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("registry: mirror: patient %d: %w", pid, err)
		}
		merged[pid] = into
	}
	for _, g := range read {
		if g.found && g.r.patientID != 0 {
			people[g.r.patientID] = true
		}
	}
	recs, err := m.readPatients(ctx, people)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for mrn, g := range read {
		if g.found {
			m.put(g.r)
		} else {
			m.drop(mrn)
		}
	}
	for pid, into := range merged {
		if into == 0 {
			delete(m.merged, pid)
		} else {
			m.merged[pid] = into
		}
	}
	m.setPatients(recs) // after the identifiers: it checks they are held
	if len(mrns) > 0 {
		m.hasLegacy = legacy
	}
	m.seq = seq
	return nil
}

// checkSeries reloads the codecs when another process changed the series.
func (m *Mirror) checkSeries(ctx context.Context) error {
	var sig string
	if err := m.s.queryRow(ctx, `SELECT `+qSeriesSig).Scan(&sig); err != nil {
		return fmt.Errorf("registry: mirror: series: %w", err)
	}
	if sc := m.s.series.Load(); sc == nil || sc.sig != sig {
		_, err := m.s.reloadSeries(ctx)
		return err
	}
	return nil
}

// trim deletes feed rows far behind the newest, now and then. It is a
// write, so it runs outside Refresh (a busy registry must not stall the
// feed: it has its own goroutine) and gives up quickly; the next attempt
// comes a minute later.
func (m *Mirror) trim() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = m.s.db.ExecContext(ctx, `DELETE FROM verify_changes WHERE seq <= (SELECT max(seq) FROM verify_changes) - ?`, mirrorKeep)
}

// VerifyScan answers like Store.Verify, from memory where it can.
// withPatient asks for the patient's details on an active ID (read from
// the file); without it v.Patient is nil.
func (m *Mirror) VerifyScan(ctx context.Context, raw string, withPatient bool) (idcards.Verification, error) {
	v, _, err := m.verify(ctx, raw, withPatient, nil)
	return v, err
}

// verify is VerifyScan; with rec, it also fills in the record of the
// patient holding an active code from memory (VerifyRecord) and says
// whether it could.
func (m *Mirror) verify(ctx context.Context, raw string, withPatient bool, rec *PatientRecord) (idcards.Verification, bool, error) {
	s := m.s
	v, n, serial, done := s.prepare(raw)
	if done {
		return v, false, nil
	}
	if serial != "" {
		v, err := s.VerifyScan(ctx, raw, withPatient)
		return v, false, err
	}
	sc, err := s.seriesCodecs(ctx)
	if err != nil {
		return v, false, err
	}
	ok, perr := parseCode(sc, &v, n)
	k, fits := keyOf(v.Code)
	if ok && !fits {
		v, err := s.VerifyScan(ctx, raw, withPatient) // too long to be held
		return v, false, err
	}
	m.mu.RLock()
	e, held := m.ids[k]
	merged := m.merged[e.patientID]
	legacy := m.hasLegacy
	var issuedBy, voidReason string
	if held {
		issuedBy = m.names[e.issuedBy]
		if e.state == stVoided {
			voidReason = m.voids[k]
		}
	}
	recorded := ok && held && rec != nil && m.recordLocked(k, e, rec)
	dispute, disputed := m.disputes[k]
	m.mu.RUnlock()
	switch {
	case !ok && legacy:
		v, err := s.VerifyScan(ctx, raw, withPatient)
		return v, false, err
	case !ok:
		parseFailure(sc, &v, n, perr)
		if poolShaped(sc, &v, perr) {
			// Perhaps a pool number a restore lost: the file knows.
			v, err := s.VerifyScan(ctx, raw, withPatient)
			return v, false, err
		}
		return v, false, nil
	case !held:
		v, err := m.miss(ctx, raw, withPatient)
		return v, false, err
	}
	f := facts{found: true, state: stateNames[e.state], current: sql.NullString{String: e.cardSerial(), Valid: e.card[0] != 0}}
	f.id = idcards.Identifier{PatientID: e.patientID, Legacy: e.legacy, IssuedAt: time.UnixMicro(e.issued).UTC(), IssuedBy: issuedBy, VoidReason: voidReason}
	f.dispute = sql.NullString{String: dispute, Valid: disputed}
	if e.state == stActive {
		if withPatient {
			if err := s.patientFacts(ctx, &f); err != nil {
				return v, false, err
			}
		} else {
			// The foreign key guarantees the patient row.
			f.hasPatient, f.p = e.patientID != 0, idcards.Patient{ID: e.patientID, MergedInto: merged}
		}
	}
	if err := decide(&v, &f, ""); err != nil {
		return v, false, err
	}
	if !withPatient {
		v.Patient = nil
	}
	return v, recorded, nil
}

// miss answers for an MRN the mirror does not hold, from the file, and
// keeps it if the registry has it — unless the feed put it there first
// (the feed's copy is never older).
func (m *Mirror) miss(ctx context.Context, raw string, withPatient bool) (idcards.Verification, error) {
	v, err := m.s.VerifyScan(ctx, raw, withPatient)
	if err != nil || v.Identifier == nil {
		return v, err
	}
	id := v.Identifier
	r := idRow{mrn: id.MRN, state: string(id.State), patientID: id.PatientID, legacy: id.Legacy,
		issued: id.IssuedAt.UTC().Format(TimeFormat), issuedBy: id.IssuedBy, voidReason: id.VoidReason, card: v.CardSerial}
	var merged int64
	if v.Patient != nil {
		merged = v.Patient.MergedInto
	}
	k, _ := keyOf(id.MRN)
	m.mu.Lock()
	if _, ok := m.ids[k]; !ok {
		m.put(r)
		if e, ok := m.ids[k]; ok {
			e.fromMiss = true
			m.ids[k] = e
		}
		if merged != 0 {
			m.merged[id.PatientID] = merged
		}
	}
	m.mu.Unlock()
	if !withPatient {
		v.Patient = nil
	}
	return v, nil
}

// patientFacts reads an active ID's patient as qVerify does.
func (s *Store) patientFacts(ctx context.Context, f *facts) error {
	err := s.queryRow(ctx, `SELECT id, coalesce(uuid, ''), coalesce(given_name, ''), coalesce(family_name, ''),
		coalesce(sex, ''), coalesce(birth_date, ''), coalesce(birth_date_estimated, 0), coalesce(phone, ''), coalesce(village, ''),
		coalesce(merged_into, 0), coalesce(created_at, ''), coalesce(created_by, '') FROM patients WHERE id = ?`, f.id.PatientID).Scan(
		&f.p.ID, &f.p.UUID, &f.p.GivenName, &f.p.FamilyName, &f.sex, &f.p.BirthDate, &f.p.BirthDateEstimated,
		&f.p.Phone, &f.p.Village, &f.p.MergedInto, &f.created, &f.p.CreatedBy)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		f.hasPatient = false
		return nil
	case err != nil:
		return fmt.Errorf("registry: verify: patient %d: %w", f.id.PatientID, err)
	}
	f.hasPatient = true
	return nil
}

// VerifyScan is Verify for the scanner endpoint's interface: the file is
// read on every call and the patient is always included.
func (s *Store) VerifyScan(ctx context.Context, raw string, withPatient bool) (idcards.Verification, error) {
	v, err := s.Verify(ctx, raw)
	if err == nil && !withPatient {
		v.Patient = nil
	}
	return v, err
}
