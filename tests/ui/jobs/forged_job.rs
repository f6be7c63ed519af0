// A `TenantJob` built without a scope: its fields are private, so the only
// way is `TenantJob::new(&scope, job)`.
use tenant_core::TenantId;
use tenant_jobs::TenantJob;

fn main() {
    let _job = TenantJob {
        tenant: TenantId::parse("acme").unwrap(),
        job: 7_u32,
    };
}
