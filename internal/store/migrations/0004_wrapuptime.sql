-- 0004: a member's own wrap-up time (seconds), set only by QueueAdd; NULL
-- when unknown (an Asterisk that does not report it, or a register written
-- before this column).
ALTER TABLE attribute_state
    ADD COLUMN IF NOT EXISTS wrapuptime int;
