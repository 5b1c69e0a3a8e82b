-- Junk and Trash are emptied of messages saved there longer ago than the
-- domain's retention (NULL: the configured one; 0: kept forever). A
-- message's saved_at is when it entered its folder (append, copy or
-- move), which INTERNALDATE is not; NULL for messages stored before this
-- migration, whose INTERNALDATE stands in. The sweep runs on one node at
-- a time, the holder of its lease. Keep in step with
-- ../postgres/0019_junk_expiry.sql.
ALTER TABLE messages ADD COLUMN saved_at INTEGER;
ALTER TABLE domains ADD COLUMN junk_retention_days INTEGER;

CREATE TABLE task_leases (
    name   TEXT    PRIMARY KEY,
    holder TEXT    NOT NULL,
    until  INTEGER NOT NULL
);
