//! The operator's side: every tenant's usage, read through the
//! cross-tenant capability ([`tenant_core::CrossTenant`]).
//!
//! `GET /admin/tenants/usage` answers with each tenant's invoice count and
//! invoiced amount, authenticated by the admin key (`ADMIN_API_KEY`), which
//! is not a tenant's API key and selects no tenant; `demo-app admin usage`
//! prints the same table. Each read emits an audit event under the target
//! `tenant_core::audit` with the reason written below.

use std::fmt;

use axum::Json;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tenant_core::{CrossTenant, TenantDb, TenantId, Tenants, count};

use crate::error::ApiError;
use crate::models::{Invoice, Plan, TenantRecord};
use crate::state::AppState;

/// Shortest admin key accepted (bytes): it is a bearer secret.
pub const ADMIN_KEY_MIN_LEN: usize = 32;

/// The operator's key, as configured (`ADMIN_API_KEY`). Only its SHA-256
/// is kept; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminKey {
    hash: [u8; 32],
}

impl AdminKey {
    /// Accepts a key of at least [`ADMIN_KEY_MIN_LEN`] visible ASCII
    /// characters.
    ///
    /// ```
    /// use demo_app::admin::AdminKey;
    ///
    /// assert!(AdminKey::parse("short").is_err());
    /// let key = AdminKey::parse("adm_0123456789abcdef0123456789abcdef")?;
    /// assert!(key.matches("adm_0123456789abcdef0123456789abcdef"));
    /// assert!(!key.matches("adm_0123456789abcdef0123456789abcdeF"));
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(key: &str) -> Result<Self, String> {
        if key.len() < ADMIN_KEY_MIN_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "the admin key must be at least {ADMIN_KEY_MIN_LEN} visible ASCII characters"
            ));
        }
        Ok(AdminKey {
            hash: Sha256::digest(key.as_bytes()).into(),
        })
    }

    /// Whether `presented` is this key. The digests are compared, so the
    /// time taken says nothing about the key's characters.
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        presented
            .iter()
            .zip(self.hash.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

impl fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKey(***)")
    }
}

/// An operator's request: `Authorization: Bearer <admin key>`. Refused with
/// 401 when the header is missing or wrong, and with 403 when no admin key
/// is configured (the admin API is off).
#[derive(Debug, Clone, Copy)]
pub struct Admin(());

impl<S> FromRequestParts<S> for Admin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let Some(key) = state.config().admin_key.as_ref() else {
            return Err(ApiError::AdminDisabled(
                "the admin API is off: start the server with ADMIN_API_KEY",
            ));
        };
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized(
                "missing admin credential: send Authorization: Bearer <admin key>",
            ))?;
        if key.matches(presented) {
            Ok(Admin(()))
        } else {
            Err(ApiError::Unauthorized("invalid admin key"))
        }
    }
}

/// One tenant's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantUsage {
    /// The tenant.
    pub tenant: TenantId,
    /// Its plan.
    pub plan: Plan,
    /// Invoices it stores.
    pub invoices: i64,
    /// Their total amount in cents.
    pub invoiced_cents: i64,
}

/// Every tenant's usage.
#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    /// One entry per tenant, ordered by id; tenants without invoices too.
    pub tenants: Vec<TenantUsage>,
}

/// Every tenant's invoice count and invoiced amount: one grouped statement
/// over all tenants through the capability, joined here with the tenant
/// directory (a global table) so tenants without invoices show as zero.
pub async fn tenant_usage(db: &TenantDb) -> Result<Vec<TenantUsage>, tenant_core::Error> {
    let admin = CrossTenant::audited("admin: usage of every tenant");
    let totals = Invoice::query_across(&admin, Tenants::all())
        .per_tenant((count(), Invoice::AMOUNT_CENTS.sum()))
        .fetch_all(db)
        .await?;
    let tenants = TenantRecord::query()
        .order_by(TenantRecord::ID.asc())
        .fetch_all(db)
        .await?;
    Ok(tenants
        .into_iter()
        .map(|t| {
            let (invoices, invoiced_cents) = totals
                .iter()
                .find(|(id, _)| *id == t.id)
                .map(|(_, (n, sum))| (*n, sum.unwrap_or(0)))
                .unwrap_or((0, 0));
            TenantUsage {
                tenant: t.id,
                plan: t.plan,
                invoices,
                invoiced_cents,
            }
        })
        .collect())
}

/// `GET /admin/tenants/usage`.
pub async fn usage(_: Admin, State(state): State<AppState>) -> Result<Json<UsageReport>, ApiError> {
    let tenants = tenant_usage(state.db()).await?;
    Ok(Json(UsageReport { tenants }))
}
