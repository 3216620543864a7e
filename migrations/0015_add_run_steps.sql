-- The steps of a model-backed run (issue 15): each model reply and each tool result, recorded as it
-- completes and keyed by an attempt-independent step number, so that a retried run replays what it
-- already paid for and continues at the first missing step. Kept for the audit trail and for replay
-- with recorded outputs; moves to the archive with its event.
CREATE TABLE run_steps (
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  agent        TEXT    NOT NULL,
  step         INTEGER NOT NULL,  -- from 0, in the order the run took them, the same in every attempt
  kind         TEXT    NOT NULL CHECK (kind IN ('model', 'tool')),
  tier         TEXT    NOT NULL,  -- triage | escalation
  name         TEXT    NOT NULL,  -- the model id, or the tool's name
  input        TEXT,              -- a tool call's input (JSON)
  output       TEXT    NOT NULL,  -- JSON: a model reply (content, stop reason, usage) or a tool's result
  is_error     INTEGER NOT NULL DEFAULT 0,
  cost_micros  INTEGER NOT NULL DEFAULT 0,
  latency_ms   INTEGER NOT NULL,
  attempt      INTEGER NOT NULL,  -- the delivery attempt that took (and paid for) the step
  recorded_at  INTEGER NOT NULL,
  PRIMARY KEY (event_source, event_id, agent, step)
);
