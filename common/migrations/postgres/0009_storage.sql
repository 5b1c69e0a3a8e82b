-- Message bodies are stored as they are: compressing them (pglz, TOAST's
-- default) cost a tenth of PostgreSQL's time under a mixed IMAP load, on
-- every append and every body read, for mail that is mostly base64 already.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- Every write to a folder updates its row (UIDNEXT, MODSEQ, counters) and
-- its account's (usage). Room left on their pages keeps those updates on
-- the page (HOT) and lets PostgreSQL prune the old versions early, so that
-- reads do not walk long chains of them.
ALTER TABLE folders SET (fillfactor = 50);
ALTER TABLE accounts SET (fillfactor = 50);
