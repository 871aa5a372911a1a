-- Schema version 2: the tamper-evident audit log.
-- One row per state change (record queued per recipient, envelope accepted,
-- duplicate or refused, receipt settled, hand-off), written in the same
-- transaction as the change. Digests of envelopes only, never record contents.
-- hash = SHA-256(prev_hash || canonical entry bytes); a 'seal' row carries an
-- Ed25519 signature of the node's identity key over (node id, seq - 1, prev_hash).
CREATE TABLE audit (
    seq            INTEGER PRIMARY KEY,
    at             REAL    NOT NULL,
    kind           TEXT    NOT NULL,
    peer           TEXT    NOT NULL DEFAULT '',
    message_id     TEXT    NOT NULL DEFAULT '',
    record_type    TEXT    NOT NULL DEFAULT '',
    digest         BLOB    NOT NULL DEFAULT x'',
    detail         TEXT    NOT NULL DEFAULT '',
    prev_hash      BLOB    NOT NULL,
    hash           BLOB    NOT NULL,
    signature      BLOB
);
CREATE INDEX audit_seals ON audit (seq) WHERE kind = 'seal';
