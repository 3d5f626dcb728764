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
    options            TEXT    NOT NULL DEFAULT '{}',     -- JSON: headers, body, body_contains, ...
    origin             TEXT    NOT NULL DEFAULT 'sql',    -- config | cli | sql
    status             TEXT    NOT NULL DEFAULT 'NEW',    -- NEW | PASS | FAIL
    status_description TEXT    NOT NULL DEFAULT 'NEW',
    last_updated       TEXT,
    pass_count         INTEGER NOT NULL DEFAULT 0,
    fail_count         INTEGER NOT NULL DEFAULT 0,
    count200           INTEGER NOT NULL DEFAULT 0,
    count300           INTEGER NOT NULL DEFAULT 0,
    count400           INTEGER NOT NULL DEFAULT 0,
    count500           INTEGER NOT NULL DEFAULT 0,
    network_fails      INTEGER NOT NULL DEFAULT 0,
    repeated_fails     INTEGER NOT NULL DEFAULT 0,        -- consecutive failed checks
    repeated_passes    INTEGER NOT NULL DEFAULT 0,        -- consecutive passed checks
    last_notified      INTEGER,                           -- time of the last FAILURE alert
    last_trace         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS targets_name ON targets (name);

CREATE TRIGGER IF NOT EXISTS targets_defs_insert AFTER INSERT ON targets
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;
CREATE TRIGGER IF NOT EXISTS targets_defs_delete AFTER DELETE ON targets
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;
CREATE TRIGGER IF NOT EXISTS targets_defs_update
AFTER UPDATE OF name, url, method, authn, authn_params, expect_status, frequency, timeout, enabled, options ON targets
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'definitions'; END;

-- One row per check, for uptime and latency figures; pruned after [daemon] history_days.
-- Kept in time order only: an index by target would put every check of thousands of
-- targets on a different page; per-target reads filter a time range instead.
CREATE TABLE IF NOT EXISTS target_results (
    id          INTEGER PRIMARY KEY,
    target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    time        INTEGER NOT NULL,
    result      TEXT    NOT NULL,                         -- PASS | FAIL
    status_code INTEGER,                                  -- NULL when no HTTP response arrived
    response_ms REAL    NOT NULL,
    description TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS target_results_time ON target_results (time);

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
    UNIQUE (server_id, name)
);

CREATE TABLE IF NOT EXISTS service_states (
    id         INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    time       INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    info       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS service_states_service_time ON service_states (service_id, time);
CREATE INDEX IF NOT EXISTS service_states_time ON service_states (time);

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
    details    TEXT    NOT NULL DEFAULT ''                -- description, counters, trace
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time);

-- The outbox: one row per (alert, notifier), committed with the alert.
CREATE TABLE IF NOT EXISTS deliveries (
    id           INTEGER PRIMARY KEY,
    alert_id     INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    notifier_id  INTEGER NOT NULL REFERENCES notifiers (id) ON DELETE CASCADE,
    state        TEXT    NOT NULL DEFAULT 'pending',      -- pending | delivered | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    created      INTEGER NOT NULL,
    finished     INTEGER,
    last_error   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (state, next_attempt);

PRAGMA user_version = 1;
