-- Scan log (issue 5); see ../0009_scan_log.sql. id is assigned by the
-- writer (max + 1 under the writer lock), contiguously, batch after batch.
CREATE TABLE scan_log (
    id     bigint PRIMARY KEY,
    at     text COLLATE "C" NOT NULL,
    token  text COLLATE "C" NOT NULL,
    code   text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL,
    addr   text COLLATE "C" NOT NULL
);
