//! The PostgreSQL doctor: whether row-level security really protects each
//! tenant table, and whether the serving role is one it applies to.
//!
//! Policies are judged by what they let through, not by what they mention.
//! The doctor asks PostgreSQL for the canonical text of the expression
//! [`policy_sql`](crate::rls::policy_sql) writes (it creates that policy on a
//! temporary table inside a transaction it rolls back) and compares every
//! live policy's `USING` and `WITH CHECK` with it:
//!
//! - a **permissive** policy whose every expression is exactly the tenant
//!   comparison admits only the tenant's rows, whatever its name or command;
//! - any other permissive policy is a leak: permissive policies are OR-ed, so
//!   `USING (tenant_id IS NOT NULL)` next to the tenant policy shows every
//!   tenant's rows, and `FOR INSERT WITH CHECK (amount_cents >= 0)` lets a
//!   row be written for any tenant;
//! - a **restrictive** policy is AND-ed with the permissive ones: it can
//!   only narrow what they admit, so it passes.

use std::collections::HashMap;

use sqlx::PgPool;
use sqlx::postgres::types::Oid;

use super::{GlobalVerdict, Report, push_global_verdict, tenant_columns};
use crate::Error;
use crate::backend::Backend;
use crate::rls::{ModelInfo, POLICY_NAME, TENANT_SETTING};
use crate::sql::quoted;

/// An identifier quoted for PostgreSQL, the only backend the doctor checks
/// policies on.
fn quote(identifier: &str) -> String {
    quoted(Backend::Postgres, identifier)
}

/// `names` quoted for PostgreSQL, comma-separated.
fn join_quoted<S: AsRef<str>>(names: &[S]) -> String {
    super::join_quoted(Backend::Postgres, names)
}

/// The tenant comparison exactly as [`policy_sql`](crate::rls::policy_sql)
/// writes it (its `USING` and its `WITH CHECK`).
fn tenant_expression(column: &str, key_type: &str) -> String {
    crate::rls::tenant_comparison(column, key_type)
}

/// The `CREATE POLICY` statement of [`policy_sql`](crate::rls::policy_sql)
/// for `table` (an already quoted, possibly qualified name).
fn tenant_policy_statement(table: &str, column: &str, key_type: &str) -> String {
    let expression = tenant_expression(column, key_type);
    format!(
        "CREATE POLICY {} ON {table} AS PERMISSIVE FOR ALL USING ({expression}) WITH CHECK ({expression});",
        quote(POLICY_NAME)
    )
}

/// Inspects the database behind `pool`, as the role `pool` connects as,
/// against `models`.
///
/// The role (checks on subject `role "…"`):
///
/// - `role_not_superuser`, `role_no_bypassrls`: policies never apply to a
///   superuser or a `BYPASSRLS` role;
/// - `role_owns_no_tenant_table`: it owns no tenant table, partition or
///   inheritance child (an owner can turn the policies off);
/// - `role_not_member_of_owner`: it is not a member (`pg_has_role(..,
///   'MEMBER')`, with or without `INHERIT`) of a role owning one: it could
///   `SET ROLE` and `ALTER TABLE .. NO FORCE ROW LEVEL SECURITY`;
/// - `role_no_createrole`: neither it nor a role it belongs to has
///   `CREATEROLE`, which can grant itself the owner's membership;
/// - `role_no_privileged_membership`: it belongs to no superuser or
///   `BYPASSRLS` role (`SET ROLE` would leave the policies behind).
///
/// Every tenant model's table (`table_exists`):
///
/// - `rls_enabled`, `rls_forced`: row-level security enabled and forced;
/// - `policy_present`: permissive policies applying to the role compare the
///   tenant column with `app.tenant_id` exactly as
///   [`policy_sql`](crate::rls::policy_sql) does, for every command;
/// - `policy_admits_only_tenant`: every other permissive policy is a leak
///   (reported as `policy_not_open_when_unset` instead when it lets rows
///   through with the setting unset: `IS NULL OR ..`, `true`, `= ''`);
///   restrictive policies only narrow and pass;
/// - `tenant_column_exists`, `tenant_not_null`: the tenant column exists
///   and is `NOT NULL`;
/// - `tenant_index`: an index leads with the tenant column;
/// - `unique_includes_tenant`: every unique constraint and index includes it;
/// - `foreign_keys_include_tenant`: every foreign key to another tenant
///   table includes it;
/// - `child_table_protected`: each partition and inheritance child
///   (recursively, through `pg_inherits`) is either out of the role's reach
///   (no privilege on it) or itself has row-level security enabled and
///   forced, the tenant policy, and no leaking policy: read directly, a
///   child applies its own policies, not its parent's.
///
/// Every global model's table (`table_exists`,
/// `global_table_is_tenant_table`): it has no row-level security and no
/// policy, is not also a tenant model's table, and has no column named like
/// a tenant model's tenant column — a `#[tenant(global)]` model reads and
/// rewrites every row of its table with no scope.
///
/// Views (and materialized views) reading tenant tables or their children
/// must be `security_invoker` (`view_security_invoker`).
///
/// ```no_run
/// # async fn run(pool: sqlx::PgPool) -> Result<(), tenant_core::Error> {
/// use tenant_core::rls::ModelInfo;
/// # #[derive(tenant_core::TenantModel)]
/// # #[tenant(table = "invoices")]
/// # struct Invoice { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: tenant_core::TenantId }
///
/// let report = tenant_core::doctor::diagnose(&pool, &[ModelInfo::of::<Invoice>()]).await?;
/// print!("{report}");
/// if !report.passed() {
///     std::process::exit(1);
/// }
/// # Ok(()) }
/// ```
pub async fn diagnose(pool: &PgPool, models: &[ModelInfo]) -> Result<Report, Error> {
    let mut report = Report::default();
    let (role, superuser, bypass, createrole): (String, bool, bool, bool) = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await?;

    // The tenant tables, then their partitions and inheritance children.
    let tenant_models: Vec<&ModelInfo> = models
        .iter()
        .filter(|m| m.tenant_column.is_some())
        .collect();
    let mut tables = Vec::new();
    for model in &tenant_models {
        let row: Option<TableRow> = sqlx::query_as(
            "SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity
             FROM pg_class c WHERE c.oid = to_regclass($1)",
        )
        .bind(quote(model.table))
        .fetch_optional(pool)
        .await?;
        let children = match &row {
            Some((oid, _, _)) => children_of(pool, *oid).await?,
            None => Vec::new(),
        };
        tables.push((*model, row, children));
    }
    let tenant_tables: Vec<(Oid, &ModelInfo)> = tables
        .iter()
        .filter_map(|(model, row, _)| row.as_ref().map(|r| (r.0, *model)))
        .collect();
    let all_oids: Vec<Oid> = tables
        .iter()
        .flat_map(|(_, row, children)| {
            row.iter()
                .map(|r| r.0)
                .chain(children.iter().map(|c| c.oid))
        })
        .collect();

    role_checks(
        pool,
        &mut report,
        &role,
        superuser,
        bypass,
        createrole,
        &all_oids,
    )
    .await?;

    let mut expected = ExpectedExpressions::default();
    for (model, row, children) in &tables {
        let column = model.tenant_column.unwrap_or_default();
        let subject = format!(
            "table {} (tenant column {})",
            quote(model.table),
            quote(column)
        );
        let Some((oid, enabled, forced)) = *row else {
            report.push(
                &subject,
                "table_exists",
                false,
                format!(
                    "does not exist (or is not on the search_path). Fix: create it (run the migrations), then apply tenant_core::rls::policy_sql for {}.",
                    quote(model.table)
                ),
            );
            continue;
        };
        let expected_text = expected
            .get(pool, oid, column, model.tenant_key_type)
            .await?;
        let table = Table {
            model,
            oid,
            enabled,
            forced,
            expected: &expected_text,
        };
        check_table(pool, &mut report, &subject, &table, &all_oids).await?;
        for child in children {
            check_child(pool, &mut report, &role, model, child, &expected_text).await?;
        }
    }

    check_global_models(pool, &mut report, models, &tenant_models, &tenant_tables).await?;

    let views: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT DISTINCT v.oid::regclass::text, v.relkind::text,
                coalesce(array_to_string(v.reloptions, ',') ~* 'security_invoker=(true|on|1|yes)', false)
         FROM pg_rewrite r
         JOIN pg_class v ON v.oid = r.ev_class
         JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
         WHERE d.refobjid = ANY($1) AND v.relkind IN ('v', 'm') AND v.oid <> d.refobjid
         ORDER BY 1",
    )
    .bind(&all_oids)
    .fetch_all(pool)
    .await?;
    for (view, kind, invoker) in views {
        let subject = format!("view {view}");
        if kind == "m" {
            report.push(&subject, "view_security_invoker", false,
                "is a materialized view over a tenant table: it holds every tenant's rows and no policy applies to it. Drop it or give it its own tenant column and policy.".into());
        } else {
            report.push(
                &subject,
                "view_security_invoker",
                invoker,
                if invoker {
                    "reads tenant tables with the caller's rights (security_invoker)".into()
                } else {
                    format!("reads tenant tables with its owner's rights, bypassing the policies. Fix: ALTER VIEW {view} SET (security_invoker = true);")
                },
            );
        }
    }
    Ok(report)
}

/// `(oid, relrowsecurity, relforcerowsecurity)` of a table.
type TableRow = (Oid, bool, bool);

/// [`diagnose`] for a deployment with a cross-tenant pool
/// ([`TenantDb::with_cross_tenant`](crate::TenantDb::with_cross_tenant)):
/// every check of the serving role on `serving`, then the cross-tenant
/// role (the one `cross` connects as):
///
/// - `cross_tenant_role_separate`: it is another role than the serving
///   one, and the serving role is not a member of it (a member could
///   `SET ROLE` to it and read every tenant);
/// - `cross_tenant_reads`, per tenant table: the role can read every
///   tenant's rows — a permissive `SELECT` policy `USING (true)` that
///   applies to it ([`crate::rls::cross_tenant_policy_sql`]), or
///   `BYPASSRLS` — and holds `SELECT` on the table; a `FOR ALL` policy
///   `USING (true)` does not count: it would let the role write to every
///   tenant too. Without it the
///   cross-tenant reads would silently see only some rows, or none.
///
/// The serving role's `policy_admits_only_tenant` check accepts the
/// cross-tenant policy only because it applies to a role the serving role
/// is not and cannot become.
///
/// ```no_run
/// # async fn run(serving: sqlx::PgPool, admin: sqlx::PgPool) -> Result<(), tenant_core::Error> {
/// use tenant_core::rls::ModelInfo;
/// # #[derive(tenant_core::TenantModel)]
/// # #[tenant(table = "invoices")]
/// # struct Invoice { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: tenant_core::TenantId }
///
/// let models = [ModelInfo::of::<Invoice>()];
/// let report = tenant_core::doctor::diagnose_cross_tenant(&serving, &admin, &models).await?;
/// assert!(report.passed(), "{report}");
/// # Ok(()) }
/// ```
pub async fn diagnose_cross_tenant(
    serving: &PgPool,
    cross: &PgPool,
    models: &[ModelInfo],
) -> Result<Report, Error> {
    let mut report = diagnose(serving, models).await?;
    let (serving_role,): (String,) = sqlx::query_as("SELECT current_user::text")
        .fetch_one(serving)
        .await?;
    let (role, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(cross)
    .await?;
    let subject = format!("role {} (cross-tenant)", quote(&role));
    let (member,): (bool,) = sqlx::query_as("SELECT pg_has_role(current_user, $1, 'MEMBER')")
        .bind(&role)
        .fetch_one(serving)
        .await?;
    let separate = role != serving_role && !member;
    report.push(
        &subject,
        "cross_tenant_role_separate",
        separate,
        if role == serving_role {
            format!(
                "is the serving role {}: serving with a role that reads every tenant removes the second layer. Fix: connect the cross-tenant pool as a role of its own.",
                quote(&serving_role)
            )
        } else if member {
            format!(
                "the serving role {} is a member of it and can SET ROLE to read every tenant. Fix: REVOKE {} FROM {};",
                quote(&serving_role),
                quote(&role),
                quote(&serving_role)
            )
        } else {
            format!(
                "is not the serving role {}, which is not a member of it",
                quote(&serving_role)
            )
        },
    );
    for model in models.iter().filter(|m| m.tenant_column.is_some()) {
        let table = quote(model.table);
        let row: Option<(bool, bool)> = sqlx::query_as(
            "SELECT has_table_privilege(current_user, c.oid, 'SELECT'),
                    EXISTS (
                        SELECT 1 FROM pg_policy p
                        WHERE p.polrelid = c.oid AND p.polpermissive
                          AND p.polcmd = 'r'
                          AND pg_get_expr(p.polqual, p.polrelid) = 'true'
                          AND (0 = ANY(p.polroles) OR EXISTS (
                              SELECT 1 FROM unnest(p.polroles) AS r(oid)
                              WHERE r.oid <> 0 AND pg_has_role(current_user, r.oid, 'USAGE'))))
             FROM pg_class c WHERE c.oid = to_regclass($1)",
        )
        .bind(&table)
        .fetch_optional(cross)
        .await?;
        let Some((select, policy)) = row else {
            report.push(
                &subject,
                "cross_tenant_reads",
                false,
                format!("table {table} does not exist (or is not on its search_path)"),
            );
            continue;
        };
        let reads_all = policy || bypass || superuser;
        let passed = select && reads_all;
        let detail = if !select {
            format!(
                "cannot read {table}. Fix: GRANT SELECT ON {table} TO {};",
                quote(&role)
            )
        } else if !reads_all {
            format!(
                "reads only the rows of the tenant it sets on {table}: no permissive SELECT policy USING (true) applies to it, so cross-tenant reads would miss rows. Fix: apply tenant_core::rls::cross_tenant_policy_sql for {table} with role {}.",
                quote(&role)
            )
        } else {
            format!("reads every tenant's rows of {table}")
        };
        report.push(&subject, "cross_tenant_reads", passed, detail);
    }
    Ok(report)
}

/// The checks of the serving role, given every tenant table, partition and
/// child (`oids`).
async fn role_checks(
    pool: &PgPool,
    report: &mut Report,
    role: &str,
    superuser: bool,
    bypass: bool,
    createrole: bool,
    oids: &[Oid],
) -> Result<(), Error> {
    let subject = format!("role {}", quote(role));
    let role_q = quote(role);
    report.push(
        &subject,
        "role_not_superuser",
        !superuser,
        if superuser {
            "is a superuser: policies never apply to it. Serve as a role created with NOSUPERUSER."
                .into()
        } else {
            "is not a superuser".into()
        },
    );
    report.push(
        &subject,
        "role_no_bypassrls",
        !bypass && !superuser,
        if superuser {
            // A superuser bypasses every policy whatever its BYPASSRLS
            // attribute: NOBYPASSRLS alone would not help it.
            "bypasses row-level security as a superuser; NOBYPASSRLS would not change that. \
             Fix: serve as a role created with NOSUPERUSER NOBYPASSRLS."
                .into()
        } else if bypass {
            format!(
                "has BYPASSRLS: policies never apply to it. Fix: ALTER ROLE {role_q} NOBYPASSRLS;"
            )
        } else {
            "does not have BYPASSRLS".into()
        },
    );

    // Owners of the tenant tables (and their children): the role itself, or
    // a role it is a member of (directly or through other roles, with or
    // without INHERIT: a member can SET ROLE to it).
    let owners: Vec<(String, String, bool, bool)> = sqlx::query_as(
        "SELECT c.oid::regclass::text, pg_get_userbyid(c.relowner)::text,
                pg_get_userbyid(c.relowner) = current_user,
                pg_has_role(current_user, c.relowner, 'MEMBER')
                    OR pg_has_role(current_user, c.relowner, 'USAGE')
         FROM pg_class c WHERE c.oid = ANY($1) ORDER BY 1",
    )
    .bind(oids)
    .fetch_all(pool)
    .await?;
    let owned: Vec<&str> = owners
        .iter()
        .filter(|o| o.2)
        .map(|o| o.0.as_str())
        .collect();
    report.push(
        &subject,
        "role_owns_no_tenant_table",
        owned.is_empty(),
        if owned.is_empty() {
            "owns no tenant table".into()
        } else {
            format!(
                "owns {}: an owner can disable or drop the policies. Run migrations as another role and serve as one that owns nothing.",
                owned.join(", ")
            )
        },
    );
    let via_membership: Vec<String> = owners
        .iter()
        .filter(|o| !o.2 && o.3)
        .map(|o| format!("{} (owned by {})", o.0, quote(&o.1)))
        .collect();
    let owner_roles: Vec<&str> = {
        let mut r: Vec<&str> = owners
            .iter()
            .filter(|o| !o.2 && o.3)
            .map(|o| o.1.as_str())
            .collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    report.push(
        &subject,
        "role_not_member_of_owner",
        via_membership.is_empty(),
        if via_membership.is_empty() {
            "is not a member of any role owning a tenant table".into()
        } else {
            format!(
                "is a member of the owner of {}: it can SET ROLE to the owner and ALTER TABLE .. NO FORCE / DISABLE ROW LEVEL SECURITY or drop the policies. Fix: {}",
                via_membership.join(", "),
                owner_roles
                    .iter()
                    .map(|o| format!("REVOKE {} FROM {role_q};", quote(o)))
                    .collect::<Vec<_>>()
                    .join(" ")
                    + " (or revoke the role through which the membership is inherited)"
            )
        },
    );

    // Roles it can become with SET ROLE that carry attributes it must not
    // have itself (role attributes are never inherited, but SET ROLE takes
    // them on).
    let privileged: Vec<(String, bool, bool, bool)> = sqlx::query_as(
        "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, r.rolcreaterole
         FROM pg_roles r
         WHERE r.rolname <> current_user
           AND (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole)
           AND pg_has_role(current_user, r.oid, 'MEMBER')
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let creators: Vec<&str> = privileged
        .iter()
        .filter(|p| p.3)
        .map(|p| p.0.as_str())
        .collect();
    let createrole_ok = !createrole && creators.is_empty();
    report.push(
        &subject,
        "role_no_createrole",
        createrole_ok,
        if createrole_ok {
            "has no CREATEROLE, directly or through a role it belongs to".into()
        } else {
            let mut why = Vec::new();
            let mut fix = Vec::new();
            if createrole {
                why.push("has CREATEROLE".to_owned());
                fix.push(format!("ALTER ROLE {role_q} NOCREATEROLE;"));
            }
            if !creators.is_empty() {
                why.push(format!(
                    "is a member of {} which has CREATEROLE",
                    join_quoted(&creators)
                ));
                fix.extend(
                    creators
                        .iter()
                        .map(|c| format!("REVOKE {} FROM {role_q};", quote(c))),
                );
            }
            format!(
                "{}: it can grant itself membership in the tables' owner and turn the policies off. Fix: {}",
                why.join(" and "),
                fix.join(" ")
            )
        },
    );
    let bypassers: Vec<String> = privileged
        .iter()
        .filter(|p| p.1 || p.2)
        .map(|p| {
            format!(
                "{} ({})",
                quote(&p.0),
                if p.1 { "superuser" } else { "BYPASSRLS" }
            )
        })
        .collect();
    report.push(
        &subject,
        "role_no_privileged_membership",
        bypassers.is_empty(),
        if bypassers.is_empty() {
            "belongs to no superuser or BYPASSRLS role".into()
        } else {
            format!(
                "is a member of {}: after SET ROLE no policy applies. Fix: {}",
                bypassers.join(", "),
                privileged
                    .iter()
                    .filter(|p| p.1 || p.2)
                    .map(|p| format!("REVOKE {} FROM {role_q};", quote(&p.0)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        },
    );
    Ok(())
}

/// The canonical text PostgreSQL gives the tenant comparison, per tenant
/// column name and type.
#[derive(Default)]
struct ExpectedExpressions {
    /// By (column, column type, key type).
    by_column: HashMap<(String, String, String), String>,
}

impl ExpectedExpressions {
    /// The text `pg_get_expr` shows for the tenant comparison on column
    /// `column` of table `oid`.
    async fn get(
        &mut self,
        pool: &PgPool,
        oid: Oid,
        column: &str,
        key_type: &str,
    ) -> Result<String, Error> {
        let column_type: Option<String> = sqlx::query_scalar(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = $1 AND attname = $2 AND attnum > 0 AND NOT attisdropped",
        )
        .bind(oid)
        .bind(column)
        .fetch_optional(pool)
        .await?;
        let column_type = column_type.unwrap_or_else(|| "text".to_owned());
        let key = (column.to_owned(), column_type, key_type.to_owned());
        if let Some(text) = self.by_column.get(&key) {
            return Ok(text.clone());
        }
        let text = match probe(pool, column, &key.1, key_type).await? {
            Some(text) => text,
            None => {
                // The role may not create a temporary table (no TEMP
                // privilege on the database, a read-only standby): fall back
                // to the text PostgreSQL 15 gives the expression, built here,
                // and compared with whitespace normalised (`same_expression`).
                let column: String = sqlx::query_scalar("SELECT quote_ident($1)")
                    .bind(column)
                    .fetch_one(pool)
                    .await?;
                let column = if key_type == "text" {
                    column
                } else {
                    format!("({column})::text")
                };
                format!(
                    "({column} = ( SELECT current_setting('{TENANT_SETTING}'::text, true) AS current_setting))"
                )
            }
        };
        self.by_column.insert(key, text.clone());
        Ok(text)
    }
}

/// Creates the tenant policy on a temporary table with the same column name
/// and type, reads back PostgreSQL's text for it, and rolls everything back.
/// `None` when the role may not do that.
async fn probe(
    pool: &PgPool,
    column: &str,
    column_type: &str,
    key_type: &str,
) -> Result<Option<String>, Error> {
    let table = "pg_temp.\"__tenant_doctor_probe\"";
    // The framework's own transaction guard: `diagnose` may run on the
    // application's pool (a health check with a timeout), and sqlx's `begin`
    // dropped mid-flight would return the connection inside a transaction.
    let mut tx = crate::tx::TxConn::begin(pool, None).await?;
    let mut result = sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TEMP TABLE \"__tenant_doctor_probe\" ({} {column_type})",
        quote(column)
    )))
    .execute(tx.connection())
    .await
    .map(|_| ());
    if result.is_ok() {
        result = sqlx::query(sqlx::AssertSqlSafe(tenant_policy_statement(
            table, column, key_type,
        )))
        .execute(tx.connection())
        .await
        .map(|_| ());
    }
    let text = match result {
        Ok(()) => sqlx::query_scalar(
            "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy
             WHERE polrelid = 'pg_temp.__tenant_doctor_probe'::regclass",
        )
        .fetch_one(tx.connection())
        .await
        .map(Some),
        Err(e) => Err(e),
    };
    tx.rollback().await?;
    match text {
        Ok(text) => Ok(text),
        Err(sqlx::Error::Database(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether two `pg_get_expr` texts are the same expression (whitespace runs
/// compared as one space).
fn same_expression(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// A policy as read from `pg_policy`.
struct Policy {
    name: String,
    permissive: bool,
    /// `polcmd`: `*` (ALL), `r` (SELECT), `a` (INSERT), `w` (UPDATE), `d`
    /// (DELETE).
    command: String,
    /// Whether it applies to the connecting role (PUBLIC, or a role whose
    /// rights the role has).
    applies: bool,
    /// Whether the connecting role could take it on: it applies, or the
    /// role is a member (even without `INHERIT`: `SET ROLE` reaches it).
    reachable: bool,
    roles: String,
    using: Option<String>,
    check: Option<String>,
}

impl Policy {
    fn describe(&self) -> String {
        let command = match self.command.as_str() {
            "r" => "SELECT",
            "a" => "INSERT",
            "w" => "UPDATE",
            "d" => "DELETE",
            _ => "ALL",
        };
        let mut text = format!(
            "{} ({}, FOR {command}, TO {})",
            quote(&self.name),
            if self.permissive {
                "permissive"
            } else {
                "restrictive"
            },
            self.roles
        );
        if let Some(using) = &self.using {
            text.push_str(&format!(" USING {using}"));
        }
        if let Some(check) = &self.check {
            text.push_str(&format!(" WITH CHECK {check}"));
        }
        text
    }

    /// `IS NULL OR ..`, `true`, `= ''`: lets rows through when the setting
    /// is unset. Only used to name the failure more precisely; the verdict
    /// itself comes from comparing with the expected expression.
    fn open_when_unset(&self) -> bool {
        [&self.using, &self.check].into_iter().flatten().any(|t| {
            let upper = t.to_uppercase();
            upper.contains("IS NULL") || upper.trim() == "TRUE" || upper.contains("= ''")
        })
    }
}

/// A `pg_policy` row as selected: name, permissive, command, applies to
/// the role, roles, `USING` text, `WITH CHECK` text.
type PolicyRow = (
    String,
    bool,
    String,
    bool,
    bool,
    String,
    Option<String>,
    Option<String>,
);

/// What the policies of one table amount to.
struct PolicyVerdict {
    /// Permissive policies applying to the role cover SELECT, INSERT,
    /// UPDATE and DELETE with exactly the tenant comparison.
    present: bool,
    /// Permissive policies with any other expression.
    leaks: Vec<Policy>,
    /// Restrictive policies (only narrow).
    restrictive: Vec<String>,
    /// Permissive policies with another expression for roles the
    /// connecting role is not (a cross-tenant role's).
    other_roles: Vec<Policy>,
    /// Count of permissive policies with exactly the tenant comparison.
    tenant_policies: usize,
}

async fn policies_of(pool: &PgPool, oid: Oid, expected: &str) -> Result<PolicyVerdict, Error> {
    let rows: Vec<PolicyRow> = sqlx::query_as(
        "SELECT p.polname::text, p.polpermissive, p.polcmd::text,
                0 = ANY(p.polroles) OR EXISTS (
                    SELECT 1 FROM unnest(p.polroles) AS r(oid)
                    WHERE r.oid <> 0 AND pg_has_role(current_user, r.oid, 'USAGE')),
                0 = ANY(p.polroles) OR EXISTS (
                    SELECT 1 FROM unnest(p.polroles) AS r(oid)
                    WHERE r.oid <> 0 AND pg_has_role(current_user, r.oid, 'MEMBER')),
                CASE WHEN 0 = ANY(p.polroles) THEN 'PUBLIC' ELSE coalesce((
                    SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname)
                    FROM pg_roles WHERE oid = ANY(p.polroles)), '?') END,
                pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
         FROM pg_policy p WHERE p.polrelid = $1 ORDER BY 1",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?;
    let is_tenant = |e: &Option<String>| e.as_deref().is_some_and(|e| same_expression(e, expected));
    let mut covered = [false; 4]; // SELECT, INSERT, UPDATE, DELETE
    let mut verdict = PolicyVerdict {
        present: false,
        leaks: Vec::new(),
        restrictive: Vec::new(),
        other_roles: Vec::new(),
        tenant_policies: 0,
    };
    for (name, permissive, command, applies, member, roles, using, check) in rows {
        let policy = Policy {
            name,
            permissive,
            command,
            applies,
            reachable: applies || member,
            roles,
            using,
            check,
        };
        if !policy.permissive {
            verdict.restrictive.push(policy.name);
            continue;
        }
        // A missing expression adds nothing (PostgreSQL ignores it); any
        // present one must be the tenant comparison.
        let only_tenant = [&policy.using, &policy.check]
            .into_iter()
            .all(|e| e.is_none() || is_tenant(e));
        if !only_tenant {
            // A policy for other roles only (the cross-tenant role's,
            // `rls::cross_tenant_policy_sql`) widens nothing for this one.
            if policy.reachable {
                verdict.leaks.push(policy);
            } else {
                verdict.other_roles.push(policy);
            }
            continue;
        }
        verdict.tenant_policies += 1;
        if !policy.applies {
            continue;
        }
        // WITH CHECK defaults to USING for ALL and UPDATE policies.
        let using_ok = is_tenant(&policy.using);
        let check_ok = match &policy.check {
            Some(_) => is_tenant(&policy.check),
            None => matches!(policy.command.as_str(), "*" | "w") && using_ok,
        };
        let all = policy.command == "*";
        covered[0] |= (all || policy.command == "r") && using_ok;
        covered[1] |= (all || policy.command == "a") && check_ok;
        covered[2] |= (all || policy.command == "w") && using_ok && check_ok;
        covered[3] |= (all || policy.command == "d") && using_ok;
    }
    verdict.present = covered.iter().all(|c| *c);
    Ok(verdict)
}

/// A tenant model's table as found in the catalog.
struct Table<'a> {
    model: &'a ModelInfo,
    oid: Oid,
    enabled: bool,
    forced: bool,
    /// `pg_get_expr` text of the tenant comparison on this table.
    expected: &'a str,
}

async fn check_table(
    pool: &PgPool,
    report: &mut Report,
    subject: &str,
    t: &Table<'_>,
    tenant_oids: &[Oid],
) -> Result<(), Error> {
    let oid = t.oid;
    let table = quote(t.model.table);
    let column = t.model.tenant_column.unwrap_or_default();
    report.push(subject, "rls_enabled", t.enabled, if t.enabled {
        "row-level security is enabled".into()
    } else {
        format!("row-level security is disabled: no policy applies. Fix: ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;")
    });
    report.push(subject, "rls_forced", t.forced, if t.forced {
        "row-level security is forced (applies to the owner too)".into()
    } else {
        format!("row-level security is not forced: the table owner bypasses the policies. Fix: ALTER TABLE {table} FORCE ROW LEVEL SECURITY;")
    });

    let verdict = policies_of(pool, oid, t.expected).await?;
    for policy in &verdict.leaks {
        let name = quote(&policy.name);
        let fix = if policy.name == POLICY_NAME {
            "Fix: re-apply tenant_core::rls::policy_sql (it drops and recreates it).".to_owned()
        } else {
            format!(
                "Fix: DROP POLICY {name} ON {table}; (a condition meant to narrow access belongs in a policy created AS RESTRICTIVE)."
            )
        };
        if policy.open_when_unset() {
            report.push(subject, "policy_not_open_when_unset", false, format!(
                "policy {} lets rows through when {TENANT_SETTING} is unset. Replace it with the policy from tenant_core::rls::policy_sql. {fix}",
                policy.describe()
            ));
        } else {
            report.push(subject, "policy_admits_only_tenant", false, format!(
                "policy {} admits rows the tenant comparison {} does not: permissive policies are OR-ed, so it widens what every tenant may read or write. {fix}",
                policy.describe(), t.expected
            ));
        }
    }
    if verdict.leaks.is_empty() {
        let mut detail = format!(
            "every permissive policy admits only the tenant's rows ({})",
            t.expected
        );
        if !verdict.restrictive.is_empty() {
            detail.push_str(&format!(
                "; restrictive {} only narrow that",
                join_quoted(&verdict.restrictive)
            ));
        }
        for policy in &verdict.other_roles {
            detail.push_str(&format!(
                "; {} applies only to roles this role is not and cannot become",
                policy.describe()
            ));
        }
        report.push(subject, "policy_admits_only_tenant", true, detail);
    }
    report.push(subject, "policy_present", verdict.present, if verdict.present {
        format!("a policy compares {} with current_setting('{TENANT_SETTING}') for every command", quote(column))
    } else {
        format!(
            "no permissive policy applying to this role compares {} with current_setting('{TENANT_SETTING}', true) exactly as tenant_core::rls::policy_sql does ({}) for SELECT, INSERT, UPDATE and DELETE: with RLS on, the table shows nothing; off, everything. Fix: apply tenant_core::rls::policy_sql.",
            quote(column),
            t.expected
        )
    });

    let attr: Option<(i16, bool)> = sqlx::query_as(
        "SELECT attnum, attnotnull FROM pg_attribute WHERE attrelid = $1 AND attname = $2 AND NOT attisdropped",
    )
    .bind(oid)
    .bind(column)
    .fetch_optional(pool)
    .await?;
    let Some((attnum, not_null)) = attr else {
        report.push(
            subject,
            "tenant_column_exists",
            false,
            format!("has no column {}", quote(column)),
        );
        return Ok(());
    };
    report.push(subject, "tenant_not_null", not_null, if not_null {
        format!("{} is NOT NULL", quote(column))
    } else {
        format!("{} allows NULL: a row without a tenant belongs to nobody and can leak through careless queries. Fix: ALTER TABLE {table} ALTER COLUMN {} SET NOT NULL;", quote(column), quote(column))
    });

    let leading: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_index WHERE indrelid = $1 AND indkey[0] = $2")
            .bind(oid)
            .bind(attnum)
            .fetch_one(pool)
            .await?;
    report.push(subject, "tenant_index", leading > 0, if leading > 0 {
        format!("an index leads with {}", quote(column))
    } else {
        format!("no index leads with {}: every tenant-scoped query scans the table. Fix: CREATE INDEX ON {table} ({}, ...);", quote(column), quote(column))
    });

    let unique_without: Vec<String> = sqlx::query_scalar(
        "SELECT indexrelid::regclass::text FROM pg_index
         WHERE indrelid = $1 AND indisunique AND NOT ($2 = ANY(indkey::int2[])) ORDER BY 1",
    )
    .bind(oid)
    .bind(attnum)
    .fetch_all(pool)
    .await?;
    report.push(subject, "unique_includes_tenant", unique_without.is_empty(), if unique_without.is_empty() {
        format!("every unique key includes {}", quote(column))
    } else {
        format!("unique {} without {}: one tenant's insert fails because of another tenant's row, revealing it exists. Make each unique key ({}, ...).",
            unique_without.join(", "), quote(column), quote(column))
    });

    let fks: Vec<(String, Oid)> = sqlx::query_as(
        "SELECT conname::text, confrelid FROM pg_constraint
         WHERE conrelid = $1 AND contype = 'f' AND NOT ($2 = ANY(conkey)) ORDER BY 1",
    )
    .bind(oid)
    .bind(attnum)
    .fetch_all(pool)
    .await?;
    let bad_fks: Vec<String> = fks
        .into_iter()
        .filter(|(_, target)| tenant_oids.contains(target))
        .map(|(name, _)| quote(&name))
        .collect();
    report.push(subject, "foreign_keys_include_tenant", bad_fks.is_empty(), if bad_fks.is_empty() {
        format!("foreign keys to tenant tables include {}", quote(column))
    } else {
        format!("foreign key {} to a tenant table leaves out {}: a child row can point at another tenant's parent. Use FOREIGN KEY ({}, ..) REFERENCES parent ({}, ..).",
            bad_fks.join(", "), quote(column), quote(column), quote(column))
    });
    Ok(())
}

/// A partition or inheritance child of a tenant table, at any depth.
struct Child {
    oid: Oid,
    /// `regclass` text (quoted and qualified as needed).
    name: String,
    /// `regclass` text of its direct parent.
    parent: String,
    is_partition: bool,
    enabled: bool,
    forced: bool,
    /// The privileges the connecting role has on it (table or any column).
    privileges: Vec<String>,
}

/// Every table inheriting, directly or not, from `oid` (partitions are
/// inheritance children in `pg_inherits` too).
async fn children_of(pool: &PgPool, oid: Oid) -> Result<Vec<Child>, Error> {
    let rows: Vec<ChildRow> = sqlx::query_as(
        "WITH RECURSIVE tree (oid, parent, depth) AS (
             SELECT inhrelid, inhparent, 1 FROM pg_inherits WHERE inhparent = $1
             UNION
             SELECT i.inhrelid, i.inhparent, t.depth + 1
             FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid
             WHERE t.depth < 100
         ), children AS (
             SELECT DISTINCT ON (c.oid) c.oid, c.oid::regclass::text AS name,
                    t.parent::regclass::text AS parent, t.depth,
                    c.relispartition AS is_partition,
                    c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
                    array_remove(ARRAY[
                        CASE WHEN has_any_column_privilege(c.oid, 'SELECT') THEN 'SELECT' END,
                        CASE WHEN has_any_column_privilege(c.oid, 'INSERT') THEN 'INSERT' END,
                        CASE WHEN has_any_column_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,
                        CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END,
                        CASE WHEN has_table_privilege(c.oid, 'TRUNCATE') THEN 'TRUNCATE' END
                    ], NULL) AS privileges
             FROM tree t JOIN pg_class c ON c.oid = t.oid
             ORDER BY c.oid, t.depth
         )
         SELECT oid, name, parent, is_partition, enabled, forced, privileges
         FROM children ORDER BY depth, name",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(oid, name, parent, is_partition, enabled, forced, privileges)| Child {
                oid,
                name,
                parent,
                is_partition,
                enabled,
                forced,
                privileges,
            },
        )
        .collect())
}

/// The columns of [`Child`], as selected.
type ChildRow = (Oid, String, String, bool, bool, bool, Vec<String>);

async fn check_child(
    pool: &PgPool,
    report: &mut Report,
    role: &str,
    model: &ModelInfo,
    child: &Child,
    expected: &str,
) -> Result<(), Error> {
    let column = model.tenant_column.unwrap_or_default();
    let kind = if child.is_partition {
        "partition"
    } else {
        "inheritance child"
    };
    let subject = format!("table {} ({kind} of {})", child.name, child.parent);
    if child.privileges.is_empty() {
        report.push(
            &subject,
            "child_table_protected",
            true,
            format!(
                "the serving role has no privilege on it: it is reached only through {}",
                quote(model.table)
            ),
        );
        return Ok(());
    }
    let verdict = policies_of(pool, child.oid, expected).await?;
    let mut problems = Vec::new();
    if !child.enabled {
        problems.push("row-level security is disabled".to_owned());
    }
    if !child.forced {
        problems.push("row-level security is not forced".to_owned());
    }
    if !verdict.present {
        problems.push(format!("no tenant policy ({expected})"));
    }
    for leak in &verdict.leaks {
        problems.push(format!("policy {} admits other rows", leak.describe()));
    }
    let name = &child.name;
    report.push(
        &subject,
        "child_table_protected",
        problems.is_empty(),
        if problems.is_empty() {
            format!(
                "row-level security is enabled and forced with the tenant policy (read directly, its own policies apply, not {}'s)",
                child.parent
            )
        } else {
            format!(
                "the serving role has {} on it, and a {kind} queried directly applies its own policies, not those of {}: {}. Every tenant's rows in it are exposed. Fix: REVOKE ALL ON {name} FROM {}; or protect it too: ALTER TABLE {name} ENABLE ROW LEVEL SECURITY; ALTER TABLE {name} FORCE ROW LEVEL SECURITY; {}{}",
                child.privileges.join(", "),
                child.parent,
                problems.join("; "),
                quote(role),
                tenant_policy_statement(name, column, model.tenant_key_type),
                if verdict.leaks.is_empty() {
                    String::new()
                } else {
                    format!(
                        " {}",
                        verdict
                            .leaks
                            .iter()
                            .map(|l| format!("DROP POLICY {} ON {name};", quote(&l.name)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }
            )
        },
    );
    Ok(())
}

/// A `#[tenant(global)]` model reads and rewrites every row of its table
/// with no scope: the table must not hold tenant data.
async fn check_global_models(
    pool: &PgPool,
    report: &mut Report,
    models: &[ModelInfo],
    tenant_models: &[&ModelInfo],
    tenant_tables: &[(Oid, &ModelInfo)],
) -> Result<(), Error> {
    let tenant_columns = tenant_columns(tenant_models);
    for model in models.iter().filter(|m| m.tenant_column.is_none()) {
        let table = quote(model.table);
        let subject = format!("table {table} (global)");
        type Row = (Oid, bool, Vec<String>, Vec<String>, Vec<String>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT c.oid, c.relrowsecurity,
                    ARRAY(SELECT polname::text FROM pg_policy WHERE polrelid = c.oid ORDER BY 1),
                    ARRAY(SELECT attname::text FROM pg_attribute
                          WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped
                            AND attname::text = ANY($2) ORDER BY attnum),
                    ARRAY(SELECT a.attname::text FROM pg_constraint k
                          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
                          WHERE k.conrelid = c.oid AND k.contype = 'p' ORDER BY 1)
             FROM pg_class c WHERE c.oid = to_regclass($1)",
        )
        .bind(&table)
        .bind(&tenant_columns)
        .fetch_optional(pool)
        .await?;
        let Some((oid, rls, policies, mut columns, live_key)) = row else {
            report.push(
                &subject,
                "table_exists",
                false,
                "does not exist (or is not on the search_path). Fix: create it (run the migrations)."
                    .into(),
            );
            continue;
        };
        // Its own key (only if it is the table's real single-column key: a
        // global model cannot claim the tenant column as its key) and the
        // columns it declares unscoped hold tenant ids on purpose.
        let live_key: Vec<&str> = live_key.iter().map(String::as_str).collect();
        columns.retain(|c| !model.holds_tenant_ids_on_purpose(c, &live_key, |a, b| a == b));
        let mut problems = Vec::new();
        let mut undo = Vec::new();
        let also_tenant = tenant_tables
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, m)| *m);
        if let Some(tenant) = also_tenant {
            problems.push(format!(
                "it is also the table of a tenant model (tenant column {})",
                quote(tenant.tenant_column.unwrap_or_default())
            ));
        }
        if rls {
            problems.push("row-level security is enabled on it".to_owned());
            undo.push(format!("ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"));
        }
        if !policies.is_empty() {
            problems.push(format!("it has policies {}", join_quoted(&policies)));
            undo.extend(
                policies
                    .iter()
                    .map(|p| format!("DROP POLICY {} ON {table};", quote(p))),
            );
        }
        if !columns.is_empty() {
            problems.push(format!(
                "it has column {}, named like a tenant column",
                join_quoted(&columns)
            ));
            undo.push(format!("rename {}", join_quoted(&columns)));
        }
        push_global_verdict(
            report,
            &subject,
            Backend::Postgres,
            &GlobalVerdict {
                problems,
                undo,
                also_tenant: also_tenant.is_some(),
                columns: &columns,
                clean: "no row-level security, no policy, no tenant column",
            },
        );
    }
    Ok(())
}
