package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/idcards/idcards"
)

// The registry's side of the FHIR face of `idcards serve` (scanapi/fhir.go):
// the identifier system its MRNs carry, and a patient with everything a
// FHIR Patient resource shows, read in one statement.

// FHIRSystemSetting names the setting holding the URI of this registry's
// MRN identifier system in FHIR (Identifier.system): chosen at `init`
// (--fhir-system), or derived from the first series' prefix for a
// registry made before FHIR existed here (see FHIRSystem).
const FHIRSystemSetting = "fhir_system"

// OpenMRSSystem and OpenMRSValuePrefix are how a patient's OpenMRS UUID is
// written as a FHIR Identifier: the URI system of RFC 3986 with the value
// urn:uuid:UUID, as FHIR recommends for UUIDs.
const (
	OpenMRSSystem      = "urn:ietf:rfc:3986"
	OpenMRSValuePrefix = "urn:uuid:"
)

// DefaultFHIRSystem is the system a registry whose first series has this
// prefix uses when none was chosen: urn:idcards:PREFIX (urn:idcards:mrn for
// an empty prefix).
func DefaultFHIRSystem(prefix string) string {
	if prefix == "" {
		return "urn:idcards:mrn"
	}
	return "urn:idcards:" + prefix
}

// CheckFHIRSystem accepts an absolute URI (http(s)://…, urn:oid:…,
// urn:idcards:…) of at most 255 bytes, without spaces, control characters
// or "|" (which separates system and value in FHIR search tokens). The
// empty string means "the default".
func CheckFHIRSystem(v string) error {
	if v == "" {
		return nil
	}
	bad := func(why string) error {
		return idcards.Errorf(idcards.Invalid, "FHIR identifier system %q: %s (e.g. urn:oid:1.2.3.4, https://clinic.example.org/fhir/mrn, urn:idcards:KLA)", v, why)
	}
	if len(v) > 255 {
		return bad("at most 255 bytes")
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '|' || r > unicode.MaxASCII {
			return bad("ASCII without spaces or |")
		}
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || (u.Opaque == "" && u.Host == "" && u.Path == "") {
		return bad("not an absolute URI")
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return bad("a URL needs a host")
	}
	if v == OpenMRSSystem {
		return bad("that is the system of OpenMRS UUIDs")
	}
	return nil
}

// FHIRSystem returns the URI of this registry's MRNs in FHIR: the
// fhir_system setting, or DefaultFHIRSystem of the first
// series' prefix (series are never removed, so it does not change).
func (s *Store) FHIRSystem(ctx context.Context) (string, error) {
	v, err := s.Setting(ctx, FHIRSystemSetting, "")
	if err != nil || v != "" {
		return v, err
	}
	var prefix string
	err = s.queryRow(ctx, `SELECT prefix FROM series ORDER BY id LIMIT 1`).Scan(&prefix)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("registry: fhir system: %w", err)
	}
	return DefaultFHIRSystem(prefix), nil
}

// SetFHIRSystem chooses the FHIR identifier system (admin; audited), as
// `idcards init --fhir-system` and `idcards settings set` do.
func (s *Store) SetFHIRSystem(ctx context.Context, uri string) error {
	return s.SetKnownSetting(ctx, FHIRSystemSetting, uri)
}

// PatientRecord is one patient as a FHIR Patient resource shows them.
type PatientRecord struct {
	Patient idcards.Patient
	// MRNs are the patient's active identifiers, newest first. Voided ones
	// are left out; a replaced card does not change its MRN, which stays.
	MRNs []string
	// OpenMRSUUID is the patient's UUID in OpenMRS once sync has confirmed
	// the record is there ("" before). The desk chooses the UUID, so it is
	// normally Patient.UUID.
	OpenMRSUUID string
	// MergedIntoUUID is the surviving record's UUID when a supervisor
	// merged this one into it.
	MergedIntoUUID string
}

// qPatientRecord reads a patient, one row per active MRN (newest first;
// one row with an empty mrn when none), with the OpenMRS UUID and the
// surviving record's UUID. Portable SQL; the partial indexes of migration
// 0016 answer the MRNs and the OpenMRS UUID from the index alone. cols is
// patientColsP, or patientColsIdentity when the details are not wanted.
func qPatientRecord(cols, where string) string {
	return `SELECT ` + cols + `, coalesce(i.mrn, ''),
	coalesce((SELECT remote_uuid FROM outbox WHERE patient_id = p.id AND kind = 'register_patient' AND state = 'done' AND remote_uuid IS NOT NULL LIMIT 1), ''),
	coalesce((SELECT uuid FROM patients m WHERE m.id = p.merged_into), '')
FROM patients p LEFT JOIN identifiers i ON i.patient_id = p.id AND i.state = 'active'
WHERE ` + where + ` ORDER BY i.issued_at DESC, i.mrn DESC`
}

// patientColsIdentity is patientColsP without who the patient is: the
// same columns, names, sex, dates, phone and village left empty.
const patientColsIdentity = `p.id, p.uuid, '', '', 'U', '', 0, '', '', coalesce(p.merged_into,0), '', ''`

var (
	qRecordByID     = qPatientRecord(patientColsP, `p.id = ?`)
	qRecordByUUID   = qPatientRecord(patientColsP, `p.uuid = ?`)
	qIdentityByID   = qPatientRecord(patientColsIdentity, `p.id = ?`)
	qIdentityByUUID = qPatientRecord(patientColsIdentity, `p.uuid = ?`)
)

// patientColsP is patientCols qualified by the alias p.
const patientColsP = `p.id, p.uuid, p.given_name, p.family_name, p.sex, coalesce(p.birth_date,''), p.birth_date_estimated, coalesce(p.phone,''), coalesce(p.village,''), coalesce(p.merged_into,0), p.created_at, p.created_by`

// PatientRecord returns the patient with this id, NotFound if none.
// Without details only the record's identity is read (UUID, MRNs, OpenMRS
// UUID, merge): the names, sex, birth date, phone and village stay empty,
// for callers that may not show them.
func (s *Store) PatientRecord(ctx context.Context, id int64, details bool) (PatientRecord, error) {
	q := qIdentityByID
	if details {
		q = qRecordByID
	}
	return s.patientRecord(ctx, q, id)
}

// PatientRecordByUUID is PatientRecord by the patient's UUID (Patient.id
// in FHIR).
func (s *Store) PatientRecordByUUID(ctx context.Context, uuid string, details bool) (PatientRecord, error) {
	q := qIdentityByUUID
	if details {
		q = qRecordByUUID
	}
	return s.patientRecord(ctx, q, strings.ToLower(uuid))
}

func (s *Store) patientRecord(ctx context.Context, q string, arg any) (PatientRecord, error) {
	var r PatientRecord
	st, err := s.prepared(ctx, q)
	if err != nil {
		return r, fmt.Errorf("registry: patient record: %w", err)
	}
	rows, err := st.QueryContext(ctx, arg)
	if err != nil {
		return r, fmt.Errorf("registry: patient record: %w", err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var sex, created, mrn string
		if err := rows.Scan(&r.Patient.ID, &r.Patient.UUID, &r.Patient.GivenName, &r.Patient.FamilyName, &sex,
			&r.Patient.BirthDate, &r.Patient.BirthDateEstimated, &r.Patient.Phone, &r.Patient.Village, &r.Patient.MergedInto,
			&created, &r.Patient.CreatedBy, &mrn, &r.OpenMRSUUID, &r.MergedIntoUUID); err != nil {
			return r, fmt.Errorf("registry: patient record: %w", err)
		}
		if !found {
			r.Patient.Sex = idcards.Sex(sex)
			if created != "" {
				r.Patient.CreatedAt = parseTime(created)
			}
			found = true
		}
		if mrn != "" {
			r.MRNs = append(r.MRNs, mrn)
		}
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("registry: patient record: %w", err)
	}
	if !found {
		return r, idcards.Errorf(idcards.NotFound, "no such patient")
	}
	return r, nil
}
