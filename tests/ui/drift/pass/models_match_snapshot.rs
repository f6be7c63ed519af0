// Models that match the schema snapshot compile, including names in
// another case (SQLite compares them without regard to ASCII case), types
// the derive cannot judge from their name (an alias), a global table that
// holds tenant ids on purpose, and a view read through `Option` fields.
#![allow(dead_code)]

use tenant_core::prelude::*;

type Cents = i64;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: Cents,
    pub note: Option<String>,
    pub paid: bool,
}

#[derive(TenantModel)]
#[tenant(table = "INVOICES")]
pub struct InvoiceAmount {
    #[tenant(primary_key, rename = "ID")]
    pub id: i64,
    #[tenant(tenant_id, rename = "Tenant_Id")]
    pub tenant: TenantId,
    #[tenant(rename = "AMOUNT_CENTS")]
    pub amount: i32,
}

#[derive(TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key)]
    pub id: i64,
    pub name: String,
}

#[derive(TenantModel)]
#[tenant(table = "memberships", global)]
pub struct Membership {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(unscoped_tenant_id = "maps users to tenants at sign-in")]
    pub tenant_id: TenantId,
    pub email: String,
}

fn main() {
    let _ = Plan::query();
    let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    let _ = Invoice::query(&scope).filter(Invoice::AMOUNT_CENTS.gt(100));
    let _ = InvoiceAmount::query(&scope);
}
