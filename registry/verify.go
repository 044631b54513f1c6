package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// Verify answers "what is this code?" for the CLI, the TUI and the scanner
// endpoint alike — the one implementation of the verification path:
//
//  1. normalise (trim, AIM prefix, case, spaces and dashes); split off a
//     card serial if the code came from a 2D symbol;
//  2. find the series by prefix and check length, characters and check
//     character (invalid_check / malformed) before touching the registry;
//  3. look the identifier up (active / unassigned / voided / unknown), with
//     its patient, its current card and the scanned card serial if there is
//     one (replaced / voided card) — one SQL statement, see qVerify.
//
// The series (prefix, width, scheme) are held in memory and checked against
// the file in that same statement, so a series added or changed by another
// process is used from the next scan on: there is no staleness window.
//
// The returned error is only for failures of the registry itself; every
// answer about the code is in the Verification.
func (s *Store) Verify(ctx context.Context, raw string) (idcards.Verification, error) {
	v, n, serial, done := s.prepare(raw)
	if done {
		return v, nil
	}
	sc, err := s.seriesCodecs(ctx)
	if err != nil {
		return v, err
	}
	// The series may change under us (another process adds one): start
	// over with the fresh ones, a few times at most.
	for range 3 {
		w := v
		fresh, err := s.verifyWith(ctx, sc, &w, n, serial)
		if err != nil {
			return v, err
		}
		if fresh == nil {
			return w, nil
		}
		sc = fresh
	}
	return v, fmt.Errorf("registry: verify: the series table keeps changing")
}

// prepare is step 1: it normalises raw and splits off a card serial; done
// means v is already the answer (malformed input).
func (s *Store) prepare(raw string) (v idcards.Verification, n, serial string, done bool) {
	v = idcards.Verification{Input: raw, CheckedAt: s.Now().UTC()}
	if len(raw) > barcode.MaxInput {
		v.Status, v.Detail = idcards.StatusMalformed, fmt.Sprintf("input is %d bytes long; no MRN is that long", len(raw))
		return v, "", "", true
	}
	if !utf8.ValidString(raw) {
		v.Status, v.Detail = idcards.StatusMalformed, "input is not valid UTF-8 text"
		return v, "", "", true
	}
	code, serial := barcode.SplitScan(raw)
	n = barcode.Normalize(code)
	v.Code = n
	if n == "" {
		v.Status, v.Detail = idcards.StatusMalformed, "empty code"
		return v, "", "", true
	}
	return v, n, serial, false
}

// parseCode is step 2: it finds the series whose prefix n has and checks
// length, characters and check character. ok means v.Code is the MRN;
// otherwise perr is the last series' complaint (nil: no prefix matched).
func parseCode(sc *seriesCache, v *idcards.Verification, n string) (ok bool, perr error) {
	for _, c := range sc.codecs {
		if !c.HasPrefix(n) {
			continue
		}
		mrn, _, err := c.Parse(n)
		if err == nil {
			v.Code = mrn
			return true, nil
		}
		perr = err
	}
	return false, perr
}

// parseFailure answers for a code that no series accepts and that is not
// a legacy ID.
func parseFailure(sc *seriesCache, v *idcards.Verification, n string, perr error) {
	var pe *barcode.ParseError
	switch {
	case perr == nil && sc.pool != nil && len(n) >= sc.poolLen[0] && len(n) <= sc.poolLen[1] && poolCheck(sc.pool, n) == barcode.ErrCheck:
		// The shape of the OpenMRS IDs this registry issues from its
		// idgen pool, with a wrong check character: a typo.
		v.Status, v.Detail = idcards.StatusInvalidCheck, "wrong check character (probably a typo): check the code and scan or type it again"
	case perr == nil && sc.pool != nil && len(n) >= sc.poolLen[0] && len(n) <= sc.poolLen[1] && poolCheck(sc.pool, n) == nil:
		v.Status, v.Detail = idcards.StatusUnknown, "check character is right, but this registry never issued this ID"
	case perr == nil:
		v.Status, v.Detail = idcards.StatusMalformed, fmt.Sprintf("foreign prefix: %q does not start with this registry's prefix (%s)", n, sc.prefixes)
	case errors.As(perr, &pe):
		v.Status, v.Detail = pe.Status, pe.Msg
	default:
		v.Status, v.Detail = idcards.StatusMalformed, perr.Error()
	}
}

// poolCheck checks n (normalised, of a pool number's length) with the
// pool's scheme: nil, ErrCheck, or another error when n is not of the
// scheme's shape at all.
func poolCheck(sch barcode.Scheme, n string) error {
	cl := sch.CheckLen()
	if len(n) <= cl || len(n) > 32 {
		return errors.New("not an ID of the pool's shape")
	}
	err := sch.Validate(n[:len(n)-cl] + sch.Separator() + n[len(n)-cl:])
	if errors.Is(err, barcode.ErrCheck) {
		return barcode.ErrCheck
	}
	return err
}

// verifyWith runs steps 2 and 3 with the series in sc. If the file's series
// differ from sc, it returns the fresh ones (now cached) and the caller
// starts over; otherwise it fills v and returns nil.
func (s *Store) verifyWith(ctx context.Context, sc *seriesCache, v *idcards.Verification, n, serial string) (*seriesCache, error) {
	matched, perr := parseCode(sc, v, n)
	if !matched {
		// Legacy IDs imported without a check are looked up as they are.
		var sig string
		var legacy sql.NullString
		if err := s.queryRow(ctx, qVerifyLegacy, n).Scan(&sig, &legacy); err != nil {
			return nil, fmt.Errorf("registry: verify: %w", err)
		}
		if sig != sc.sig {
			return s.reloadSeries(ctx)
		}
		if !legacy.Valid {
			parseFailure(sc, v, n, perr)
			if poolShaped(sc, v, perr) {
				return nil, s.poolRestoreGap(ctx, v, n)
			}
			return nil, nil
		}
		v.Code = legacy.String
	}
	var f facts
	var sig, issued string
	err := s.queryRow(ctx, qVerify, v.Code, serial).Scan(&sig,
		&f.found, &f.state, &f.id.PatientID, &f.id.Legacy, &issued, &f.id.IssuedBy, &f.id.VoidReason, &f.current, &f.external,
		&f.hasPatient, &f.p.ID, &f.p.UUID, &f.p.GivenName, &f.p.FamilyName, &f.sex, &f.p.BirthDate, &f.p.BirthDateEstimated,
		&f.p.Phone, &f.p.Village, &f.p.MergedInto, &f.created, &f.p.CreatedBy,
		&f.hasCard, &f.cardMRN, &f.cardState, &f.replacedBy, &f.dispute)
	if err != nil {
		return nil, fmt.Errorf("registry: verify: %w", err)
	}
	if sig != sc.sig {
		return s.reloadSeries(ctx)
	}
	f.id.IssuedAt = parseTime(issued)
	if err := decide(v, &f, serial); err != nil {
		return nil, err
	}
	if !f.found && !f.external {
		return nil, s.restoreGap(ctx, sc, v)
	}
	if serial != "" && f.found && !f.hasCard {
		return nil, s.restoredCard(ctx, v, serial)
	}
	return nil, nil
}

// qLastRestore is the time of the registry's latest restore ("" for none).
const qLastRestore = `SELECT coalesce((SELECT max(at) FROM audit WHERE action = 'backup.restore'), '')`

// restoredCard explains a card serial this registry has no record of,
// scanned with one of its own MRNs, once the registry has been restored
// from a backup: the card may have been printed after that backup, its
// print record lost with the restore. It is a genuine card as likely as a
// forged one; the desk checks the patient and reprints. RestoredAt and
// CardRecordLost say so to machines (the status stays unknown: the card
// itself is not trusted).
func (s *Store) restoredCard(ctx context.Context, v *idcards.Verification, serial string) error {
	var at string
	if err := s.queryRow(ctx, qLastRestore).Scan(&at); err != nil {
		return fmt.Errorf("registry: verify: %w", err)
	}
	if at == "" {
		return nil
	}
	v.RestoredAt, v.CardRecordLost = at, true
	v.Detail = fmt.Sprintf("card serial %s is not in this registry, which was restored from a backup (restore of %s): the card may have been printed after that backup and its print record lost with the restore; check the patient's identity, then reprint the card", serial, localDay(at))
	return nil
}

// localDay is a recorded time as the desk reads it.
func localDay(at string) string {
	if t := parseTime(at); !t.IsZero() {
		return t.Local().Format("2006-01-02 15:04")
	}
	return at
}

// restoreGap explains an unknown ID of the registry's own series that a
// restore passed over (id_gaps): a card with it may be genuine.
func (s *Store) restoreGap(ctx context.Context, sc *seriesCache, v *idcards.Verification) error {
	prefix, seq, ok := seqOf(sc, v.Code)
	if !ok {
		return nil
	}
	var kind, at string
	err := s.queryRow(ctx, qRestoreGap, prefix, seq, seq).Scan(&kind, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("registry: verify: %w", err)
	}
	restoreDetail(v, kind, at)
	return nil
}

// poolShaped reports whether a code no series accepts may be a number of
// the registry's idgen pool: one of the pool's shape with a right check
// character, or (the pool's scheme not known) any code that parsed.
func poolShaped(sc *seriesCache, v *idcards.Verification, perr error) bool {
	return v.Status == idcards.StatusUnknown || sc.pool == nil && perr == nil && sc.poolLen[1] > 0
}

// poolRestoreGap explains an unknown number of the idgen pool's shape
// that the pool says a restore lost: issued (on the replaced registry,
// after the backup) with no record here, or withdrawn because the
// replaced registry could not be read. A card with it may be genuine.
func (s *Store) poolRestoreGap(ctx context.Context, v *idcards.Verification, n string) error {
	ident, kind, at, err := poolLost(ctx, s.db, n)
	if err != nil || kind == "" {
		return err
	}
	v.Code, v.Status = ident, idcards.StatusUnknown
	restoreDetail(v, kind, at)
	return nil
}

// poolLost is how a restore lost pool number n (normalised; ident is
// the number as the pool holds it): "lost"
// (issued after the backup, record lost), "skipped" (withdrawn because
// the replaced registry could not be read), or "" for neither; at is the
// latest restore's time. A pool number is marked issued in the
// transaction that records its identifier, so an issued number without
// one can only come from a restore carrying the replaced pool.
func poolLost(ctx context.Context, q queryer, n string) (ident, kind, at string, err error) {
	var state, note string
	err = q.QueryRowContext(ctx, `SELECT p.identifier, p.state, coalesce(p.note, ''), coalesce((SELECT max(at) FROM audit WHERE action = 'backup.restore'), '')
		FROM id_pool p WHERE (p.identifier = ? OR replace(p.identifier, '-', '') = ?)
		AND NOT EXISTS (SELECT 1 FROM identifiers i WHERE i.mrn = p.identifier) LIMIT 1`, n, n).Scan(&ident, &state, &note, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", nil
	}
	if err != nil || at == "" {
		return "", "", "", err
	}
	switch {
	case state == "issued":
		return ident, "lost", at, nil
	case state == "withdrawn" && strings.HasPrefix(note, poolRestoreNote):
		return ident, "skipped", at, nil
	}
	return "", "", "", nil
}

// restoreDetail is the answer for an ID a restore passed over.
func restoreDetail(v *idcards.Verification, kind, at string) {
	v.RestoredAt = at
	day := localDay(at)
	if kind == "lost" {
		v.Detail = "check character is right; this ID was issued after the backup the registry was restored from (restore of " + day + "), and its record was lost with the restore: register the patient again onto this card"
	} else {
		v.Detail = "check character is right; the registry was restored from a backup (" + day + ") and this ID may have been issued after that backup: if a patient holds this card, register them again onto it"
	}
}

// qRestoreGap finds the latest restore gap (id_gaps) holding a series
// number: prefix, seq, seq.
const qRestoreGap = `SELECT kind, restored_at FROM id_gaps WHERE prefix = ? AND from_seq <= ? AND to_seq > ? ORDER BY restored_at DESC LIMIT 1`

// seqOf is the series prefix and sequence number of the MRN code, when it
// is one of sc's series.
func seqOf(sc *seriesCache, code string) (string, int64, bool) {
	for _, c := range sc.codecs {
		if !c.HasPrefix(code) {
			continue
		}
		if _, seq, err := c.Parse(code); err == nil {
			return c.Prefix, seq, true
		}
	}
	return "", 0, false
}

// facts is what the registry holds about one code, as Verify reads it in
// one statement (qVerify) and a Mirror holds it in memory.
type facts struct {
	found, external, hasPatient, hasCard bool
	id                                   idcards.Identifier
	state                                string
	current                              sql.NullString
	p                                    idcards.Patient
	sex, created                         string
	cardMRN, cardState                   string
	replacedBy                           sql.NullString
	dispute                              sql.NullString // an open sync conflict over the ID: its kind, a space, its detail
}

// decide turns the facts about v.Code (and the scanned card serial, if
// any) into the answer: the status vocabulary lives here and only here.
func decide(v *idcards.Verification, f *facts, serial string) error {
	if !f.found {
		v.Status = idcards.StatusUnknown
		if f.external {
			v.Detail = "not issued at this desk, but in use in OpenMRS"
		} else {
			v.Detail = "check character is right, but this registry never issued this ID"
		}
		return nil // an unknown ID's card serial is not looked at
	}
	id := f.id
	id.MRN, id.State = v.Code, idcards.IdentifierState(f.state)
	v.Identifier = &id
	switch id.State {
	case idcards.IDUnassigned:
		v.Status, v.Detail = idcards.StatusUnassigned, "pre-printed card not yet given to a patient"
	case idcards.IDVoided:
		v.Status, v.Detail = idcards.StatusVoided, "voided: "+id.VoidReason
		if id.VoidReason == "" {
			v.Detail = "voided (no reason recorded)"
		}
	default:
		v.Status = idcards.StatusActive
		if !f.hasPatient {
			return idcards.Errorf(idcards.NotFound, "no patient with id %d", id.PatientID)
		}
		p := f.p
		p.Sex, p.CreatedAt = idcards.Sex(f.sex), parseTime(f.created)
		v.Patient = &p
		if p.MergedInto != 0 {
			v.Detail = fmt.Sprintf("same person as patient %d (records merged)", p.MergedInto)
		}
		if f.dispute.Valid {
			// Valid here, but OpenMRS disagrees (another patient holds the
			// number there, say): data filed under it may reach the wrong
			// chart until IT resolves it. The desk must know.
			kind, detail, _ := strings.Cut(f.dispute.String, " ")
			v.Disputed, v.Dispute = true, kind
			d := "disputed in OpenMRS (open sync conflict: " + truncateText(detail, 160) + "): tell IT (idcards sync conflicts)"
			if kind == idcards.ConflictLookalike {
				// Not in OpenMRS yet: sync held the registration because
				// OpenMRS may have the person under another record.
				d = "not yet in OpenMRS, held (open sync conflict: " + truncateText(detail, 160) + "): ask the patient if they were seen here before, and tell the supervisor (idcards sync conflicts)"
			}
			if v.Detail != "" {
				d = v.Detail + "; " + d
			}
			v.Detail = d
		}
	}
	// Report the current card so the caller can show it.
	v.CardSerial = f.current.String
	if serial == "" {
		return nil
	}
	// A card serial from a 2D symbol: a replaced or voided card is reported
	// as such even when its MRN is active.
	if !f.hasCard {
		v.Status, v.Detail, v.CardSerial = idcards.StatusUnknown, fmt.Sprintf("card serial %s was never printed by this registry", serial), serial
		return nil
	}
	v.CardSerial = serial
	switch {
	case f.cardMRN != v.Code:
		v.Status, v.Detail = idcards.StatusMalformed, fmt.Sprintf("card serial %s belongs to a different MRN", serial)
	case f.cardState == string(idcards.CardReplaced):
		// The old card stays invalid (it was reported lost or damaged),
		// but the answer names the card that is valid now: the MRN's
		// current card, which is the replacement unless that was
		// replaced in turn or voided (spoiled, never handed out).
		v.Status, v.Detail = idcards.StatusReplaced, "this card was replaced"
		switch {
		case f.current.Valid:
			v.Detail += " by card " + f.current.String
		case f.replacedBy.Valid:
			v.Detail = DetailReplacementVoided
		}
	case f.cardState == string(idcards.CardVoided) && v.Status.OK():
		v.Status, v.Detail = idcards.StatusVoided, "this card was voided"
	case f.cardState == string(idcards.CardPending) && v.Detail == "":
		// Recorded by a print run that never confirmed it: it did print.
		v.Detail = "card from a print run that did not finish (pending): confirm its batch with idcards cards confirm"
	case f.cardState == string(idcards.CardFailed) && v.Detail == "":
		v.Detail = "card from a print run recorded as failed, yet it exists: check the batch (idcards cards list --state failed)"
	}
	return nil
}

// DetailReplacementVoided is the answer for a replaced card whose MRN has
// no active card: its replacement was voided (spoiled in the printer,
// never handed out). The old card stays invalid; the patient needs a new
// one.
const DetailReplacementVoided = "this card was replaced, but its replacement was voided (spoiled, never handed out): this ID has no valid card; print a new one"

// qSeriesSig is the series table in one string: what the codecs are built
// from, plus the ids, so an added, changed or removed series changes it.
// With an idgen pool (pool.go) the check scheme of the OpenMRS identifier
// type is part of it too: it checks codes that no series claims.
const qSeriesSig = `(SELECT coalesce(group_concat(id || ':' || prefix || ':' || width || ':' || scheme, ','), '') FROM (SELECT id, prefix, width, scheme FROM series ORDER BY id) AS s)
	|| (SELECT coalesce(max(CASE WHEN key = 'openmrs_id_source' AND value LIKE 'idgen:%' THEN '|pool:' END), '') || coalesce(max(CASE WHEN key = 'openmrs_identifier_scheme' THEN value END), '') FROM settings)`

// qVerify is the whole registry side of a verification in one statement
// (one snapshot): the series signature, the identifier, its patient if
// active, its current card, whether OpenMRS knows the ID if this registry
// does not, and the scanned card serial (?2, ” for none).
const qVerify = `SELECT ` + qSeriesSig + `,
	i.mrn IS NOT NULL, coalesce(i.state, ''), coalesce(i.patient_id, 0), coalesce(i.legacy, 0), coalesce(i.issued_at, ''),
	coalesce(i.issued_by, ''), coalesce(i.void_reason, ''),
	(SELECT serial FROM cards WHERE mrn = q.mrn AND state = 'active' ORDER BY printed_at DESC LIMIT 1),
	i.mrn IS NULL AND EXISTS (SELECT 1 FROM external_identifiers WHERE identifier = q.mrn),
	p.id IS NOT NULL, coalesce(p.id, 0), coalesce(p.uuid, ''), coalesce(p.given_name, ''), coalesce(p.family_name, ''),
	coalesce(p.sex, ''), coalesce(p.birth_date, ''), coalesce(p.birth_date_estimated, 0), coalesce(p.phone, ''),
	coalesce(p.village, ''), coalesce(p.merged_into, 0), coalesce(p.created_at, ''), coalesce(p.created_by, ''),
	c.serial IS NOT NULL, coalesce(c.mrn, ''), coalesce(c.state, ''), c.replaced_by,
	(SELECT kind || ' ' || detail FROM sync_conflicts WHERE identifier = q.mrn AND resolved_at IS NULL ORDER BY id LIMIT 1)
FROM (SELECT ?1 AS mrn, ?2 AS serial) q
LEFT JOIN identifiers i ON i.mrn = q.mrn
LEFT JOIN patients p ON i.state = 'active' AND p.id = i.patient_id
LEFT JOIN cards c ON q.serial <> '' AND c.serial = q.serial`

// qVerifyLegacy finds an identifier recorded without a series (an
// unchecked legacy ID), trying the normalised form and the form with its
// dashes, with the series signature.
const qVerifyLegacy = `SELECT ` + qSeriesSig + `,
	(SELECT mrn FROM identifiers WHERE series_id IS NULL AND (mrn = ?1 OR replace(replace(mrn,'-',''),' ','') = ?1) LIMIT 1)`

// seriesCache is the codecs of every series, longest prefix first, and the
// signature (qSeriesSig) they were built from.
type seriesCache struct {
	sig      string
	codecs   []barcode.Codec
	prefixes string
	// pool is the check scheme of the OpenMRS identifier type when the
	// registry issues idgen pool numbers (they have no series prefix).
	pool barcode.Scheme
	// poolLen is the length range of the pool's numbers (dashes left out):
	// a code of another length is not one of them.
	poolLen [2]int
}

func (s *Store) seriesCodecs(ctx context.Context) (*seriesCache, error) {
	if sc := s.series.Load(); sc != nil {
		return sc, nil
	}
	return s.reloadSeries(ctx)
}

// reloadSeries reads the series table and caches its codecs.
func (s *Store) reloadSeries(ctx context.Context) (*seriesCache, error) {
	sc := &seriesCache{}
	var src, scheme string
	// One statement, one snapshot: the signature with what it covers.
	st, err := s.prepared(ctx, `SELECT `+qSeriesSig+`, coalesce((SELECT value FROM settings WHERE key = ?1), ''), coalesce((SELECT value FROM settings WHERE key = ?2), ''),
		(SELECT coalesce(min(length(replace(identifier, '-', ''))), 0) FROM id_pool), (SELECT coalesce(max(length(replace(identifier, '-', ''))), 0) FROM id_pool),
		coalesce(prefix, ''), coalesce(width, 0), coalesce(scheme, '') FROM (SELECT 1 AS one) o LEFT JOIN series ON 1 = 1`)
	if err != nil {
		return nil, fmt.Errorf("registry: series: %w", err)
	}
	rows, err := st.QueryContext(ctx, SettingIDSource, SettingTypeScheme)
	if err != nil {
		return nil, fmt.Errorf("registry: series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f idcards.Format
		if err := rows.Scan(&sc.sig, &src, &scheme, &sc.poolLen[0], &sc.poolLen[1], &f.Prefix, &f.Width, &f.Scheme); err != nil {
			return nil, fmt.Errorf("registry: series: %w", err)
		}
		if f.Scheme == "" {
			continue // no series at all
		}
		c, err := barcode.NewCodec(f)
		if err != nil {
			return nil, err
		}
		sc.codecs = append(sc.codecs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: series: %w", err)
	}
	if strings.HasPrefix(src, "idgen:") && scheme != "" {
		sc.pool, _ = barcode.Lookup(scheme) // an unknown name checks nothing
	}
	sort.Slice(sc.codecs, func(i, j int) bool { return len(sc.codecs[i].Prefix) > len(sc.codecs[j].Prefix) })
	p := make([]string, len(sc.codecs))
	for i, c := range sc.codecs {
		p[i] = c.Prefix
	}
	sc.prefixes = strings.Join(p, ", ")
	s.series.Store(sc)
	return sc, nil
}
