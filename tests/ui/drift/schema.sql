-- The SQLite schema the drift ui tests are checked against. Its snapshot,
-- tenant-schema.json beside it, is recorded from this file by
-- tests/tests/snapshot.rs (`committed_ui_snapshot_is_current`): after
-- editing it, run that test with TENANT_SNAPSHOT_RECORD=1 to record it again.
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    note TEXT,
    paid BOOLEAN NOT NULL
);
CREATE TABLE plans (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE memberships (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE legacy_orders (id INTEGER PRIMARY KEY, tenant_id TEXT, total BIGINT NOT NULL);
CREATE TABLE imported_orders (id INTEGER PRIMARY KEY, tenant_id STRING NOT NULL, total BIGINT NOT NULL);
CREATE VIEW invoice_totals AS
    SELECT tenant_id, SUM(amount_cents) AS total FROM invoices GROUP BY tenant_id;
