-- Per-domain content scanning: whether rspamd's verdict applies to the
-- domain's mail (1) or not (0), and the rspamd settings id of its profile
-- (NULL: rspamd's defaults). Keep in step with
-- ../postgres/0016_domain_spam_settings.sql.
ALTER TABLE domains ADD COLUMN spam_filter INTEGER NOT NULL DEFAULT 1;
ALTER TABLE domains ADD COLUMN spam_profile TEXT;
