//! The command line: `serve` (the default), `migrate`, `doctor`,
//! `snapshot`, `tenant ...` and `jobs ...` (background jobs on Redis), on `sqlite:`, `postgres://` or `mysql://` (`--database-url`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use tenant_core::{Backend, TenantDb, TenantId};

use crate::config::{AppConfig, Limits, PlanLimits};
use crate::metering::{BillingSink, JsonLinesSink, NoopSink};
use crate::models::Plan;
use crate::state::AppState;
use crate::tenants::{self, CreatedTenant};

/// The database used when neither `--database-url` nor `DATABASE_URL` is set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://demo.db";

/// Multi-tenant invoice service (shared schema; the tenant comes from the API key).
#[derive(Debug, Parser)]
#[command(name = "demo-app", version)]
pub struct Cli {
    /// Database: `sqlite://FILE`, `sqlite::memory:`, `postgres://USER@HOST:PORT/DB`
    /// or `mysql://USER[:PASSWORD]@HOST:PORT/DB` (MariaDB 10.5+).
    // `--help` does not print the environment's value: it may hold a password.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL,
        global = true
    )]
    pub database_url: String,

    /// Largest number of pooled database connections.
    #[arg(
        long,
        env = "DEMO_DB_MAX_CONNECTIONS",
        default_value_t = 8,
        global = true
    )]
    pub db_max_connections: u32,

    /// Database URL of the cross-tenant role, for the admin report
    /// (`admin usage`, `GET /admin/tenants/usage`). Required on PostgreSQL,
    /// whose serving role reads one tenant at a time under row-level
    /// security; elsewhere the admin report reads through `--database-url`.
    #[arg(
        long,
        env = "ADMIN_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub admin_database_url: Option<String>,

    /// Seconds a request waits for a database connection before answering 503.
    #[arg(
        long,
        env = "DEMO_DB_ACQUIRE_TIMEOUT",
        default_value_t = 3.0,
        global = true
    )]
    pub db_acquire_timeout: f64,

    /// What to do; `serve` (with its defaults and `DEMO_*` environment
    /// variables) when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Create or update the schema (and, on PostgreSQL, the row-level
    /// security policies), then exit. Run it as the tables' owner.
    Migrate {
        /// Role that will serve the app, granted DML on every table and
        /// nothing more: a PostgreSQL role (owning no table, so the
        /// policies apply to it), or an existing MySQL account `USER` or
        /// `USER@HOST` (no DDL, no GRANT OPTION).
        #[arg(long)]
        app_role: Option<String>,
    },
    /// Check the schema against the models (every backend), and that the
    /// database backs tenant isolation: on PostgreSQL row-level security
    /// (enabled and forced, policies, keys, the serving role), on MySQL the
    /// tenant columns (NOT NULL, binary collation), keys, the serving user's
    /// grants and a strict sql_mode; exits non-zero when a check fails. Run
    /// it as the role that serves the app.
    Doctor,
    /// Record the live schema (every table and view) as a snapshot file for
    /// the compile-time schema check: with `tenant-schema.json` in the
    /// crate's root, `#[derive(TenantModel)]` checks each model against it
    /// (see `tenant_core::snapshot`). Run it after `migrate`; commit the file.
    Snapshot {
        /// Where to write it.
        #[arg(long, default_value = tenant_core::snapshot::SNAPSHOT_FILE)]
        out: PathBuf,
    },
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Operator commands over every tenant, through the audited
    /// cross-tenant capability.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Background jobs on Redis: monthly invoice reminders (the only
    /// commands that need Redis).
    #[command(subcommand)]
    Jobs(JobsCommand),
}

/// `admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Every tenant's invoice count and invoiced amount (one audited
    /// cross-tenant read; the audit event goes to the log).
    Usage,
}

/// `jobs ...`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Queue one invoice-reminder job per tenant of the directory.
    EnqueueReminders {
        /// The queue.
        #[command(flatten)]
        queue: QueueArgs,
        /// The month the reminders are for, `YYYY-MM` (default: this month, UTC).
        #[arg(long)]
        month: Option<String>,
    },
    /// Run the reminder jobs: each counts its tenant's open invoices and
    /// prints a reminder. Runs until Ctrl-C, or until the queue is empty
    /// with `--drain`.
    Work {
        /// The queue.
        #[command(flatten)]
        queue: QueueArgs,
        /// Stop when the queue stays empty for a second.
        #[arg(long)]
        drain: bool,
        /// The worker's name: a restarted worker with the same name takes
        /// back the jobs it had not finished.
        #[arg(long, default_value = "reminder-worker")]
        name: String,
    },
}

/// Where the job queue is.
#[derive(Debug, Clone, Args)]
pub struct QueueArgs {
    /// Redis URL.
    #[arg(
        long,
        env = "REDIS_URL",
        hide_env_values = true,
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// Queue name (1-100 of `A-Z a-z 0-9 _ - . :`).
    #[arg(long, default_value = crate::reminders::DEFAULT_QUEUE)]
    pub queue: String,
}

impl QueueArgs {
    async fn open(
        &self,
    ) -> Result<tenant_jobs::JobQueue<crate::reminders::InvoiceReminder>, String> {
        tenant_jobs::JobQueue::connect(&self.redis_url, &self.queue)
            .await
            .map_err(|e| format!("cannot open the job queue {:?}: {e}", self.queue))
    }
}

/// `tenant ...`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; its new API key is printed alone on the last line.
    Create {
        /// Tenant id: 1-63 of `a-z 0-9 _ -`, starting with a letter or digit.
        id: String,
        /// Plan.
        #[arg(long, value_enum, default_value_t = PlanArg::Free)]
        plan: PlanArg,
    },
    /// List tenants.
    List,
    /// Replace a tenant's API key; the new key is printed alone on the last
    /// line and the old one stops working.
    RotateKey {
        /// Tenant id.
        id: String,
    },
}

/// A plan on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanArg {
    /// `free`.
    Free,
    /// `pro`.
    Pro,
}

impl From<PlanArg> for Plan {
    fn from(plan: PlanArg) -> Self {
        match plan {
            PlanArg::Free => Plan::Free,
            PlanArg::Pro => Plan::Pro,
        }
    }
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DEMO_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: String,

    /// Most invoices a `free` tenant may store.
    #[arg(long, env = "DEMO_FREE_MAX_INVOICES", default_value_t = 100, value_parser = clap::value_parser!(i64).range(0..))]
    pub free_max_invoices: i64,

    /// Most invoices a `pro` tenant may store (unlimited when unset).
    #[arg(long, env = "DEMO_PRO_MAX_INVOICES", value_parser = clap::value_parser!(i64).range(0..))]
    pub pro_max_invoices: Option<i64>,

    /// Requests per minute for a `free` tenant (off when unset).
    #[arg(long, env = "DEMO_FREE_RATE_LIMIT", value_parser = clap::value_parser!(u32).range(1..))]
    pub free_rate_limit: Option<u32>,

    /// Requests per minute for a `pro` tenant (off when unset).
    #[arg(long, env = "DEMO_PRO_RATE_LIMIT", value_parser = clap::value_parser!(u32).range(1..))]
    pub pro_rate_limit: Option<u32>,

    /// Append every usage event as a JSON line to this file (the billing hook).
    #[arg(long, env = "DEMO_BILLING_LOG")]
    pub billing_log: Option<PathBuf>,

    /// Domains whose subdomains are tenant hints (`acme.localhost`).
    #[arg(
        long = "base-domain",
        env = "DEMO_BASE_DOMAINS",
        value_delimiter = ',',
        default_value = "localhost"
    )]
    pub base_domains: Vec<String>,

    /// Do not create the demo tenants on a database without tenants.
    #[arg(long)]
    pub no_seed: bool,

    /// The operator's key for `/admin` routes (at least 32 characters);
    /// the admin API answers 403 when unset.
    #[arg(long, env = "ADMIN_API_KEY", hide_env_values = true, value_parser = parse_admin_key)]
    pub admin_key: Option<crate::admin::AdminKey>,
}

fn parse_admin_key(key: &str) -> Result<crate::admin::AdminKey, String> {
    crate::admin::AdminKey::parse(key)
}

impl ServeArgs {
    /// The options of a bare `serve`: defaults, overridden by `DEMO_*`
    /// environment variables.
    pub fn from_env() -> Result<Self, clap::Error> {
        let matches =
            ServeArgs::augment_args(clap::Command::new("serve")).try_get_matches_from(["serve"])?;
        ServeArgs::from_arg_matches(&matches)
    }

    /// The service settings these options describe.
    pub fn app_config(&self) -> AppConfig {
        AppConfig {
            limits: Limits {
                free: PlanLimits {
                    max_invoices: Some(self.free_max_invoices),
                    requests_per_minute: self.free_rate_limit,
                },
                pro: PlanLimits {
                    max_invoices: self.pro_max_invoices,
                    requests_per_minute: self.pro_rate_limit,
                },
            },
            base_domains: self.base_domains.clone(),
            admin_key: self.admin_key.clone(),
        }
    }
}

impl Cli {
    fn db_options(&self) -> tenant_core::TenantDbOptions {
        let options = tenant_core::TenantDbOptions::new()
            .max_connections(self.db_max_connections.max(1))
            .acquire_timeout(
                Duration::try_from_secs_f64(self.db_acquire_timeout)
                    .unwrap_or(Duration::from_secs(3)),
            );
        crate::config::db_options_for(&self.database_url, options)
    }
}

/// Runs the command line; errors are printed to stderr.
pub async fn run(cli: Cli) -> ExitCode {
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> Result<(), String> {
    let db = cli
        .db_options()
        .connect(&cli.database_url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let db = match &cli.admin_database_url {
        Some(url) => {
            let cross = tenant_core::TenantDbOptions::new()
                .max_connections(2)
                .connect(url)
                .await
                .map_err(|e| format!("cannot open the admin database: {e}"))?;
            db.with_cross_tenant(cross)
                .map_err(|e| format!("cannot use the admin database: {e}"))?
        }
        None => db,
    };
    // `migrate` always migrates; other commands only create a missing schema,
    // so the app can serve as a PostgreSQL role (or MySQL user) that owns
    // nothing.
    let migrate_now = matches!(cli.command, Some(Command::Migrate { .. }))
        || crate::db::needs_migration(&db)
            .await
            .map_err(|e| format!("cannot inspect the database: {e}"))?;
    if migrate_now {
        crate::db::migrate(&db).await.map_err(|e| {
            format!("cannot migrate the database (run it as the tables' owner): {e}")
        })?;
    }
    // The models must match the tables before anything runs on them; the
    // doctor reports a mismatch itself, with everything else it finds.
    if !matches!(cli.command, Some(Command::Doctor)) {
        let report = crate::db::verify(&db)
            .await
            .map_err(|e| format!("cannot check the schema: {e}"))?;
        if !report.passed() {
            db.close().await;
            return Err(format!(
                "refusing to start: {report}Fix the schema (or the models) and start again; `demo-app doctor` shows every check."
            ));
        }
    }
    let result = match cli.command {
        None => match ServeArgs::from_env() {
            Ok(args) => serve(&db, args).await,
            Err(err) => Err(err.to_string()),
        },
        Some(Command::Serve(args)) => serve(&db, args).await,
        Some(Command::Migrate { app_role }) => migrate(&db, app_role.as_deref()).await,
        Some(Command::Doctor) => doctor(&db).await,
        Some(Command::Snapshot { out }) => snapshot(&db, &out).await,
        Some(Command::Tenant(command)) => tenant(&db, command).await,
        Some(Command::Jobs(command)) => jobs(&db, command).await,
        Some(Command::Admin(AdminCommand::Usage)) => admin_usage(&db).await,
    };
    db.close().await;
    result
}

async fn migrate(db: &TenantDb, app_role: Option<&str>) -> Result<(), String> {
    if let Some(role) = app_role {
        crate::db::grant_app_role(db, role)
            .await
            .map_err(|e| format!("cannot grant {role:?} access: {e}"))?;
        println!("granted {role:?} read and write access to every table (it owns none)");
    }
    println!("the schema is up to date");
    Ok(())
}

async fn snapshot(db: &TenantDb, out: &std::path::Path) -> Result<(), String> {
    let snapshot = tenant_core::snapshot::Snapshot::record(db, &crate::db::models())
        .await
        .map_err(|e| format!("cannot record the schema: {e}"))?;
    snapshot
        .write(out)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!(
        "recorded {} tables of the {} schema in {}",
        snapshot.tables.len(),
        db.backend(),
        out.display()
    );
    Ok(())
}

async fn doctor(db: &TenantDb) -> Result<(), String> {
    let schema = crate::db::verify(db)
        .await
        .map_err(|e| format!("doctor failed: {e}"))?;
    println!("schema: {schema}");
    let isolation_failures = match crate::db::doctor(db)
        .await
        .map_err(|e| format!("doctor failed: {e}"))?
    {
        None => {
            println!(
                "SQLite has no row-level security: isolation rests on the builders' tenant predicate. \
                 Run the doctor against PostgreSQL or MySQL for the database's isolation checks."
            );
            0
        }
        Some(report) => {
            print!("{report}");
            report.failures().count()
        }
    };
    // PostgreSQL's checks are about row-level security; MySQL has none, and
    // its checks are about what keeps the builders' predicate exact.
    let checks = match db.backend() {
        Backend::Postgres => "row-level security",
        _ => "tenant isolation",
    };
    match (schema.mismatches.len(), isolation_failures) {
        (0, 0) => Ok(()),
        (schema, failed) => Err(format!(
            "{schema} schema mismatch(es), {failed} {checks} check(s) failed"
        )),
    }
}

async fn admin_usage(db: &TenantDb) -> Result<(), String> {
    let usage = crate::admin::tenant_usage(db)
        .await
        .map_err(|e| format!("cannot read the usage: {e}"))?;
    print!("{}", usage_table(&usage));
    Ok(())
}

/// The usage report as an aligned table.
fn usage_table(usage: &[crate::admin::TenantUsage]) -> String {
    let width = usage
        .iter()
        .map(|u| u.tenant.as_str().len())
        .chain([6])
        .max()
        .unwrap_or(6);
    let mut out = format!(
        "{:<width$}  {:<4}  {:>8}  {:>14}\n",
        "TENANT", "PLAN", "INVOICES", "INVOICED_CENTS"
    );
    for u in usage {
        out.push_str(&format!(
            "{:<width$}  {:<4}  {:>8}  {:>14}\n",
            u.tenant,
            u.plan.as_str(),
            u.invoices,
            u.invoiced_cents
        ));
    }
    out
}

async fn tenant(db: &TenantDb, command: TenantCommand) -> Result<(), String> {
    match command {
        TenantCommand::Create { id, plan } => {
            let id = TenantId::parse(&id).map_err(|e| format!("invalid tenant id {id:?}: {e}"))?;
            let created = tenants::create_tenant(db, id, plan.into())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "created tenant {} (plan {})",
                created.record.id, created.record.plan
            );
            println!("API key (shown once; only its hash is stored):");
            println!("{}", created.api_key.expose());
        }
        TenantCommand::List => {
            let all = tenants::list_tenants(db).await.map_err(|e| e.to_string())?;
            print!("{}", tenant_table(&all));
        }
        TenantCommand::RotateKey { id } => {
            let id = TenantId::parse(&id).map_err(|e| format!("invalid tenant id {id:?}: {e}"))?;
            let key = tenants::rotate_key(db, id)
                .await
                .map_err(|e| e.to_string())?;
            println!("new API key for {id} (the old key no longer works; shown once):");
            println!("{}", key.expose());
        }
    }
    Ok(())
}

async fn jobs(db: &TenantDb, command: JobsCommand) -> Result<(), String> {
    use crate::reminders;
    match command {
        JobsCommand::EnqueueReminders { queue, month } => {
            let month = month.unwrap_or_else(|| chrono::Utc::now().format("%Y-%m").to_string());
            let month = reminders::parse_month(&month).map_err(|e| e.to_string())?;
            let jobs = queue.open().await?;
            let tenants = reminders::enqueue_reminders(db, &jobs, &month)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "queued {} reminder job(s) for {month} on {:?}",
                tenants.len(),
                queue.queue
            );
        }
        JobsCommand::Work { queue, drain, name } => {
            let jobs = queue.open().await?;
            let worker = tenant_jobs::Worker::new(jobs)
                .name(&name)
                .map_err(|e| e.to_string())?;
            let handler = |scope: tenant_core::TenantScope, job: reminders::InvoiceReminder| async move {
                let reminder = reminders::remind(db, &scope, job).await?;
                println!("{reminder}");
                Ok::<_, tenant_core::Error>(())
            };
            if drain {
                let report = worker.drain(handler).await.map_err(|e| e.to_string())?;
                println!(
                    "done: {} reminder(s), {} retried, {} dead-lettered",
                    report.done, report.retried, report.dead_lettered
                );
            } else {
                worker
                    .run(handler, shutdown_signal())
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

async fn serve(db: &TenantDb, args: ServeArgs) -> Result<(), String> {
    let billing: Arc<dyn BillingSink> = match &args.billing_log {
        Some(path) => Arc::new(
            JsonLinesSink::open(path)
                .map_err(|e| format!("cannot open the billing log {}: {e}", path.display()))?,
        ),
        None => Arc::new(NoopSink),
    };
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let seeded = if args.no_seed {
        Vec::new()
    } else {
        tenants::seed_demo_tenants(db)
            .await
            .map_err(|e| format!("cannot create the demo tenants: {e}"))?
    };
    if !seeded.is_empty() {
        print_welcome(&seeded, local);
    }
    tracing::info!(addr = %local, "listening");
    let state = AppState::new(db.clone(), args.app_config(), billing);
    crate::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves on Ctrl-C (or SIGTERM on Unix).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn print_welcome(seeded: &[CreatedTenant], local: SocketAddr) {
    let host = if local.ip().is_unspecified() {
        format!("127.0.0.1:{}", local.port())
    } else {
        local.to_string()
    };
    println!();
    println!("Fresh database: created demo tenants. Their API keys are shown only now");
    println!("(the database stores a hash); paste these lines into a shell:");
    println!();
    for t in seeded {
        println!(
            "export {}_KEY={}    # plan {}",
            t.record.id.as_str().to_uppercase().replace('-', "_"),
            t.api_key.expose(),
            t.record.plan
        );
    }
    let Some(first) = seeded.first() else { return };
    let var = format!(
        "${}_KEY",
        first.record.id.as_str().to_uppercase().replace('-', "_")
    );
    println!();
    println!("curl -s http://{host}/health");
    println!(
        "curl -s -X POST http://{host}/api/invoices -H \"Authorization: Bearer {var}\" -H 'Content-Type: application/json' -d '{{\"amount_cents\":1200,\"customer_email\":\"a@example.com\"}}'"
    );
    println!("curl -s http://{host}/api/invoices -H \"Authorization: Bearer {var}\"");
    println!("curl -s http://{host}/api/usage -H \"Authorization: Bearer {var}\"");
    println!();
}

/// `tenant list`'s table: one line per tenant, each column as wide as its
/// widest value, so the rows line up whatever the ids' lengths.
fn tenant_table(tenants: &[crate::models::TenantRecord]) -> String {
    let id_width = tenants
        .iter()
        .map(|t| t.id.as_str().len())
        .chain([2])
        .max()
        .unwrap_or(2);
    let plan_width = tenants
        .iter()
        .map(|t| t.plan.as_str().len())
        .chain([4])
        .max()
        .unwrap_or(4);
    let mut out = format!("{:<id_width$}  {:<plan_width$}  created_at\n", "id", "plan");
    for t in tenants {
        out += &format!(
            "{:<id_width$}  {:<plan_width$}  {}\n",
            t.id,
            t.plan,
            t.created_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tenant_table;
    use crate::models::{Plan, TenantRecord};
    use chrono::{TimeZone, Utc};
    use tenant_core::TenantId;

    #[test]
    fn tenant_rows_line_up_whatever_the_id_lengths() {
        let record = |id: &str, plan| TenantRecord {
            id: TenantId::parse(id).expect("valid id"),
            plan,
            api_key_hash: String::new(),
            created_at: Utc
                .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
                .single()
                .expect("date"),
        };
        let long = "a-tenant-with-a-rather-long-identifier-x";
        let table = tenant_table(&[record("acme", Plan::Free), record(long, Plan::Pro)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        // `created_at` starts at the same column on every line.
        let column = lines[0].find("created_at").expect("header");
        let width = lines[0].len() - "created_at".len() + "2026-01-02 03:04:05 UTC".len();
        assert!(lines[1..].iter().all(|l| l.len() == width), "{table}");
        assert!(
            lines[1..].iter().all(|l| &l[column..column + 4] == "2026"),
            "{table}"
        );
        assert!(lines[1].starts_with("acme "), "{table}");
    }
}
