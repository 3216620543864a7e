-- Trust boundaries: webhook-id deduplication, policy violations found outside agent runs, and a
-- unique paging key for workflows.

-- One row per webhook-id until its webhook-timestamp leaves the tolerance window (after that the
-- signature check refuses it anyway): the same id with the same content is a redelivery, the same id
-- with other content a replay, refused — whichever secret verified it, so a request signed with two
-- rotating secrets cannot be replayed as "the other sender".
CREATE TABLE webhook_messages (
  sender      TEXT    NOT NULL, -- which secret verified the request: a hash of it, never the secret
  webhook_id  TEXT    NOT NULL,
  digest      TEXT    NOT NULL, -- SHA-256 of the content type, the ce-* headers and the body
  deliveries  INTEGER NOT NULL DEFAULT 1,
  received_at INTEGER NOT NULL, -- ms since epoch
  expires_at  INTEGER NOT NULL, -- ms since epoch: webhook-timestamp + tolerance
  PRIMARY KEY (webhook_id)
);
CREATE INDEX webhook_messages_by_expiry ON webhook_messages (expires_at);

-- Pruned by age on every insert, so the request path stays one statement.
CREATE TRIGGER webhook_messages_prune AFTER INSERT ON webhook_messages
BEGIN
  DELETE FROM webhook_messages WHERE expires_at < NEW.received_at;
END;

-- Who found a violation: an agent run ('run'), the router or a coordinator (a publisher that does not
-- declare what it published; its event is never logged, so its type and correlation are kept here).
ALTER TABLE policy_violations ADD COLUMN detected_by TEXT NOT NULL DEFAULT 'run';
ALTER TABLE policy_violations ADD COLUMN event_type TEXT;
ALTER TABLE policy_violations ADD COLUMN correlation_id TEXT;
CREATE INDEX policy_violations_by_event ON policy_violations (event_id);
CREATE INDEX policy_violations_by_correlation ON policy_violations (correlation_id, seq);

-- Workflow pages are ordered by (started_at, id, workflow): unique, so equal start times are not skipped.
CREATE INDEX workflows_by_page ON workflows (started_at, id, workflow);
