// Package idcards holds the domain types shared by every part of the program:
// patients, medical record numbers (MRNs), cards, audit events, the status
// vocabulary that the CLI, the TUI and the HTTP endpoint all speak, and a
// small error vocabulary.
//
// The root package imports nothing from the project; every other package
// depends on it, never the other way round.
package idcards

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Status is the answer to "what is this scanned or typed code?". The same
// words are used by `idcards verify`, the TUI and the scanner endpoint.
type Status string

const (
	StatusActive       Status = "active"        // issued and bound to a patient; card (if any) current
	StatusUnassigned   Status = "unassigned"    // issued (e.g. pre-printed card) but no patient yet
	StatusVoided       Status = "voided"        // identifier was voided; do not use
	StatusReplaced     Status = "replaced"      // the scanned card serial was superseded by a reprint
	StatusUnknown      Status = "unknown"       // check digit fine, but not in this registry
	StatusInvalidCheck Status = "invalid_check" // check character wrong: probably a typo
	StatusMalformed    Status = "malformed"     // wrong length, foreign prefix, bad characters
)

// OK reports whether a code with this status may be used at the desk.
func (s Status) OK() bool { return s == StatusActive || s == StatusUnassigned }

// Format is the MRN format a registry is initialised with: site prefix,
// zero-padded sequence width and check-digit scheme. The check character
// covers prefix and sequence.
type Format struct {
	Prefix string `json:"prefix"`
	Width  int    `json:"width"`
	Scheme string `json:"scheme"`
}

// Sex is recorded as OpenMRS records gender: M, F, O (other) or U (unknown).
type Sex string

const (
	SexMale    Sex = "M"
	SexFemale  Sex = "F"
	SexOther   Sex = "O"
	SexUnknown Sex = "U"
)

// ParseSex accepts M/F/O/U (any case) and a few spelled-out forms.
func ParseSex(s string) (Sex, error) {
	switch s {
	case "M", "m", "male", "Male", "MALE":
		return SexMale, nil
	case "F", "f", "female", "Female", "FEMALE":
		return SexFemale, nil
	case "O", "o", "other", "Other", "OTHER":
		return SexOther, nil
	case "U", "u", "unknown", "Unknown", "UNKNOWN", "":
		return SexUnknown, nil
	}
	return "", Errorf(Invalid, "sex %q: use M, F, O or U", s)
}

// MaxNameRunes is the most characters one name part (given or family name)
// may have: what a card prints in full on its name line (the card layout
// fits a 50-character given and a 50-character family name).
const MaxNameRunes = 50

// Patient is a person registered at the desk. BirthDate is "YYYY-MM-DD";
// when BirthDateEstimated is true only its year is meaningful.
type Patient struct {
	ID                 int64     `json:"id"`
	UUID               string    `json:"uuid"`
	GivenName          string    `json:"given_name"`
	FamilyName         string    `json:"family_name"`
	Sex                Sex       `json:"sex"`
	BirthDate          string    `json:"birth_date,omitempty"`
	BirthDateEstimated bool      `json:"birth_date_estimated,omitempty"`
	Phone              string    `json:"phone,omitempty"`
	Village            string    `json:"village,omitempty"`
	MergedInto         int64     `json:"merged_into,omitempty"` // set when a supervisor marked this record a duplicate
	CreatedAt          time.Time `json:"created_at"`
	CreatedBy          string    `json:"created_by"`
}

// DisplayName is "Given Family".
func (p Patient) DisplayName() string {
	switch {
	case p.GivenName == "":
		return p.FamilyName
	case p.FamilyName == "":
		return p.GivenName
	}
	return p.GivenName + " " + p.FamilyName
}

// IdentifierState is the life cycle of an issued MRN.
type IdentifierState string

const (
	IDUnassigned IdentifierState = "unassigned"
	IDActive     IdentifierState = "active"
	IDVoided     IdentifierState = "voided"
)

// Identifier is one issued MRN as the registry holds it.
type Identifier struct {
	MRN        string          `json:"mrn"`
	State      IdentifierState `json:"state"`
	PatientID  int64           `json:"patient_id,omitempty"`
	Legacy     bool            `json:"legacy,omitempty"`
	IssuedAt   time.Time       `json:"issued_at"`
	IssuedBy   string          `json:"issued_by"`
	VoidReason string          `json:"void_reason,omitempty"`
}

// CardState is the life cycle of one printed card.
type CardState string

const (
	CardPending  CardState = "pending" // recorded for a print run that has not confirmed it (may or may not exist)
	CardActive   CardState = "active"
	CardReplaced CardState = "replaced"
	CardVoided   CardState = "voided"
	CardFailed   CardState = "failed" // its print run failed before the page was complete or accepted: never printed
)

// Card is one physical card that left the printer.
type Card struct {
	Serial    string    `json:"serial"`
	MRN       string    `json:"mrn"`
	State     CardState `json:"state"`
	BatchID   string    `json:"batch_id,omitempty"`
	Layout    string    `json:"layout"`
	PrintedBy string    `json:"printed_by"`
	PrintedAt time.Time `json:"printed_at"`
}

// Verification is the one answer every entry point gives for a code.
type Verification struct {
	Input      string      `json:"-"`
	Code       string      `json:"code"` // normalised MRN ("" when malformed beyond repair)
	Status     Status      `json:"status"`
	Detail     string      `json:"detail,omitempty"`
	CardSerial string      `json:"card_serial,omitempty"`
	Patient    *Patient    `json:"-"` // filled for active codes; callers decide what to disclose
	CheckedAt  time.Time   `json:"checked_at"`
	Identifier *Identifier `json:"-"`
	// RestoredAt is set for an unknown ID of this registry's own series
	// that a restore passed over (StatusUnknown): the registry was
	// restored from a backup taken before the ID was issued, so a patient
	// may hold a genuine card with it whose record the restore lost. It
	// is never issued again; the desk can register the patient onto it.
	// It is also set, with CardRecordLost, for a card serial the
	// registry has no record of, scanned with one of its own MRNs after a
	// restore: the card may have been printed after the backup, its print
	// record lost with the restore (the MRN is not given out again: it is
	// the patient's; check them and reprint).
	RestoredAt string `json:"restored_at,omitempty"`
	// CardRecordLost: see RestoredAt.
	CardRecordLost bool `json:"card_record_lost,omitempty"`
	// Disputed: the ID is active here, but sync with OpenMRS has an open
	// conflict over it (OpenMRS holds it for another patient, say); Detail
	// says what. The card is this registry's; check the patient.
	Disputed bool `json:"disputed,omitempty"`
	// Dispute is the kind of that conflict: ConflictIdentifier (OpenMRS
	// holds the number for someone else, or refused it), or
	// ConflictLookalike (the patient is not in OpenMRS yet: sync held the
	// registration because OpenMRS may have the person under another
	// record).
	Dispute string `json:"dispute,omitempty"`
}

// Rebindable reports whether the code can be given to a patient: a
// pre-printed card not yet assigned, or an ID whose record a restore lost
// (RestoredAt).
func (v Verification) Rebindable() bool {
	return v.Status == StatusUnassigned || (v.Status == StatusUnknown && v.RestoredAt != "" && !v.CardRecordLost)
}

// AuditEvent is one row of the tamper-evident audit trail.
type AuditEvent struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Subject  string    `json:"subject,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// Kind classifies errors so front ends can show a friendly message.
type Kind int

const (
	Other       Kind = iota // unclassified: show "internal error"
	Invalid                 // bad input from the user or a scanner
	NotFound                // no such thing
	Conflict                // already exists / state does not allow it
	Forbidden               // the acting user may not do this
	Unavailable             // a remote service is down or refused
	Internal                // a bug or a broken invariant
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Forbidden:
		return "permission denied"
	case Unavailable:
		return "unavailable"
	case Internal:
		return "internal error"
	}
	return "error"
}

// Error is an error with a Kind. Msg is safe to show to a clerk.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		if e.Msg == "" {
			return e.Err.Error()
		}
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the Kind of the first *Error in err's chain, or Other.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// MatchLevel grades a duplicate-patient candidate.
type MatchLevel string

const (
	MatchProbable MatchLevel = "probable"
	MatchPossible MatchLevel = "possible"
)

// Candidate is an existing patient who may be the same person as someone
// about to be registered. Score is the match probability (0..1); Reasons
// explain it field by field, so the clerk can decide; Evidence carries the
// same per field with its weight (bits of evidence, negative against).
type Candidate struct {
	Patient  Patient    `json:"patient"`
	MRNs     []string   `json:"mrns"`
	Score    float64    `json:"score"`
	Level    MatchLevel `json:"level"`
	Reasons  []string   `json:"reasons"`
	Weight   float64    `json:"weight"`
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Namesakes says whether cs is a crowd of namesakes: none probable, and
// none standing out, but together likely to include the person at the
// desk. together is the probability that the person is registered as one
// of them rather than new: their odds against a new person (Weight, in
// bits, before rivals) summed, as odds/(1+odds), at most 0.999. A crowd
// is two or more records, together at least 0.5 and at least 0.2 above
// the best of them alone. The clerk cannot tell such records apart from
// what was typed; a phone number, the village or an exact birth date can.
func Namesakes(cs []Candidate) (together float64, ok bool) {
	odds, top := 0.0, 0.0
	for _, c := range cs {
		if c.Level == MatchProbable {
			return 0, false
		}
		odds += math.Exp2(c.Weight)
		top = max(top, c.Score)
	}
	together = min(odds/(1+odds), 0.999)
	return together, len(cs) >= 2 && together >= 0.5 && together-top >= 0.2
}

// MissingDetails are the details that could settle a duplicate warning:
// what the query lacks and at least one candidate holds — the phone
// number, the village, an exact birth date (the query's is missing or an
// estimate, a candidate's is neither).
func MissingDetails(q Patient, cs []Candidate) []string {
	var phone, village, birth bool
	for _, c := range cs {
		phone = phone || q.Phone == "" && c.Patient.Phone != ""
		village = village || q.Village == "" && c.Patient.Village != ""
		birth = birth || (q.BirthDate == "" || q.BirthDateEstimated) && c.Patient.BirthDate != "" && !c.Patient.BirthDateEstimated
	}
	var out []string
	for _, d := range []struct {
		missing bool
		name    string
	}{{phone, "phone number"}, {village, "village"}, {birth, "exact birth date"}} {
		if d.missing {
			out = append(out, d.name)
		}
	}
	return out
}

// WarningAdvice is what the desk tells a clerk about a duplicate warning
// with no probable candidate ("" when there is nothing to add): for a
// crowd of namesakes (Namesakes), that none stands out and what tells
// them apart; otherwise which missing details (MissingDetails) the
// records hold.
func WarningAdvice(q Patient, cs []Candidate) string {
	missing := MissingDetails(q, cs)
	ask := "ask what tells them apart (phone number, village, exact birth date)"
	if len(missing) > 0 {
		ask = "ask for the " + list(missing, "or") + " to tell them apart"
	}
	if together, ok := Namesakes(cs); ok {
		return fmt.Sprintf("These %d records together are %d%% likely to include this person, but none stands out: %s.", len(cs), min(99, int(100*together+0.5)), ask)
	}
	for _, c := range cs {
		if c.Level == MatchProbable {
			return ""
		}
	}
	if len(cs) == 0 || len(missing) == 0 {
		return ""
	}
	holds := "these records hold"
	if len(cs) == 1 {
		holds = "the record holds"
	}
	them := "them"
	if len(missing) == 1 {
		them = "it"
	}
	return fmt.Sprintf("Not typed: the %s, which %s; asking for %s may settle it.", list(missing, "and"), holds, them)
}

// list joins words as a sentence does: "a", "a or b", "a, b or c".
func list(w []string, conj string) string {
	if len(w) <= 1 {
		return strings.Join(w, "")
	}
	return strings.Join(w[:len(w)-1], ", ") + " " + conj + " " + w[len(w)-1]
}

// Evidence is what one field says about a candidate.
type Evidence struct {
	Field  string  `json:"field"`
	Level  string  `json:"level"`
	Weight float64 `json:"weight"`
	Text   string  `json:"text"`
}
