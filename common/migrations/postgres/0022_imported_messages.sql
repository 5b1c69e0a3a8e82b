-- Where each message copied in by `postino migrate imap` came from: its
-- source folder, that folder's UIDVALIDITY and its UID there. The row is
-- written in the transaction that stores the message, so a run that is
-- stopped at any point and run again copies exactly what is missing and
-- never a message twice. A message later expunged keeps its row, so a
-- rerun does not bring back what the user deleted. Keep in step with
-- ../sqlite/0022_imported_messages.sql.
CREATE TABLE imported_messages (
    folder_id          BIGINT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    source_folder      TEXT    NOT NULL,
    source_uidvalidity BIGINT NOT NULL,
    source_uid         BIGINT NOT NULL,
    PRIMARY KEY (folder_id, source_folder, source_uidvalidity, source_uid)
);
