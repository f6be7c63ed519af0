// In SQL `column = NULL` is never true: a nullable column compares with a
// bare value, and NULL is tested with `is_null()` / `is_not_null()`.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub note: Option<String>,
    pub visits: Option<i32>,
}

fn condition() -> Condition<Customer> {
    Customer::NOTE.ne(Some("vip".to_owned()))
}

fn main() {}
