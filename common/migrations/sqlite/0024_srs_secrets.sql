-- The secrets that sign rewritten senders (SRS) of mail a mailbox's filter
-- redirects elsewhere. They live in the store, so that every node signs
-- alike and checks what another signed when the bounce comes back; a new
-- one is made when the newest grows old, and old ones are kept as long as
-- an address signed with them may still come back. Hex text. Keep in step
-- with ../postgres/0024_srs_secrets.sql.
CREATE TABLE srs_secrets (
    id         INTEGER PRIMARY KEY,
    secret     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
