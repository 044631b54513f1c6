package idcards

import "time"

// OutboxKind is what a queued change asks OpenMRS to do.
type OutboxKind string

const (
	OutboxRegister       OutboxKind = "register_patient" // create the patient with its MRNs
	OutboxAddIdentifier  OutboxKind = "add_identifier"   // add an MRN to a patient OpenMRS has
	OutboxVoidIdentifier OutboxKind = "void_identifier"  // void an MRN in OpenMRS
	OutboxUpdatePatient  OutboxKind = "update_patient"   // send edited names, sex, birth date, village
)

// OutboxItem is one change waiting to reach OpenMRS. Rows are written in
// the same transaction as the change itself, so nothing done at the desk
// can be lost between the registry and the sync.
type OutboxItem struct {
	ID            int64      `json:"id"`
	Kind          OutboxKind `json:"kind"`
	PatientID     int64      `json:"patient_id,omitempty"`
	MRN           string     `json:"mrn,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt time.Time  `json:"next_attempt_at,omitzero"`
	State         string     `json:"state"` // pending, done, conflict
	RemoteUUID    string     `json:"remote_uuid,omitempty"`
	// Failing: the row failed and waits out a back-off until
	// NextAttemptAt (not merely for something else to happen first).
	Failing bool `json:"failing,omitempty"`
}

// SyncConflict is a disagreement between the registry and OpenMRS that a
// person must resolve: typically an MRN that OpenMRS holds for a
// different patient. Sync never settles one silently.
type SyncConflict struct {
	ID                int64  `json:"id"`
	Identifier        string `json:"identifier"`
	LocalPatientID    int64  `json:"local_patient_id,omitempty"`
	RemotePatientUUID string `json:"remote_patient_uuid,omitempty"`
	OutboxID          int64  `json:"outbox_id,omitempty"`
	// Kind is ConflictIdentifier (a number held by someone else) or
	// ConflictLookalike (OpenMRS may hold the person under another record).
	Kind   string `json:"kind,omitempty"`
	Detail string `json:"detail"`
	// Summary is what the desk's patient screen shows of the conflict,
	// without the supervisor's commands that Detail ends with: for a
	// look-alike, the OpenMRS patient who may be this one and the
	// evidence ("Grace Nakato, F, born 1990-04-12, OpenMRS ID 1003EY
	// (probable, 98 %: same birth date; …)"). Empty for older conflicts
	// and other kinds; the desk then shows Detail.
	Summary    string    `json:"summary,omitempty"`
	DetectedAt time.Time `json:"detected_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	ResolvedBy string    `json:"resolved_by,omitempty"`
	Resolution string    `json:"resolution,omitempty"`
}

// Kinds of sync conflict.
const (
	// ConflictIdentifier: OpenMRS and the registry disagree about who holds
	// a number, or OpenMRS refused a change.
	ConflictIdentifier = "identifier"
	// ConflictLookalike: before creating a patient in OpenMRS, sync found
	// a patient there who may be the same person; a supervisor links the
	// two (same person) or lets the patient be created (someone else).
	ConflictLookalike = "lookalike"
)

// ExternalIdentifier is an identifier OpenMRS holds; the registry never
// issues one of these.
type ExternalIdentifier struct {
	Identifier  string
	PatientUUID string
}

// MergeResult counts what recording a batch of OpenMRS's identifiers did.
type MergeResult struct {
	Added     int `json:"added"`     // identifiers new to the registry: never issued here, and not seen in OpenMRS before
	Conflicts int `json:"conflicts"` // new conflicts
	Withdrawn int `json:"withdrawn"` // idgen pool numbers withdrawn because OpenMRS holds them
}

// PoolFill is what adding numbers exported from idgen to the pool did.
type PoolFill struct {
	Added     int `json:"added"`     // numbers now free to issue
	Withdrawn int `json:"withdrawn"` // refused: this registry or OpenMRS already holds them
	Known     int `json:"known"`     // numbers the pool already had
}

// SyncStatus summarises the state of OpenMRS sync for a status line.
type SyncStatus struct {
	Configured bool   `json:"configured"`
	URL        string `json:"url,omitempty"`
	Pending    int64  `json:"pending"` // outbox rows not yet in OpenMRS
	// PendingPatients is how many patients those rows concern (a
	// registration with its MRN is two rows).
	PendingPatients int64     `json:"pending_patients"`
	Conflicts       int64     `json:"conflicts"` // open conflicts
	External        int64     `json:"external"`  // identifiers known to be held by OpenMRS
	LastPushAt      time.Time `json:"last_push_at,omitzero"`
	LastPullAt      time.Time `json:"last_pull_at,omitzero"`
	LastErrorAt     time.Time `json:"last_error_at,omitzero"`
	LastError       string    `json:"last_error,omitempty"`
	OldestQueued    time.Time `json:"oldest_pending,omitzero"`
	// LastFullPullAt is the last pull that read every identifier (the
	// others read only what changed since); PullMode says how the last
	// pull read ("incremental", "full", "full (no FHIR2)").
	LastFullPullAt time.Time `json:"last_full_pull_at,omitzero"`
	PullMode       string    `json:"pull_mode,omitempty"`
	// IDSource is where new MRNs come from: "series" or "idgen:UUID"; for
	// a pool, PoolFree numbers are left and PoolWithdrawn were withdrawn
	// because OpenMRS held them for someone else.
	IDSource      string `json:"id_source,omitempty"`
	PoolFree      int64  `json:"pool_free,omitempty"`
	PoolWithdrawn int64  `json:"pool_withdrawn,omitempty"`
	// Supply forecasts how long each source of new MRNs lasts.
	Supply []IDSupply `json:"supply,omitempty"`
}

// IDSupply is how many new MRNs one source (a series, or the idgen pool)
// has left and how many days they last at the recent issue rate.
type IDSupply struct {
	Name    string  `json:"name"` // "series 10", "idgen pool"
	Pool    bool    `json:"pool,omitempty"`
	Current bool    `json:"current,omitempty"` // new MRNs come from it
	Left    int64   `json:"left"`
	PerDay  float64 `json:"per_day"` // weighted recent issue rate
	// DaysLeft is Left/PerDay; negative when nothing was issued lately
	// (no forecast).
	DaysLeft float64 `json:"days_left"`
}

// Supply warning thresholds: a pool refills from OpenMRS, so two weeks of
// offline autonomy is the alarm; a series needs an admin to add the next
// one and new cards, so three months.
const (
	PoolWarnDays   = 14
	SeriesWarnDays = 90
)

// Low reports whether the supply is in use and runs out within its
// warning threshold.
func (s IDSupply) Low() bool {
	if !s.Current {
		return false
	}
	limit := float64(SeriesWarnDays)
	if s.Pool {
		limit = PoolWarnDays
	}
	return s.Left == 0 || s.DaysLeft >= 0 && s.DaysLeft < limit
}
