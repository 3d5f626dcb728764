-- A service's sampled reports leave service_states for service_samples, packed up to
-- 64 a row within one UTC hour (see schema.sql): a row each, their key and framing
-- took 16 of their ~28 bytes, and they are nearly all of a service's raw history.
-- What stays in service_states: the first row of each service, every row whose state
-- differs from the row before it, and every OFFLINE row. The packing is the daemon's
-- SQL function samples_pack, so this step runs only inside skypunchd.
CREATE TABLE IF NOT EXISTS service_samples (
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    time       INTEGER NOT NULL,                          -- the first sample's
    count      INTEGER NOT NULL,                          -- samples in packed
    packed     BLOB    NOT NULL,
    PRIMARY KEY (service_id, time)
) WITHOUT ROWID;
CREATE TEMP TABLE moving AS
SELECT service_id, time, state, info, time / 3600000 AS hour,
       (row_number() OVER (PARTITION BY service_id, time / 3600000 ORDER BY time) - 1) / 64 AS part
FROM (SELECT service_id, time, state, info,
             lag(state) OVER (PARTITION BY service_id ORDER BY time) AS before
      FROM service_states)
WHERE state = before AND state != 4;
INSERT INTO service_samples (service_id, time, count, packed)
SELECT service_id, min(time), count(*), samples_pack(time, state, info ORDER BY time)
FROM moving GROUP BY service_id, hour, part;
DELETE FROM service_states WHERE (service_id, time) IN (SELECT service_id, time FROM moving);
DROP TABLE moving;
