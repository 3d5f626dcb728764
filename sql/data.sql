-- Example targets and notifiers, as Skypunch users loaded them with mysql:
--   sqlite3 /var/lib/skypunch/skypunch.db < sql/data.sql
-- Start skypunchd once first (it creates the schema), or load sql/schema.sql before this.
-- A running skypunchd picks the new rows up within a few seconds.

-- Only the columns a person cares about; everything else has a default.
INSERT INTO targets (name, url, frequency) VALUES
    ('Localhost nginx test', 'http://127.0.0.1/', 10);

-- Skypunch's own column set still works, including the authn parameter string.
INSERT INTO targets (name, url, method, authn, authn_params, expect_status, frequency, timeout, enabled)
VALUES ('nginx with basic authn', 'http://127.0.0.1/private/', 'GET', 'BASIC',
        'user=freebeer,password=forall', 200, 10, 10, 1);

INSERT INTO targets (name, url, method, authn, authn_params, expect_status, frequency, timeout, enabled)
VALUES ('Openstack Service', 'https://openstack.example.com:8774/v2.1/', 'GET', 'OPENSTACK',
        'user=xxxx,password=yyyyy,osauthendpoint=https://keystone.example.com:5000/v2.0,tenantid=zzzz',
        200, 30, 10, 0);

INSERT INTO notifiers (name, type, address) VALUES ('Operations', 'smtp', 'ops@example.com');
INSERT INTO notifiers (name, type, address, enabled) VALUES ('Pager script', 'command', './alert.d/page.sh', 0);
