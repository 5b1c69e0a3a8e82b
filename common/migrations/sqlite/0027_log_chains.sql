-- Tamper evidence for the administrators' logs, and the users' logins.
--
-- Each entry of audit_log and admin_access carries the SHA-256 of its
-- content and of the entry before it (prev_hash, hash): a chain that
-- `postino audit verify` walks in id order. Entries written before this
-- migration have no hash and stay outside the chain.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

-- Logins of administrators, failed ones too: console and API password
-- logins, the first use of an API token in each hour, CLI commands.
CREATE TABLE admin_access (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    -- The admin's username, or cli:USER.
    who       TEXT    NOT NULL,
    -- An IP address, or cli.
    origin    TEXT    NOT NULL,
    -- password, token or cli.
    method    TEXT    NOT NULL,
    -- 1 for a login that succeeded, 0 for a refused one.
    succeeded INTEGER NOT NULL,
    -- The token's name, the CLI command, or why a login was refused.
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX admin_access_at ON admin_access(at);

-- One row per chained log: the hash the oldest entry kept follows (that
-- of the last purged entry, '' before any purge) and the newest entry's,
-- so that removing entries from either end shows. Appends lock the row.
CREATE TABLE log_chains (
    name        TEXT PRIMARY KEY,
    anchor_hash TEXT NOT NULL,
    head_hash   TEXT NOT NULL
);

-- Mailbox users' logins, for them to see on their console page; metadata
-- purged after retention.metadata.
CREATE TABLE user_logins (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    ip         TEXT    NOT NULL,
    -- imap, pop3, smtp, managesieve or web.
    protocol   TEXT    NOT NULL
);
CREATE INDEX user_logins_account ON user_logins(account_id, at);
CREATE INDEX user_logins_at ON user_logins(at);
