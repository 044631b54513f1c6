package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
)

// Series is one MRN format with its sequence.
type Series struct {
	ID      int64
	Format  idcards.Format
	NextSeq int64
	Current bool
	Issued  int64 // identifiers issued in this series
}

type seriesRow struct {
	id      int64
	codec   barcode.Codec
	nextSeq int64
}

func (s *Store) initFormat(ctx context.Context, f idcards.Format) error {
	if _, err := barcode.NewCodec(f); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO series(prefix, width, scheme, next_seq, is_current, created_at) VALUES (?,?,?,1,1,?)`,
			f.Prefix, f.Width, f.Scheme, s.now()); err != nil {
			return fmt.Errorf("registry: init: %w", err)
		}
		// A new registry has no names to refold (search.go).
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('name_fold', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, foldVersion()); err != nil {
			return fmt.Errorf("registry: init: %w", err)
		}
		a, _ := idcards.ActorFrom(ctx)
		ident, err := s.creationIdentity(ctx, tx) // auditupgrade.go: identity, key id, columns
		if err != nil {
			return fmt.Errorf("registry: init: %w", err)
		}
		return s.insertAudit(ctx, tx, actorName(a), "registry.init", f.Prefix, fmt.Sprintf("scheme=%s width=%d %s", f.Scheme, f.Width, ident))
	})
}

func actorName(a idcards.Actor) string {
	if a.Name == "" {
		return "unknown"
	}
	return a.Name
}

// Format returns the current series' format.
func (s *Store) Format(ctx context.Context) (idcards.Format, error) {
	var f idcards.Format
	err := s.db.QueryRowContext(ctx, `SELECT prefix, width, scheme FROM series WHERE is_current = 1`).Scan(&f.Prefix, &f.Width, &f.Scheme)
	if err != nil {
		return f, fmt.Errorf("registry: format: %w", err)
	}
	return f, nil
}

// SeriesList returns every series, current first.
func (s *Store) SeriesList(ctx context.Context) ([]Series, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.id, s.prefix, s.width, s.scheme, s.next_seq, s.is_current,
		(SELECT count(*) FROM identifiers i WHERE i.series_id = s.id) FROM series s ORDER BY s.is_current DESC, s.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Series
	for rows.Next() {
		var x Series
		if err := rows.Scan(&x.ID, &x.Format.Prefix, &x.Format.Width, &x.Format.Scheme, &x.NextSeq, &x.Current, &x.Issued); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// SetFormat changes the current series' format. It is refused once any ID
// has been issued in it: printed cards carry that format, and changing it
// would make them unreadable or let a number be issued twice.
func (s *Store) SetFormat(ctx context.Context, f idcards.Format) error {
	a, err := idcards.Require(ctx, idcards.PermSettings)
	if err != nil {
		return err
	}
	if _, err := barcode.NewCodec(f); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkTypeScheme(ctx, tx, f); err != nil {
			return err
		}
		var id, n int64
		if err := tx.QueryRowContext(ctx, `SELECT s.id, (SELECT count(*) FROM identifiers i WHERE i.series_id = s.id) FROM series s WHERE is_current = 1`).Scan(&id, &n); err != nil {
			return err
		}
		if n > 0 {
			return idcards.Errorf(idcards.Conflict, "the ID format cannot be changed: %d IDs have already been issued in it and may be printed on cards; add a new series with a new prefix instead (idcards series add)", n)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE series SET prefix = ?, width = ?, scheme = ? WHERE id = ?`, f.Prefix, f.Width, f.Scheme, id); err != nil {
			if isConstraint(err) {
				return idcards.Errorf(idcards.Conflict, "prefix %s is already used by another series", f.Prefix)
			}
			return err
		}
		return s.insertAudit(ctx, tx, a.Name, "series.format", f.Prefix, fmt.Sprintf("scheme=%s width=%d", f.Scheme, f.Width))
	})
}

// AddSeries starts a new series (a new prefix) and makes it current. Its
// scheme and width may differ from the old one; IDs of older series stay
// valid and keep verifying.
func (s *Store) AddSeries(ctx context.Context, f idcards.Format) error {
	a, err := idcards.Require(ctx, idcards.PermSettings)
	if err != nil {
		return err
	}
	if _, err := barcode.NewCodec(f); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkTypeScheme(ctx, tx, f); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT prefix FROM series`)
		if err != nil {
			return err
		}
		var prefixes []string
		for rows.Next() {
			var p string
			rows.Scan(&p)
			prefixes = append(prefixes, p)
		}
		rows.Close()
		for _, p := range prefixes {
			// One prefix must not start another, or a code could belong to two series.
			if strings.HasPrefix(p, f.Prefix) || strings.HasPrefix(f.Prefix, p) {
				return idcards.Errorf(idcards.Conflict, "prefix %q overlaps existing series %q: codes could not be told apart", f.Prefix, p)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE series SET is_current = 0 WHERE is_current = 1`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO series(prefix, width, scheme, next_seq, is_current, created_at) VALUES (?,?,?,1,1,?)`,
			f.Prefix, f.Width, f.Scheme, s.now()); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, a.Name, "series.add", f.Prefix, fmt.Sprintf("scheme=%s width=%d", f.Scheme, f.Width))
	})
}

// checkTypeScheme refuses a series whose check scheme differs from the
// OpenMRS identifier type sync is configured for (recorded by sync
// configure): OpenMRS would refuse every MRN of it ("Invalid check digit")
// and every later sync would stop.
func checkTypeScheme(ctx context.Context, tx *sql.Tx, f idcards.Format) error {
	var want string
	err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, SettingTypeScheme).Scan(&want)
	if errors.Is(err, sql.ErrNoRows) || want == "" || want == "*" {
		return nil // sync not configured, or the type has no validator
	}
	if err != nil {
		return err
	}
	if f.Scheme != want {
		return idcards.Errorf(idcards.Invalid, "scheme %s does not match OpenMRS: sync is configured for an identifier type validated as %s, so OpenMRS would refuse every MRN of this series (\"Invalid check digit\") and sync would stop; use --scheme %s, or reconfigure sync for another identifier type first (idcards sync types)",
			f.Scheme, want, want)
	}
	return nil
}

func (s *Store) currentSeries(ctx context.Context, tx *sql.Tx) (seriesRow, error) {
	var r seriesRow
	var f idcards.Format
	if err := tx.QueryRowContext(ctx, `SELECT id, prefix, width, scheme, next_seq FROM series WHERE is_current = 1`).Scan(&r.id, &f.Prefix, &f.Width, &f.Scheme, &r.nextSeq); err != nil {
		return r, fmt.Errorf("registry: current series: %w", err)
	}
	c, err := barcode.NewCodec(f)
	if err != nil {
		return r, err
	}
	r.codec = c
	return r, nil
}

// issuer hands out numbers inside one transaction. It skips every number
// already recorded (legacy imports can sit ahead of the sequence) or known
// to be taken elsewhere (external_identifiers, filled by OpenMRS sync).
// With an idgen pool configured (pool.go) it takes the pool's numbers
// instead of the current series'.
type issuer struct {
	tx       *sql.Tx
	series   seriesRow
	pool     string // idgen source uuid, or "" for the current series
	seq      int64
	insert   *sql.Stmt
	external *sql.Stmt
	actor    string
	at       string
}

// The issuer's statements, prepared at open (Store.ready) and bound to each
// transaction.
const (
	qIssueInsert = `INSERT INTO identifiers(mrn, series_id, seq, state, patient_id, issued_at, issued_by, assigned_at)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(mrn) DO NOTHING`
	qIssueExternal = `SELECT count(*) FROM external_identifiers WHERE identifier = ?`
)

func (s *Store) newIssuer(ctx context.Context, tx *sql.Tx, actor string) (*issuer, error) {
	if err := pullRequired(ctx, tx); err != nil { // restore.go: after a restore with the disk lost
		return nil, err
	}
	sr, err := s.currentSeries(ctx, tx)
	if err != nil {
		return nil, err
	}
	ins, err := s.txStmt(ctx, tx, qIssueInsert)
	if err != nil {
		return nil, err
	}
	ext, err := s.txStmt(ctx, tx, qIssueExternal)
	if err != nil {
		ins.Close()
		return nil, err
	}
	pool, err := poolSource(ctx, tx)
	if err != nil {
		ins.Close()
		ext.Close()
		return nil, err
	}
	return &issuer{tx: tx, series: sr, pool: pool, seq: sr.nextSeq, insert: ins, external: ext, actor: actor, at: s.now()}, nil
}

func (is *issuer) close() { is.insert.Close(); is.external.Close() }

// next records and returns the next free number. patientID 0 issues an
// unassigned ID (pre-printed card).
func (is *issuer) next(ctx context.Context, patientID int64) (string, error) {
	if is.pool != "" {
		return is.takeFromPool(ctx, patientID)
	}
	for {
		mrn, err := is.series.codec.Make(is.seq)
		if err != nil {
			return "", err
		}
		seq := is.seq
		is.seq++
		var n int
		if err := is.external.QueryRowContext(ctx, mrn).Scan(&n); err != nil {
			return "", err
		}
		if n > 0 {
			continue // OpenMRS already holds it
		}
		state, pid, assigned := string(idcards.IDUnassigned), any(nil), any(nil)
		if patientID != 0 {
			state, pid, assigned = string(idcards.IDActive), patientID, is.at
		}
		res, err := is.insert.ExecContext(ctx, mrn, is.series.id, seq, state, pid, is.at, is.actor, assigned)
		if err != nil {
			return "", fmt.Errorf("registry: issue: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			continue // recorded already (legacy import ahead of the sequence)
		}
		return mrn, nil
	}
}

// finish moves the series' sequence forward; it never moves back.
func (is *issuer) finish(ctx context.Context) error {
	if is.pool != "" {
		return nil // the pool's numbers were marked issued one by one
	}
	_, err := is.tx.ExecContext(ctx, `UPDATE series SET next_seq = max(next_seq, ?) WHERE id = ?`, is.seq, is.series.id)
	return err
}

// IssueID issues the next MRN to an existing patient, in one transaction,
// and returns it only after commit. The identifier is queued for OpenMRS.
//
// A patient who already has an active ID gets a second one only with a
// reason (the card was lost and the old number is to stay valid, say): the
// old ID stays active and its card keeps scanning as this patient's, so a
// second ID is a deliberate act, audited with the reason and the ID(s) it
// sits beside. Without a reason such a request is refused (Invalid) with a
// message naming the active ID. A reason given for a patient without an
// active ID is recorded too.
func (s *Store) IssueID(ctx context.Context, patientID int64, reason string) (idcards.Identifier, error) {
	a, err := idcards.Require(ctx, idcards.PermIssue)
	if err != nil {
		return idcards.Identifier{}, err
	}
	reason = strings.TrimSpace(reason)
	var id idcards.Identifier
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.patientOpen(ctx, tx, patientID); err != nil {
			return err
		}
		active, err := activeMRNs(ctx, tx, patientID)
		if err != nil {
			return err
		}
		if len(active) > 0 && reason == "" {
			var given, family string
			if err := tx.QueryRowContext(ctx, `SELECT given_name, family_name FROM patients WHERE id = ?`, patientID).Scan(&given, &family); err != nil {
				return err
			}
			return idcards.Errorf(idcards.Invalid, "%s already has active ID %s; give a reason for a second ID (the old card stays valid; to replace a lost or damaged card, reprint it instead)",
				idcards.Patient{GivenName: given, FamilyName: family}.DisplayName(), strings.Join(active, ", "))
		}
		if err := s.checkFlood(ctx, tx, a, 1); err != nil {
			return err
		}
		mrn, err := s.issueTx(ctx, tx, a.Name, patientID)
		if err != nil {
			return err
		}
		if len(active) > 0 || reason != "" {
			detail := "reason: " + reason
			if len(active) > 0 {
				detail = fmt.Sprintf("second active ID beside %s; %s", strings.Join(active, ", "), detail)
			}
			if err := s.insertAudit(ctx, tx, a.Name, "id.issue_another", mrn, fmt.Sprintf("patient=%d %s", patientID, detail)); err != nil {
				return err
			}
		}
		id = idcards.Identifier{MRN: mrn, State: idcards.IDActive, PatientID: patientID, IssuedBy: a.Name, IssuedAt: parseTime(s.now())}
		return nil
	})
	if err != nil {
		return idcards.Identifier{}, err
	}
	return id, nil
}

// activeMRNs lists a patient's active IDs, oldest first.
func activeMRNs(ctx context.Context, tx *sql.Tx, patientID int64) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT mrn FROM identifiers WHERE patient_id = ? AND state = 'active' ORDER BY issued_at, mrn`, patientID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// issueTx issues one number to patientID inside tx, audits it and queues it
// for OpenMRS.
func (s *Store) issueTx(ctx context.Context, tx *sql.Tx, actor string, patientID int64) (string, error) {
	is, err := s.newIssuer(ctx, tx, actor)
	if err != nil {
		return "", err
	}
	defer is.close()
	mrn, err := is.next(ctx, patientID)
	if err != nil {
		return "", err
	}
	if err := is.finish(ctx); err != nil {
		return "", err
	}
	if err := enqueue(ctx, tx, "add_identifier", patientID, mrn, is.at); err != nil {
		return "", err
	}
	return mrn, s.insertAudit(ctx, tx, actor, "id.issue", mrn, fmt.Sprintf("patient=%d", patientID))
}

// Reserve issues n unassigned IDs for a pre-printed card run, in one
// transaction, and returns them only after commit.
func (s *Store) Reserve(ctx context.Context, n int) ([]string, error) {
	a, err := idcards.Require(ctx, idcards.PermReserve)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 1_000_000 {
		return nil, idcards.Errorf(idcards.Invalid, "count %d: reserve between 1 and 1,000,000 IDs at a time", n)
	}
	var out []string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// The flood cap holds for every account that issues, reserved
		// batches too (a printer's or admin's issue --count 5000).
		if err := s.checkFlood(ctx, tx, a, n); err != nil {
			return err
		}
		is, err := s.newIssuer(ctx, tx, a.Name)
		if err != nil {
			return err
		}
		defer is.close()
		out = make([]string, 0, n)
		if s.dialect.postgres() && n > 1 && is.pool == "" { // issue_postgres.go: in batches, not a round trip per ID
			if out, err = is.nextMany(ctx, n); err != nil {
				return err
			}
		}
		for len(out) < n {
			mrn, err := is.next(ctx, 0)
			if err != nil {
				return err
			}
			out = append(out, mrn)
		}
		if err := is.finish(ctx); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, a.Name, "id.reserve", out[0], fmt.Sprintf("count=%d first=%s last=%s", n, out[0], out[len(out)-1]))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkFlood enforces the per-user hourly cap on issued IDs (setting
// flood_cap_per_hour, 0 = off): registrations, IDs issued to patients and
// reserved IDs, by any role. Beyond it only a role that may override
// (supervisor) proceeds; others are refused with a clear message.
func (s *Store) checkFlood(ctx context.Context, tx *sql.Tx, a idcards.Actor, n int) error {
	var capStr string
	err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'flood_cap_per_hour'`).Scan(&capStr)
	if errors.Is(err, sql.ErrNoRows) || capStr == "" || capStr == "0" {
		return nil
	}
	if err != nil {
		return err
	}
	var limit int
	fmt.Sscan(capStr, &limit)
	if limit <= 0 || idcards.Allowed(a.Role, idcards.PermOverride) {
		return nil
	}
	return s.overCap(ctx, tx, a, n, limit) // approvals.go: registrations too, and supervisors' approvals
}

func enqueue(ctx context.Context, tx *sql.Tx, kind string, patientID int64, mrn, at string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox(kind, patient_id, mrn, created_at) VALUES (?,?,?,?)`, kind, nullID(patientID), nullStr(mrn), at)
	return err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
