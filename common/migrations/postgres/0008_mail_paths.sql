-- What the IMAP and delivery paths need to stay fast on large folders and
-- many writers. Keep in step with ../sqlite/0008_mail_paths.sql.

-- Every foreign key gets an index on its referencing side, so that deleting
-- the row it points to never scans the referencing table: freeing a body
-- checks `messages` and `queue` for references to it.
CREATE INDEX messages_blob ON messages(blob_hash);
CREATE INDEX queue_blob ON queue(blob_hash);
CREATE INDEX admin_domains_domain ON admin_domains(domain_id);
CREATE INDEX dkim_keys_domain ON dkim_keys(domain_id);
CREATE INDEX web_sessions_admin ON web_sessions(admin_id);
CREATE INDEX web_sessions_account ON web_sessions(account_id);

-- EXPUNGE finds the messages marked \Deleted (flag bit 8) without reading
-- the others; queries must name the predicate exactly as written here.
CREATE INDEX messages_deleted ON messages(folder_id, uid) WHERE flags % 16 >= 8;

-- VANISHED and catching up read a folder's expunges after a MODSEQ.
CREATE INDEX expunged_folder_modseq ON expunged(folder_id, modseq);

-- What STATUS reports, kept up to date by every write instead of counted
-- over the folder's messages on every read.
ALTER TABLE folders ADD COLUMN messages      BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE folders ADD COLUMN unseen        BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE folders ADD COLUMN bytes         BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE folders ADD COLUMN deleted       BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE folders ADD COLUMN deleted_bytes BIGINT  NOT NULL DEFAULT 0;
UPDATE folders SET
    messages      = (SELECT COUNT(*) FROM messages m WHERE m.folder_id = folders.id),
    unseen        = (SELECT COUNT(*) FROM messages m WHERE m.folder_id = folders.id AND m.flags % 2 = 0),
    bytes         = (SELECT COALESCE(SUM(m.size), 0) FROM messages m WHERE m.folder_id = folders.id),
    deleted       = (SELECT COUNT(*) FROM messages m WHERE m.folder_id = folders.id AND m.flags % 16 >= 8),
    deleted_bytes = (SELECT COALESCE(SUM(m.size), 0) FROM messages m
                     WHERE m.folder_id = folders.id AND m.flags % 16 >= 8);

-- A domain's usage is the sum of its mailboxes' usage, read when needed:
-- keeping it in the domain's row made every write of every mailbox of a
-- comune wait for the one before.
ALTER TABLE domains DROP COLUMN used_bytes;
