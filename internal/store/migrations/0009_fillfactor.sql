-- 0009: room in each page of the journal for a settle (pending, updated_at
-- and acted_at change, no indexed column) to write the row's new version in
-- the same page: a heap-only update, with no index entry to add. Applies to
-- the pages written from now on.
ALTER TABLE attribute_state SET (fillfactor = 70);
