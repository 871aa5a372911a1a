-- Schema version 5: a refused log a peer cannot grow without bound, charged to the authenticated peer.
--
-- 'sender' of a refused row is the peer the TLS connection authenticated
-- (never a name a header claims); 'claimed' is the sender the envelope's
-- header named, escaped and cut. Every peer-chosen text of a row is cut to a
-- few hundred bytes before it is written. At most a fixed number of rows a
-- minute are written per peer; the refusals beyond it are counted in one
-- 'SUMMARY' row of that peer and minute ('count'), so 'tamga status' still
-- shows how many there were. Rows older than [retention] refused_log are deleted.
ALTER TABLE refused ADD COLUMN claimed TEXT NOT NULL DEFAULT '';
ALTER TABLE refused ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
CREATE INDEX refused_by_sender ON refused (sender, refused_at);
CREATE INDEX refused_by_time ON refused (refused_at);
