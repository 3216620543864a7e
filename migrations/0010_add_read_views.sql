-- What the read API and the console list besides the log itself (issue 13): events nobody hears,
-- suppressed duplicates, each run's attempt history, and a way to find workflows with late results.

-- Logged events no agent or workflow subscribes to (missed events, in the paper's terms).
CREATE TABLE unrouted_events (
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  recorded_at  INTEGER NOT NULL,
  PRIMARY KEY (event_source, event_id)
);
CREATE INDEX unrouted_events_by_time ON unrouted_events (recorded_at, event_source, event_id);

-- Duplicates suppressed: an event logged again (a sender's retry, a re-run agent publishing again),
-- or a task delivered again for a run that had finished. One row per (kind, event, agent), counted.
CREATE TABLE duplicates (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind         TEXT    NOT NULL CHECK (kind IN ('event', 'delivery')),
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  agent        TEXT    NOT NULL DEFAULT '', -- '' for an event
  count        INTEGER NOT NULL,
  first_at     INTEGER NOT NULL,
  last_at      INTEGER NOT NULL,
  UNIQUE (kind, event_source, event_id, agent)
);
CREATE INDEX duplicates_by_last ON duplicates (last_at);
CREATE INDEX duplicates_by_event ON duplicates (event_source, event_id);

-- Every attempt of a run, oldest first, as JSON: [{attempt, status, startedAt, finishedAt, error?}].
ALTER TABLE agent_runs ADD COLUMN attempts TEXT;

CREATE INDEX workflows_with_late ON workflows (started_at, id, workflow) WHERE late <> '[]';
CREATE INDEX parked_events_by_time ON parked_events (parked_at, event_source, event_id);
CREATE INDEX agent_runs_by_start ON agent_runs (started_at);
