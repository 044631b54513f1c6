-- Search by birth year (issue 14 item 20: "amina 1990" at the Find screen):
-- with this index a year narrows the rows before the name words are
-- matched, instead of every name being read.
CREATE INDEX patients_birth_year ON patients(birth_year);
