-- A target's latest stored trace moves to a table of its own. In `targets` it made a
-- row ~350 bytes where the rest is ~75, and every check's update of the counters
-- rewrote the trace with them: with the trace apart, a page holds four times the
-- targets, and a commit of a second's checks writes a quarter of the pages.
CREATE TABLE IF NOT EXISTS target_traces (
    target_id INTEGER PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    trace     TEXT    NOT NULL
);
INSERT INTO target_traces (target_id, trace)
SELECT id, last_trace FROM targets WHERE last_trace != '';
ALTER TABLE targets DROP COLUMN last_trace;
