-- MTA-STS (RFC 8461). Each hosted domain's published mode (its policy
-- file is served by the admin service), and the policies of other domains
-- that outbound delivery fetched: cached in the store so that every node
-- delivers under the same policy and keeps it when a fetch fails. `policy`
-- is the file as fetched; `expires_at` is fetched_at + its max_age, Unix
-- seconds. Keep in step with ../postgres/0028_mta_sts.sql.
ALTER TABLE domains ADD COLUMN mta_sts_mode TEXT NOT NULL DEFAULT 'testing';
CREATE TABLE mta_sts_policies (
    domain     TEXT    PRIMARY KEY,
    policy_id  TEXT    NOT NULL,
    policy     TEXT    NOT NULL,
    fetched_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
