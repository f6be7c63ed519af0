//! The schema doctor: inspects a live PostgreSQL database against the
//! registered models and reports whether row-level security really protects
//! each tenant table, and whether the connecting role is one it applies to.
//!
//! ```no_run
//! # async fn run(pool: sqlx::PgPool) -> Result<(), tenant_core::Error> {
//! use tenant_core::rls::ModelInfo;
//! # #[derive(tenant_core::TenantModel)]
//! # #[tenant(table = "invoices")]
//! # struct Invoice { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: tenant_core::TenantId }
//!
//! let report = tenant_core::doctor::diagnose(&pool, &[ModelInfo::of::<Invoice>()]).await?;
//! print!("{report}");
//! if !report.passed() {
//!     std::process::exit(1);
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use sqlx::PgPool;

use crate::Error;
use crate::rls::{ModelInfo, TENANT_SETTING};

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked: `role "app"`, `table "invoices"`, `view "v"`.
    pub subject: String,
    /// Stable identifier of the check, e.g. `rls_forced`.
    pub check: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, and for a failure, why it matters and how to fix it.
    pub detail: String,
}

/// Everything the doctor found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The findings, grouped by subject in the order checked.
    pub findings: Vec<Finding>,
}

impl Report {
    /// `true` when every check passed.
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.passed)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.passed)
    }

    /// Whether check `check` failed for a subject containing `subject`.
    pub fn failed(&self, subject: &str, check: &str) -> bool {
        self.failures()
            .any(|f| f.check == check && f.subject.contains(subject))
    }

    fn push(&mut self, subject: &str, check: &'static str, passed: bool, detail: String) {
        self.findings.push(Finding {
            subject: subject.to_owned(),
            check,
            passed,
            detail,
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut subject = "";
        for finding in &self.findings {
            if finding.subject != subject {
                subject = &finding.subject;
                writeln!(f, "{subject}")?;
            }
            let mark = if finding.passed { "ok  " } else { "FAIL" };
            writeln!(f, "  {mark} {}", finding.detail)?;
        }
        let failures = self.failures().count();
        if failures == 0 {
            writeln!(f, "\nAll {} checks passed.", self.findings.len())
        } else {
            writeln!(
                f,
                "\n{failures} of {} checks failed: tenant isolation is not backed by the database until they are fixed.",
                self.findings.len()
            )
        }
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Inspects the database behind `pool`, as the role `pool` connects as,
/// against `models`. Global models are only listed; every tenant model's
/// table is checked for:
///
/// - row-level security enabled and forced;
/// - a policy comparing the tenant column with `app.tenant_id`, and no
///   permissive policy that lets rows through when the setting is unset
///   (`IS NULL OR ..`, `true`);
/// - the tenant column `NOT NULL`;
/// - an index whose first column is the tenant column;
/// - every unique constraint and unique index including the tenant column;
/// - every foreign key to another tenant table including the tenant column.
///
/// The role must not be a superuser, must lack `BYPASSRLS` and must own no
/// tenant table; views (and materialized views) reading tenant tables must
/// be `security_invoker`.
pub async fn diagnose(pool: &PgPool, models: &[ModelInfo]) -> Result<Report, Error> {
    let mut report = Report::default();
    let (role, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    let role_subject = format!("role {}", quote(&role));
    report.push(
        &role_subject,
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
        &role_subject,
        "role_no_bypassrls",
        !bypass,
        if bypass {
            format!(
                "has BYPASSRLS: policies never apply to it. Fix: ALTER ROLE {} NOBYPASSRLS;",
                quote(&role)
            )
        } else {
            "does not have BYPASSRLS".into()
        },
    );

    let tenant_models: Vec<&ModelInfo> = models
        .iter()
        .filter(|m| m.tenant_column.is_some())
        .collect();
    let mut tenant_oids: Vec<u32> = Vec::new();
    let mut owned: Vec<&str> = Vec::new();
    let mut tables = Vec::new();
    for model in &tenant_models {
        let row: Option<(sqlx::postgres::types::Oid, bool, bool, String)> = sqlx::query_as(
            "SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner)::text
             FROM pg_class c WHERE c.oid = to_regclass($1)",
        )
        .bind(quote(model.table))
        .fetch_optional(pool)
        .await?;
        if let Some((oid, _, _, owner)) = &row {
            tenant_oids.push(oid.0);
            if *owner == role {
                owned.push(model.table);
            }
        }
        tables.push((*model, row));
    }
    report.push(
        &role_subject,
        "role_owns_no_tenant_table",
        owned.is_empty(),
        if owned.is_empty() {
            "owns no tenant table".into()
        } else {
            format!(
                "owns {}: an owner can disable or drop the policies. Run migrations as another role and serve as one that owns nothing.",
                owned.iter().map(|t| quote(t)).collect::<Vec<_>>().join(", ")
            )
        },
    );

    for (model, row) in tables {
        let column = model.tenant_column.unwrap_or_default();
        let subject = format!(
            "table {} (tenant column {})",
            quote(model.table),
            quote(column)
        );
        let Some((oid, enabled, forced, _)) = row else {
            report.push(
                &subject,
                "table_exists",
                false,
                "does not exist (or is not on the search_path)".into(),
            );
            continue;
        };
        check_table(
            pool,
            &mut report,
            &subject,
            model,
            oid,
            enabled,
            forced,
            &tenant_oids,
        )
        .await?;
    }

    for model in models.iter().filter(|m| m.tenant_column.is_none()) {
        report.push(
            &format!("table {}", quote(model.table)),
            "global_table",
            true,
            "is global (shared by all tenants, declared #[tenant(global)]): not checked".into(),
        );
    }

    let oids: Vec<sqlx::postgres::types::Oid> = tenant_oids
        .iter()
        .map(|o| sqlx::postgres::types::Oid(*o))
        .collect();
    let views: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT DISTINCT v.oid::regclass::text, v.relkind::text,
                coalesce(array_to_string(v.reloptions, ',') ~* 'security_invoker=(true|on|1|yes)', false)
         FROM pg_rewrite r
         JOIN pg_class v ON v.oid = r.ev_class
         JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
         WHERE d.refobjid = ANY($1) AND v.relkind IN ('v', 'm') AND v.oid <> d.refobjid
         ORDER BY 1",
    )
    .bind(&oids)
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

#[allow(clippy::too_many_arguments)]
async fn check_table(
    pool: &PgPool,
    report: &mut Report,
    subject: &str,
    model: &ModelInfo,
    oid: sqlx::postgres::types::Oid,
    enabled: bool,
    forced: bool,
    tenant_oids: &[u32],
) -> Result<(), Error> {
    let table = quote(model.table);
    let column = model.tenant_column.unwrap_or_default();
    report.push(subject, "rls_enabled", enabled, if enabled {
        "row-level security is enabled".into()
    } else {
        format!("row-level security is disabled: no policy applies. Fix: ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;")
    });
    report.push(subject, "rls_forced", forced, if forced {
        "row-level security is forced (applies to the owner too)".into()
    } else {
        format!("row-level security is not forced: the table owner bypasses the policies. Fix: ALTER TABLE {table} FORCE ROW LEVEL SECURITY;")
    });

    let policies: Vec<(String, bool, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT polname::text, polpermissive, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)
         FROM pg_policy WHERE polrelid = $1 ORDER BY polname",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?;
    let reads_setting = |expr: &Option<String>| {
        expr.as_deref().is_some_and(|e| {
            e.contains(&format!("current_setting('{TENANT_SETTING}'")) && e.contains(column)
        })
    };
    let mut has_tenant_policy = false;
    for (name, permissive, qual, check) in &policies {
        let texts = [
            qual.as_deref().unwrap_or(""),
            check.as_deref().unwrap_or(""),
        ];
        let open_when_unset = texts.iter().any(|t| {
            let upper = t.to_uppercase();
            upper.contains("IS NULL") || upper.trim() == "TRUE" || upper.contains("= ''")
        });
        if *permissive && open_when_unset {
            report.push(subject, "policy_not_open_when_unset", false, format!(
                "policy {} lets rows through when {TENANT_SETTING} is unset ({}). Replace it with the policy from tenant_core::rls::policy_sql.",
                quote(name), texts.iter().filter(|t| !t.is_empty()).cloned().collect::<Vec<_>>().join(" / ")
            ));
        }
        if reads_setting(qual) && (check.is_none() || reads_setting(check)) {
            has_tenant_policy = true;
        }
    }
    report.push(subject, "policy_present", has_tenant_policy, if has_tenant_policy {
        format!("a policy compares {} with current_setting('{TENANT_SETTING}')", quote(column))
    } else {
        format!("no policy compares {} with current_setting('{TENANT_SETTING}', true): with RLS on, the table shows nothing; off, everything. Apply tenant_core::rls::policy_sql.", quote(column))
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

    let fks: Vec<(String, sqlx::postgres::types::Oid)> = sqlx::query_as(
        "SELECT conname::text, confrelid FROM pg_constraint
         WHERE conrelid = $1 AND contype = 'f' AND NOT ($2 = ANY(conkey)) ORDER BY 1",
    )
    .bind(oid)
    .bind(attnum)
    .fetch_all(pool)
    .await?;
    let bad_fks: Vec<String> = fks
        .into_iter()
        .filter(|(_, target)| tenant_oids.contains(&target.0))
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
