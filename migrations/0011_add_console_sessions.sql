-- Console sessions (/console): one row per signed-in browser until it signs out or expires. The key
-- is an HMAC of the cookie's random secret keyed with ADMIN_TOKEN, never the secret itself: the table
-- alone opens no session, and rotating ADMIN_TOKEN ends every session (no key matches any more).
CREATE TABLE console_sessions (
  id         TEXT    PRIMARY KEY,  -- base64url HMAC-SHA-256(ADMIN_TOKEN, the cookie's secret)
  created_at INTEGER NOT NULL,     -- ms since epoch
  expires_at INTEGER NOT NULL      -- ms since epoch: an absolute lifetime, not extended by use
) WITHOUT ROWID;
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
