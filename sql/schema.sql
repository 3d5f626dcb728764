-- skypunch database schema, latest version.
--
-- Applied by skypunchd to a new (empty) database. A database created by an older
-- version is upgraded instead by the numbered files in sql/migrations/, each of which
-- moves PRAGMA user_version up by one.
--
-- Times are INTEGER milliseconds since the Unix epoch (UTC), except
-- targets.last_updated, which keeps Skypunch's text form 'YYYY-MM-DD HH:MM:SS' (UTC).
--
-- Rows may be added by hand with only the columns a person cares about:
--   INSERT INTO targets (name, url) VALUES ('nginx', 'http://127.0.0.1/');
-- every other column has a default. skypunchd notices within a few seconds.

-- Bumped by triggers whenever a target or notifier definition changes, so the daemon
-- can notice rows edited by other processes with one cheap read.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('definitions', 0);

CREATE TABLE IF NOT EXISTS targets (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL,
    url                TEXT    NOT NULL,
    method             TEXT    NOT NULL DEFAULT 'GET',
    authn              TEXT    NOT NULL DEFAULT 'NONE',   -- NONE | BASIC | OPENSTACK
    authn_params       TEXT    NOT NULL DEFAULT '',       -- 'user=..,password=..' or a JSON object
    expect_status      INTEGER NOT NULL DEFAULT 200,
    frequency          INTEGER NOT NULL DEFAULT 60,       -- seconds
    timeout            INTEGER NOT NULL DEFAULT 10,       -- seconds
    enabled            INTEGER NOT NULL DEFAULT 1,
    options            TEXT    NOT NULL DEFAULT '{}',     -- JSON: the options not at their default
    origin             TEXT    NOT NULL DEFAULT 'sql',    -- config | cli | sql
    status             TEXT    NOT NULL DEFAULT 'NEW',    -- NEW | PASS | WARN | FAIL
    status_description TEXT    NOT NULL DEFAULT 'NEW',
    last_updated       TEXT,
    pass_count         INTEGER NOT NULL DEFAULT 0,        -- checks PASS
    fail_count         INTEGER NOT NULL DEFAULT 0,        -- checks FAIL
    count200           INTEGER NOT NULL DEFAULT 0,
    count300           INTEGER NOT NULL DEFAULT 0,
    count400           INTEGER NOT NULL DEFAULT 0,
    count500           INTEGER NOT NULL DEFAULT 0,
    network_fails      INTEGER NOT NULL DEFAULT 0,
    repeated_fails     INTEGER NOT NULL DEFAULT 0,        -- consecutive failed checks
    repeated_passes    INTEGER NOT NULL DEFAULT 0,        -- consecutive checks PASS or WARN
    last_notified      INTEGER,                           -- time of the last FAILURE alert
    last_check         INTEGER,                           -- ms: when the latest recorded check began
    warn_count         INTEGER NOT NULL DEFAULT 0,        -- checks WARN
    -- The verdicts of the latest checks since the state last changed, newest in bit 0.
    recent_fails       INTEGER NOT NULL DEFAULT 0,
    recent_warns       INTEGER NOT NULL DEFAULT 0,
    recent_seen        INTEGER NOT NULL DEFAULT 0,
    -- When the state last changed (ms, comma-separated, oldest first; as many as
    -- flap_changes), and since when the target is flapping.
    state_changes      TEXT    NOT NULL DEFAULT '',
    flapping_since     INTEGER
);
CREATE INDEX IF NOT EXISTS targets_name ON targets (name);

CREATE TRIGGER IF NOT EXISTS targets_defs_insert AFTER INSERT ON targets
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;
CREATE TRIGGER IF NOT EXISTS targets_defs_delete AFTER DELETE ON targets
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;
CREATE TRIGGER IF NOT EXISTS targets_defs_update
AFTER UPDATE OF name, url, method, authn, authn_params, expect_status, frequency, timeout, enabled, options ON targets
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;

-- The trace of a target's latest check that failed or changed its state (the daemon
-- keeps every latest trace in memory; this is what a restart finds). Apart from
-- `targets`, whose rows every check updates: a trace there made them five times wider.
CREATE TABLE IF NOT EXISTS target_traces (
    target_id INTEGER PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    trace     TEXT    NOT NULL
);

-- One row per check, kept [history] raw_days: what /api/targets/<id>/history shows.
-- Kept in the order it is read, by target and time (WITHOUT ROWID): a read by one
-- target does not scan the others' rows, and pruning goes target by target.
CREATE TABLE IF NOT EXISTS target_results (
    target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    time        INTEGER NOT NULL,
    result      INTEGER NOT NULL,                         -- 0 PASS, 1 FAIL, 2 WARN
    status_code INTEGER,                                  -- NULL when no HTTP response arrived
    response_us INTEGER NOT NULL,                         -- microseconds
    description TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (target_id, time)
) WITHOUT ROWID;

-- Per target and UTC hour, kept [history] rollup_days: checks, passes (every hard condition met: PASS and WARN) and warns, response
-- times in whole microseconds (sum, fastest, slowest), a histogram (buckets with upper bounds
-- 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000 ms and above; packed: for each
-- bucket that holds something, its index as one byte and its count as a LEB128 varint, as
-- the daemon's SQL functions histogram_add and histogram_of write it), and the time spent in
-- each condition (a state stands from one check to the next, at most two periods and
-- a half minute; longer is a gap with no data). Every figure of a report comes from here.
CREATE TABLE IF NOT EXISTS target_hours (
    target_id  INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    hour       INTEGER NOT NULL,                         -- ms since the epoch / 3600000
    checks     INTEGER NOT NULL DEFAULT 0,
    passes     INTEGER NOT NULL DEFAULT 0,
    total_us   INTEGER NOT NULL DEFAULT 0,               -- response times in microseconds
    warns      INTEGER NOT NULL DEFAULT 0,
    min_us     INTEGER,
    max_us     INTEGER,
    histogram  BLOB    NOT NULL DEFAULT x'',
    up_ms      INTEGER NOT NULL DEFAULT 0,
    warn_ms    INTEGER NOT NULL DEFAULT 0,
    down_ms    INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    offline_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, hour)
) WITHOUT ROWID;

-- The same per local day ([history] time_zone), for the 90-day bars.
CREATE TABLE IF NOT EXISTS target_days (
    target_id  INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    day        INTEGER NOT NULL,                         -- YYYYMMDD
    checks     INTEGER NOT NULL DEFAULT 0,
    failures   INTEGER NOT NULL DEFAULT 0,
    up_ms      INTEGER NOT NULL DEFAULT 0,
    warn_ms    INTEGER NOT NULL DEFAULT 0,
    down_ms    INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    offline_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, day)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS notifiers (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    type       TEXT    NOT NULL DEFAULT 'smtp',           -- smtp | command | webhook
    address    TEXT    NOT NULL DEFAULT '',               -- smtp: addresses; command: command line; webhook: URL
    params     TEXT    NOT NULL DEFAULT '{}',             -- JSON: timeout, headers, only_targets, only_servers
    enabled    INTEGER NOT NULL DEFAULT 1,
    origin     TEXT    NOT NULL DEFAULT 'sql',            -- config | cli | sql
    pass_count INTEGER NOT NULL DEFAULT 0,
    fail_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notifiers_name ON notifiers (name);

CREATE TRIGGER IF NOT EXISTS notifiers_defs_insert AFTER INSERT ON notifiers
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;
CREATE TRIGGER IF NOT EXISTS notifiers_defs_delete AFTER DELETE ON notifiers
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;
CREATE TRIGGER IF NOT EXISTS notifiers_defs_update
AFTER UPDATE OF name, type, address, params, enabled ON notifiers
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;

-- Hosts that push their states. Keys are kept only as salted hashes.
CREATE TABLE IF NOT EXISTS servers (
    id       INTEGER PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE,
    key_salt TEXT    NOT NULL,
    key_hash TEXT    NOT NULL,
    origin   TEXT    NOT NULL DEFAULT 'auto',             -- auto | cli
    created  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS services (
    id          INTEGER PRIMARY KEY,
    server_id   INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'UNK',           -- OK | WARN | FAIL | UNK
    info        TEXT    NOT NULL DEFAULT '',
    period      INTEGER NOT NULL,                         -- seconds
    last_report INTEGER NOT NULL,
    timed_out   INTEGER NOT NULL DEFAULT 0,
    filed_at    INTEGER,                                  -- the newest report filed: its time,
    filed_state TEXT,                                     -- and its state (or OFFLINE)
    sampled_at  INTEGER,                                  -- the newest report kept in service_states
    first_report INTEGER,                                 -- the first report filed
    -- [[service_rule]]: the state judged over the latest reports (NULL: no rule), the
    -- windows' masks (newest in bit 0), state changes for flap detection.
    judged        TEXT,
    recent_fails  INTEGER NOT NULL DEFAULT 0,
    recent_warns  INTEGER NOT NULL DEFAULT 0,
    recent_seen   INTEGER NOT NULL DEFAULT 0,
    state_changes TEXT    NOT NULL DEFAULT '',
    flapping_since INTEGER,
    grace         INTEGER NOT NULL DEFAULT 0,             -- seconds after the period before offline
    held_back     INTEGER NOT NULL DEFAULT 0,             -- its latest alert was held back by a parent
    UNIQUE (server_id, name)
);
CREATE INDEX IF NOT EXISTS services_held_back ON services (id) WHERE held_back != 0;

-- Kept [history] raw_days: every change of state, offline periods (state OFFLINE),
-- and reports that arrived after later ones (an agent's spool sent late); by service
-- and time, like target_results. A service's rows have distinct times: a report kept in
-- the same millisecond as the one before it is kept a millisecond later.
CREATE TABLE IF NOT EXISTS service_states (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    time       INTEGER NOT NULL,
    state      INTEGER NOT NULL,                          -- 0 OK, 1 WARN, 2 FAIL, 3 UNK, 4 OFFLINE
    info       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (service_id, time)
) WITHOUT ROWID;

-- Kept [history] raw_days too: the unchanged reports sampled at most every [history]
-- service_sample_seconds, packed. A row holds up to 64 of one service's samples within
-- one UTC hour, from its first at `time`; `packed` is, per sample: the ms since the one
-- before it (the first: since `time`) as LEB128, the state (a byte, as in
-- service_states), the info's length in bytes as LEB128, the info (UTF-8).
-- `skypunchctl` and /api/services/<id>/history show them with the states.
CREATE TABLE IF NOT EXISTS service_samples (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    time       INTEGER NOT NULL,                          -- the first sample's
    count      INTEGER NOT NULL,                          -- samples in packed
    packed     BLOB    NOT NULL,
    PRIMARY KEY (service_id, time)
) WITHOUT ROWID;

-- Reports not yet filed, in arrival order: appending here costs a report one hot page.
-- The filing (once a second, in slices, and when the database is opened) counts each
-- report in service_hours and service_days and keeps in service_states those that
-- change the state or are due as a sample. The service_history view shows both.
CREATE TABLE IF NOT EXISTS service_reports (
    id         INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    info       TEXT    NOT NULL DEFAULT ''
);
CREATE VIEW IF NOT EXISTS service_history (service_id, time, state, info) AS
    SELECT service_id, time,
           CASE state WHEN 0 THEN 'OK' WHEN 1 THEN 'WARN' WHEN 2 THEN 'FAIL' WHEN 4 THEN 'OFFLINE'
                      ELSE 'UNK' END,
           info FROM service_states
    UNION ALL
    SELECT service_id, time, state, info FROM service_reports;
-- A removed service's reports go with it (its id may be given to a new service).
CREATE TRIGGER IF NOT EXISTS services_reports_delete AFTER DELETE ON services
BEGIN DELETE FROM service_reports WHERE service_id = old.id; END;

-- Per service and UTC hour, and per local day: the time a service spent in WARN, FAIL,
-- UNK or offline. Only hours and days with such time have a row: a service's time is
-- accounted for from its first report (services.first_report) to its newest filed one
-- without a gap (a state stands until the next report, at most the service's period;
-- the rest of a longer silence is offline), so the rest of it was OK. Thousands of
-- services that stay OK cost no row an hour.
CREATE TABLE IF NOT EXISTS service_hours (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    hour       INTEGER NOT NULL,
    warn_ms    INTEGER NOT NULL DEFAULT 0,
    down_ms    INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    offline_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (service_id, hour)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS service_days (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    day        INTEGER NOT NULL,                         -- YYYYMMDD
    warn_ms    INTEGER NOT NULL DEFAULT 0,
    down_ms    INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    offline_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (service_id, day)
) WITHOUT ROWID;

-- Stretches of FAIL (targets) or of FAIL and offline (services), kept [history]
-- rollup_days after they end: incidents, longest and MTTR in reports. By source and
-- start, like the figures.
CREATE TABLE IF NOT EXISTS target_incidents (
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    started   INTEGER NOT NULL,
    ended     INTEGER,                                    -- NULL while it lasts
    PRIMARY KEY (target_id, started)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS service_incidents (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    started    INTEGER NOT NULL,
    ended      INTEGER,                                   -- NULL while it lasts
    PRIMARY KEY (service_id, started)
) WITHOUT ROWID;

-- Everything worth telling someone about. Names are copied so an alert still reads
-- right after its target, server or service is removed.
CREATE TABLE IF NOT EXISTS alerts (
    id         INTEGER PRIMARY KEY,
    time       INTEGER NOT NULL,
    kind       TEXT    NOT NULL,                          -- target | service | notifier | test
    target_id  INTEGER REFERENCES targets (id) ON DELETE SET NULL,
    service_id INTEGER REFERENCES services (id) ON DELETE SET NULL,
    target     TEXT    NOT NULL DEFAULT '',
    server     TEXT    NOT NULL DEFAULT '',
    service    TEXT    NOT NULL DEFAULT '',
    channel    TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    state      TEXT    NOT NULL DEFAULT '',               -- state at the time of the alert
    previous   TEXT    NOT NULL DEFAULT '',
    details    TEXT    NOT NULL DEFAULT '',               -- targets: description, counters, trace; services: info
    description TEXT   NOT NULL DEFAULT '',               -- targets: the check's description
    suppressed TEXT    NOT NULL DEFAULT ''                -- why it was delivered to nobody: 'parent target:x is FAIL'
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time);
-- Deleting a service clears the alerts that name it (pruning, servers remove).
CREATE INDEX IF NOT EXISTS alerts_service ON alerts (service_id) WHERE service_id IS NOT NULL;
-- A target's latest alerts are looked up when a parent comes back (dependencies).
CREATE INDEX IF NOT EXISTS alerts_target ON alerts (target_id) WHERE target_id IS NOT NULL;

-- The outbox: one row per (alert, notifier), committed with the alert.
CREATE TABLE IF NOT EXISTS deliveries (
    id           INTEGER PRIMARY KEY,
    alert_id     INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    notifier_id  INTEGER NOT NULL REFERENCES notifiers (id) ON DELETE CASCADE,
    state        TEXT    NOT NULL DEFAULT 'pending',      -- pending | delivered | failed | suppressed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    created      INTEGER NOT NULL,
    finished     INTEGER,
    last_error   TEXT    NOT NULL DEFAULT '',
    group_size   INTEGER NOT NULL DEFAULT 1                -- delivered as one of a group of this many
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (state, next_attempt);
-- Deleting an alert (pruning) deletes its deliveries.
CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id);

PRAGMA user_version = 7;

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

-- Silences (SPEC §15): what one covers (`target:<glob>`, `server:<glob>` or
-- `<server glob>/<service glob>`) from `starts` to `ends` (ms); `removed` when it was
-- taken back before its end.
CREATE TABLE IF NOT EXISTS silences (
    id         INTEGER PRIMARY KEY,
    matcher    TEXT    NOT NULL,
    starts     INTEGER NOT NULL,
    ends       INTEGER NOT NULL,
    comment    TEXT    NOT NULL DEFAULT '',
    created_by TEXT    NOT NULL DEFAULT '',
    created    INTEGER NOT NULL,
    removed    INTEGER
);
CREATE INDEX IF NOT EXISTS silences_ends ON silences (ends) WHERE removed IS NULL;

-- Acknowledgements: the source of alert `alert_id` (a target or a service) is known
-- to be down; its renotifications and escalations stop until it recovers (`cleared`).
CREATE TABLE IF NOT EXISTS acks (
    alert_id   INTEGER PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    target_id  INTEGER REFERENCES targets (id) ON DELETE CASCADE,
    service_id INTEGER REFERENCES services (id) ON DELETE CASCADE,
    user       TEXT    NOT NULL,
    comment    TEXT    NOT NULL DEFAULT '',
    time       INTEGER NOT NULL,
    cleared    INTEGER
);
CREATE INDEX IF NOT EXISTS acks_target ON acks (target_id) WHERE cleared IS NULL;
CREATE INDEX IF NOT EXISTS acks_service ON acks (service_id) WHERE cleared IS NULL;

-- Sources whose latest alert a silence or a maintenance window kept quiet, with the
-- names it was matched by: once nothing covers one, it is told its story once.
CREATE TABLE IF NOT EXISTS quieted (
    kind      TEXT    NOT NULL,                          -- target | service
    source_id INTEGER NOT NULL,
    target    TEXT    NOT NULL DEFAULT '',
    server    TEXT    NOT NULL DEFAULT '',
    service   TEXT    NOT NULL DEFAULT '',
    reason    TEXT    NOT NULL,
    PRIMARY KEY (kind, source_id)
) WITHOUT ROWID;

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

-- What each Alertmanager notifier was told is firing (SPEC §18): sent again every
-- `resend_interval` with its end ahead, so Alertmanager keeps it open, until its
-- source is back and it is sent resolved. One row per alert name and source.
CREATE TABLE IF NOT EXISTS firing (
    notifier_id INTEGER NOT NULL REFERENCES notifiers (id) ON DELETE CASCADE,
    subject     TEXT    NOT NULL,                          -- target:<name> | service:<server>/<service>
    alertname   TEXT    NOT NULL,                          -- SkypunchTargetDown, ...
    alert       TEXT    NOT NULL,                          -- JSON as Alertmanager takes it, without endsAt
    PRIMARY KEY (notifier_id, subject, alertname)
) WITHOUT ROWID;
