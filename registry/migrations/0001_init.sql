-- idcards registry schema, version 1. Designed for the whole mission: the
-- registry, cards, accounts, audit, scanner tokens and OpenMRS sync.
-- Times are UTC RFC 3339 text with a fixed width ("2006-01-02T15:04:05.000000Z").

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- A series is one MRN format: prefix + zero-padded sequence + check.
-- Exactly one series is current (used for new IDs); older series stay valid.
CREATE TABLE series (
    id         INTEGER PRIMARY KEY,
    prefix     TEXT NOT NULL UNIQUE,
    width      INTEGER NOT NULL CHECK (width BETWEEN 1 AND 18),
    scheme     TEXT NOT NULL,
    next_seq   INTEGER NOT NULL DEFAULT 1 CHECK (next_seq >= 1),
    is_current INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX series_one_current ON series(is_current) WHERE is_current = 1;

CREATE TABLE patients (
    id                   INTEGER PRIMARY KEY,
    uuid                 TEXT NOT NULL UNIQUE,
    given_name           TEXT NOT NULL,
    family_name          TEXT NOT NULL,
    sex                  TEXT NOT NULL CHECK (sex IN ('M','F','O','U')),
    birth_date           TEXT,            -- YYYY-MM-DD; only the year counts when estimated
    birth_date_estimated INTEGER NOT NULL DEFAULT 0,
    birth_year           INTEGER,         -- derived, for blocking and search
    phone                TEXT,
    phone_suffix         TEXT,            -- last 4 digits, for blocking
    village              TEXT,
    given_key            TEXT,            -- phonetic keys for duplicate-patient blocking
    family_key           TEXT,
    name_norm            TEXT,            -- lower-case folded "given family" for search
    merged_into          INTEGER REFERENCES patients(id),
    created_at           TEXT NOT NULL,
    created_by           TEXT NOT NULL,
    updated_at           TEXT
);
CREATE INDEX patients_family_key ON patients(family_key, birth_year);
CREATE INDEX patients_given_key ON patients(given_key, birth_year);
CREATE INDEX patients_phone_suffix ON patients(phone_suffix);
CREATE INDEX patients_birth_date ON patients(birth_date);

-- Every number ever handed out. The PRIMARY KEY is what makes "never twice"
-- hold even against a bug elsewhere.
CREATE TABLE identifiers (
    mrn         TEXT PRIMARY KEY,
    series_id   INTEGER REFERENCES series(id),   -- NULL for unchecked legacy IDs
    seq         INTEGER,
    state       TEXT NOT NULL CHECK (state IN ('unassigned','active','voided')),
    patient_id  INTEGER REFERENCES patients(id),
    legacy      INTEGER NOT NULL DEFAULT 0,
    issued_at   TEXT NOT NULL,
    issued_by   TEXT NOT NULL,
    assigned_at TEXT,
    void_reason TEXT,
    CHECK (state <> 'active' OR patient_id IS NOT NULL)
) WITHOUT ROWID;
CREATE INDEX identifiers_patient ON identifiers(patient_id) WHERE patient_id IS NOT NULL;
CREATE INDEX identifiers_series_seq ON identifiers(series_id, seq);

-- Identifiers known to be in use elsewhere (OpenMRS), filled by sync. The
-- sequence skips them.
CREATE TABLE external_identifiers (
    identifier   TEXT PRIMARY KEY,
    source       TEXT NOT NULL,       -- e.g. "openmrs"
    patient_uuid TEXT,
    seen_at      TEXT NOT NULL
) WITHOUT ROWID;

-- Every card that left the printer.
CREATE TABLE cards (
    serial      TEXT PRIMARY KEY,
    mrn         TEXT NOT NULL REFERENCES identifiers(mrn),
    state       TEXT NOT NULL CHECK (state IN ('active','replaced','voided')),
    batch_id    TEXT,
    layout      TEXT NOT NULL,
    printed_by  TEXT NOT NULL,
    printed_at  TEXT NOT NULL,
    replaced_by TEXT REFERENCES cards(serial),
    reason      TEXT
) WITHOUT ROWID;
CREATE INDEX cards_mrn ON cards(mrn);
CREATE INDEX cards_batch ON cards(batch_id);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    full_name       TEXT,
    role            TEXT NOT NULL CHECK (role IN ('clerk','printer','supervisor','admin')),
    password_hash   TEXT NOT NULL,    -- PHC string: $argon2id$v=19$m=..,t=..,p=..$salt$hash
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    last_login_at   TEXT,
    password_changed_at TEXT
);

-- Scanner tokens for the validation endpoint; only a hash is stored.
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('verify','read:patient')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT
);

-- Tamper-evident audit trail: hash = SHA-256(prev_hash || canonical row).
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_actor ON audit(actor, at);
CREATE INDEX audit_action ON audit(action, at);

-- Work for OpenMRS sync: each row is pushed exactly once.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,           -- 'register_patient' | 'add_identifier' | 'void_identifier'
    patient_id      INTEGER REFERENCES patients(id),
    mrn             TEXT,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT,
    done_at         TEXT,
    remote_uuid     TEXT,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','conflict'))
);
CREATE INDEX outbox_pending ON outbox(state, id);

CREATE TABLE sync_conflicts (
    id                  INTEGER PRIMARY KEY,
    identifier          TEXT NOT NULL,
    local_patient_id    INTEGER REFERENCES patients(id),
    remote_patient_uuid TEXT,
    detail              TEXT NOT NULL,
    detected_at         TEXT NOT NULL,
    resolved_at         TEXT,
    resolved_by         TEXT,
    resolution          TEXT
);
CREATE INDEX sync_conflicts_open ON sync_conflicts(resolved_at);

-- Flood protection: registrations/IDs per user per hour beyond the cap
-- wait here for a supervisor.
CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT
);
