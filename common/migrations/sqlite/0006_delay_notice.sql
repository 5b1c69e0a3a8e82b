-- When the delay notice (RFC 3464 Action: delayed) for a queued message
-- went to its sender, Unix seconds; NULL while none has. One notice per
-- message, so it is set once. Keep in step with
-- ../postgres/0006_delay_notice.sql.

ALTER TABLE queue ADD COLUMN delay_notice_at INTEGER;
