-- Subscriptions are names kept apart from mailboxes (RFC 9051 §6.3.7): a
-- subscription outlives its mailbox's deletion, and a name may be
-- subscribed before its mailbox exists.
CREATE TABLE subscriptions (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);
INSERT INTO subscriptions (account_id, name)
    SELECT account_id, name FROM folders WHERE subscribed <> 0;
ALTER TABLE folders DROP COLUMN subscribed;
