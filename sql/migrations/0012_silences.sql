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
