// The unaudited accessors of the first release are gone.

use tenant_core::TenantDb;

fn migrate(db: &TenantDb) {
    let _ = db.as_sqlite();
}

fn main() {}
