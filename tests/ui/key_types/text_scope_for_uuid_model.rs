// A `TenantId` scope cannot scope a model whose tenant column is a UUID,
// even for a by-key write.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "documents")]
pub struct Document {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub org_id: uuid::Uuid,
    pub title: String,
}

fn delete(scope: &TenantScope) -> tenant_core::Delete<Document> {
    Document::delete_by_id(scope, 1)
}

fn main() {}
