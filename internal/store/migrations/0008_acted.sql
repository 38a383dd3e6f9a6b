-- 0008: when a queuesync process last acted on Asterisk for a member (the
-- actions of an applied register, or a restore). The member events of such
-- actions may arrive late and show a state between two actions of one
-- change; the daemon asks Asterisk again instead of taking an event of a
-- member acted on lately as its state. NULL: not since it was last journalled
-- from what Asterisk reported.
ALTER TABLE attribute_state
    ADD COLUMN IF NOT EXISTS acted_at timestamptz;
