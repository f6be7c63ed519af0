// A `TenantJob` read from JSON would be a job for any tenant without its
// scope: it has no `Deserialize`; only the worker decodes payloads.
use tenant_jobs::TenantJob;

fn main() {
    let _job: TenantJob<u32> =
        serde_json::from_str(r#"{"tenant":"acme","job":7}"#).unwrap();
}
