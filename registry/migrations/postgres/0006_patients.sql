-- Patients import and duplicate detection.
-- name_norm + birth_date finds an identical patient quickly, so that
-- re-running an import of a legacy register is idempotent.
CREATE INDEX patients_name_norm ON patients(name_norm, birth_date);
-- Merged-away records are few; finding them must not scan the table.
CREATE INDEX patients_merged ON patients(merged_into) WHERE merged_into IS NOT NULL;
