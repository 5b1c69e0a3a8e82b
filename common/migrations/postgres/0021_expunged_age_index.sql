-- The hourly prune reads the expunge records older than a week. Without
-- an index it read the whole table, a week of every folder's expunges;
-- `at` only grows, so each EXPUNGE adds its entries at the index's right
-- edge, in a page already in memory. Keep in step with
-- ../sqlite/0021_expunged_age_index.sql.
CREATE INDEX expunged_at ON expunged (at);
