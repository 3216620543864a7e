-- Recovery and protection: replayable dead letters, deliveries held for paused agents, agent state,
-- and events parked instead of routed (hop limit, per-correlation storm cap).

ALTER TABLE dead_letters ADD COLUMN status TEXT NOT NULL DEFAULT 'dead'; -- dead | replayed
ALTER TABLE dead_letters ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN replayed_at INTEGER;
CREATE INDEX dead_letters_by_status ON dead_letters (status, recorded_at);

-- 1 while the agent was paused: the delivery waits for /v1/agents/:name/resume.
ALTER TABLE deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_held ON deliveries (agent, held);

CREATE TABLE agent_state (
  agent      TEXT    PRIMARY KEY,
  paused     INTEGER NOT NULL DEFAULT 0,
  changed_at INTEGER NOT NULL,
  changed_by TEXT
);

CREATE TABLE parked_events (
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  reason       TEXT    NOT NULL, -- hop_limit | correlation_cap
  parked_at    INTEGER NOT NULL,
  PRIMARY KEY (event_source, event_id)
);
