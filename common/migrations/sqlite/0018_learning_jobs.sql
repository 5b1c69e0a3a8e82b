-- Messages users filed into Junk (lesson 'spam') or out of it ('ham'), to
-- be taught to rspamd's controller by the learning workers. One row per
-- body: filing it again replaces the lesson. Each row holds a reference to
-- its body (counted in blobs.refcount), so that the body stays readable
-- when the message is expunged before rspamd has learned it. account_id
-- names who filed it, for the logs; it outlives the account.
-- Keep in step with ../postgres/0018_learning_jobs.sql.

CREATE TABLE learning_jobs (
    id              INTEGER PRIMARY KEY,
    blob_hash       TEXT    NOT NULL UNIQUE REFERENCES blobs(hash),
    lesson          TEXT    NOT NULL CHECK (lesson IN ('spam', 'ham')),
    account_id      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    -- Failed attempts so far, and why the last one failed.
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    -- A learning worker's lease: no other worker takes the job before.
    leased_until    INTEGER NOT NULL DEFAULT 0,
    leased_by       TEXT
);
CREATE INDEX learning_jobs_next_attempt ON learning_jobs(next_attempt_at);
