-- 0007: the daemon lists, every health_interval, the members whose values
-- are kept as bytes (Asterisk sends no events for them); a partial index
-- keeps that a read of those few rows, not of the whole journal.
CREATE INDEX IF NOT EXISTS attribute_state_unplain ON attribute_state (class)
    WHERE present AND (member_name_bytes IS NOT NULL
        OR state_interface_bytes IS NOT NULL OR paused_reason_bytes IS NOT NULL);
