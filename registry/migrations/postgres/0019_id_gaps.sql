-- Numbers of a series that a restore passed over; see ../0019_id_gaps.sql.
CREATE TABLE id_gaps (
    prefix      text COLLATE "C" NOT NULL,
    from_seq    bigint NOT NULL,
    to_seq      bigint NOT NULL CHECK (to_seq > from_seq),
    kind        text COLLATE "C" NOT NULL CHECK (kind IN ('lost','skipped')),
    restored_at text COLLATE "C" NOT NULL,
    PRIMARY KEY (prefix, from_seq)
);
