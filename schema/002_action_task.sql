-- 002_action_task.sql — the dedupe ledger of one action-topic partition (an action task):
-- <dataDir>/<pool>-action-<partition>.db.

-- ledger: one row per firing whose action this host ran; a replayed firing found here is skipped.
CREATE TABLE ledger (
    id          TEXT    PRIMARY KEY,    -- the firing id (also the HTTP Idempotency-Key)
    sensor      TEXT    NOT NULL,
    trigger     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,       -- log, kafka or http
    status      TEXT    NOT NULL,       -- done, attempting, failed, unknown
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,                -- HTTP status of the last attempt
    last_error  TEXT,                   -- why the last attempt failed
    updated_at  INTEGER NOT NULL        -- Unix ms
);
