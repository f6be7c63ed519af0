// The raw pool (unchecked SQL) takes the cross-tenant capability.

use tenant_core::TenantDb;

fn migrate(db: &TenantDb) {
    let _ = db.raw_sqlite();
}

fn main() {}
