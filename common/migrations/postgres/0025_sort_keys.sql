-- What IMAP SORT and THREAD compare (RFC 5256, RFC 5957), computed once at
-- delivery beside the envelope: `mime::SortKeys` as JSON (base subject,
-- first From/To/Cc mailbox, display names, Message-ID, references).
-- NULL for messages stored before this migration: the store computes their
-- keys from the body the first time SORT or THREAD reads them and writes
-- them here, so this migration stays instant on a large mailbox store.
ALTER TABLE messages ADD COLUMN sort_keys TEXT;
