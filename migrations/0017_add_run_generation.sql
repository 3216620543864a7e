-- A re-run of history (issue 15: POST /v1/replay with rerun): the generation that last claimed a run.
-- A finished run is claimed again only by a re-run of another generation, so a redelivered re-run
-- task runs once; the events a re-run emits get ids derived with its generation (new events, not
-- duplicates of the first run's). NULL for ordinary runs.
ALTER TABLE agent_runs ADD COLUMN generation TEXT;
