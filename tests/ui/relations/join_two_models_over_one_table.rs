// A join needs two tables: two models over one table would name it twice
// (self-joins are not supported yet).

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "nodes")]
pub struct Parent {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

#[derive(TenantModel)]
#[tenant(table = "nodes")]
pub struct Node {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = Parent)]
    pub parent_id: Option<i64>,
}

fn main() {
    let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    let _ = Node::query(&acme).inner_join::<Parent>();
}
