-- History that holds a year ([history] raw_days, rollup_days, service_sample_seconds).
--
-- Raw history (target_results, service_states) is kept raw_days; what a year of reports
-- needs is kept per source and hour (target_hours, service_hours) and per local day
-- (target_days, service_days, for the 90-day bars), with incidents, for rollup_days.
-- Figures for the hours already recorded are derived here from the raw history kept.

-- Raw history is kept in the order it is read, by source and time (WITHOUT ROWID):
-- a read by one source does not scan the others' rows, and no second index by time
-- is kept beside it (pruning goes source by source).
CREATE TABLE target_results_by_source (
    target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    time        INTEGER NOT NULL,
    result      TEXT    NOT NULL,
    status_code INTEGER,
    response_ms REAL    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (target_id, time)
) WITHOUT ROWID;
INSERT OR IGNORE INTO target_results_by_source (target_id, time, result, status_code, response_ms, description)
SELECT target_id, time, result, status_code, response_ms, description FROM target_results ORDER BY target_id, time;
DROP TABLE target_results;
ALTER TABLE target_results_by_source RENAME TO target_results;

DROP VIEW IF EXISTS service_history;
CREATE TABLE service_states_by_source (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    time       INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    info       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (service_id, time, seq)
) WITHOUT ROWID;
INSERT INTO service_states_by_source (service_id, time, seq, state, info)
SELECT service_id, time, id, state, info FROM service_states ORDER BY service_id, time, id;
DROP TABLE service_states;
ALTER TABLE service_states_by_source RENAME TO service_states;
-- The filing numbers the rows it keeps in arrival order from here.
INSERT OR IGNORE INTO meta (key, value) SELECT 'report_seq', coalesce(max(seq), 0) FROM service_states;
CREATE VIEW service_history (service_id, time, state, info) AS
    SELECT service_id, time, state, info FROM service_states
    UNION ALL
    SELECT service_id, time, state, info FROM service_reports;

-- When the latest recorded check began (ms): the stretch since then is counted in the
-- target's state when the next one is recorded.
ALTER TABLE targets ADD COLUMN last_check INTEGER;
UPDATE targets SET last_check = (SELECT max(time) FROM target_results r WHERE r.target_id = targets.id);

-- What the filing of reports has reached per service: the time and state of the newest
-- report filed, and when a report was last kept in service_states.
ALTER TABLE services ADD COLUMN filed_at INTEGER;
ALTER TABLE services ADD COLUMN filed_state TEXT;
ALTER TABLE services ADD COLUMN sampled_at INTEGER;
ALTER TABLE services ADD COLUMN first_report INTEGER;
UPDATE services SET filed_at = last_report, sampled_at = last_report,
    filed_state = CASE WHEN timed_out THEN 'OFFLINE' ELSE state END,
    first_report = coalesce((SELECT min(time) FROM service_states ss WHERE ss.service_id = services.id), last_report);

-- Response times in whole microseconds: an integer takes 1 to 4 bytes where a REAL
-- takes 8, on every hour of every target.
ALTER TABLE target_hours ADD COLUMN total_us INTEGER NOT NULL DEFAULT 0;
UPDATE target_hours SET total_us = CAST(round(total_ms * 1000) AS INTEGER);
ALTER TABLE target_hours DROP COLUMN total_ms;
ALTER TABLE target_hours ADD COLUMN warns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN min_us INTEGER;
ALTER TABLE target_hours ADD COLUMN max_us INTEGER;
ALTER TABLE target_hours ADD COLUMN h0 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h1 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h2 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h3 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h4 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h5 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h6 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h7 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h9 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h10 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN h11 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN up_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN warn_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN down_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN unknown_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_hours ADD COLUMN offline_ms INTEGER NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS target_days (
    target_id  INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    day        INTEGER NOT NULL,
    checks     INTEGER NOT NULL DEFAULT 0,
    failures   INTEGER NOT NULL DEFAULT 0,
    up_ms      INTEGER NOT NULL DEFAULT 0,
    warn_ms    INTEGER NOT NULL DEFAULT 0,
    down_ms    INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    offline_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, day)
) WITHOUT ROWID;

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

-- Figures for the history already kept: each check's result stands until the next one
-- (at most two periods and a half minute: longer is a gap with no data), each report's
-- state until the next report (at most its period; the rest of a longer silence was
-- offline). Each stretch is counted in the hour it begins; days are local days.
CREATE TEMP TABLE derived_hours AS
SELECT target_id, hour, sum(CASE WHEN result = 'PASS' THEN len ELSE 0 END) AS up,
       sum(CASE WHEN result = 'PASS' THEN 0 ELSE len END) AS down,
       min(response_ms) AS fastest, max(response_ms) AS slowest,
       sum(response_ms <= 10) AS h0, sum(response_ms > 10 AND response_ms <= 25) AS h1, sum(response_ms > 25 AND response_ms <= 50) AS h2,
       sum(response_ms > 50 AND response_ms <= 100) AS h3, sum(response_ms > 100 AND response_ms <= 250) AS h4, sum(response_ms > 250 AND response_ms <= 500) AS h5,
       sum(response_ms > 500 AND response_ms <= 1000) AS h6, sum(response_ms > 1000 AND response_ms <= 2500) AS h7, sum(response_ms > 2500 AND response_ms <= 5000) AS h8,
       sum(response_ms > 5000 AND response_ms <= 10000) AS h9, sum(response_ms > 10000 AND response_ms <= 30000) AS h10, sum(response_ms > 30000) AS h11
FROM (SELECT r.target_id, r.result, r.response_ms, r.time / 3600000 AS hour,
             min(coalesce(lead(r.time) OVER (PARTITION BY r.target_id ORDER BY r.time), r.time) - r.time,
                 t.frequency * 2000 + 30000) AS len
      FROM target_results r JOIN targets t ON t.id = r.target_id)
GROUP BY target_id, hour;
UPDATE target_hours SET up_ms = d.up, down_ms = d.down,
    min_us = CAST(round(d.fastest * 1000) AS INTEGER), max_us = CAST(round(d.slowest * 1000) AS INTEGER),
    h0 = d.h0, h1 = d.h1, h2 = d.h2, h3 = d.h3, h4 = d.h4, h5 = d.h5, h6 = d.h6, h7 = d.h7, h8 = d.h8, h9 = d.h9, h10 = d.h10, h11 = d.h11
FROM derived_hours d WHERE d.target_id = target_hours.target_id AND d.hour = target_hours.hour;
DROP TABLE derived_hours;

INSERT INTO target_days (target_id, day, checks, failures, up_ms, down_ms)
SELECT target_id, CAST(strftime('%Y%m%d', hour * 3600, 'unixepoch', 'localtime') AS INTEGER) AS day,
       sum(checks), sum(checks - passes), sum(up_ms), sum(down_ms)
FROM target_hours GROUP BY target_id, day;

INSERT INTO service_hours (service_id, hour, warn_ms, down_ms, unknown_ms, offline_ms)
SELECT service_id, hour,
       sum(CASE state WHEN 'WARN' THEN kept ELSE 0 END), sum(CASE state WHEN 'FAIL' THEN kept ELSE 0 END),
       sum(CASE state WHEN 'UNK' THEN kept ELSE 0 END), sum(len - kept)
FROM (SELECT service_id, state, time / 3600000 AS hour, len, min(len, period) AS kept FROM (
        SELECT ss.service_id, ss.state, ss.time, s.period * 1000 AS period,
               coalesce(lead(ss.time) OVER (PARTITION BY ss.service_id ORDER BY ss.time), ss.time) - ss.time AS len
        FROM service_states ss JOIN services s ON s.id = ss.service_id))
GROUP BY service_id, hour
HAVING sum(CASE WHEN state = 'OK' THEN 0 ELSE kept END) + sum(len - kept) > 0;

INSERT INTO service_days (service_id, day, warn_ms, down_ms, unknown_ms, offline_ms)
SELECT service_id, CAST(strftime('%Y%m%d', hour * 3600, 'unixepoch', 'localtime') AS INTEGER) AS day,
       sum(warn_ms), sum(down_ms), sum(unknown_ms), sum(offline_ms)
FROM service_hours GROUP BY service_id, day;

-- Incidents going on now.
INSERT INTO target_incidents (target_id, started)
SELECT id, coalesce(last_notified, last_check, 0) FROM targets WHERE status = 'FAIL';
INSERT INTO service_incidents (service_id, started)
SELECT id, CASE WHEN timed_out THEN last_report + period * 1000 ELSE last_report END
FROM services WHERE timed_out OR state = 'FAIL';
