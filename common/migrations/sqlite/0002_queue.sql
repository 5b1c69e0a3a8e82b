-- The outbound queue: messages for other servers, with per-recipient
-- state. Keep in step with ../postgres/0002_queue.sql.

CREATE TABLE queue (
    id              INTEGER PRIMARY KEY,
    blob_hash       TEXT    NOT NULL REFERENCES blobs(hash),
    -- The envelope sender; '' for the null sender <>.
    sender          TEXT    NOT NULL,
    -- DSN (RFC 3461) ENVID and RET of the submission, if given.
    envid           TEXT,
    ret             TEXT,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    -- A delivery worker's lease: no other worker takes the message before.
    leased_until    INTEGER NOT NULL DEFAULT 0,
    leased_by       TEXT
);
CREATE INDEX queue_next_attempt ON queue(next_attempt_at);

CREATE TABLE queue_recipients (
    id         INTEGER PRIMARY KEY,
    queue_id   INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    address    TEXT    NOT NULL,
    -- DSN ORCPT and NOTIFY of the recipient, if given.
    orcpt      TEXT,
    notify     TEXT,
    -- pending, delivered, deferred or failed.
    status     TEXT    NOT NULL DEFAULT 'pending',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_reply TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX queue_recipients_queue ON queue_recipients(queue_id);
