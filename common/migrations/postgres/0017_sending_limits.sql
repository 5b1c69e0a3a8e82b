-- Per-mailbox sending limits, the brake on a stolen password: a mailbox
-- may send so many messages an hour and write to so many distinct
-- recipients a day. NULL: the domain's limit, then the configured one; 0:
-- no limit. What each mailbox sent within those windows is counted here,
-- so that every node sees the same counts, and each limit a mailbox ran
-- into is noted for the provincial admins. Keep in step with
-- ../sqlite/0017_sending_limits.sql.
ALTER TABLE domains ADD COLUMN max_messages_per_hour BIGINT;
ALTER TABLE domains ADD COLUMN max_recipients_per_day BIGINT;
ALTER TABLE accounts ADD COLUMN max_messages_per_hour BIGINT;
ALTER TABLE accounts ADD COLUMN max_recipients_per_day BIGINT;

CREATE TABLE sent_messages (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    sent_at    BIGINT NOT NULL
);
CREATE INDEX sent_messages_account ON sent_messages(account_id, sent_at);

CREATE TABLE sent_recipients (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    recipient  TEXT    NOT NULL,
    sent_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, recipient)
);
CREATE INDEX sent_recipients_account ON sent_recipients(account_id, sent_at);

CREATE TABLE sending_limit_hits (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    limit_name TEXT    NOT NULL,
    first_at   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL,
    refused    BIGINT NOT NULL,
    PRIMARY KEY (account_id, limit_name)
);
CREATE INDEX sending_limit_hits_last_at ON sending_limit_hits(last_at);
