-- Schema version 4: retention of delivered payloads.
-- A settled outbox row and a handed-off inbox row lose their encrypted
-- envelope after [retention] delivered_payloads: envelope becomes x'' and
-- purged_at the time of the purge. Digest, message id, state, times and the
-- receipt stay. An empty envelope with purged_at NULL is damage, never
-- retention. Inbox rows older than [retention] dedup_horizon (handed off)
-- are deleted whole. Receipts and the audit log are never purged.
ALTER TABLE outbox ADD COLUMN purged_at REAL;
ALTER TABLE inbox ADD COLUMN purged_at REAL;

-- What the purge looks for, without scanning the tables.
CREATE INDEX outbox_unpurged ON outbox (settled_at) WHERE state <> 'queued' AND purged_at IS NULL;
CREATE INDEX inbox_unpurged ON inbox (handed_off_at) WHERE handed_off_at IS NOT NULL AND purged_at IS NULL;
CREATE INDEX inbox_handed_off ON inbox (received_at) WHERE handed_off_at IS NOT NULL;
-- The purges in the audit log, for 'tamga status' (few rows; the log may hold millions).
CREATE INDEX audit_purges ON audit (seq) WHERE kind = 'purge';
