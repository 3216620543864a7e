-- Rows written for an event after it moved to R2 (a replay's delivery and run, a replayed dead
-- letter's run, their model calls and violations) have no event row for the archive's scan of the
-- log to find. These triggers note such events, so the archive's next run moves those rows too, once
-- their work is over. On the hot path each insert costs one lookup of its event by key: an event in
-- D1 stops there.
CREATE TABLE archive_reopened (
  event_source TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  noted_at     INTEGER NOT NULL, -- ms since epoch, when the first late row arrived
  PRIMARY KEY (event_source, event_id)
) WITHOUT ROWID;

CREATE TRIGGER archive_reopened_by_delivery AFTER INSERT ON deliveries
  WHEN NOT EXISTS (SELECT 1 FROM events WHERE source = NEW.event_source AND id = NEW.event_id)
   AND EXISTS (SELECT 1 FROM archived_events WHERE id = NEW.event_id AND source = NEW.event_source)
BEGIN
  INSERT OR IGNORE INTO archive_reopened (event_source, event_id, noted_at)
  VALUES (NEW.event_source, NEW.event_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER archive_reopened_by_run AFTER INSERT ON agent_runs
  WHEN NOT EXISTS (SELECT 1 FROM events WHERE source = NEW.event_source AND id = NEW.event_id)
   AND EXISTS (SELECT 1 FROM archived_events WHERE id = NEW.event_id AND source = NEW.event_source)
BEGIN
  INSERT OR IGNORE INTO archive_reopened (event_source, event_id, noted_at)
  VALUES (NEW.event_source, NEW.event_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER archive_reopened_by_model_call AFTER INSERT ON model_calls
  WHEN NOT EXISTS (SELECT 1 FROM events WHERE source = NEW.event_source AND id = NEW.event_id)
   AND EXISTS (SELECT 1 FROM archived_events WHERE id = NEW.event_id AND source = NEW.event_source)
BEGIN
  INSERT OR IGNORE INTO archive_reopened (event_source, event_id, noted_at)
  VALUES (NEW.event_source, NEW.event_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER archive_reopened_by_violation AFTER INSERT ON policy_violations
  WHEN NOT EXISTS (SELECT 1 FROM events WHERE source = NEW.event_source AND id = NEW.event_id)
   AND EXISTS (SELECT 1 FROM archived_events WHERE id = NEW.event_id AND source = NEW.event_source)
BEGIN
  INSERT OR IGNORE INTO archive_reopened (event_source, event_id, noted_at)
  VALUES (NEW.event_source, NEW.event_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER archive_reopened_by_parking AFTER INSERT ON parked_events
  WHEN NOT EXISTS (SELECT 1 FROM events WHERE source = NEW.event_source AND id = NEW.event_id)
   AND EXISTS (SELECT 1 FROM archived_events WHERE id = NEW.event_id AND source = NEW.event_source)
BEGIN
  INSERT OR IGNORE INTO archive_reopened (event_source, event_id, noted_at)
  VALUES (NEW.event_source, NEW.event_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

-- A suppressed duplicate of an archived event (a sender retrying after a week) is counted too.
CREATE TRIGGER archive_reopened_by_duplicate AFTER INSERT ON duplicates
  WHEN NOT EXISTS (SELECT 1 FROM events WHERE source = NEW.event_source AND id = NEW.event_id)
   AND EXISTS (SELECT 1 FROM archived_events WHERE id = NEW.event_id AND source = NEW.event_source)
BEGIN
  INSERT OR IGNORE INTO archive_reopened (event_source, event_id, noted_at)
  VALUES (NEW.event_source, NEW.event_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
