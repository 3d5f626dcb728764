-- Reports are appended to service_reports in arrival order (one hot page per
-- transaction) and filed into service_states once a second, so a service's page of
-- the (service_id, time) index is written once a second rather than once per report.
CREATE TABLE IF NOT EXISTS service_reports (
    id         INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    info       TEXT    NOT NULL DEFAULT ''
);
CREATE VIEW IF NOT EXISTS service_history (service_id, time, state, info) AS
    SELECT service_id, time, state, info FROM service_states
    UNION ALL
    SELECT service_id, time, state, info FROM service_reports;
-- A removed service's reports go with it (its id may be given to a new service).
CREATE TRIGGER IF NOT EXISTS services_reports_delete AFTER DELETE ON services
BEGIN DELETE FROM service_reports WHERE service_id = old.id; END;
