-- Checks and passes per target and hour, for uptime over 24 h / 7 d / 30 d without
-- reading every check.
CREATE TABLE IF NOT EXISTS target_hours (
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    hour      INTEGER NOT NULL,                          -- ms since the epoch / 3600000
    checks    INTEGER NOT NULL DEFAULT 0,
    passes    INTEGER NOT NULL DEFAULT 0,
    total_ms  REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, hour)
) WITHOUT ROWID;
