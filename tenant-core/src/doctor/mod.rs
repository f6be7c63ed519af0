//! The schema doctor: inspects a live database against the registered
//! models and reports, check by check, whether the database backs the
//! tenant isolation the query builders give.
//!
//! - **PostgreSQL** (`diagnose`, feature `postgres`): row-level security
//!   is a second layer under the builders. The doctor checks that it really
//!   protects each tenant table (enabled, forced, a policy admitting only the
//!   tenant's rows, no permissive policy widening it, partitions, children
//!   and views included) and that the serving role is one it applies to.
//! - **MySQL / MariaDB** (`diagnose_mysql`, feature `mysql`): there is no
//!   row-level security, so the builders' tenant predicate is the only
//!   layer. The doctor checks what the database can do to keep that
//!   predicate exact and tenants apart: a `NOT NULL` tenant column with a
//!   binary collation, keys and foreign keys that include the tenant
//!   column, a serving user that cannot alter, drop or re-grant, and a
//!   strict `sql_mode`.
//!
//! Both return a [`Report`]: one [`Finding`] per check and subject, each
//! with a stable check name and, for a failure, why it matters and the SQL
//! that fixes it. Print it, and fail a deployment step when
//! [`Report::passed`] is `false`:
//!
//! ```
//! use tenant_core::doctor::{Finding, Report};
//!
//! fn gate(report: &Report) -> Result<(), String> {
//!     if report.passed() {
//!         Ok(())
//!     } else {
//!         Err(report.to_string())
//!     }
//! }
//!
//! let mut report = Report::default();
//! report.findings.push(Finding {
//!     subject: "table `invoices` (tenant column `tenant_id`)".into(),
//!     check: "tenant_not_null",
//!     passed: true,
//!     detail: "`tenant_id` is NOT NULL".into(),
//! });
//! assert!(gate(&report).is_ok());
//! ```

use std::fmt;

use crate::backend::Backend;
use crate::rls::ModelInfo;
use crate::sql::quoted;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "mysql")]
pub use mysql::diagnose_mysql;
#[cfg(feature = "postgres")]
pub use postgres::{diagnose, diagnose_cross_tenant};

/// One check and its outcome.
///
/// ```
/// use tenant_core::doctor::Finding;
///
/// let finding = Finding {
///     subject: "table `invoices` (tenant column `tenant_id`)".into(),
///     check: "tenant_collation_binary",
///     passed: false,
///     detail: "`tenant_id` has collation utf8mb4_general_ci: ... Fix: ALTER TABLE ...".into(),
/// };
/// assert_eq!(finding.check, "tenant_collation_binary");
/// assert!(finding.detail.contains("Fix:"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked: `role "app"`, `table "invoices"`, `view "v"`
    /// (PostgreSQL); ``user `app`@`%` ``, `` table `invoices` ``, `session`
    /// (MySQL).
    pub subject: String,
    /// Stable identifier of the check, e.g. `rls_forced`.
    pub check: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, and for a failure, why it matters and how to fix it
    /// (`Fix:` followed by the SQL, where SQL fixes it).
    pub detail: String,
}

/// Everything the doctor found.
///
/// ```
/// use tenant_core::doctor::{Finding, Report};
///
/// let report = Report {
///     findings: vec![
///         Finding {
///             subject: "session".into(),
///             check: "sql_mode_strict",
///             passed: false,
///             detail: "sql_mode '' is not strict ...".into(),
///         },
///         Finding {
///             subject: "table `invoices` (tenant column `tenant_id`)".into(),
///             check: "tenant_not_null",
///             passed: true,
///             detail: "`tenant_id` is NOT NULL".into(),
///         },
///     ],
/// };
/// assert!(!report.passed());
/// assert_eq!(report.failures().count(), 1);
/// assert!(report.failed("session", "sql_mode_strict"));
/// assert!(!report.failed("invoices", "tenant_not_null"));
/// assert!(report.to_string().contains("1 of 2 checks failed"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The findings, grouped by subject in the order checked.
    pub findings: Vec<Finding>,
}

impl Report {
    /// `true` when every check passed.
    ///
    /// ```
    /// assert!(tenant_core::doctor::Report::default().passed());
    /// ```
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.passed)
    }

    /// The failed checks.
    ///
    /// ```
    /// use tenant_core::doctor::Report;
    ///
    /// assert_eq!(Report::default().failures().count(), 0);
    /// ```
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.passed)
    }

    /// Whether check `check` failed for a subject containing `subject`.
    ///
    /// ```
    /// use tenant_core::doctor::{Finding, Report};
    ///
    /// let report = Report {
    ///     findings: vec![Finding {
    ///         subject: "table `customers` (tenant column `tenant`)".into(),
    ///         check: "unique_leads_with_tenant",
    ///         passed: false,
    ///         detail: String::new(),
    ///     }],
    /// };
    /// assert!(report.failed("customers", "unique_leads_with_tenant"));
    /// assert!(!report.failed("invoices", "unique_leads_with_tenant"));
    /// ```
    pub fn failed(&self, subject: &str, check: &str) -> bool {
        self.failures()
            .any(|f| f.check == check && f.subject.contains(subject))
    }

    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
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

/// `names` quoted for `backend`, comma-separated.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn join_quoted<S: AsRef<str>>(backend: Backend, names: &[S]) -> String {
    names
        .iter()
        .map(|n| quoted(backend, n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tenant columns of `tenant_models`, sorted, without duplicates: the
/// names a global model's table must not have.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn tenant_columns(tenant_models: &[&ModelInfo]) -> Vec<&'static str> {
    let mut columns: Vec<&'static str> = tenant_models
        .iter()
        .filter_map(|m| m.tenant_column)
        .collect();
    columns.sort_unstable();
    columns.dedup();
    columns
}

/// What a backend found wrong with a global model's table.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
struct GlobalVerdict<'a> {
    /// Each problem, as a clause (`it has column "tenant_id", ...`).
    problems: Vec<String>,
    /// The statements that make the table plainly global, if it is meant
    /// to be.
    undo: Vec<String>,
    /// The table is also a tenant model's table.
    also_tenant: bool,
    /// Its columns named like a tenant column (not held on purpose).
    columns: &'a [String],
    /// What a passing table is, for the detail of a pass.
    clean: &'static str,
}

/// Pushes `global_table_is_tenant_table` for a global model's table: a
/// `#[tenant(global)]` model reads and rewrites every row of its table with
/// no scope, so the table must not look like tenant data.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn push_global_verdict(
    report: &mut Report,
    subject: &str,
    backend: Backend,
    verdict: &GlobalVerdict<'_>,
) {
    let passed = verdict.problems.is_empty();
    let detail = if passed {
        format!(
            "is global (shared by all tenants, declared #[tenant(global)]): {}",
            verdict.clean
        )
    } else {
        let fix = if verdict.also_tenant {
            "remove the #[tenant(global)] model and use the tenant model, which the compiler scopes"
                .to_owned()
        } else {
            format!(
                "if it holds tenant rows, make the model tenant-owned (#[tenant(tenant_id)] on {}); if it really is shared by all tenants: {}",
                if verdict.columns.is_empty() {
                    "its tenant column".to_owned()
                } else {
                    join_quoted(backend, verdict.columns)
                },
                verdict.undo.join(" ")
            )
        };
        format!(
            "is mapped by a #[tenant(global)] model, but {}: it looks like tenant data, and a global model reads and rewrites every tenant's rows with no scope. Fix: {}.",
            verdict.problems.join("; "),
            fix
        )
    };
    report.push(subject, "global_table_is_tenant_table", passed, detail);
}
