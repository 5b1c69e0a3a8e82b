-- Message bodies may be kept outside the database (`[blobs] backend`):
-- `location` then names the file or object, unique to this row, and `data`
-- is empty. A location whose row is gone waits in blob_trash for the
-- collector, which deletes it once older than the grace period. Keep in
-- step with ../postgres/0020_blob_locations.sql.
ALTER TABLE blobs ADD COLUMN location TEXT;
CREATE UNIQUE INDEX blobs_location ON blobs (location) WHERE location IS NOT NULL;

CREATE TABLE blob_trash (
    location TEXT    PRIMARY KEY,
    freed_at INTEGER NOT NULL
);
CREATE INDEX blob_trash_freed_at ON blob_trash (freed_at);
