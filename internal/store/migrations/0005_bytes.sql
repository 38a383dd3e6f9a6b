-- 0005: a member name, state interface or pause reason is Asterisk's bytes,
-- which need not be UTF-8 (a Latin-1 name). Such a value is kept exactly in
-- the *_bytes column; the text column then holds its readable escaped form
-- (\xHH for each byte that is not plain text, \\ for a backslash). For every
-- plain value the *_bytes column is NULL and the text column holds it as is.
ALTER TABLE attribute_state
    ADD COLUMN IF NOT EXISTS member_name_bytes     bytea,
    ADD COLUMN IF NOT EXISTS state_interface_bytes bytea,
    ADD COLUMN IF NOT EXISTS paused_reason_bytes   bytea;
