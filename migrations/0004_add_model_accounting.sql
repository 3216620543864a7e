-- Model accounting: what each run of a model-backed agent used, per tier, and what it cost.

ALTER TABLE agent_runs ADD COLUMN model TEXT;             -- the model whose decision stands ('local' offline)
ALTER TABLE agent_runs ADD COLUMN tier TEXT;              -- triage | escalation | local
ALTER TABLE agent_runs ADD COLUMN escalated INTEGER;      -- 1 when the escalation tier decided
ALTER TABLE agent_runs ADD COLUMN escalation_reason TEXT; -- rule | low_confidence | asked | invalid_output | refusal | max_tokens | suspected_injection
ALTER TABLE agent_runs ADD COLUMN budget_limited INTEGER; -- 1 when escalation was needed but the budget refused it
ALTER TABLE agent_runs ADD COLUMN cost_micros INTEGER;    -- all tiers, micro-dollars

-- One row per model call (or local decision) of a run's latest attempt.
CREATE TABLE model_calls (
  event_source       TEXT    NOT NULL,
  event_id           TEXT    NOT NULL,
  agent              TEXT    NOT NULL,
  attempt            INTEGER NOT NULL,
  ordinal            INTEGER NOT NULL,
  tier               TEXT    NOT NULL,
  model              TEXT    NOT NULL,
  input_tokens       INTEGER NOT NULL,
  output_tokens      INTEGER NOT NULL,
  cache_read_tokens  INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  cost_micros        INTEGER NOT NULL,
  always_escalate_micros INTEGER NOT NULL, -- what this call would have cost on the escalation model
  latency_ms         INTEGER NOT NULL,
  outcome            TEXT    NOT NULL,
  confidence         REAL,
  recorded_at        INTEGER NOT NULL,
  PRIMARY KEY (event_source, event_id, agent, attempt, ordinal)
);
CREATE INDEX model_calls_by_model ON model_calls (model, tier);
