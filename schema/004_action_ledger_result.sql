-- 004_action_ledger_result.sql — what a done firing made, for the triggers whose action leaves
-- something to find: a k8s or argoWorkflow trigger records the object it created or changed
-- ("created Workflow <namespace>/<name> uid <uid>"), so that an operator can go from a firing to it.

-- result: NULL for firings that are not done, and for rows written before this column.
ALTER TABLE ledger ADD COLUMN result TEXT;
