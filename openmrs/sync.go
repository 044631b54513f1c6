package openmrs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/idcards/idcards"
)

// Store is the registry as the Syncer uses it (*registry.Store).
type Store interface {
	DueOutbox(ctx context.Context, afterID int64, limit int) ([]idcards.OutboxItem, error)
	OutboxDone(ctx context.Context, id int64, remoteUUID, note string) error
	OutboxDefer(ctx context.Context, id int64, msg string, next time.Time, countAttempt, failing bool) error
	OutboxConflict(ctx context.Context, id int64, c idcards.SyncConflict) error
	RecordConflict(ctx context.Context, c idcards.SyncConflict) (bool, error)
	SyncPatient(ctx context.Context, id int64) (idcards.Patient, []idcards.Identifier, error)
	MergeExternal(ctx context.Context, source string, ids []idcards.ExternalIdentifier) (idcards.MergeResult, error)
	SetSyncState(ctx context.Context, kv map[string]string) error
	SyncState(ctx context.Context) (map[string]string, error)
	SyncedMRN(ctx context.Context) (string, error)
	PoolNeed(ctx context.Context) (source string, n int, err error)
	FillPool(ctx context.Context, source string, ids []string) (idcards.PoolFill, error)
	PoolFree(ctx context.Context, limit int) ([]string, error)
	AcquireSyncLease(ctx context.Context, owner string, ttl time.Duration) (bool, error)
	ReleaseSyncLease(ctx context.Context, owner string) error
}

// mergeLooker is a Store that can tell a patient UUID of its own was
// merged into another record (*registry.Store).
type mergeLooker interface {
	MergedInto(ctx context.Context, uuid string) (int64, bool, error)
}

// mergedInto reports whether uuid is a record of this registry merged into
// patient id.
func (s *Syncer) mergedInto(ctx context.Context, uuid string, id int64) bool {
	ml, ok := s.st.(mergeLooker)
	if !ok {
		return false
	}
	kept, ok, err := ml.MergedInto(ctx, uuid)
	return err == nil && ok && kept == id
}

// SyncerConfig configures a Syncer.
type SyncerConfig struct {
	IdentifierType string // uuid of the OpenMRS identifier type our MRNs are filed under
	Location       string // uuid of the location put on identifiers
	// Prefixes are the registry's series prefixes; Pull reads OpenMRS's
	// identifiers starting with each. An empty prefix is read as one
	// search per character of Alphabet.
	Prefixes []string
	Alphabet string
	// Lookalikes says which OpenMRS patients found by name hold back a
	// registration before it is created there (lookalike.go): "possible"
	// (the default, ""), "probable", or "off".
	Lookalikes string
	// Owner names this syncer in the registry's lease ("tui 1234@desk").
	Owner string
	// FullPullInterval is how often a pull reads every identifier of our
	// prefixes even when the server could say what changed (default 24h).
	FullPullInterval time.Duration
	// PullOverlap is how far before the last incremental pull's start
	// (server clock) the next one reads from, against clock skew and
	// transactions that commit late (default 5m).
	PullOverlap time.Duration
	// Batch is how many outbox rows are read at a time (default 200).
	Batch int
	// RetryBase and RetryMax bound the wait before a failed row is tried
	// again: RetryBase·2^(attempts-1) with jitter, at most RetryMax
	// (defaults 30s and 1h).
	RetryBase, RetryMax time.Duration
	// WaitDelay is when a row that waits for something else (a first MRN,
	// an earlier change) is looked at again (default 1m).
	WaitDelay time.Duration
	Now       func() time.Time
	Logf      func(format string, args ...any)
}

// Syncer keeps the registry and OpenMRS in agreement: Push drains the
// outbox, Pull records identifiers OpenMRS holds. It is safe to call from
// one goroutine at a time; the registry lease keeps other processes out.
type Syncer struct {
	c   *Client
	st  Store
	cfg SyncerConfig

	mu      sync.Mutex
	rng     *rand.Rand
	renewed time.Time // when the lease was last taken or renewed
	// sent holds, during one Push, the MRNs each patient was created
	// with, so that the add_identifier rows queued with the registration
	// are settled without asking OpenMRS again.
	sent map[int64]map[string]string
	// nextRetry is, during one Push, the earliest retry time given to a
	// row that failed.
	nextRetry time.Time
}

// NewSyncer returns a Syncer.
func NewSyncer(c *Client, st Store, cfg SyncerConfig) (*Syncer, error) {
	if cfg.IdentifierType == "" {
		return nil, errors.New("openmrs: syncer: no identifier type configured")
	}
	if cfg.Owner == "" {
		cfg.Owner = "idcards"
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Hour
	}
	if cfg.WaitDelay <= 0 {
		cfg.WaitDelay = time.Minute
	}
	if cfg.FullPullInterval <= 0 {
		cfg.FullPullInterval = 24 * time.Hour
	}
	if cfg.PullOverlap <= 0 {
		cfg.PullOverlap = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	seed := uint64(cfg.Now().UnixNano())
	return &Syncer{c: c, st: st, cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed>>1|1))}, nil
}

// PushReport counts what one Push did.
type PushReport struct {
	Pushed    int // rows now in OpenMRS (created, added or voided there)
	Already   int // rows OpenMRS already had (an earlier answer was lost)
	Deferred  int // rows that failed and will be tried again later
	Waiting   int // rows not due yet or waiting for an earlier change
	Conflicts int // rows held for a person to resolve
	Settled   int // rows closed without a request of their own (e.g. an MRN sent with its registration)
	// Backoff counts rows not tried because they failed in an earlier
	// round and their retry time has not come (a row that only waits for
	// something else, a first MRN or an earlier change, is Waiting).
	Backoff int
	// NextRetry is the earliest retry of a row that failed, in this round
	// (Deferred) or before (Backoff); zero when there is none.
	NextRetry time.Time
}

// Total is the number of rows Push looked at.
func (r PushReport) Total() int {
	return r.Pushed + r.Already + r.Deferred + r.Waiting + r.Conflicts + r.Settled + r.Backoff
}

// Retrying is how many rows stay queued because they failed, now or in
// an earlier round: nothing of theirs reached OpenMRS.
func (r PushReport) Retrying() int { return r.Deferred + r.Backoff }

// ErrBusy means another process holds the registry's sync lease.
var ErrBusy = errors.New("openmrs: another idcards process is syncing this registry")

const leaseTTL = 2 * time.Minute

// outcome of one outbox row.
type outcome int

const (
	pushed outcome = iota
	already
	deferred
	waiting
	conflicted
	settled
	backoff // failed before; its retry time has not come
)

// Push drains the outbox once: every due row is pushed, deferred or held
// as a conflict. A patient's rows are pushed in order; once one is held
// back the later ones wait. It stops early, with an error, when the
// server cannot be used at all (down, wrong credentials, wrong URL): the
// rows stay queued and nothing is lost.
func (s *Syncer) Push(ctx context.Context, progress func(PushReport)) (PushReport, error) {
	release, err := s.lease(ctx)
	if err != nil {
		return PushReport{}, err
	}
	defer release()
	return s.push(ctx, progress)
}

// lease takes the registry's sync lease for this syncer; release gives
// it up.
func (s *Syncer) lease(ctx context.Context) (release func(), err error) {
	ok, err := s.st.AcquireSyncLease(ctx, s.cfg.Owner, leaseTTL)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBusy
	}
	s.mu.Lock()
	s.renewed = s.cfg.Now()
	s.mu.Unlock()
	return func() { _ = s.st.ReleaseSyncLease(context.WithoutCancel(ctx), s.cfg.Owner) }, nil
}

// renew keeps the lease while a long push or pull runs.
func (s *Syncer) renew(ctx context.Context) error {
	s.mu.Lock()
	due := s.cfg.Now().Sub(s.renewed) > leaseTTL/3
	s.mu.Unlock()
	if !due {
		return nil
	}
	if ok, err := s.st.AcquireSyncLease(ctx, s.cfg.Owner, leaseTTL); err != nil || !ok {
		return errors.Join(ErrBusy, err)
	}
	s.mu.Lock()
	s.renewed = s.cfg.Now()
	s.mu.Unlock()
	return nil
}

// push is Push under a lease already held.
func (s *Syncer) push(ctx context.Context, progress func(PushReport)) (PushReport, error) {
	s.mu.Lock()
	s.nextRetry = time.Time{}
	s.mu.Unlock()
	rep, err := s.pushPass(ctx, progress)
	s.mu.Lock()
	rep.NextRetry = earliest(rep.NextRetry, s.nextRetry)
	s.mu.Unlock()
	return rep, err
}

func (s *Syncer) pushPass(ctx context.Context, progress func(PushReport)) (PushReport, error) {
	var rep PushReport
	held := map[int64]bool{} // patients with a row held back in this pass
	s.sent = map[int64]map[string]string{}
	defer func() { s.sent = nil }()
	var after int64
	for {
		items, err := s.st.DueOutbox(ctx, after, s.cfg.Batch)
		if err != nil {
			return rep, err
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			after = it.ID
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if err := s.renew(ctx); err != nil {
				return rep, err
			}
			var out outcome
			switch {
			case it.PatientID != 0 && held[it.PatientID]:
				out = waiting
			case !it.NextAttemptAt.IsZero() && it.NextAttemptAt.After(s.cfg.Now()):
				out = waiting
				if it.Failing {
					// It failed: still queued because of errors, which a
					// cron job's exit status must show (a 403 counts no
					// attempt; a row that failed once may only wait now).
					out = backoff
					rep.NextRetry = earliest(rep.NextRetry, it.NextAttemptAt)
				}
			default:
				out, err = s.pushOne(ctx, it)
			}
			switch out {
			case pushed:
				rep.Pushed++
			case already:
				rep.Already++
			case deferred:
				rep.Deferred++
			case waiting:
				rep.Waiting++
			case conflicted:
				rep.Conflicts++
			case settled:
				rep.Settled++
			case backoff:
				rep.Backoff++
			}
			if out != pushed && out != already && out != settled && it.PatientID != 0 {
				held[it.PatientID] = true
			}
			if progress != nil {
				progress(rep)
			}
			if err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// pushOne handles one row. A non-nil error stops the whole pass.
func (s *Syncer) pushOne(ctx context.Context, it idcards.OutboxItem) (outcome, error) {
	p, ids, err := s.st.SyncPatient(ctx, it.PatientID)
	if err != nil {
		return deferred, err
	}
	switch it.Kind {
	case idcards.OutboxRegister:
		return s.pushRegister(ctx, it, p, ids)
	case idcards.OutboxAddIdentifier:
		return s.pushAddIdentifier(ctx, it, p, ids)
	case idcards.OutboxVoidIdentifier:
		return s.pushVoid(ctx, it, p)
	case idcards.OutboxUpdatePatient:
		return s.pushUpdate(ctx, it, p) // update.go
	}
	return s.conflict(ctx, it, p, "", fmt.Sprintf("unknown outbox kind %q: this version of idcards cannot push it", it.Kind))
}

// pushable returns a patient's MRNs that go to OpenMRS: active ones of
// this registry's format (legacy numbers from an import may not satisfy
// the identifier type's validator).
func pushable(ids []idcards.Identifier) []string {
	var out []string
	for i := len(ids) - 1; i >= 0; i-- { // oldest first: the first MRN is the preferred one
		if ids[i].State == idcards.IDActive && !ids[i].Legacy {
			out = append(out, ids[i].MRN)
		}
	}
	return out
}

func (s *Syncer) pushRegister(ctx context.Context, it idcards.OutboxItem, p idcards.Patient, ids []idcards.Identifier) (outcome, error) {
	if p.MergedInto != 0 {
		return s.settle(ctx, it, "", fmt.Sprintf("merged into patient %d before reaching OpenMRS; that record carries the MRNs", p.MergedInto))
	}
	mrns := pushable(ids)
	if len(mrns) == 0 {
		return s.wait(ctx, it, "waiting for an MRN: OpenMRS needs at least one identifier")
	}
	// Look first: OpenMRS has no unique index on identifiers, and an
	// earlier attempt may have committed without our hearing the answer.
	mine := false
	for _, m := range mrns {
		holders, err := s.holders(ctx, m)
		if err != nil {
			return s.failed(ctx, it, err)
		}
		for _, h := range holders {
			if h.UUID == p.UUID {
				mine = true
				continue
			}
			return s.conflictOn(ctx, it, p, m, h.UUID, fmt.Sprintf("%s is already held in OpenMRS by %s (patient %s); not registering %s (patient %d) with it",
				m, h.Display, h.UUID, p.DisplayName(), p.ID))
		}
	}
	if mine {
		return s.doneAlready(ctx, it, p.UUID)
	}
	if it.Attempts > 0 {
		// The record may exist without the MRN (voided there since).
		if r, found, err := s.c.GetPatient(ctx, p.UUID); err != nil {
			return s.failed(ctx, it, err)
		} else if found {
			return s.conflictOn(ctx, it, p, mrns[0], r.UUID, fmt.Sprintf("OpenMRS has patient %s (%s) but without %s", r.UUID, r.Display, strings.Join(mrns, ", ")))
		}
	}
	if out, held, err := s.checkLookalikes(ctx, it, p, mrns); held || err != nil {
		return out, err
	}
	pc := NewPatientCreate(p, mrns[0], s.cfg.IdentifierType, s.cfg.Location)
	for _, m := range mrns[1:] {
		pc.Identifiers = append(pc.Identifiers, IdentifierCreate{Identifier: m, TypeUUID: s.cfg.IdentifierType, LocationUUID: s.cfg.Location})
	}
	created, err := s.c.CreatePatient(ctx, pc)
	if err != nil {
		return s.refused(ctx, it, p, mrns, err)
	}
	s.recheck(ctx, p, mrns)
	if s.sent != nil {
		s.sent[p.ID] = map[string]string{}
		for _, m := range mrns {
			s.sent[p.ID][m] = created.UUID
		}
		s.noteSent(p, created.UUID) // update.go
	}
	return s.done(ctx, it, created.UUID, "")
}

func (s *Syncer) pushAddIdentifier(ctx context.Context, it idcards.OutboxItem, p idcards.Patient, ids []idcards.Identifier) (outcome, error) {
	// Why a row has nothing to add, said as it is: voided, moved by a
	// merge (the merge queued it for the kept record), or a legacy ID.
	why := ""
	if p.MergedInto != 0 {
		why = fmt.Sprintf("%s moved to patient %d by a merge (queued for that record); nothing to add to this one", it.MRN, p.MergedInto)
	} else {
		why = it.MRN + " is not this patient's any more (moved by a merge); nothing to add"
	}
	for _, id := range ids {
		if id.MRN != it.MRN {
			continue
		}
		switch {
		case id.State == idcards.IDVoided:
			why = it.MRN + " was voided here before it reached OpenMRS; not sent"
		case id.Legacy:
			why = it.MRN + " is a legacy ID (not of the OpenMRS identifier type); not sent"
		case id.State == idcards.IDActive:
			why = ""
		}
	}
	if why != "" {
		return s.settle(ctx, it, "", why)
	}
	if remote, ok := s.sent[p.ID][it.MRN]; ok {
		return s.settle(ctx, it, remote, "sent with the registration")
	}
	remote, found, err := s.c.GetPatient(ctx, p.UUID)
	if err != nil {
		return s.failed(ctx, it, err)
	}
	if !found {
		return s.wait(ctx, it, "waiting for the patient to reach OpenMRS")
	}
	if has(remote, s.cfg.IdentifierType, it.MRN) {
		return s.doneAlready(ctx, it, remote.UUID)
	}
	holders, err := s.holders(ctx, it.MRN)
	if err != nil {
		return s.failed(ctx, it, err)
	}
	for _, h := range holders {
		if h.UUID != p.UUID {
			if s.mergedInto(ctx, h.UUID, p.ID) {
				// Our own record, merged into p here after both reached
				// OpenMRS: OpenMRS still holds the two people apart.
				return s.conflict(ctx, it, p, h.UUID, fmt.Sprintf("%s is held in OpenMRS by %s (patient %s): that is the record merged into %s (patient %d) here, and OpenMRS still keeps the two apart. Merge them in OpenMRS too (Registration app or the legacy UI: Find Patients → Merge Patient Records, keeping %s), then idcards sync resolve ID --note \"merged in OpenMRS\" --retry",
					it.MRN, h.Display, h.UUID, p.DisplayName(), p.ID, p.UUID))
			}
			return s.conflict(ctx, it, p, h.UUID, fmt.Sprintf("%s is already held in OpenMRS by %s (patient %s); not adding it to %s (patient %d)",
				it.MRN, h.Display, h.UUID, p.DisplayName(), p.ID))
		}
	}
	_, err = s.c.AddIdentifier(ctx, p.UUID, IdentifierCreate{Identifier: it.MRN, TypeUUID: s.cfg.IdentifierType, LocationUUID: s.cfg.Location})
	if err != nil {
		return s.refused(ctx, it, p, []string{it.MRN}, err)
	}
	s.recheck(ctx, p, []string{it.MRN})
	return s.done(ctx, it, p.UUID, "")
}

func (s *Syncer) pushVoid(ctx context.Context, it idcards.OutboxItem, p idcards.Patient) (outcome, error) {
	remote, found, err := s.c.GetPatient(ctx, p.UUID)
	if err != nil {
		return s.failed(ctx, it, err)
	}
	if found {
		if out, ok, err := s.voidOn(ctx, it, p, remote); ok || err != nil {
			return out, err
		}
	}
	// Not on the patient's own OpenMRS record. An MRN a merge here moved
	// onto this patient is still on the merged-away record there (OpenMRS
	// keeps the two apart until it is merged there too): void it where it
	// is, or it keeps scanning as that record's in OpenMRS.
	holders, err := s.holders(ctx, it.MRN)
	if err != nil {
		return s.failed(ctx, it, err)
	}
	for _, h := range holders {
		if h.UUID == p.UUID || !s.mergedInto(ctx, h.UUID, p.ID) {
			continue
		}
		if out, ok, err := s.voidOn(ctx, it, p, h); ok || err != nil {
			return out, err
		}
	}
	if !found {
		return s.settle(ctx, it, "", "patient not in OpenMRS; nothing to void")
	}
	// Not there to void: it never reached OpenMRS (voided before it was
	// sent), or was voided there already. Not "already in OpenMRS".
	return already, s.st.OutboxDone(ctx, it.ID, remote.UUID, it.MRN+" is not on the patient in OpenMRS (never sent, or voided there already); nothing to void")
}

// voidOn voids the row's MRN on OpenMRS patient remote if it holds it
// (ok reports that it did, or that the attempt's outcome is final).
func (s *Syncer) voidOn(ctx context.Context, it idcards.OutboxItem, p idcards.Patient, remote Patient) (outcome, bool, error) {
	for _, id := range remote.Identifiers {
		if id.Voided || id.Identifier != it.MRN || id.TypeUUID != s.cfg.IdentifierType {
			continue
		}
		if err := s.c.VoidIdentifier(ctx, remote.UUID, id.UUID, "voided at the registration desk (idcards)"); err != nil {
			out, err := s.refused(ctx, it, p, []string{it.MRN}, err)
			return out, true, err
		}
		out, err := s.done(ctx, it, remote.UUID, "")
		return out, true, err
	}
	return 0, false, nil
}

// holders returns the OpenMRS patients other than voided ones that hold
// mrn as an identifier of our type.
func (s *Syncer) holders(ctx context.Context, mrn string) ([]Patient, error) {
	return s.c.Holders(ctx, s.cfg.IdentifierType, mrn)
}

// Holders returns the OpenMRS patients other than voided ones that hold
// mrn as a non-voided identifier of type typeUUID: who OpenMRS says has
// the number now (the push's check, and `sync resolve --retry`'s).
func (c *Client) Holders(ctx context.Context, typeUUID, mrn string) ([]Patient, error) {
	ps, err := c.FindPatientsByIdentifier(ctx, mrn)
	if err != nil {
		return nil, err
	}
	var out []Patient
	for _, p := range ps {
		if !p.Voided && has(p, typeUUID, mrn) {
			out = append(out, p)
		}
	}
	return out, nil
}

func has(p Patient, typeUUID, mrn string) bool {
	for _, id := range p.Identifiers {
		// The default representation gives no type uuid: trust the value.
		if !id.Voided && strings.EqualFold(id.Identifier, mrn) && (id.TypeUUID == "" || id.TypeUUID == typeUUID) {
			return true
		}
	}
	return false
}

// recheck looks again after a push: OpenMRS checks uniqueness before it
// inserts, without a lock, so another client may have filed the same
// number at the same moment. Such a race is recorded, not undone.
func (s *Syncer) recheck(ctx context.Context, p idcards.Patient, mrns []string) {
	for _, m := range mrns {
		holders, err := s.holders(ctx, m)
		if err != nil {
			s.logf("sync: re-check of %s after push: %v (will be caught by the next pull)", m, err)
			continue
		}
		for _, h := range holders {
			if h.UUID != p.UUID {
				_, err := s.st.RecordConflict(ctx, idcards.SyncConflict{Identifier: m, LocalPatientID: p.ID, RemotePatientUUID: h.UUID,
					Detail: fmt.Sprintf("after pushing, %s is held in OpenMRS both by our patient %d (%s) and by %s (patient %s)", m, p.ID, p.UUID, h.Display, h.UUID)})
				if err != nil {
					s.logf("sync: record conflict for %s: %v", m, err)
				}
			}
		}
	}
}

func (s *Syncer) done(ctx context.Context, it idcards.OutboxItem, remote, note string) (outcome, error) {
	return pushed, s.st.OutboxDone(ctx, it.ID, remote, note)
}

// settle closes a row that needs no request of its own (sent with the
// registration, or nothing left to do).
func (s *Syncer) settle(ctx context.Context, it idcards.OutboxItem, remote, note string) (outcome, error) {
	return settled, s.st.OutboxDone(ctx, it.ID, remote, note)
}

func (s *Syncer) doneAlready(ctx context.Context, it idcards.OutboxItem, remote string) (outcome, error) {
	return already, s.st.OutboxDone(ctx, it.ID, remote, "already in OpenMRS")
}

func (s *Syncer) wait(ctx context.Context, it idcards.OutboxItem, msg string) (outcome, error) {
	return waiting, s.st.OutboxDefer(ctx, it.ID, msg, s.cfg.Now().Add(s.cfg.WaitDelay), false, false)
}

// conflict holds a row back with a conflict filed under the row's MRN
// (or, for a row without one, the patient); see conflictOn.
func (s *Syncer) conflict(ctx context.Context, it idcards.OutboxItem, p idcards.Patient, remote, detail string) (outcome, error) {
	return s.conflictOn(ctx, it, p, "", remote, detail)
}

// conflictOn holds a row back with a conflict filed under mrn (the number
// in dispute; for a refusal that names none, the patient's first MRN), so
// that a pull finding the same disagreement shares the conflict. It never
// guesses the MRN from the detail's text.
func (s *Syncer) conflictOn(ctx context.Context, it idcards.OutboxItem, p idcards.Patient, mrn, remote, detail string) (outcome, error) {
	if mrn == "" {
		mrn = it.MRN
	}
	if mrn == "" {
		mrn = fmt.Sprintf("patient %d", p.ID)
	}
	return conflicted, s.st.OutboxConflict(ctx, it.ID, idcards.SyncConflict{Identifier: mrn, LocalPatientID: p.ID, RemotePatientUUID: remote, Detail: detail})
}

// failed defers a row after an error that says nothing about the row
// itself. Errors that make the server unusable stop the pass.
func (s *Syncer) failed(ctx context.Context, it idcards.OutboxItem, err error) (outcome, error) {
	r := Classify(err)
	if derr := s.st.OutboxDefer(ctx, it.ID, describe(err), s.retryAt(it.Attempts+1), r.Retryable() || r == ReasonUnknown, true); derr != nil {
		return deferred, errors.Join(err, derr)
	}
	if fatal(r) {
		return deferred, err
	}
	return deferred, nil
}

// refused handles an error answer to a push.
func (s *Syncer) refused(ctx context.Context, it idcards.OutboxItem, p idcards.Patient, mrns []string, err error) (outcome, error) {
	switch r := Classify(err); r {
	case ReasonDuplicateIdentifier, ReasonIdentifierOnSamePatient:
		// Someone filed the number between our look and our post, or an
		// old server kept a duplicate it refused: look again.
		for _, m := range mrns {
			holders, herr := s.holders(ctx, m)
			if herr != nil {
				return s.failed(ctx, it, herr)
			}
			for _, h := range holders {
				if h.UUID != p.UUID {
					return s.conflictOn(ctx, it, p, m, h.UUID, fmt.Sprintf("OpenMRS refused %s: %s (held by %s, patient %s)", m, describe(err), h.Display, h.UUID))
				}
			}
		}
		if r == ReasonIdentifierOnSamePatient {
			return s.doneAlready(ctx, it, p.UUID)
		}
		return s.failed(ctx, it, err)
	case ReasonInvalidCheckDigit, ReasonUnallowedIdentifier, ReasonInvalidFormat, ReasonLocationRequired:
		// Every MRN would be refused the same way: the configuration does
		// not fit the server. Stop and say so; the row stays queued.
		_ = s.st.OutboxDefer(ctx, it.ID, describe(err), s.retryAt(it.Attempts+1), true, true)
		return deferred, fmt.Errorf("OpenMRS refuses our identifiers (%s): check `idcards sync configure`: %w", r, err)
	case ReasonValidation, ReasonBadRequest:
		return s.conflictOn(ctx, it, p, first(mrns), "", fmt.Sprintf("OpenMRS refused patient %d (%s): %s", p.ID, p.DisplayName(), describe(err)))
	}
	return s.failed(ctx, it, err)
}

// fatal reports whether no other row can succeed either.
func fatal(r Reason) bool {
	switch r {
	case ReasonUnauthorized, ReasonForbidden, ReasonNotFound, ReasonUnavailable:
		return true
	}
	return false
}

// retryAt is when a row that failed for the n-th time is tried again.
func (s *Syncer) retryAt(n int) time.Time {
	d := s.cfg.RetryBase
	for i := 1; i < n && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	s.mu.Lock()
	defer s.mu.Unlock()
	j := time.Duration(s.rng.Int64N(int64(d)/2 + 1))
	at := s.cfg.Now().Add(d/2 + j)
	s.nextRetry = earliest(s.nextRetry, at)
	return at
}

// earliest is the earlier of two times, a zero one not counting.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// describe gives OpenMRS's own words for an error where it has some.
func describe(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		if msgs := ae.Messages(); len(msgs) > 0 {
			return fmt.Sprintf("HTTP %d: %s", ae.Status, strings.Join(msgs, "; "))
		}
	}
	return err.Error()
}

func (s *Syncer) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}
