-- Jobs that ping (SPEC §17): a job is a service of its server, with the schedule it
-- promised; pings name it by `uuid`, or by its server's `ping_key` and its name.
CREATE TABLE IF NOT EXISTS jobs (
    service_id INTEGER PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
    uuid       TEXT    NOT NULL UNIQUE,
    period     INTEGER NOT NULL DEFAULT 0,                 -- seconds, when not cron
    cron       TEXT    NOT NULL DEFAULT '',                -- five fields, when set
    tz         TEXT    NOT NULL DEFAULT '',                -- the cron expression's zone
    grace      INTEGER NOT NULL DEFAULT 0,                 -- seconds after the due time
    created    INTEGER NOT NULL,
    first_ping INTEGER,                                    -- NULL: never pinged
    started    INTEGER,                                    -- a run began (ms), not yet ended
    run_ms     INTEGER                                     -- the latest run's time, start to end
);

-- What a ping carried (its body, up to 100 KiB), kept as long as raw history.
CREATE TABLE IF NOT EXISTS job_pings (
    id         INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    time       INTEGER NOT NULL,
    kind       TEXT    NOT NULL,                           -- success | start | fail | exit | log
    exit       INTEGER,
    body       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS job_pings_service ON job_pings (service_id, time);
CREATE INDEX IF NOT EXISTS job_pings_time ON job_pings (time);

-- Every server has a key for the slug form of ping URLs; it is not a secret like the
-- server's own key (it only lets pings in).
ALTER TABLE servers ADD COLUMN ping_key TEXT;
UPDATE servers SET ping_key = lower(hex(randomblob(12))) WHERE ping_key IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS servers_ping_key ON servers (ping_key);
CREATE TRIGGER IF NOT EXISTS servers_ping_key AFTER INSERT ON servers WHEN NEW.ping_key IS NULL
BEGIN
    UPDATE servers SET ping_key = lower(hex(randomblob(12))) WHERE id = NEW.id;
END;
