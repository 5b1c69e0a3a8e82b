-- Every keyword the folder's messages have had: what SELECT and FLAGS
-- announce. Filled from the messages already stored.
ALTER TABLE folders ADD COLUMN keywords TEXT NOT NULL DEFAULT '';

UPDATE folders SET keywords = words.keywords
FROM (
    SELECT folder_id, string_agg(DISTINCT word, ' ') AS keywords
    FROM messages, unnest(string_to_array(messages.keywords, ' ')) AS split(word)
    WHERE messages.keywords <> '' AND word <> ''
    GROUP BY folder_id
) AS words
WHERE words.folder_id = folders.id;

-- \Recent (RFC 3501): messages from UID `first_recent` on have not been
-- seen by any session yet. A session that selects the folder takes them,
-- moving `first_recent` past them and keeping where it was in
-- `recent_taken_from`, in one statement. Mail already stored is not recent.
ALTER TABLE folders ADD COLUMN first_recent BIGINT NOT NULL DEFAULT 1;
ALTER TABLE folders ADD COLUMN recent_taken_from BIGINT NOT NULL DEFAULT 1;
UPDATE folders SET first_recent = uidnext, recent_taken_from = uidnext;

-- The last UIDVALIDITY given to one of the account's folders, deleted ones
-- included: a folder deleted and created again gets a larger one.
ALTER TABLE accounts ADD COLUMN last_uidvalidity BIGINT NOT NULL DEFAULT 0;
UPDATE accounts SET last_uidvalidity =
    COALESCE((SELECT MAX(uidvalidity) FROM folders WHERE folders.account_id = accounts.id), 0);

-- The time zone of the Date header, in seconds east of UTC: SENTON and its
-- kin compare the date as the sender wrote it (RFC 3501 §6.4.4). Mail
-- already stored counts as written in UTC.
ALTER TABLE messages ADD COLUMN sent_zone BIGINT NOT NULL DEFAULT 0;
