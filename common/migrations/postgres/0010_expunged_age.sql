-- When each UID was expunged, so that records older than the store keeps
-- can be dropped (rows from before this migration count as old).
ALTER TABLE expunged ADD COLUMN at BIGINT NOT NULL DEFAULT 0;

-- The highest MODSEQ whose expunge records of the folder have been dropped:
-- a client that last synchronised before it is told, as RFC 7162 allows,
-- that every UID not in the folder has vanished.
ALTER TABLE folders ADD COLUMN vanished_floor BIGINT NOT NULL DEFAULT 0;
