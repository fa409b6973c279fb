-- 003_action_ledger_events.sql — the ledger knows each firing's events, so that every firing can be
-- listed (ksensorctl firings): a firing of a condition without && goes from the event stage
-- straight to the action topic and has no row in a trigger task's firings table.

-- events: JSON object, dependency name -> CloudEvent id (NULL in rows written before this column).
ALTER TABLE ledger ADD COLUMN events TEXT;
