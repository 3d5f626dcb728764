-- [[service_rule]]: a service a rule governs is judged like a target, over its
-- latest reports (the windows' masks, newest in bit 0), with flap detection; `judged`
-- is its state in those terms (NEW, PASS, WARN, FAIL; NULL while no rule judged it).
ALTER TABLE services ADD COLUMN judged TEXT;
ALTER TABLE services ADD COLUMN recent_fails INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN recent_warns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN recent_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN state_changes TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN flapping_since INTEGER;
-- Seconds after the promised period before the service is offline (its rule's
-- offline_grace).
ALTER TABLE services ADD COLUMN grace INTEGER NOT NULL DEFAULT 0;
-- Its latest alert was held back because a parent of its rule was down.
ALTER TABLE services ADD COLUMN held_back INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS services_held_back ON services (id) WHERE held_back != 0;
