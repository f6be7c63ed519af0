// `#[tenant(crate = "..")]` names tenant_core where it is re-exported or
// renamed, as `#[serde(crate = "..")]` does.

mod db {
    pub use tenant_core as framework;
}

use db::framework::{TenantId, TenantModel, TenantScope};

#[derive(TenantModel)]
#[tenant(table = "invoices", crate = "crate::db::framework")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

fn main() {
    let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    let sql = Invoice::query(&scope)
        .filter(Invoice::AMOUNT_CENTS.gt(1))
        .to_sql();
    assert!(sql.contains("\"invoices\".\"tenant_id\" = $1"));
}
