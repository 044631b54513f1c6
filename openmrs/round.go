package openmrs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idcards/idcards"
)

// Sync state keys (registry.SyncLastPush and friends; repeated here so
// this package does not import the registry).
const (
	stateLastPush     = "last_push_at"
	stateLastPull     = "last_pull_at"
	stateLastError    = "last_error"
	stateLastErrorAt  = "last_error_at"
	statePullCursor   = "pull_cursor"
	stateLastFullPull = "last_full_pull_at"
	statePullMode     = "pull_mode"
)

// Pull modes, as PullReport.Mode and `sync status` show them.
const (
	PullIncremental = "incremental"
	PullFull        = "full"
	PullFullNoFHIR  = "full (no FHIR2)"
)

// ErrNoPrefixSearch means the server ignores searchType=start on the
// identifier search (webservices.rest before it learned it): a full pull
// there reads nothing, and saying "0 identifiers" would be a lie.
var ErrNoPrefixSearch = errors.New("openmrs: this OpenMRS ignores searchType=start on GET /patient?identifier= (an older webservices.rest module): identifiers cannot be read by prefix; upgrade the REST Web Services module")

// PullReport counts what one Pull did.
type PullReport struct {
	Mode        string // PullIncremental, PullFull or PullFullNoFHIR
	Identifiers int    // identifiers of our type read from OpenMRS
	Added       int    // new to the registry: numbers it never issued, not seen before (our own pushed MRNs are not)
	Conflicts   int    // new conflicts
	Withdrawn   int    // idgen pool numbers withdrawn because OpenMRS holds them
	Requests    int    // HTTP pages read
}

// RefillReport is what one pool refill did.
type RefillReport struct {
	Asked     int // numbers asked of idgen
	Added     int // numbers now free in the pool
	Withdrawn int // exported numbers this registry or OpenMRS already held
	Requests  int
}

// pullFlush is how many identifiers are written to the registry per
// transaction during a pull.
const pullFlush = 2000

// exportChunk is the most numbers asked of idgen in one request.
const exportChunk = 1000

// Pull records the identifiers OpenMRS holds, under the sync lease: only
// those of patients changed since the last pull when the server has FHIR2
// and a full pull ran within FullPullInterval, else every identifier of
// our prefixes (full). See pull.
func (s *Syncer) Pull(ctx context.Context, full bool, progress func(PullReport)) (PullReport, error) {
	release, err := s.lease(ctx)
	if err != nil {
		return PullReport{}, err
	}
	defer release()
	// The session check also reads the server's clock, which the
	// incremental pull's cursor is measured by.
	if _, err := s.c.Session(ctx); err != nil {
		return PullReport{}, err
	}
	return s.pull(ctx, full, progress)
}

// pull is Pull under a lease already held. An incremental pull asks FHIR2
// for patients whose lastUpdated is after the cursor (the server's clock
// when the previous pull began, less PullOverlap) and keeps only our
// identifier type; a full pull reads every identifier of our prefixes from
// the REST identifier search, 100 patients a page. Either way memory stays
// one flush batch. A full pull that reads nothing although OpenMRS holds
// one of our MRNs means the server ignores searchType=start:
// ErrNoPrefixSearch.
func (s *Syncer) pull(ctx context.Context, full bool, progress func(PullReport)) (PullReport, error) {
	var rep PullReport
	state, err := s.st.SyncState(ctx)
	if err != nil {
		return rep, err
	}
	start := s.c.ServerTime()
	if start.IsZero() {
		start = s.cfg.Now().UTC()
	}
	cursor := parseStateTime(state[statePullCursor])
	lastFull := parseStateTime(state[stateLastFullPull])
	if cursor.IsZero() || lastFull.IsZero() || s.cfg.Now().Sub(lastFull) >= s.cfg.FullPullInterval {
		full = true
	}
	prefixes, err := s.pullPrefixes(ctx)
	if err != nil {
		return rep, err
	}
	var buf []idcards.ExternalIdentifier
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		m, err := s.st.MergeExternal(ctx, "openmrs", buf)
		if err != nil {
			return err
		}
		rep.Added += m.Added
		rep.Conflicts += m.Conflicts
		rep.Withdrawn += m.Withdrawn
		buf = buf[:0]
		return nil
	}
	page := func(recs []IdentifierRecord) error {
		for _, r := range recs {
			if hasAnyPrefix(r.Identifier, prefixes) {
				buf = append(buf, idcards.ExternalIdentifier{Identifier: strings.ToUpper(r.Identifier), PatientUUID: r.PatientUUID})
				rep.Identifiers++
			}
		}
		if len(buf) >= pullFlush {
			if err := flush(); err != nil {
				return err
			}
		}
		rep.Requests++
		if progress != nil {
			progress(rep)
		}
		return s.renew(ctx)
	}
	if !full {
		rep.Mode = PullIncremental
		_, err := s.c.ChangedIdentifiers(ctx, s.cfg.IdentifierType, cursor, page)
		switch {
		case errors.Is(err, ErrNoFHIR):
			s.logf("sync: %v; reading every identifier instead", err)
			full, rep.Mode, rep.Requests = true, PullFullNoFHIR, rep.Requests+1
		case err != nil:
			return rep, errors.Join(err, flush())
		}
	} else {
		rep.Mode = PullFull
	}
	if full {
		for _, prefix := range prefixes {
			if _, err := s.c.IdentifiersWithPrefix(ctx, s.cfg.IdentifierType, prefix, page); err != nil {
				return rep, errors.Join(err, flush())
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if full && rep.Identifiers == 0 {
		if err := s.checkPrefixSearch(ctx, &rep); err != nil {
			return rep, err
		}
	}
	kv := map[string]string{statePullCursor: stamp(start.Add(-s.cfg.PullOverlap)), statePullMode: rep.Mode, stateLastPull: stamp(s.cfg.Now())}
	if full {
		kv[stateLastFullPull] = stamp(s.cfg.Now())
	}
	return rep, s.st.SetSyncState(ctx, kv)
}

// checkPrefixSearch tells an empty OpenMRS from one that ignores
// searchType=start: it takes an MRN OpenMRS is known to hold and searches
// for it without its last character. A server that finds it exactly but
// not by prefix cannot be pulled from.
func (s *Syncer) checkPrefixSearch(ctx context.Context, rep *PullReport) error {
	mrn, err := s.st.SyncedMRN(ctx)
	if err != nil || len(mrn) < 2 {
		return err
	}
	holders, err := s.holders(ctx, mrn)
	rep.Requests++
	if err != nil || len(holders) == 0 {
		return err // not there (voided since?): nothing to conclude
	}
	found := false
	_, err = s.c.IdentifiersWithPrefix(ctx, s.cfg.IdentifierType, mrn[:len(mrn)-1], func(recs []IdentifierRecord) error {
		rep.Requests++
		for _, r := range recs {
			if strings.EqualFold(r.Identifier, mrn) {
				found = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w (GET /patient?identifier=%s finds %s, but the prefix search for %q finds nothing)", ErrNoPrefixSearch, mrn, holders[0].UUID, mrn[:len(mrn)-1])
	}
	return nil
}

// hasAnyPrefix reports whether an identifier starts with one of the
// searched prefixes (an incremental pull sees every identifier of our type).
func hasAnyPrefix(id string, prefixes []string) bool {
	id = strings.ToUpper(id)
	for _, p := range prefixes {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// poolTail is how many trailing characters of a pool number poolPrefixes
// drops: the check character and two sequence characters, so one prefix
// covers up to base² numbers of idgen's sequence (900 in LuhnMod30's
// base 30, 100 in decimal).
const poolTail = 3

// pullPrefixes is what a pull reads: the series' prefixes, and the
// neighbourhood of the idgen pool's free numbers (their leading
// characters), so that a pool number OpenMRS holds is seen and withdrawn
// whatever prefix the series have.
func (s *Syncer) pullPrefixes(ctx context.Context) ([]string, error) {
	out := s.searchPrefixes()
	free, err := s.st.PoolFree(ctx, maxPoolScan)
	if err != nil || len(free) == 0 {
		return out, err
	}
	seen := map[string]bool{}
	for _, p := range out {
		seen[p] = true
	}
	for _, id := range free {
		p := strings.ToUpper(id[:max(1, len(id)-poolTail)])
		covered := false
		for _, q := range out {
			if strings.HasPrefix(p, q) {
				covered = true
				break
			}
		}
		if !covered && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// maxPoolScan bounds how many free pool numbers pullPrefixes looks at.
const maxPoolScan = 100_000

// searchPrefixes returns the identifier prefixes Pull searches.
func (s *Syncer) searchPrefixes() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range s.cfg.Prefixes {
		if p != "" {
			add(p)
			continue
		}
		alpha := s.cfg.Alphabet
		if alpha == "" {
			alpha = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		}
		for _, r := range alpha {
			add(string(r))
		}
	}
	return out
}

// Refill tops the idgen pool up when it is below its low-water mark
// (PoolNeed), asking idgen for at most exportChunk numbers a request. A
// number idgen exports is consumed there for good; one the registry or
// OpenMRS already holds is kept as withdrawn. Without a pool it does
// nothing.
func (s *Syncer) Refill(ctx context.Context) (RefillReport, error) {
	var rep RefillReport
	source, need, err := s.st.PoolNeed(ctx)
	if err != nil || need == 0 {
		return rep, err
	}
	for need > 0 {
		n := min(need, exportChunk)
		ids, err := s.c.ExportIdentifiers(ctx, source, n, "idcards desk pool")
		rep.Requests++
		if len(ids) > 0 {
			f, ferr := s.st.FillPool(ctx, source, ids)
			rep.Asked += len(ids)
			rep.Added += f.Added
			rep.Withdrawn += f.Withdrawn
			if ferr != nil {
				return rep, errors.Join(err, ferr)
			}
		}
		if err != nil {
			return rep, fmt.Errorf("openmrs: refill the ID pool from idgen source %s: %w", source, err)
		}
		need -= len(ids)
		if len(ids) == 0 {
			break
		}
	}
	return rep, nil
}

// Report is what one round did.
type Report struct {
	Pull   PullReport
	Push   PushReport
	Refill RefillReport
	// PullErr is why the pull failed when the push went on anyway.
	PullErr error
}

// Round says what one Run does.
type Round struct {
	Pull     bool // record OpenMRS's identifiers
	FullPull bool // read every identifier even where an incremental pull would do
	Push     bool // drain the outbox
}

// Run does one round under the sync lease (a second process is refused
// with ErrBusy before it asks OpenMRS anything): the session check, the
// pool refill, the pull and the push, recording the outcome in the
// registry's sync state for `idcards sync status` and the TUI. A failed
// pull does not cancel the push: registrations must not starve because
// the pull is slow or flaky; the pull's error is returned (joined with the
// push's, if any) and kept in the report.
func (s *Syncer) Run(ctx context.Context, r Round, progress func(Report)) (Report, error) {
	var rep Report
	fail := func(err error) (Report, error) {
		if errors.Is(err, ErrBusy) {
			return rep, err
		}
		_ = s.st.SetSyncState(context.WithoutCancel(ctx), map[string]string{stateLastError: describe(err), stateLastErrorAt: stamp(s.cfg.Now())})
		return rep, err
	}
	release, err := s.lease(ctx)
	if err != nil {
		return rep, err
	}
	defer release()
	if _, err := s.c.Session(ctx); err != nil {
		return fail(err)
	}
	// A refill that fails (idgen missing, a privilege, the server down)
	// must not hold back the pull or the push: the pool serves until
	// empty, and the next round tries again.
	var errs []error
	rr, err := s.Refill(ctx)
	rep.Refill = rr
	if err != nil {
		s.logf("sync: %v", err)
		errs = append(errs, err)
	}
	if r.Pull {
		pr, err := s.pull(ctx, r.FullPull, func(p PullReport) {
			rep.Pull = p
			if progress != nil {
				progress(rep)
			}
		})
		rep.Pull = pr
		if err != nil {
			if ctx.Err() != nil || fatal(Classify(err)) && !r.Push {
				return fail(err)
			}
			rep.PullErr = fmt.Errorf("pull: %w", err)
			errs = append(errs, rep.PullErr)
		}
	}
	if r.Push {
		pr, err := s.push(ctx, func(p PushReport) {
			rep.Push = p
			if progress != nil {
				progress(rep)
			}
		})
		rep.Push = pr
		if err != nil {
			return fail(errors.Join(append(errs, err)...))
		}
	}
	if len(errs) > 0 {
		err := errors.Join(errs...)
		kv := map[string]string{stateLastError: describe(err), stateLastErrorAt: stamp(s.cfg.Now())}
		if r.Push {
			kv[stateLastPush] = stamp(s.cfg.Now())
		}
		_ = s.st.SetSyncState(context.WithoutCancel(ctx), kv)
		return rep, err
	}
	if r.Push && rep.Push.Retrying() > 0 {
		// Changes that failed one by one (a 500, a timeout) stay queued
		// for a retry, whether they failed in this round or wait out the
		// back-off of an earlier one: the round went on, but it was no
		// successful push, and the status line and sync status must say so.
		return rep, s.st.SetSyncState(ctx, map[string]string{
			stateLastError:   fmt.Sprintf("%d change(s) failed and are retried later (idcards sync outbox shows why)", rep.Push.Retrying()),
			stateLastErrorAt: stamp(s.cfg.Now()),
		})
	}
	kv := map[string]string{stateLastError: "", stateLastErrorAt: ""}
	if r.Push {
		kv[stateLastPush] = stamp(s.cfg.Now())
	}
	return rep, s.st.SetSyncState(ctx, kv)
}

// RunOnce pulls (when pull is set) and pushes: Run with Push.
func (s *Syncer) RunOnce(ctx context.Context, pull bool, progress func(Report)) (Report, error) {
	return s.Run(ctx, Round{Pull: pull, Push: true}, progress)
}

// LoopConfig paces Loop.
type LoopConfig struct {
	Interval     time.Duration // between rounds (push, refill)
	PullInterval time.Duration // between pulls
}

// Loop runs a round every Interval, pulling on the first round and then
// every PullInterval (a full pull every FullPullInterval, the others
// incremental where the server allows), until ctx ends. A failed round is
// reported and the next one tried at the next tick (the client's circuit
// breaker keeps a dead server from being hammered in between); a failed
// pull is tried again next round. Kick, if non-nil, starts a round at
// once (a new registration at the desk, say).
func (s *Syncer) Loop(ctx context.Context, lc LoopConfig, kick <-chan struct{}, report func(Report, error)) {
	if lc.Interval <= 0 {
		lc.Interval = time.Minute
	}
	var lastPull time.Time
	t := time.NewTicker(lc.Interval)
	defer t.Stop()
	for {
		pull := lastPull.IsZero() || s.cfg.Now().Sub(lastPull) >= lc.PullInterval
		rep, err := s.Run(ctx, Round{Pull: pull, Push: true}, nil)
		if pull && rep.PullErr == nil && (err == nil || rep.Pull.Mode != "") && !errors.Is(err, ErrBusy) {
			lastPull = s.cfg.Now()
		}
		if ctx.Err() != nil {
			return
		}
		if report != nil {
			report(rep, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func parseStateTime(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02T15:04:05.000000Z", v)
	if err != nil {
		return time.Time{}
	}
	return t
}
