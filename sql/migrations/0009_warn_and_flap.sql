-- Alerts people trust: targets gain a WARN state (every hard condition met, a soft one
-- such as warn_response_ms not), windows of X failures in the last Y checks, and flap
-- detection. What the judging needs between checks is kept in the row.
ALTER TABLE targets ADD COLUMN warn_count INTEGER NOT NULL DEFAULT 0;
-- The verdicts of the latest checks since the state last changed, newest in bit 0.
ALTER TABLE targets ADD COLUMN recent_fails INTEGER NOT NULL DEFAULT 0;
ALTER TABLE targets ADD COLUMN recent_warns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE targets ADD COLUMN recent_seen INTEGER NOT NULL DEFAULT 0;
-- When the state last changed (ms, comma-separated, oldest first; as many as
-- flap_changes), and since when the target is flapping.
ALTER TABLE targets ADD COLUMN state_changes TEXT NOT NULL DEFAULT '';
ALTER TABLE targets ADD COLUMN flapping_since INTEGER;
