-- 005_trigger_sources.sql — how far each trigger has taken the events of each event-topic partition.
-- Trigger records carry the position of the event they come from (header ksensor-source); a record
-- for an event the trigger already took — an event-stage batch read again because Kafka lost its
-- commit after making its records visible — is skipped. Written to the changelog with the held
-- events, so a restore or a rebuild brings it along.
CREATE TABLE sources (
    sensor      TEXT    NOT NULL,
    trigger     TEXT    NOT NULL,
    topic       TEXT    NOT NULL,   -- the event topic
    partition   INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,   -- the next offset of topic/partition the trigger takes
    PRIMARY KEY (sensor, trigger, topic, partition)
);
