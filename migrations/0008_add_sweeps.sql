-- Anti-entropy sweeps: when the sweep last re-sent a delivery, running totals of repairs per kind,
-- and how far the scan of the event log has got.

-- Set when the sweep re-sent the delivery, so the next sweep waits before sending it again.
ALTER TABLE deliveries ADD COLUMN swept_at INTEGER;
-- The sweep looks at deliveries routed within its lookback window, not the whole history.
CREATE INDEX deliveries_by_routed ON deliveries (routed_at);

-- One row per repair kind: totals since the first sweep, and the last run.
CREATE TABLE sweeps (
  kind          TEXT    PRIMARY KEY,
  repaired      INTEGER NOT NULL DEFAULT 0,
  unrepairable  INTEGER NOT NULL DEFAULT 0,
  runs          INTEGER NOT NULL DEFAULT 0,
  last_repaired INTEGER NOT NULL DEFAULT 0,
  last_run_at   INTEGER
);

-- The event log is scanned once per event (unrouted events, unstarted workflows): the last seq checked.
CREATE TABLE sweep_cursors (
  name TEXT    PRIMARY KEY,
  seq  INTEGER NOT NULL
);
