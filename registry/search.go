package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// SearchPatients finds patients, newest first, at most limit (default 20),
// for the desk's Find screen and `idcards patients search`:
//
//   - an MRN (typed or scanned, any case, with or without dashes, a 2D
//     payload too) finds its patient, also when the ID was voided;
//   - a phone number in any national or international form ("0772 123456",
//     "+256 772 123456", "256772123456") finds the patient: phones are
//     compared by their last nine digits (shorter numbers by all of theirs);
//   - otherwise every word must match: a part of a name (folded with
//     match.Fold, so case, accents and letters such as Ł, Ø, ß are ignored:
//     "Lukasz" finds Łukasz), a name that sounds alike (the phonetic keys of
//     duplicate detection), a birth date (YYYY-MM-DD, or day first as
//     12/04/1990), a birth year ("1990"),
//     or six or more digits of a phone number.
//
// A typed MRN with a wrong check character matches no patient through
// its MRN; LooksLikeMistypedMRN tells the front end to say "wrong check
// character — probably mistyped" instead of "no patient".
func (s *Store) SearchPatients(ctx context.Context, text string, limit int) ([]idcards.Patient, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = 20
	}
	v, err := s.Verify(ctx, text)
	if err != nil {
		return nil, err
	}
	switch {
	case v.Status == idcards.StatusActive && v.Patient != nil:
		return []idcards.Patient{*v.Patient}, nil
	case v.Identifier != nil && v.Identifier.PatientID != 0:
		p, err := s.Patient(ctx, v.Identifier.PatientID)
		if err != nil {
			return nil, err
		}
		return []idcards.Patient{p}, nil
	}
	return s.searchWords(ctx, text, limit)
}

// LooksLikeMistypedMRN reports whether text has the shape of an MRN of one
// of the registry's series (prefix, length, characters) but a wrong check
// character — almost always a typing mistake — and gives the message a
// clerk should see. It is the scan's verification path (Verify's
// invalid_check), so a typed code and a scanned one are judged alike. The
// desk's Find screen and `idcards patients search` call it when a search
// found nobody (and may show it beside results, which then matched as a
// phone or a name).
func (s *Store) LooksLikeMistypedMRN(ctx context.Context, text string) (bool, string) {
	v, err := s.Verify(ctx, strings.TrimSpace(text))
	if err != nil || v.Status != idcards.StatusInvalidCheck {
		return false, ""
	}
	return true, v.Code + ": wrong check character — probably mistyped; check the number on the card and type it again"
}

// searchWords is the word search of SearchPatients.
func (s *Store) searchWords(ctx context.Context, text string, limit int) ([]idcards.Patient, error) {
	var conds []string
	var args []any
	words := strings.Fields(text)
	if _, date := searchDate(text); !date {
		if d := phoneDigits(text); d != "" {
			words = []string{d} // "0772 123 456" is one number, not three words
		}
	}
	thisYear := s.Now().Year()
	for _, raw := range words {
		if isBirthYear(raw, thisYear) {
			y, _ := strconv.Atoi(raw)
			conds = append(conds, `birth_year = ?`)
			args = append(args, y)
			continue
		}
		if d, ok := searchDate(raw); ok {
			conds = append(conds, `birth_date = ?`)
			args = append(args, d)
			continue
		}
		if d := phoneDigits(raw); d != "" {
			c, a := phoneCond(d)
			conds, args = append(conds, c), append(args, a...)
			continue
		}
		w := match.Fold(raw)
		if w == "" {
			continue // punctuation alone
		}
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(w)
		gk, fk := s.keys(w, w)
		conds = append(conds, `(name_norm LIKE ? ESCAPE '\' OR phone LIKE ? ESCAPE '\' OR given_key = ? OR family_key = ?)`)
		args = append(args, "%"+esc+"%", "%"+esc+"%", nonEmpty(gk), nonEmpty(fk))
	}
	return s.patientsWhere(ctx, conds, args, limit)
}

// SearchNames finds patients for a FHIR name search (PDQm ITI-78 family,
// given): every word of given and family must be part of the patient's
// folded names or sound like one of them (the phonetic keys), newest
// first, at most limit. The duplicate check cannot answer a search: it
// lists only the records likely to be the person, and a common name
// spreads that likelihood over all its namesakes, so a client would hear
// "nobody" for a registered patient.
func (s *Store) SearchNames(ctx context.Context, given, family string, limit int) ([]idcards.Patient, error) {
	if _, err := idcards.Require(ctx, idcards.PermReadPatient); err != nil {
		return nil, err
	}
	var conds []string
	var args []any
	for _, raw := range strings.Fields(given + " " + family) {
		w := match.Fold(raw)
		if w == "" {
			continue
		}
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(w)
		gk, fk := s.keys(w, w)
		conds = append(conds, `(name_norm LIKE ? ESCAPE '\' OR given_key = ? OR family_key = ?)`)
		args = append(args, "%"+esc+"%", nonEmpty(gk), nonEmpty(fk))
	}
	return s.patientsWhere(ctx, conds, args, limit)
}

// patientsWhere reads the patients meeting every condition, newest first.
func (s *Store) patientsWhere(ctx context.Context, conds []string, args []any, limit int) ([]idcards.Patient, error) {
	if len(conds) == 0 {
		return nil, nil
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+patientCols+` FROM patients WHERE `+strings.Join(conds, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: search: %w", err)
	}
	defer rows.Close()
	var out []idcards.Patient
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// phoneDigitsSQL is the stored phone with the separators Validate allows
// removed: its digits (and a leading '+', dropped too).
const phoneDigitsSQL = `replace(replace(replace(replace(replace(replace(replace(coalesce(phone,''),' ',''),'-',''),'+',''),'(',''),')',''),'.',''),'/','')`

// phoneCond matches phones by digits: the last nine (a national number
// without its trunk 0 or country code: 0772123456, +256772123456 and
// 256 772 123456 all end in 772123456), through the indexed last-four
// suffix; a shorter number must appear among a phone's digits.
func phoneCond(d string) (string, []any) {
	if len(d) >= 9 {
		return `(phone_suffix = ? AND ` + phoneDigitsSQL + ` LIKE ?)`, []any{d[len(d)-4:], "%" + d[len(d)-9:]}
	}
	return phoneDigitsSQL + ` LIKE ?`, []any{"%" + d + "%"}
}

// phoneDigits returns the digits of s when s is written like a phone
// number (digits with the separators a phone may have, at least six
// digits), else "".
func phoneDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case strings.IndexByte(" +-()./", c) >= 0:
		default:
			return ""
		}
	}
	if b.Len() < 6 || b.Len() > 15 {
		return ""
	}
	return b.String()
}

func isBirthYear(w string, thisYear int) bool {
	if len(w) != 4 {
		return false
	}
	y, err := strconv.Atoi(w)
	return err == nil && y >= thisYear-130 && y <= thisYear
}

// searchDate reads a birth date as YYYY-MM-DD or, as written at East
// African desks, day first: 12/04/1990, 12.04.1990, 2/4/1990.
func searchDate(w string) (string, bool) {
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006", "02.01.2006", "2.1.2006"} {
		if t, err := time.Parse(layout, w); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// nonEmpty keeps an empty key from matching every patient without one.
func nonEmpty(k string) any {
	if k == "" {
		return nil
	}
	return k
}

// The folded names in patients.name_norm are match.Fold's output, and
// match.Fold may learn new letters (Ł, Ø, ß…). foldProbe is a string
// covering what folding does; its folded form's digest is stored as the
// setting name_fold, and when a build folds it differently every stored
// name is folded again (refoldNames, on open), so that search and the
// import's identical-row check always compare like with like.
const foldProbe = "Zoë N'Diaye-Ngũgĩ Łukasz Øyvind Đorđe Straße Æsa Þór İsmail ĳ Œuvre ﬁ Ð"

func foldVersion() string {
	sum := sha256.Sum256([]byte(match.Fold(foldProbe)))
	return "fold1:" + hex.EncodeToString(sum[:8])
}

// refoldNames re-folds every stored name when match.Fold changed since the
// names were folded (see foldProbe), in one transaction.
func (s *Store) refoldNames(ctx context.Context) error {
	want := foldVersion()
	cur, err := s.Setting(ctx, "name_fold", "")
	if err != nil || cur == want {
		return err
	}
	// A registry being created has no trail yet: initFormat records the
	// fold version with its creation row.
	var rows int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM audit LIMIT 1) AS a`).Scan(&rows); err != nil || rows == 0 {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Another process opening the file at the same moment may have
		// done it while this one waited for the write lock.
		var now string
		if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT value FROM settings WHERE key = 'name_fold'), '')`).Scan(&now); err != nil || now == want {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, given_name, family_name, coalesce(name_norm,'') FROM patients`)
		if err != nil {
			return err
		}
		type upd struct {
			id   int64
			norm string
		}
		var todo []upd
		for rows.Next() {
			var id int64
			var g, f, old string
			if err := rows.Scan(&id, &g, &f, &old); err != nil {
				rows.Close()
				return err
			}
			if n := FoldName(g + " " + f); n != old {
				todo = append(todo, upd{id, n})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `UPDATE patients SET name_norm = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, u := range todo {
			if _, err := st.ExecContext(ctx, u.norm, u.id); err != nil {
				return err
			}
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('name_fold', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, want); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, "system:idcards", "patient.refold", "",
			fmt.Sprintf("search keys of %d patients refolded (name_fold %s)", len(todo), want))
	})
}
