-- FHIR face of serve (issue 19): a Patient resource lists the patient's
-- active MRNs (newest first) and their OpenMRS UUID once sync confirmed
-- it. These partial indexes answer both from the index alone, so a FHIR
-- identifier search costs two small index lookups beyond the patient row
-- (a lookup that read the identifier and outbox rows cost about twice as
-- much in a registry of 1M patients). Only active identifiers and synced
-- registrations are indexed; issuing unassigned IDs does not touch them.
CREATE INDEX identifiers_patient_active ON identifiers(patient_id, issued_at) WHERE state = 'active';
CREATE INDEX outbox_patient_synced ON outbox(patient_id, remote_uuid) WHERE kind = 'register_patient' AND state = 'done';
