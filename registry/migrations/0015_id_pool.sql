-- Numbers exported from an OpenMRS idgen identifier source, for a registry
-- whose IDs come from idgen (sync configure --id-source idgen:UUID). idgen
-- counts an exported number as used for good, so a number here is never
-- given back: it is 'free' until issued (in the same transaction that
-- records the identifier, so a rolled-back issue leaves it free), or
-- 'withdrawn' when OpenMRS turns out to hold it already for someone.
CREATE TABLE id_pool (
    seq         INTEGER PRIMARY KEY,       -- order of arrival: issued first in, first out
    identifier  TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,             -- idgen identifier source uuid
    fetched_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'free' CHECK (state IN ('free','issued','withdrawn')),
    changed_at  TEXT,
    note        TEXT                       -- why withdrawn (the OpenMRS patient holding it)
);
CREATE INDEX id_pool_free ON id_pool(seq) WHERE state = 'free';
-- The pool's days-left forecast counts issues per day (registry/forecast.go).
CREATE INDEX id_pool_issued ON id_pool(changed_at) WHERE state = 'issued';

-- The days-of-IDs-left forecast counts each source's issues per day over
-- the last 30 days (registry/forecast.go).
CREATE INDEX identifiers_series_issued ON identifiers(series_id, issued_at);
