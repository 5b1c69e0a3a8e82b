-- A body's bytes in a table of their own, apart from its reference count,
-- as on SQLite (where changing the count rewrote the bytes too), so that
-- both stores share their statements. Stored as they are, as 0009 says.
CREATE TABLE blob_data (
    hash TEXT  PRIMARY KEY REFERENCES blobs(hash) ON DELETE CASCADE,
    data BYTEA NOT NULL
);
ALTER TABLE blob_data ALTER COLUMN data SET STORAGE EXTERNAL;
INSERT INTO blob_data (hash, data) SELECT hash, data FROM blobs;
ALTER TABLE blobs DROP COLUMN data;
