-- One circuit breaker per destination (issue 14): consecutive failed attempts open it; while open, no
-- delivery calls the receiver until the cooldown has passed and one delivery claims the probe.
CREATE TABLE destination_circuits (
  destination TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('closed', 'open')),
  failures INTEGER NOT NULL,
  opened_at INTEGER,
  probe_at INTEGER,
  changed_at INTEGER NOT NULL
) STRICT;
