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
}

// SyncConflict is a disagreement between the registry and OpenMRS that a
// person must resolve: typically an MRN that OpenMRS holds for a
// different patient. Sync never settles one silently.
type SyncConflict struct {
	ID                int64     `json:"id"`
	Identifier        string    `json:"identifier"`
	LocalPatientID    int64     `json:"local_patient_id,omitempty"`
	RemotePatientUUID string    `json:"remote_patient_uuid,omitempty"`
	OutboxID          int64     `json:"outbox_id,omitempty"`
	Detail            string    `json:"detail"`
	DetectedAt        time.Time `json:"detected_at"`
	ResolvedAt        time.Time `json:"resolved_at,omitzero"`
	ResolvedBy        string    `json:"resolved_by,omitempty"`
	Resolution        string    `json:"resolution,omitempty"`
}

// ExternalIdentifier is an identifier OpenMRS holds; the registry never
// issues one of these.
type ExternalIdentifier struct {
	Identifier  string
	PatientUUID string
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
}
