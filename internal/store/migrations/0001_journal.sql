-- 0001: the journal. attribute_state is shared with other classes on a SOP,
-- so an existing table is extended rather than replaced.
CREATE SEQUENCE IF NOT EXISTS queue_sync_seq;

DO $$
BEGIN
    IF to_regclass('attribute_state') IS NULL THEN
        CREATE TABLE attribute_state (
            class           text        NOT NULL,
            queue_key       text        NOT NULL,
            iface_key       text        NOT NULL,
            queue           text,
            interface       text,
            present         bool,
            member_name     text,
            state_interface text,
            penalty         int,
            paused          bool,
            paused_reason   text,
            ringinuse       bool        NULL,
            membership      text,
            stamp_wall      bigint,
            stamp_logical   bigint,
            origin          text,
            pending         bool        NOT NULL DEFAULT false,
            via             text        NOT NULL DEFAULT '',
            seq             bigint      NOT NULL DEFAULT nextval('queue_sync_seq'),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (class, queue_key, iface_key)
        );
    ELSE
        ALTER TABLE attribute_state
            ADD COLUMN IF NOT EXISTS queue_key       text,
            ADD COLUMN IF NOT EXISTS iface_key       text,
            ADD COLUMN IF NOT EXISTS queue           text,
            ADD COLUMN IF NOT EXISTS interface       text,
            ADD COLUMN IF NOT EXISTS present         bool,
            ADD COLUMN IF NOT EXISTS member_name     text,
            ADD COLUMN IF NOT EXISTS state_interface text,
            ADD COLUMN IF NOT EXISTS penalty         int,
            ADD COLUMN IF NOT EXISTS paused          bool,
            ADD COLUMN IF NOT EXISTS paused_reason   text,
            ADD COLUMN IF NOT EXISTS ringinuse       bool,
            ADD COLUMN IF NOT EXISTS membership      text,
            ADD COLUMN IF NOT EXISTS stamp_wall      bigint,
            ADD COLUMN IF NOT EXISTS stamp_logical   bigint,
            ADD COLUMN IF NOT EXISTS origin          text,
            ADD COLUMN IF NOT EXISTS pending         bool        NOT NULL DEFAULT false,
            ADD COLUMN IF NOT EXISTS via             text        NOT NULL DEFAULT '',
            ADD COLUMN IF NOT EXISTS seq             bigint      NOT NULL DEFAULT nextval('queue_sync_seq'),
            ADD COLUMN IF NOT EXISTS updated_at      timestamptz NOT NULL DEFAULT now();
        -- ON CONFLICT (class, queue_key, iface_key) needs a unique index.
        CREATE UNIQUE INDEX IF NOT EXISTS attribute_state_class_key_uniq
            ON attribute_state (class, queue_key, iface_key);
    END IF;
END
$$;

CREATE INDEX IF NOT EXISTS attribute_state_class_seq_idx ON attribute_state (class, seq);
