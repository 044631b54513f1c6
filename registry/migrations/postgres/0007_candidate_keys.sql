-- Duplicate detection: records sharing both name keys (in either order) are
-- the likeliest duplicates; this index finds them without reading rows.
CREATE INDEX patients_both_keys ON patients(family_key, given_key, birth_year);
