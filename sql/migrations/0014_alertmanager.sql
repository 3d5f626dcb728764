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
