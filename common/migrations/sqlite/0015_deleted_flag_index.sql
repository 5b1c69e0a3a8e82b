-- The partial index of messages marked \Deleted (flag bit 8), its
-- predicate now written as the store's queries test a flag: as a bit. A
-- query is served by a partial index only when its WHERE implies the
-- index's, so the two are written alike. Keep in step with
-- ../postgres/0015_deleted_flag_index.sql.
DROP INDEX messages_deleted;
CREATE INDEX messages_deleted ON messages(folder_id, uid) WHERE (flags & 8) <> 0;
