-- Schema version 1 of the node's store.
-- Envelopes are kept exactly as sealed or received: encrypted. No plaintext
-- record field is ever written to this database.

-- Sealed envelopes waiting for (or holding) a signed receipt, per peer.
CREATE TABLE outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    peer           TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    record_type    TEXT    NOT NULL,
    envelope       BLOB    NOT NULL,
    digest         BLOB    NOT NULL,
    source         TEXT    NOT NULL,
    submitted_at   REAL    NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'queued'
                           CHECK (state IN ('queued', 'delivered', 'rejected')),
    settled_at     REAL,
    receipt_id     INTEGER REFERENCES receipts (id),
    receipt_status TEXT,
    reject_reason  TEXT,
    reject_detail  TEXT,
    UNIQUE (peer, message_id)
);
CREATE INDEX outbox_queued ON outbox (peer, seq) WHERE state = 'queued';

-- Signed receipt batches from peers, kept as evidence of delivery.
CREATE TABLE receipts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    peer           TEXT    NOT NULL,
    batch_id       TEXT    NOT NULL,
    receipt_batch  BLOB    NOT NULL,
    signature      BLOB    NOT NULL,
    received_at    REAL    NOT NULL
);

-- Envelopes accepted from peers, as received; dedup on (sender, message_id).
CREATE TABLE inbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    sender         TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    record_type    TEXT    NOT NULL,
    envelope       BLOB    NOT NULL,
    digest         BLOB    NOT NULL,
    received_at    REAL    NOT NULL,
    handed_off_at  REAL,
    handoff_name   TEXT,
    UNIQUE (sender, message_id)
);
CREATE INDEX inbox_pending ON inbox (seq) WHERE handed_off_at IS NULL;

-- Envelopes refused from peers (reason codes), for status and inquiry.
CREATE TABLE refused (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    sender         TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    detail         TEXT    NOT NULL,
    digest         BLOB    NOT NULL,
    refused_at     REAL    NOT NULL
);

-- Delivery state per peer: last delivery, failures, backoff.
CREATE TABLE peer_state (
    peer                 TEXT PRIMARY KEY,
    last_delivery_at     REAL,
    last_attempt_at      REAL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    retry_at             REAL
);

-- Files accepted from the national system, so a file picked up again after
-- a crash (committed, not yet moved aside) is not queued twice.
CREATE TABLE intake (
    source         TEXT    NOT NULL,
    sha256         BLOB    NOT NULL,
    records        INTEGER NOT NULL,
    accepted_at    REAL    NOT NULL,
    PRIMARY KEY (source, sha256)
);
