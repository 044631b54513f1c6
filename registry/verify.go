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
//  3. look the identifier up (active / unassigned / voided / unknown), then
//     the card serial if there is one (replaced / voided card).
//
// The returned error is only for failures of the registry itself; every
// answer about the code is in the Verification.
func (s *Store) Verify(ctx context.Context, raw string) (idcards.Verification, error) {
	v := idcards.Verification{Input: raw, CheckedAt: s.Now().UTC()}
	if len(raw) > barcode.MaxInput {
		v.Status, v.Detail = idcards.StatusMalformed, fmt.Sprintf("input is %d bytes long; no MRN is that long", len(raw))
		return v, nil
	}
	if !utf8.ValidString(raw) {
		v.Status, v.Detail = idcards.StatusMalformed, "input is not valid UTF-8 text"
		return v, nil
	}
	code, serial := barcode.SplitScan(raw)
	n := barcode.Normalize(code)
	v.Code = n
	if n == "" {
		v.Status, v.Detail = idcards.StatusMalformed, "empty code"
		return v, nil
	}
	codecs, err := s.codecs(ctx)
	if err != nil {
		return v, err
	}
	var perr error = &barcode.ParseError{Status: idcards.StatusMalformed, Msg: fmt.Sprintf("foreign prefix: %q does not start with this registry's prefix (%s)", n, prefixes(codecs))}
	matched := false
	for _, c := range codecs {
		if !c.HasPrefix(n) {
			continue
		}
		mrn, _, err := c.Parse(n)
		if err == nil {
			v.Code, matched = mrn, true
			break
		}
		perr = err
	}
	if !matched {
		// Legacy IDs imported without a check are looked up as they are.
		if legacy, err := s.lookupLegacy(ctx, n); err != nil {
			return v, err
		} else if legacy != "" {
			v.Code, matched = legacy, true
		}
	}
	if !matched {
		var pe *barcode.ParseError
		if errors.As(perr, &pe) {
			v.Status, v.Detail = pe.Status, pe.Msg
		} else {
			v.Status, v.Detail = idcards.StatusMalformed, perr.Error()
		}
		return v, nil
	}
	if err := s.lookup(ctx, &v); err != nil {
		return v, err
	}
	if serial != "" && v.Status != idcards.StatusUnknown {
		if err := s.checkCard(ctx, &v, serial); err != nil {
			return v, err
		}
	}
	return v, nil
}

func prefixes(cs []barcode.Codec) string {
	var p []string
	for _, c := range cs {
		p = append(p, c.Prefix)
	}
	return strings.Join(p, ", ")
}

// codecs returns one codec per series, longest prefix first.
func (s *Store) codecs(ctx context.Context) ([]barcode.Codec, error) {
	st, err := s.prepared(ctx, `SELECT prefix, width, scheme FROM series`)
	if err != nil {
		return nil, fmt.Errorf("registry: series: %w", err)
	}
	rows, err := st.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: series: %w", err)
	}
	defer rows.Close()
	var out []barcode.Codec
	for rows.Next() {
		var f idcards.Format
		if err := rows.Scan(&f.Prefix, &f.Width, &f.Scheme); err != nil {
			return nil, err
		}
		c, err := barcode.NewCodec(f)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i].Prefix) > len(out[j].Prefix) })
	return out, rows.Err()
}

// lookupLegacy finds an identifier recorded without a series (an unchecked
// legacy ID), trying the normalised form and the form with its dashes.
func (s *Store) lookupLegacy(ctx context.Context, n string) (string, error) {
	var mrn string
	err := s.queryRow(ctx, `SELECT mrn FROM identifiers WHERE series_id IS NULL AND (mrn = ? OR replace(replace(mrn,'-',''),' ','') = ?) LIMIT 1`, n, n).Scan(&mrn)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return mrn, err
}

func (s *Store) lookup(ctx context.Context, v *idcards.Verification) error {
	id, err := s.Identifier(ctx, v.Code)
	if idcards.ErrorKind(err) == idcards.NotFound {
		v.Status = idcards.StatusUnknown
		var uuid sql.NullString
		err := s.queryRow(ctx, `SELECT patient_uuid FROM external_identifiers WHERE identifier = ?`, v.Code).Scan(&uuid)
		switch {
		case err == nil:
			v.Detail = "not issued at this desk, but in use in OpenMRS"
		case errors.Is(err, sql.ErrNoRows):
			v.Detail = "check character is right, but this registry never issued this ID"
		default:
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	v.Identifier = &id
	switch id.State {
	case idcards.IDUnassigned:
		v.Status, v.Detail = idcards.StatusUnassigned, "pre-printed card not yet given to a patient"
	case idcards.IDVoided:
		v.Status, v.Detail = idcards.StatusVoided, "voided: "+id.VoidReason
	default:
		v.Status = idcards.StatusActive
		p, err := s.Patient(ctx, id.PatientID)
		if err != nil {
			return err
		}
		v.Patient = &p
		if p.MergedInto != 0 {
			v.Detail = fmt.Sprintf("same person as patient %d (records merged)", p.MergedInto)
		}
	}
	// Report the current card so the caller can show it.
	var serial string
	err = s.queryRow(ctx, `SELECT serial FROM cards WHERE mrn = ? AND state = 'active' ORDER BY printed_at DESC LIMIT 1`, v.Code).Scan(&serial)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	v.CardSerial = serial
	return nil
}

// checkCard applies the card serial from a 2D symbol: a replaced or voided
// card is reported as such even when its MRN is active.
func (s *Store) checkCard(ctx context.Context, v *idcards.Verification, serial string) error {
	var mrn, state string
	var by sql.NullString
	err := s.queryRow(ctx, `SELECT mrn, state, replaced_by FROM cards WHERE serial = ?`, serial).Scan(&mrn, &state, &by)
	if errors.Is(err, sql.ErrNoRows) {
		v.Status, v.Detail, v.CardSerial = idcards.StatusUnknown, fmt.Sprintf("card serial %s was never printed by this registry", serial), serial
		return nil
	}
	if err != nil {
		return err
	}
	v.CardSerial = serial
	switch {
	case mrn != v.Code:
		v.Status, v.Detail = idcards.StatusMalformed, fmt.Sprintf("card serial %s belongs to a different MRN", serial)
	case state == string(idcards.CardReplaced):
		v.Status, v.Detail = idcards.StatusReplaced, "this card was replaced"
		if by.Valid {
			v.Detail += " by card " + by.String
		}
	case state == string(idcards.CardVoided) && v.Status.OK():
		v.Status, v.Detail = idcards.StatusVoided, "this card was voided"
	}
	return nil
}
