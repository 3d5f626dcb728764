-- Dependencies: a target's `depends_on` (in its options) as rows, so the children of
-- a source that goes down or comes back are found by an index, whatever wrote the
-- target (the daemon, or an INSERT by hand: the triggers keep the rows true).
CREATE TABLE IF NOT EXISTS target_parents (
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    parent    TEXT    NOT NULL,                          -- target:<name> | service:<server>/<service> | server:<name>
    PRIMARY KEY (target_id, parent)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS target_parents_parent ON target_parents (parent);
CREATE TRIGGER IF NOT EXISTS target_parents_insert AFTER INSERT ON targets
BEGIN
    INSERT OR IGNORE INTO target_parents (target_id, parent)
    SELECT NEW.id, value FROM json_each(CASE WHEN json_valid(NEW.options) THEN NEW.options END, '$.depends_on')
    WHERE type = 'text';
END;
CREATE TRIGGER IF NOT EXISTS target_parents_update AFTER UPDATE OF options ON targets
BEGIN
    DELETE FROM target_parents WHERE target_id = NEW.id;
    INSERT OR IGNORE INTO target_parents (target_id, parent)
    SELECT NEW.id, value FROM json_each(CASE WHEN json_valid(NEW.options) THEN NEW.options END, '$.depends_on')
    WHERE type = 'text';
END;
INSERT OR IGNORE INTO target_parents (target_id, parent)
SELECT t.id, j.value
FROM targets t, json_each(CASE WHEN json_valid(t.options) THEN t.options END, '$.depends_on') j
WHERE j.type = 'text';
-- An alert raised while a parent was down is kept with the reason and delivered to
-- nobody: `parent target:core-router is FAIL`.
ALTER TABLE alerts ADD COLUMN suppressed TEXT NOT NULL DEFAULT '';
-- A target's latest alerts are looked up when a parent comes back (and the index
-- spares a scan when a target is removed).
CREATE INDEX IF NOT EXISTS alerts_target ON alerts (target_id) WHERE target_id IS NOT NULL;
-- Grouping: how many alerts the message that delivered a row listed; a row whose
-- alert was held back after it was written is 'suppressed'.
ALTER TABLE deliveries ADD COLUMN group_size INTEGER NOT NULL DEFAULT 1;
