// `audit_log` has a `tenant_id` column that the global model leaves unmapped.
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "audit_log", global)]
pub struct AuditLog {
    #[tenant(primary_key)]
    pub id: i64,
    pub message: String,
}

fn main() {}
