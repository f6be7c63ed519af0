//! The cross-tenant capability: the one door to rows of several tenants,
//! and to the raw pool.
//!
//! A [`TenantScope`](crate::TenantScope) reaches one tenant's rows. Work
//! that must see several — an admin screen, a billing export, a migration —
//! takes a [`CrossTenant`] instead, minted by one greppable constructor that
//! names the reason: [`CrossTenant::audited`]. Nothing is switched off: the
//! capability is a value passed to each operation that needs it
//! ([`Across`](crate::Across) reads over all or a listed set of tenants,
//! [`TenantDb::raw_sqlite`](crate::TenantDb::raw_sqlite) and its siblings),
//! and every use emits one audit event under the target [`AUDIT_TARGET`] at
//! level `WARN` with the fields:
//!
//! | field | value |
//! |---|---|
//! | `reason` | the reason given to [`CrossTenant::audited`] |
//! | `kind` | the use: `select`, `count`, `aggregate`, `raw_pool` or `scope` |
//! | `model` | the table read (`raw_pool`: the backend; `scope`: empty) |
//! | `tenants` | `*` for every tenant, else the listed keys, comma-separated |
//! | `at` | the call site of the use (`file:line:column`) |
//! | `minted_at` | where the capability was made |
//!
//! The events go where the application's `tracing` subscriber sends them:
//! keep the target at `WARN` or below in every deployment (a
//! `max_level_*` feature of `tracing`, or a filter dropping the target,
//! drops the audit trail with it). The raw pool is audited when it is
//! handed out: what runs on it afterwards (and on a clone of it) is not.
//!
//! In row-level-security mode the serving role cannot read across tenants
//! at all; cross-tenant reads run on a second pool whose role has a policy
//! for it ([`TenantDb::with_cross_tenant`](crate::TenantDb::with_cross_tenant),
//! [`crate::rls::cross_tenant_policy_sql`]), and the doctor checks both roles
//! ([`crate::doctor::diagnose_cross_tenant`]).
//!
//! ```
//! # include!("doctest_setup.rs");
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tenant_core::Error> {
//! # let (db, acme, globex) = setup().await?;
//! use tenant_core::{CrossTenant, Tenants, count};
//!
//! let admin = CrossTenant::audited("monthly billing export");
//! let per_tenant = Invoice::query_across(&admin, Tenants::all())
//!     .per_tenant((count(), Invoice::AMOUNT_CENTS.sum()))
//!     .fetch_all(&db)
//!     .await?;
//! assert_eq!(per_tenant.len(), 2); // acme and globex
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::panic::Location;

use crate::error::Error;
use crate::tenant::{TenantId, TenantKey, TenantValue};

/// The target of every audit event.
pub const AUDIT_TARGET: &str = "tenant_core::audit";

/// The right to read across tenants and to use the raw pool, for one stated
/// reason.
///
/// There is no other constructor, no `Default` and no public field: every
/// cross-tenant door in an application is a call of
/// [`CrossTenant::audited`], which code review can find with one search.
/// Pass it by reference to the operations that take it; each use is
/// audited (see the [module documentation](crate::cross)).
///
/// ```
/// use tenant_core::CrossTenant;
///
/// let admin = CrossTenant::audited("support: merge duplicate customers");
/// assert_eq!(admin.reason(), "support: merge duplicate customers");
/// assert!(admin.minted_at().file().ends_with(".rs"));
/// ```
pub struct CrossTenant {
    reason: &'static str,
    minted_at: &'static Location<'static>,
}

impl CrossTenant {
    /// The capability, for `reason`: a literal saying why this code needs
    /// to see several tenants (it is written into every audit event). A
    /// blank reason is refused when the capability is used
    /// ([`Error::MissingReason`]).
    ///
    /// ```
    /// let admin = tenant_core::CrossTenant::audited("nightly usage report");
    /// assert_eq!(admin.reason(), "nightly usage report");
    /// ```
    #[track_caller]
    pub fn audited(reason: &'static str) -> Self {
        CrossTenant {
            reason,
            minted_at: Location::caller(),
        }
    }

    /// The reason given to [`audited`](CrossTenant::audited).
    ///
    /// ```
    /// let admin = tenant_core::CrossTenant::audited("data export");
    /// assert_eq!(admin.reason(), "data export");
    /// ```
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// Where the capability was made.
    ///
    /// ```
    /// let admin = tenant_core::CrossTenant::audited("data export");
    /// assert_eq!(admin.minted_at().line(), line!() - 1);
    /// ```
    pub fn minted_at(&self) -> &'static Location<'static> {
        self.minted_at
    }

    /// The scope of one tenant, for cross-tenant work done tenant by tenant
    /// with the ordinary builders (a job enqueued per tenant, a per-tenant
    /// maintenance pass): audited like every use (kind `scope`, the tenant
    /// in `tenants`). Besides the request's credential and a job's payload,
    /// this is the one place a scope is made, so review still finds every
    /// one: `git grep -E 'TenantScope::(try_)?new|CrossTenant::audited'`.
    ///
    /// ```
    /// use tenant_core::{CrossTenant, TenantId};
    ///
    /// let maintenance = CrossTenant::audited("nightly reindex, tenant by tenant");
    /// let acme = maintenance.scope(TenantId::parse("acme")?)?;
    /// assert_eq!(acme.tenant_id().as_str(), "acme");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn scope<K: TenantKey>(&self, tenant: K) -> Result<crate::TenantScope<K>, Error> {
        let use_ = self.use_at(Location::caller());
        let scope = crate::TenantScope::try_new(tenant)?;
        use_.audit("scope", "", Some(&[tenant.to_value()]))?;
        Ok(scope)
    }

    /// One use of the capability, from `at`, to record when it happens.
    pub(crate) fn use_at(&self, at: &'static Location<'static>) -> Use {
        Use {
            reason: self.reason,
            minted_at: self.minted_at,
            at,
        }
    }
}

impl fmt::Debug for CrossTenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrossTenant")
            .field("reason", &self.reason)
            .field("minted_at", &format_args!("{}", self.minted_at))
            .finish()
    }
}

/// One use of a [`CrossTenant`]: what the audit event says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Use {
    reason: &'static str,
    minted_at: &'static Location<'static>,
    at: &'static Location<'static>,
}

impl Use {
    /// Refuses a blank reason, then emits the audit event of this use:
    /// `kind` on `model` for `tenants` (`None`: every tenant).
    pub(crate) fn audit(
        &self,
        kind: &'static str,
        model: &'static str,
        tenants: Option<&[TenantValue]>,
    ) -> Result<(), Error> {
        if self.reason.trim().is_empty() {
            return Err(Error::MissingReason);
        }
        let tenants = TenantList(tenants);
        tracing::warn!(
            target: AUDIT_TARGET,
            reason = self.reason,
            kind,
            model,
            tenants = %tenants,
            at = %self.at,
            minted_at = %self.minted_at,
            "cross-tenant access"
        );
        Ok(())
    }
}

/// `*`, or the keys comma-separated.
struct TenantList<'a>(Option<&'a [TenantValue]>);

impl fmt::Display for TenantList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(tenants) = self.0 else {
            return f.write_str("*");
        };
        for (i, tenant) in tenants.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{tenant}")?;
        }
        Ok(())
    }
}

/// The tenants a cross-tenant read covers: all of them, or a listed set
/// (several tenants in one statement, `tenant_id IN (..)`).
///
/// ```
/// use tenant_core::{TenantId, Tenants};
///
/// let all: Tenants = Tenants::all();
/// assert!(all.is_all());
/// let two = Tenants::listed([TenantId::parse("acme")?, TenantId::parse("globex")?]);
/// assert!(!two.is_all());
/// # Ok::<(), tenant_core::InvalidTenantId>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenants<K: TenantKey = TenantId> {
    listed: Option<Vec<K>>,
}

impl<K: TenantKey> Tenants<K> {
    /// Every tenant.
    ///
    /// ```
    /// assert!(tenant_core::Tenants::<tenant_core::TenantId>::all().is_all());
    /// ```
    pub fn all() -> Self {
        Tenants { listed: None }
    }

    /// The tenants `keys`, in one statement. An empty list reads no row.
    ///
    /// ```
    /// use tenant_core::Tenants;
    ///
    /// let two: Tenants<i64> = Tenants::listed([7, 9]);
    /// assert!(!two.is_all());
    /// ```
    pub fn listed(keys: impl IntoIterator<Item = K>) -> Self {
        Tenants {
            listed: Some(keys.into_iter().collect()),
        }
    }

    /// Whether this is [`Tenants::all`].
    ///
    /// ```
    /// assert!(!tenant_core::Tenants::listed([1_i64]).is_all());
    /// ```
    pub fn is_all(&self) -> bool {
        self.listed.is_none()
    }

    /// The listed keys as statements bind them, each validated
    /// ([`TenantKey::validate`]); `None` for every tenant.
    pub(crate) fn into_values(self) -> Result<Option<Vec<TenantValue>>, Error> {
        let Some(keys) = self.listed else {
            return Ok(None);
        };
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            key.validate()?;
            values.push(key.to_value());
        }
        // The same tenant twice is one tenant: bind it once.
        let mut seen = std::collections::HashSet::with_capacity(values.len());
        values.retain(|v| seen.insert(*v));
        Ok(Some(values))
    }
}
