//! Tenant administration, used by the command line: create tenants, list
//! them, rotate their API keys.
//!
//! These functions work across tenants by nature (the `tenants` table is
//! global); they are not reachable over HTTP.

use tenant_core::{Error, TenantDb, TenantId, TenantScope};

use crate::auth::ApiKey;
use crate::models::{InvoiceQuota, NewInvoiceQuota, NewTenantRecord, Plan, TenantRecord};

/// Why an administrative command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The id is not a valid tenant id.
    #[error("invalid tenant id: {0}")]
    InvalidId(#[from] tenant_core::InvalidTenantId),
    /// A tenant with this id exists already.
    #[error("tenant `{0}` already exists")]
    AlreadyExists(TenantId),
    /// No tenant has this id.
    #[error("no tenant `{0}`")]
    NotFound(TenantId),
    /// The operating system gave no random bytes for a key.
    #[error(transparent)]
    Random(#[from] tenant_axum::KeyGenerationError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] Error),
}

/// A new tenant and its API key, which is shown once and not stored.
#[derive(Debug, Clone)]
pub struct CreatedTenant {
    /// The stored tenant.
    pub record: TenantRecord,
    /// Its API key in plain text.
    pub api_key: ApiKey,
}

/// Creates tenant `id` on `plan`, with a new API key and an empty quota
/// counter, in one transaction.
pub async fn create_tenant(
    db: &TenantDb,
    id: TenantId,
    plan: Plan,
) -> Result<CreatedTenant, AdminError> {
    let api_key = ApiKey::generate()?;
    // The tenant is being created here, by an administrator: this is the
    // one place outside the request extractor that makes a scope.
    let scope = TenantScope::new(id);
    let mut tx = db.begin(&scope).await?;
    let inserted = TenantRecord::insert(NewTenantRecord {
        id,
        plan,
        api_key_hash: api_key.hash(),
    })
    .fetch_one(&mut tx)
    .await;
    let record = match inserted {
        Ok(record) => record,
        Err(err) if err.is_unique_violation() => return Err(AdminError::AlreadyExists(id)),
        Err(err) => return Err(err.into()),
    };
    InvoiceQuota::insert(&scope, NewInvoiceQuota { invoices_stored: 0 })
        .execute(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(CreatedTenant { record, api_key })
}

/// Every tenant, by id.
pub async fn list_tenants(db: &TenantDb) -> Result<Vec<TenantRecord>, Error> {
    TenantRecord::query()
        .order_by(TenantRecord::ID.asc())
        .fetch_all(db)
        .await
}

/// Replaces the API key of tenant `id`; the old key stops working at once.
pub async fn rotate_key(db: &TenantDb, id: TenantId) -> Result<ApiKey, AdminError> {
    let api_key = ApiKey::generate()?;
    let changed = TenantRecord::update()
        .set(TenantRecord::API_KEY_HASH, api_key.hash())
        .filter(TenantRecord::ID.eq(id))
        .execute(db)
        .await?;
    if changed == 0 {
        return Err(AdminError::NotFound(id));
    }
    Ok(api_key)
}

/// On a database without tenants, creates `acme` (pro) and `globex` (free)
/// and returns them with their keys; otherwise returns nothing.
pub async fn seed_demo_tenants(db: &TenantDb) -> Result<Vec<CreatedTenant>, AdminError> {
    if TenantRecord::query().count(db).await? > 0 {
        return Ok(Vec::new());
    }
    let mut created = Vec::new();
    for (id, plan) in [("acme", Plan::Pro), ("globex", Plan::Free)] {
        match create_tenant(db, TenantId::parse(id)?, plan).await {
            Ok(tenant) => created.push(tenant),
            // Another process seeded at the same moment.
            Err(AdminError::AlreadyExists(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(created)
}
