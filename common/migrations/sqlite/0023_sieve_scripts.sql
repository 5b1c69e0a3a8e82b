-- Users' Sieve scripts (RFC 5228), kept by name per mailbox as ManageSieve
-- (RFC 5804) presents them: at most one of a mailbox's scripts is active,
-- the one delivery runs. Sizes are counted in bytes of the source, against
-- the per-script and per-mailbox limits of [sieve].
--
-- vacation_replies remembers to whom a vacation reply went, per script
-- :handle, so that a sender gets one reply per period however many
-- messages it sends and whichever node delivers them (RFC 5230 §4.2);
-- rows older than the longest period are pruned. Keep in step with
-- ../postgres/0023_sieve_scripts.sql.
CREATE TABLE sieve_scripts (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    -- 1 for the active script, else 0.
    active     INTEGER NOT NULL DEFAULT 0,
    -- When the source was last stored.
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
);
-- One active script per mailbox, and the index delivery finds it by.
CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts(account_id) WHERE active <> 0;

CREATE TABLE vacation_replies (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    handle     TEXT    NOT NULL,
    -- The envelope sender replied to, in lower case.
    sender     TEXT    NOT NULL,
    sent_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, handle, sender)
);
CREATE INDEX vacation_replies_sent_at ON vacation_replies(sent_at);
