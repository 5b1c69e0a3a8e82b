-- A body's bytes in a table of their own, apart from its reference count.
-- SQLite rewrites a whole row, overflow pages included, whenever one of its
-- columns changes: with the bytes beside the count, every COPY and EXPUNGE
-- wrote each body it counted again, into the log and then the database.
CREATE TABLE blob_data (
    hash TEXT PRIMARY KEY REFERENCES blobs(hash) ON DELETE CASCADE,
    data BLOB NOT NULL
);
INSERT INTO blob_data (hash, data) SELECT hash, data FROM blobs;
ALTER TABLE blobs DROP COLUMN data;
