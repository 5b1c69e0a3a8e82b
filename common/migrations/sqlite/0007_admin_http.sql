-- The admin HTTP service's credentials. Keep in step with
-- ../postgres/0007_admin_http.sql.
--
-- Both tables keep only the SHA-256 of the secret the client holds: the
-- secrets are 256 random bits, so a fast hash is enough, and a copy of the
-- database lets nobody in.

-- API tokens for automation, created at the command line and shown once.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    admin_id     INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_admin ON api_tokens(admin_id);

-- Console and API sessions after a password login, of an admin or of a
-- mailbox user (exactly one of the two). The CSRF token goes with every
-- form and every cookie-authenticated change.
CREATE TABLE web_sessions (
    token_hash TEXT    PRIMARY KEY,
    admin_id   INTEGER REFERENCES admins(id) ON DELETE CASCADE,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK ((admin_id IS NULL) <> (account_id IS NULL))
);
CREATE INDEX web_sessions_expires ON web_sessions(expires_at);
