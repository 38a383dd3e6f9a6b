-- 0006: the history of every journal write and every restore: one row per
-- write, with the register before (old_*, NULL when there was none) and
-- after (new_*). Values are Asterisk's exact bytes. Rows are collected
-- after history_retention and beyond a row cap, oldest first.
CREATE TABLE IF NOT EXISTS queue_sync_history (
    id                  bigserial   PRIMARY KEY,
    class               text        NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    queue               text        NOT NULL,
    interface           text        NOT NULL,
    queue_key           text        NOT NULL,
    iface_key           text        NOT NULL,
    source              text        NOT NULL,  -- ami, peer:<name>, resync, restore
    result              text        NOT NULL,  -- journalled, pending, applied
    seq                 bigint,                -- the journal write; NULL for a restore
    origin              text        NOT NULL,
    stamp_wall          bigint      NOT NULL,
    stamp_logical       bigint      NOT NULL,
    new_present         bool        NOT NULL,
    new_member_name     bytea       NOT NULL,
    new_state_interface bytea       NOT NULL,
    new_penalty         int         NOT NULL,
    new_paused          bool        NOT NULL,
    new_paused_reason   bytea       NOT NULL,
    new_ringinuse       bool,
    new_wrapuptime      int,
    new_membership      text        NOT NULL,
    old_present         bool,
    old_member_name     bytea,
    old_state_interface bytea,
    old_penalty         int,
    old_paused          bool,
    old_paused_reason   bytea,
    old_ringinuse       bool,
    old_wrapuptime      int,
    old_membership      text,
    old_stamp_wall      bigint,
    old_stamp_logical   bigint,
    old_origin          text
);
CREATE INDEX IF NOT EXISTS queue_sync_history_member_idx
    ON queue_sync_history (class, queue_key, iface_key, id);
CREATE INDEX IF NOT EXISTS queue_sync_history_time_idx
    ON queue_sync_history (class, recorded_at);
CREATE INDEX IF NOT EXISTS queue_sync_history_seq_idx
    ON queue_sync_history (seq) WHERE result = 'pending';
