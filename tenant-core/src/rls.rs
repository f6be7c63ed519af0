//! PostgreSQL row-level security: the policy DDL for each model, and the
//! name of the setting the policies read.
//!
//! The compile-time check covers code written with the builders. Row-level
//! security covers everything else: raw SQL, a forgotten migration, a `psql`
//! session as the application role. Use both: run migrations as the table
//! owner, apply [`policy_sql`] for every tenant model, and serve as a role
//! that is not a superuser, lacks `BYPASSRLS` and owns no table, through
//! [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls).

use crate::model::{Model, TenantOwned};

/// The setting the policies compare the tenant column with. It is only ever
/// set transaction-locally (`set_config(.., true)`).
pub const TENANT_SETTING: &str = "app.tenant_id";

/// Name of the policy [`policy_sql`] creates.
pub const POLICY_NAME: &str = "tenant_isolation";

/// The DDL that turns row-level security on for `M`'s table:
///
/// ```
/// use tenant_core::prelude::*;
///
/// #[derive(TenantModel)]
/// #[tenant(table = "invoices")]
/// struct Invoice {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
/// }
///
/// assert_eq!(
///     tenant_core::rls::policy_sql::<Invoice>(),
///     r#"ALTER TABLE "invoices" ENABLE ROW LEVEL SECURITY;
/// ALTER TABLE "invoices" FORCE ROW LEVEL SECURITY;
/// DROP POLICY IF EXISTS "tenant_isolation" ON "invoices";
/// CREATE POLICY "tenant_isolation" ON "invoices" AS PERMISSIVE FOR ALL
///     USING ("tenant_id" = (SELECT current_setting('app.tenant_id', true)))
///     WITH CHECK ("tenant_id" = (SELECT current_setting('app.tenant_id', true)));
/// "#
/// );
/// ```
///
/// - `FORCE` makes the policy apply to the table owner too (superusers and
///   `BYPASSRLS` roles still skip it: never serve as one).
/// - When the setting is unset `current_setting(.., true)` is NULL, and after
///   a transaction that set it, `''`: both compare false with every tenant
///   id, so no row is visible. There is no cast that could fail and abort
///   unrelated work, and no `IS NULL OR ..` escape that would show all rows.
/// - `(SELECT current_setting(..))` is an initplan: evaluated once per
///   statement, not per row.
/// - `WITH CHECK` rejects an insert or update that would write a row for
///   another tenant.
pub fn policy_sql<M: TenantOwned>() -> String {
    let table = M::TABLE;
    let column = M::TENANT_COLUMN.unwrap_or_default();
    let setting = format!("(SELECT current_setting('{TENANT_SETTING}', true))");
    format!(
        "ALTER TABLE \"{table}\" ENABLE ROW LEVEL SECURITY;\n\
         ALTER TABLE \"{table}\" FORCE ROW LEVEL SECURITY;\n\
         DROP POLICY IF EXISTS \"{POLICY_NAME}\" ON \"{table}\";\n\
         CREATE POLICY \"{POLICY_NAME}\" ON \"{table}\" AS PERMISSIVE FOR ALL\n    \
         USING (\"{column}\" = {setting})\n    \
         WITH CHECK (\"{column}\" = {setting});\n"
    )
}

/// Facts about a model that the [doctor](crate::doctor) and migrations need,
/// without naming its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// The table.
    pub table: &'static str,
    /// The tenant column; `None` for a global model.
    pub tenant_column: Option<&'static str>,
}

impl ModelInfo {
    /// The facts of model `M`.
    pub fn of<M: Model>() -> Self {
        ModelInfo {
            table: M::TABLE,
            tenant_column: M::TENANT_COLUMN,
        }
    }
}
