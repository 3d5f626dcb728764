-- A year of history in less room: the raw rows and the hourly figures stop repeating
-- what a small number says.
--
-- service_states: the state as a number (0 OK, 1 WARN, 2 FAIL, 3 UNK, 4 OFFLINE; 0 and 1
-- take no byte in a row) and no arrival number: a service's rows get distinct times
-- instead, a row that shared its millisecond with earlier ones of the same service
-- moving to the first free millisecond after them (t' = max(t, previous t' + 1), which
-- keeps their order).
DROP VIEW IF EXISTS service_history;
CREATE TABLE service_states_by_time (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    time       INTEGER NOT NULL,
    state      INTEGER NOT NULL,                          -- 0 OK, 1 WARN, 2 FAIL, 3 UNK, 4 OFFLINE
    info       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (service_id, time)
) WITHOUT ROWID;
INSERT INTO service_states_by_time (service_id, time, state, info)
SELECT service_id, n + max(time - n) OVER (PARTITION BY service_id ORDER BY n), code, info
FROM (SELECT service_id, time, info,
             CASE state WHEN 'OK' THEN 0 WHEN 'WARN' THEN 1 WHEN 'FAIL' THEN 2 WHEN 'OFFLINE' THEN 4
                        ELSE 3 END AS code,
             row_number() OVER (PARTITION BY service_id ORDER BY time, seq) AS n
      FROM service_states)
ORDER BY service_id, n;
DROP TABLE service_states;
ALTER TABLE service_states_by_time RENAME TO service_states;
DELETE FROM meta WHERE key = 'report_seq';
CREATE VIEW service_history (service_id, time, state, info) AS
    SELECT service_id, time,
           CASE state WHEN 0 THEN 'OK' WHEN 1 THEN 'WARN' WHEN 2 THEN 'FAIL' WHEN 4 THEN 'OFFLINE'
                      ELSE 'UNK' END,
           info FROM service_states
    UNION ALL
    SELECT service_id, time, state, info FROM service_reports;

-- target_results: the result as a number (0 PASS, 1 FAIL) and the response time in whole
-- microseconds (1 to 4 bytes where a REAL takes 8).
CREATE TABLE target_results_packed (
    target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    time        INTEGER NOT NULL,
    result      INTEGER NOT NULL,                         -- 0 PASS, 1 FAIL
    status_code INTEGER,                                  -- NULL when no HTTP response arrived
    response_us INTEGER NOT NULL,                         -- microseconds
    description TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (target_id, time)
) WITHOUT ROWID;
INSERT INTO target_results_packed (target_id, time, result, status_code, response_us, description)
SELECT target_id, time, CASE result WHEN 'PASS' THEN 0 ELSE 1 END, status_code,
       CAST(round(response_ms * 1000) AS INTEGER), description
FROM target_results ORDER BY target_id, time;
DROP TABLE target_results;
ALTER TABLE target_results_packed RENAME TO target_results;

-- target_hours: the twelve histogram columns (each a byte of row header even when 0)
-- become one packed column, written by the daemon's function histogram_of.
CREATE TABLE target_hours_packed (
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
INSERT INTO target_hours_packed (target_id, hour, checks, passes, total_us, warns, min_us, max_us,
    histogram, up_ms, warn_ms, down_ms, unknown_ms, offline_ms)
SELECT target_id, hour, checks, passes, total_us, warns, min_us, max_us,
       histogram_of(h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11),
       up_ms, warn_ms, down_ms, unknown_ms, offline_ms
FROM target_hours ORDER BY target_id, hour;
DROP TABLE target_hours;
ALTER TABLE target_hours_packed RENAME TO target_hours;
