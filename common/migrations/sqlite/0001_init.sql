-- Postino store, SQLite flavour. Keep in step with ../postgres/0001_init.sql:
-- same tables, same columns, same meaning. Sizes are bytes, times are Unix
-- seconds, flags are 0/1 integers, quotas and limits use 0 for "none".

CREATE TABLE domains (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    quota_bytes   INTEGER NOT NULL DEFAULT 0,
    max_mailboxes INTEGER NOT NULL DEFAULT 0,
    used_bytes    INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    domain_id     INTEGER NOT NULL REFERENCES domains(id),
    address       TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    password_hash TEXT,
    quota_bytes   INTEGER NOT NULL DEFAULT 0,
    used_bytes    INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain_id);

-- One row per (source, target); a source "@domain" is the domain's catch-all.
CREATE TABLE aliases (
    id         INTEGER PRIMARY KEY,
    domain_id  INTEGER NOT NULL REFERENCES domains(id),
    source     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (source, target)
);
CREATE INDEX aliases_domain ON aliases(domain_id);

CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    all_domains   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE admin_domains (
    admin_id  INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    PRIMARY KEY (admin_id, domain_id)
);

CREATE TABLE folders (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    name          TEXT    NOT NULL,
    special_use   TEXT,
    subscribed    INTEGER NOT NULL DEFAULT 1,
    uidvalidity   INTEGER NOT NULL,
    uidnext       INTEGER NOT NULL DEFAULT 1,
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    UNIQUE (account_id, name)
);

-- Message bodies, content-addressed by SHA-256 and shared by every copy.
CREATE TABLE blobs (
    hash     TEXT    PRIMARY KEY,
    size     INTEGER NOT NULL,
    refcount INTEGER NOT NULL,
    data     BLOB    NOT NULL
);

-- The parse cache (envelope .. sent_at) is filled at delivery so that FETCH
-- and SEARCH never re-parse a stored message; NULL until a parser wrote it.
CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    folder_id      INTEGER NOT NULL REFERENCES folders(id),
    uid            INTEGER NOT NULL,
    blob_hash      TEXT    NOT NULL REFERENCES blobs(hash),
    size           INTEGER NOT NULL,
    internal_date  INTEGER NOT NULL,
    flags          INTEGER NOT NULL DEFAULT 0,
    keywords       TEXT    NOT NULL DEFAULT '',
    modseq         INTEGER NOT NULL,
    envelope       TEXT,
    body_structure TEXT,
    subject        TEXT,
    sent_at        INTEGER,
    UNIQUE (folder_id, uid)
);
CREATE INDEX messages_folder_modseq ON messages(folder_id, modseq);

-- Expunged UIDs with the MODSEQ of their removal, for QRESYNC VANISHED.
CREATE TABLE expunged (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid       INTEGER NOT NULL,
    modseq    INTEGER NOT NULL,
    PRIMARY KEY (folder_id, uid)
);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    origin TEXT    NOT NULL,
    action TEXT    NOT NULL,
    domain TEXT,
    target TEXT    NOT NULL,
    before TEXT,
    after  TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_domain ON audit_log(domain, at);

-- Failed logins per key ("ip:…" or "account:…"), shared by every node.
CREATE TABLE auth_failures (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    first_at     INTEGER NOT NULL,
    last_at      INTEGER NOT NULL
);
