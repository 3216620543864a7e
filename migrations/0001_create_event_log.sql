-- The append-only event log and the audit trail of every routing and agent decision.

-- One row per accepted CloudEvent, identified by (source, id). Never updated.
CREATE TABLE events (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  source         TEXT    NOT NULL,
  id             TEXT    NOT NULL,
  type           TEXT    NOT NULL,
  subject        TEXT,
  time           TEXT,
  correlation_id TEXT    NOT NULL,
  causation_id   TEXT,
  hop_count      INTEGER NOT NULL DEFAULT 0,
  traceparent    TEXT,
  envelope       TEXT    NOT NULL, -- the whole CloudEvent as JSON
  received_at    INTEGER NOT NULL, -- ms since epoch, when ingest (or the publishing agent) accepted it
  logged_at      INTEGER NOT NULL, -- ms since epoch, when the route consumer wrote it
  UNIQUE (source, id)
);
CREATE INDEX events_by_id          ON events (id);
CREATE INDEX events_by_type        ON events (type, seq);
CREATE INDEX events_by_correlation ON events (correlation_id, seq);

-- Which agents an event was routed to: one row per (event, agent), written with the event.
CREATE TABLE deliveries (
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  agent        TEXT    NOT NULL,
  routed_at    INTEGER NOT NULL,
  PRIMARY KEY (event_source, event_id, agent)
);

-- The latest state of each agent's run for an event: one row per (event, agent).
CREATE TABLE agent_runs (
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  agent        TEXT    NOT NULL,
  status       TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'dead_lettered')),
  attempt      INTEGER NOT NULL,
  claim        TEXT    NOT NULL, -- queue message id that owns the run
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  latency_ms   INTEGER,
  output       TEXT,             -- JSON: the events the run published
  error        TEXT,             -- JSON: { message, retryable }
  PRIMARY KEY (event_source, event_id, agent)
);
CREATE INDEX agent_runs_by_status ON agent_runs (status, agent);

-- Deliveries that exhausted their retries (or failed permanently).
CREATE TABLE dead_letters (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind         TEXT    NOT NULL CHECK (kind IN ('event', 'task')),
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  agent        TEXT    NOT NULL DEFAULT '', -- '' for an event that could not be routed
  attempts     INTEGER NOT NULL,
  error        TEXT,
  message      TEXT    NOT NULL, -- the queue message body as JSON, for replay
  recorded_at  INTEGER NOT NULL,
  UNIQUE (kind, event_source, event_id, agent)
);

-- Attempts by an agent to do what it may not (publish an undeclared event type, ...).
CREATE TABLE policy_violations (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  agent        TEXT    NOT NULL,
  kind         TEXT    NOT NULL,
  detail       TEXT    NOT NULL,
  recorded_at  INTEGER NOT NULL,
  UNIQUE (event_source, event_id, agent, kind, detail)
);
