-- 0003: per-class node facts, e.g. the Asterisk start time the journal was
-- last reconciled against.
CREATE TABLE IF NOT EXISTS queue_sync_meta (
    class      text        NOT NULL,
    name       text        NOT NULL,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (class, name)
);
