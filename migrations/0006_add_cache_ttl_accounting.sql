-- Model accounting for the 5.5 lineup: cache writes split by TTL (1-hour writes cost more than
-- 5-minute ones) and thinking tokens (billed as output, recorded for the reader).
-- cache_write_tokens stays the total of both TTLs.

ALTER TABLE model_calls ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE model_calls ADD COLUMN thinking_tokens INTEGER NOT NULL DEFAULT 0;
