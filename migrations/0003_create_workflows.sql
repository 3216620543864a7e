-- Workflow instances as their coordinators last recorded them: one row per (correlation id, workflow).
-- The coordinator's Durable Object is the owner of the state; this table is its audit copy in D1.
CREATE TABLE workflows (
  id             TEXT    NOT NULL, -- the correlation id
  workflow       TEXT    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('running', 'awaiting_approval', 'completed', 'rejected', 'timed_out')),
  version        INTEGER NOT NULL, -- only a newer version overwrites
  start_event_id TEXT    NOT NULL,
  started_at     INTEGER NOT NULL,
  deadline_at    INTEGER NOT NULL,
  approval_deadline_at INTEGER,
  completed_at   INTEGER,
  outcome        TEXT,             -- the outcome event's type
  outcome_event_id TEXT,
  verdict        TEXT,             -- JSON: decision, reasons, how it was reached, approver
  results        TEXT    NOT NULL, -- JSON: ids of the counted results
  late           TEXT    NOT NULL, -- JSON: ids of results that came after the decision
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (id, workflow)
);
CREATE INDEX workflows_by_status ON workflows (status, started_at);
CREATE INDEX workflows_by_start ON workflows (started_at);
