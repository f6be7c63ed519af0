//! The tables of the service, as tenant-core models.
//!
//! Tenant-owned tables (`customers`, `invoices`, `invoice_line_items`,
//! `invoice_quota`, `usage_periods`, `billing_outbox`) are reachable only with a [`TenantScope`]: the
//! authenticated request's, or the outbox worker's, one tenant at a time. The `tenants` table is global on purpose: finding
//! which tenant an API key belongs to happens before any tenant is known.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use tenant_core::prelude::*;

/// Lifecycle of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    /// Being prepared; the default for a new invoice.
    Draft,
    /// Sent to the customer and awaiting payment.
    Open,
    /// Paid.
    Paid,
    /// Cancelled.
    Void,
}

impl InvoiceStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [InvoiceStatus; 4] = [Self::Draft, Self::Open, Self::Paid, Self::Void];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Void => "void",
        }
    }
}

/// The billing plan of a tenant; limits per plan come from
/// [`Limits`](crate::config::Limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// The free plan: a capped number of stored invoices.
    Free,
    /// The paid plan.
    Pro,
}

impl Plan {
    /// Every plan.
    pub const ALL: [Plan; 2] = [Self::Free, Self::Pro];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
        }
    }
}

/// What a usage event counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageKind {
    /// An authenticated API request succeeded.
    Request,
    /// An invoice was stored.
    InvoiceCreated,
}

impl UsageKind {
    /// Every kind.
    pub const ALL: [UsageKind; 2] = [Self::Request, Self::InvoiceCreated];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::InvoiceCreated => "invoice_created",
        }
    }
}

/// A name that is not one of an enum's stored values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}; expected one of: {expected}")]
pub struct UnknownVariant {
    kind: &'static str,
    value: String,
    expected: String,
}

/// Stores a fieldless enum as TEXT on every backend.
///
/// `#[derive(sqlx::Type)]` on an enum declares a PostgreSQL type named after
/// the Rust enum, which a TEXT column does not have; these impls bind and read
/// the variant's name as plain text instead, like `TenantId` does.
macro_rules! text_column {
    ($ty:ident, $kind:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownVariant {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: $ty::ALL.map($ty::as_str).join(", "),
                    })
            }
        }

        text_column!(@db $ty, sqlx::Sqlite);
        text_column!(@db $ty, sqlx::Postgres);
        text_column!(@db $ty, sqlx::MySql);
    };
    (@db $ty:ident, $db:ty) => {
        impl sqlx::Type<$db> for $ty {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <str as sqlx::Type<$db>>::type_info()
            }

            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <str as sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl sqlx::Encode<'_, $db> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<$db>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, $db> for $ty {
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<$db>>::decode(value)?;
                Ok(text.parse::<$ty>()?)
            }
        }
    };
}

text_column!(InvoiceStatus, "invoice status");
text_column!(Plan, "plan");
text_column!(UsageKind, "usage kind");

/// A customer of a tenant, unique per tenant by e-mail address.
///
/// Two tenants may have customers with the same e-mail (and, on backends
/// whose ids are per table, never the same id — but nothing relies on
/// that: every key and foreign key pairs `id` with `tenant_id`).
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    /// Database-generated id.
    #[tenant(primary_key)]
    pub id: i64,
    /// The owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// Display name.
    pub name: String,
    /// E-mail address; unique within the tenant (`UNIQUE (tenant_id, email)`).
    pub email: String,
}

/// An invoice, owned by one tenant.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    /// Database-generated id.
    #[tenant(primary_key)]
    pub id: i64,
    /// The owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// Amount in cents, never negative.
    pub amount_cents: i64,
    /// Who is billed.
    pub customer_email: String,
    /// Lifecycle state.
    pub status: InvoiceStatus,
    /// The customer billed, when the invoice names one: a customer of the
    /// same tenant (the composite foreign key `(tenant_id, customer_id)
    /// REFERENCES customers (tenant_id, id)` holds every backend to it).
    #[tenant(references = Customer)]
    pub customer_id: Option<i64>,
    /// The month the invoice counts in for reports (`YYYY-MM`, UTC): the
    /// billing period of the request that created it. Stored because the
    /// aggregate builder groups by columns, not by expressions such as the
    /// month of `created_at`.
    pub period: String,
    /// Set by the database on insert.
    #[tenant(generated)]
    pub created_at: DateTime<Utc>,
}

/// One line of an invoice. The composite foreign key `(tenant_id,
/// invoice_id) REFERENCES invoices (tenant_id, id)` keeps it in its
/// invoice's tenant; deleting the invoice deletes its lines.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "invoice_line_items")]
pub struct LineItem {
    /// Database-generated id.
    #[tenant(primary_key)]
    pub id: i64,
    /// The owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// The invoice.
    #[tenant(references = Invoice)]
    pub invoice_id: i64,
    /// What is billed.
    pub description: String,
    /// How many units, at least 1.
    pub quantity: i64,
    /// Price of one unit in cents, never negative.
    pub unit_price_cents: i64,
}

/// The number of invoices a tenant stores: one row per tenant, created with
/// the tenant, changed only by `Update::increment` in the same transaction as
/// the insert or delete it counts. Its bounded increment is the quota check.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "invoice_quota")]
pub struct InvoiceQuota {
    /// The owner (also the table's primary key).
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// Invoices currently stored.
    pub invoices_stored: i64,
}

/// Usage of one tenant in one billing period (`YYYY-MM`, UTC).
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "usage_periods")]
pub struct UsagePeriod {
    /// The owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// The period, such as `2026-11`.
    pub period: String,
    /// Authenticated API requests accepted in the period.
    pub requests: i64,
    /// Invoices created in the period.
    pub invoices_created: i64,
}

/// A billing event in the transactional outbox.
///
/// The row is written in the same transaction as what it bills (the invoice,
/// the counted request), so an event exists if and only if that commit
/// happened, whatever becomes of the HTTP request afterwards. The delivery
/// worker ([`crate::outbox`]) hands undelivered rows to the
/// [`BillingSink`](crate::metering::BillingSink) and then sets
/// `delivered_at`: delivery is at least once, and `event_id` is what a
/// consumer deduplicates by.
///
/// Tenant-owned rather than global, on purpose: the events are tenant data
/// (what a tenant is billed for, which invoices it has), so they get the same
/// isolation as the rows they describe — `tenant_id NOT NULL`, the tenant
/// predicate on every statement, the PostgreSQL row-level security policy —
/// and the handlers write them with the request's own scope. The price is
/// that the worker, which must see every tenant's rows, reads them tenant by
/// tenant, with a scope per tenant from the global tenants directory (see
/// [`crate::outbox`]); once tenant-core has its audited cross-tenant
/// capability, one cross-tenant query can replace that loop.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "billing_outbox")]
pub struct OutboxEvent {
    /// Database-generated; gives the delivery order within a tenant.
    #[tenant(primary_key)]
    pub id: i64,
    /// The tenant billed.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// Stable unique id of the event (a random UUID, chosen when the row is
    /// written): the deduplication key of every consumer.
    pub event_id: String,
    /// What is billed.
    pub kind: UsageKind,
    /// How many units.
    pub quantity: i64,
    /// The billing period (`YYYY-MM`, UTC).
    pub period: String,
    /// The invoice, for [`UsageKind::InvoiceCreated`].
    pub invoice_id: Option<i64>,
    /// Set by the database when the row is written.
    #[tenant(generated)]
    pub created_at: DateTime<Utc>,
    /// When a sink accepted the event; `None` while it waits for delivery.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A tenant and its credential. Global: the API key lookup must search every
/// tenant. Only [`crate::auth`] and [`crate::tenants`] use it.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "tenants", global)]
pub struct TenantRecord {
    /// The tenant's id.
    #[tenant(primary_key, client_generated)]
    pub id: TenantId,
    /// Its plan.
    pub plan: Plan,
    /// SHA-256 (hex) of its API key; the key itself is never stored.
    pub api_key_hash: String,
    /// Set by the database on insert.
    #[tenant(generated)]
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_text() {
        for s in InvoiceStatus::ALL {
            assert_eq!(s.as_str().parse::<InvoiceStatus>(), Ok(s));
        }
        for p in Plan::ALL {
            assert_eq!(p.to_string().parse::<Plan>(), Ok(p));
        }
        let err = "Paid".parse::<InvoiceStatus>().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "\"Paid\" is not a valid invoice status; expected one of: draft, open, paid, void"
            )
        );
    }
}
