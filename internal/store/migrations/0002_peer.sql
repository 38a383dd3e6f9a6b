-- 0002: per-peer delivery watermarks; the journal is the outbox.
CREATE TABLE IF NOT EXISTS queue_sync_peer (
    peer       text        PRIMARY KEY,
    acked_seq  bigint      NOT NULL DEFAULT 0,
    last_sync  timestamptz,
    last_error text
);
