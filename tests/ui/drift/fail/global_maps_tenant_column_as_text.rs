// The global model maps `audit_log.tenant_id` as a plain `String`: the error
// is on that field.
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "audit_log", global)]
pub struct AuditLog {
    #[tenant(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub message: String,
}

fn main() {}
