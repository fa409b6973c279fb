-- 001_trigger_task.sql — the state of one trigger-topic partition (a trigger task):
-- <dataDir>/<pool>-trigger-<partition>.db. Kafka's compacted <pool>-state topic is the source of
-- truth; this file is the durable, queryable, fast-restart copy of it.

-- held: the events a trigger holds, the latest one per dependency (Argo's semantics).
CREATE TABLE held (
    sensor      TEXT    NOT NULL,   -- metadata.name of the sensor
    trigger     TEXT    NOT NULL,   -- template.name of the trigger
    dependency  TEXT    NOT NULL,   -- the dependency the event arrived for
    held_at     INTEGER NOT NULL,   -- when it was held: trigger-topic record timestamp, Unix ms
    source      TEXT    NOT NULL,   -- "<pool>-trigger/<partition>/<offset>" of the record that brought it
    event       BLOB    NOT NULL,   -- the CloudEvent, structured-mode JSON
    PRIMARY KEY (sensor, trigger, dependency)
);

-- firings: the firings this task produced to the action topic (kept for ksensorctl firings).
CREATE TABLE firings (
    id          TEXT    PRIMARY KEY,    -- the firing id: "<sensor>/<trigger>@<topic>/<partition>/<offset>"
    sensor      TEXT    NOT NULL,
    trigger     TEXT    NOT NULL,
    fired_at    INTEGER NOT NULL,       -- Unix ms
    events      TEXT    NOT NULL        -- JSON object: dependency name -> CloudEvent id
);

-- position: how far this file has caught up with Kafka.
CREATE TABLE position (
    name        TEXT    PRIMARY KEY,    -- 'changelog': next offset of <pool>-state/<partition> to apply;
                                        -- 'input': next <pool>-trigger/<partition> offset after the
                                        -- records the held events come from (a record below it, when
                                        -- delivered again, means the file is ahead of Kafka)
    value       INTEGER NOT NULL
);
