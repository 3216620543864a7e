-- The costs view (GET /v1/costs) over a week of 100,000 events (npm run bench:console): spend per
-- day from an index that covers it instead of the table, escalations and the costliest workflows from
-- the model-backed runs only (a partial index), instead of every run since the window's start.
CREATE INDEX model_calls_by_time ON model_calls (recorded_at, agent, cost_micros, always_escalate_micros);
CREATE INDEX agent_runs_models_by_start ON agent_runs (started_at, agent, escalation_reason, escalated, budget_limited, cost_micros)
  WHERE model IS NOT NULL;
