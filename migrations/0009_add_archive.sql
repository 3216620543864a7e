-- The archive: events (with their deliveries, runs, model calls, violations) and finished workflows
-- older than the hot window (ARCHIVE_AFTER_HOURS) move to R2 as gzip NDJSON, one object per hour of
-- a run's batch. D1 keeps this index, so reads find an archived event without listing the bucket.

-- One row per object a run wrote and then committed with the delete of its rows. An object whose
-- commit failed (a crash between the put and the delete) is never listed here, so it is never read.
CREATE TABLE archive_objects (
  seq           INTEGER PRIMARY KEY,  -- referenced by the index tables below
  key           TEXT    NOT NULL UNIQUE,
  kind          TEXT    NOT NULL CHECK (kind IN ('events', 'workflows')),
  hour          INTEGER NOT NULL,     -- ms since epoch: the UTC hour of its partition
  lines         INTEGER NOT NULL,
  indexed       INTEGER NOT NULL,     -- lines whose rows left D1 with it (fewer: some changed and stayed)
  bytes         INTEGER NOT NULL,     -- gzip size
  first_seq     INTEGER,              -- events: the log positions it holds
  last_seq      INTEGER,
  min_logged_at INTEGER,              -- events: for replays by time
  max_logged_at INTEGER,
  types         TEXT,                 -- events: JSON array of the event types it holds
  created_at    INTEGER NOT NULL
);
CREATE INDEX archive_objects_by_last_seq ON archive_objects (kind, last_seq);

-- Archived events by id (GET /v1/events/:id): one row per event; with archived_correlations about
-- 90 bytes per archived event (measured: BENCHMARKS.md → Capacity of one deployment).
CREATE TABLE archived_events (
  id     TEXT    NOT NULL,
  source TEXT    NOT NULL,
  object INTEGER NOT NULL,
  PRIMARY KEY (id, source, object)
) WITHOUT ROWID;

-- Correlation → the objects holding its events or workflow instances: one row per pair, not per event.
CREATE TABLE archived_correlations (
  correlation_id TEXT    NOT NULL,
  object         INTEGER NOT NULL,
  PRIMARY KEY (correlation_id, object)
) WITHOUT ROWID;
