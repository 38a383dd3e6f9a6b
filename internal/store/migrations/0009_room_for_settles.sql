-- 0009: room in each page for a settle to write the row's new version in the
-- same page (a heap-only update: no index entry to add). Applies to the pages
-- written from now on.
--
-- The journal: a settle changes pending, updated_at and acted_at, none of
-- them indexed.
ALTER TABLE attribute_state SET (fillfactor = 50);
-- The history: a settle marks the write's record applied. Its seq index
-- was partial (result = 'pending'), which made result an indexed column and
-- every such update a new entry in each index; a whole index on seq keeps
-- result out of the indexes. History records are inserted once and updated
-- at most once, soon after: half of each page is left for that.
ALTER TABLE queue_sync_history SET (fillfactor = 50);
CREATE INDEX IF NOT EXISTS queue_sync_history_seq_all_idx ON queue_sync_history (seq);
DROP INDEX IF EXISTS queue_sync_history_seq_idx;
