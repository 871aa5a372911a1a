-- Schema version 3: per-peer sequence numbers, and intake that recognises a record
-- the national system hands over twice.
--
-- Each envelope carries, in its signed header, its place in the sender's stream
-- to that recipient (1, 2, 3, ...). The sender keeps the last number given per
-- recipient; the receiver keeps the highest number seen per sender and the
-- ranges below it it never received (gaps), shown by 'tamga status'.

ALTER TABLE outbox ADD COLUMN peer_seq INTEGER NOT NULL DEFAULT 0;
-- The record's own id (meta.record_id) and the SHA-256 of its bytes: the same
-- record, unchanged, is not queued twice for the same peer.
ALTER TABLE outbox ADD COLUMN record_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN record_sha256 BLOB NOT NULL DEFAULT x'';
CREATE INDEX outbox_record ON outbox (peer, record_id);

ALTER TABLE inbox ADD COLUMN peer_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refused ADD COLUMN peer_seq INTEGER NOT NULL DEFAULT 0;

-- Sender side: the last number given to an envelope for each recipient.
CREATE TABLE send_sequence (
    peer           TEXT    PRIMARY KEY,
    last           INTEGER NOT NULL
);

-- Receiver side: the highest number seen from each sender, and how many
-- envelopes came with a number already used by another envelope.
CREATE TABLE receive_sequence (
    sender         TEXT    PRIMARY KEY,
    highest        INTEGER NOT NULL,
    reused         INTEGER NOT NULL DEFAULT 0
);

-- Numbers below a sender's highest that never arrived: first..last inclusive.
CREATE TABLE sequence_gaps (
    sender         TEXT    NOT NULL,
    first          INTEGER NOT NULL,
    last           INTEGER NOT NULL,
    noticed_at     REAL    NOT NULL,
    PRIMARY KEY (sender, first)
);
