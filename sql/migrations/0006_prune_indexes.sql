-- Alerts, their deliveries and abandoned servers are pruned ([history] alerts_days).
-- Deleting an alert deletes its deliveries, and deleting a service clears the alerts
-- that name it: without these indexes each deleted row scanned the other table.
CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id);
CREATE INDEX IF NOT EXISTS alerts_service ON alerts (service_id) WHERE service_id IS NOT NULL;
