-- Junk and Trash are emptied of messages saved there longer ago than the
-- domain's retention (NULL: the configured one; 0: kept forever). A
-- message's saved_at is when it entered its folder (append, copy or
-- move), which INTERNALDATE is not. Messages already in Junk and Trash
-- count from this migration, since when they were put there is not known
-- (their INTERNALDATE may be years old); the others get theirs when they
-- are filed there. The sweep runs on one node at
-- a time, the holder of its lease. Keep in step with
-- ../postgres/0019_junk_expiry.sql.
ALTER TABLE messages ADD COLUMN saved_at INTEGER;
UPDATE messages SET saved_at = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE folder_id IN (SELECT id FROM folders WHERE special_use IN ('\Junk', '\Trash'));
ALTER TABLE domains ADD COLUMN junk_retention_days INTEGER;

CREATE TABLE task_leases (
    name   TEXT    PRIMARY KEY,
    holder TEXT    NOT NULL,
    until  INTEGER NOT NULL
);
