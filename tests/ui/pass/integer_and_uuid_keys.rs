// Models keyed by `i64`, `i32` and `uuid::Uuid` take scopes of their own key
// type, made with `TenantScope::try_new`.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "ledger")]
pub struct Ledger {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub account_id: i64,
    pub amount: i64,
}

#[derive(TenantModel)]
#[tenant(table = "tickets")]
pub struct Ticket {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub team_id: i32,
}

#[derive(TenantModel)]
#[tenant(table = "documents")]
pub struct Document {
    #[tenant(primary_key, client_generated)]
    pub id: uuid::Uuid,
    #[tenant(tenant_id)]
    pub org_id: uuid::Uuid,
}

fn main() -> Result<(), tenant_core::InvalidTenantId> {
    let account = TenantScope::try_new(42_i64)?;
    let team = TenantScope::try_new(3_i32)?;
    let org = TenantScope::try_new(uuid::Uuid::from_u128(1))?;
    let _ = Ledger::query(&account).filter(Ledger::AMOUNT.gt(0));
    let _ = Ledger::update_by_id(&account, 1).set(Ledger::AMOUNT, 5);
    let _ = Ticket::find(&team, 1);
    let _ = Document::delete(&org);
    Ok(())
}
