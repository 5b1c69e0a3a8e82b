-- DKIM keys per domain. Keep in step with ../postgres/0003_dkim.sql.
--
-- A key is 'active' (signs, and is published), 'retiring' (replaced by a
-- rotation: no longer signs, but stays published until retire_at so that
-- mail signed before the rotation still verifies), or 'retired' (neither;
-- kept for the record, its selector never reused). A domain has at most one
-- active key per algorithm.

CREATE TABLE dkim_keys (
    id          INTEGER PRIMARY KEY,
    domain_id   INTEGER NOT NULL REFERENCES domains(id),
    selector    TEXT    NOT NULL,
    -- The a= name: rsa-sha256 or ed25519-sha256.
    algorithm   TEXT    NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
    -- PKCS#8 PEM (-----BEGIN PRIVATE KEY-----).
    private_key TEXT    NOT NULL,
    -- Base64, the p= tag of the key record: the SubjectPublicKeyInfo for
    -- RSA, the raw 32-byte key for Ed25519 (RFC 8463).
    public_key  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retiring', 'retired')),
    -- When a retiring key is retired (and when a retired one was); NULL while active.
    retire_at   INTEGER,
    UNIQUE (domain_id, selector)
);
CREATE UNIQUE INDEX dkim_keys_one_active ON dkim_keys(domain_id, algorithm) WHERE state = 'active';
CREATE INDEX dkim_keys_retire_at ON dkim_keys(retire_at) WHERE state = 'retiring';
