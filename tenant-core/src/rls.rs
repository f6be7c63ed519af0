//! PostgreSQL row-level security: the policy DDL for each model, and the
//! name of the setting the policies read.
//!
//! The compile-time check covers code written with the builders. Row-level
//! security is a second, independent layer under code that runs with the
//! tenant the framework set — raw SQL with a forgotten predicate, a report,
//! a view — and under sessions that never set a tenant (they see nothing).
//! It does not stop anyone who can run arbitrary SQL as the application
//! role: such a session can set any tenant (see docs/defence-in-depth.md).
//! Use both: run migrations as the table
//! owner, apply [`policy_sql`] for every tenant model, and serve as a role
//! that is not a superuser, lacks `BYPASSRLS` and owns no table, through
//! [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls).

use crate::model::{Model, ModelSchema, TenantOwned};

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
/// - An integer or UUID tenant column is compared as text
///   (`"account_id"::text = ..`): converting the setting to the column's
///   type instead would fail on `''` and abort unrelated work. The
///   builders' own predicate compares the column with a bound key of its
///   type, so the index is still used.
pub fn policy_sql<M: TenantOwned>() -> String {
    policy_sql_for(
        M::TABLE,
        M::TENANT_COLUMN.unwrap_or_default(),
        <M::TenantKey as crate::tenant::TenantKey>::POSTGRES_TYPE,
    )
}

/// [`policy_sql`] for `table`, whose tenant column `column` holds keys of
/// PostgreSQL type `key_type`: also written by the generated DDL
/// ([`crate::schema`]).
pub(crate) fn policy_sql_for(table: &str, column: &str, key_type: &str) -> String {
    let comparison = tenant_comparison(column, key_type);
    format!(
        "ALTER TABLE \"{table}\" ENABLE ROW LEVEL SECURITY;\n\
         ALTER TABLE \"{table}\" FORCE ROW LEVEL SECURITY;\n\
         DROP POLICY IF EXISTS \"{POLICY_NAME}\" ON \"{table}\";\n\
         CREATE POLICY \"{POLICY_NAME}\" ON \"{table}\" AS PERMISSIVE FOR ALL\n    \
         USING ({comparison})\n    \
         WITH CHECK ({comparison});\n"
    )
}

/// Name of the policy [`cross_tenant_policy_sql`] creates.
pub const CROSS_TENANT_POLICY_NAME: &str = "tenant_cross_tenant_read";

/// The DDL that lets `role`, and only it, read every tenant's rows of
/// `M`'s table: the role of the cross-tenant pool
/// ([`TenantDb::with_cross_tenant`](crate::TenantDb::with_cross_tenant)).
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
///     tenant_core::rls::cross_tenant_policy_sql::<Invoice>("billing_admin"),
///     r#"DROP POLICY IF EXISTS "tenant_cross_tenant_read" ON "invoices";
/// CREATE POLICY "tenant_cross_tenant_read" ON "invoices" AS PERMISSIVE FOR SELECT
///     TO "billing_admin" USING (true);
/// "#
/// );
/// ```
///
/// - `FOR SELECT`: the cross-tenant role reads across tenants; it writes
///   (if it is granted writes at all) only under the tenant policy, like
///   the serving role.
/// - `TO` the one role: permissive policies are OR-ed, so a policy for
///   `PUBLIC`, or for a role the serving role is a member of, would let
///   the serving role read every tenant too. The doctor
///   ([`crate::doctor::diagnose_cross_tenant`]) checks that it does not.
/// - Grant the role `SELECT` on the tables, and serve with another role.
pub fn cross_tenant_policy_sql<M: TenantOwned>(role: &str) -> String {
    let table = crate::sql::quoted(crate::backend::Backend::Postgres, M::TABLE);
    let role = crate::sql::quoted(crate::backend::Backend::Postgres, role);
    format!(
        "DROP POLICY IF EXISTS \"{CROSS_TENANT_POLICY_NAME}\" ON {table};\n\
         CREATE POLICY \"{CROSS_TENANT_POLICY_NAME}\" ON {table} AS PERMISSIVE FOR SELECT\n    \
         TO {role} USING (true);\n"
    )
}

/// The policies' tenant comparison for `column`, whose key is stored as
/// PostgreSQL type `key_type`: the one text [`policy_sql`] writes and the
/// doctor expects.
pub(crate) fn tenant_comparison(column: &str, key_type: &str) -> String {
    let column = crate::sql::quoted(crate::backend::Backend::Postgres, column);
    let cast = if key_type == "text" { "" } else { "::text" };
    format!("{column}{cast} = (SELECT current_setting('{TENANT_SETTING}', true))")
}

/// Facts about a model that the [doctor](crate::doctor), the schema check
/// ([`TenantDb::verify`](crate::TenantDb::verify)) and migrations need,
/// without naming its type.
///
/// ```
/// use tenant_core::prelude::*;
/// use tenant_core::rls::ModelInfo;
///
/// #[derive(TenantModel)]
/// #[tenant(table = "invoices")]
/// struct Invoice {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
///     amount_cents: i64,
/// }
///
/// let info = ModelInfo::of::<Invoice>();
/// assert_eq!(info.table, "invoices");
/// assert_eq!(info.tenant_column, Some("tenant_id"));
/// assert_eq!(info.columns, ["id", "tenant_id", "amount_cents"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ModelInfo {
    /// The table.
    pub table: &'static str,
    /// The tenant column; `None` for a global model.
    pub tenant_column: Option<&'static str>,
    /// Every column, in field order.
    pub columns: &'static [&'static str],
    /// The primary key column, if one is marked.
    pub primary_key: Option<&'static str>,
    /// Columns of a global model that hold tenant ids without scoping it,
    /// declared `#[tenant(unscoped_tenant_id = "..")]`.
    pub unscoped_tenant_columns: &'static [&'static str],
    /// The PostgreSQL type of the tenant key (`text`, `bigint`, `integer`,
    /// `uuid`): how the policies compare it, and the MySQL doctor's column
    /// type check.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) tenant_key_type: &'static str,
    pub(crate) schema: ModelSchema,
    /// The model's `#[tenant(references = ..)]`, for the generated foreign
    /// keys.
    pub(crate) references: &'static [crate::relation::Reference],
}

impl PartialEq for ModelInfo {
    fn eq(&self, other: &Self) -> bool {
        self.table == other.table
            && self.tenant_column == other.tenant_column
            && self.columns == other.columns
            && self.primary_key == other.primary_key
            && self.schema.rust_types == other.schema.rust_types
    }
}

impl Eq for ModelInfo {}

impl ModelInfo {
    /// Whether `column` of a global model's table holds tenant ids on
    /// purpose: it is the model's key and the table's real single-column key
    /// (`live_key`; a directory of tenants), or it is declared
    /// `#[tenant(unscoped_tenant_id = "..")]`. `same` compares identifiers
    /// as the backend does. Shared by the doctor and the schema check.
    pub(crate) fn holds_tenant_ids_on_purpose(
        &self,
        column: &str,
        live_key: &[&str],
        same: impl Fn(&str, &str) -> bool,
    ) -> bool {
        let own_key = match (self.primary_key, live_key) {
            (Some(pk), [only]) => same(pk, only) && same(pk, column),
            _ => false,
        };
        own_key || self.unscoped_tenant_columns.iter().any(|u| same(u, column))
    }

    /// The facts of model `M`.
    pub fn of<M: Model>() -> Self {
        ModelInfo {
            table: M::TABLE,
            tenant_column: M::TENANT_COLUMN,
            columns: M::COLUMNS,
            primary_key: M::PRIMARY_KEY,
            unscoped_tenant_columns: M::SCHEMA.unscoped_tenant_columns,
            tenant_key_type: <M::TenantKey as crate::tenant::TenantKey>::POSTGRES_TYPE,
            schema: M::SCHEMA,
            references: M::REFERENCES,
        }
    }
}
