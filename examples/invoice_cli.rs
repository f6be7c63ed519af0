//! A command-line tool over the same model: every command names its tenant.
//!
//! ```text
//! cargo run -p tenant-examples --bin invoice-cli -- --tenant acme add 1200
//! cargo run -p tenant-examples --bin invoice-cli -- --tenant acme list
//! cargo run -p tenant-examples --bin invoice-cli -- --tenant acme total
//! ```

use clap::{Parser, Subcommand};
use tenant_core::count;
use tenant_core::prelude::*;
use tenant_core::rls::ModelInfo;
use tenant_core::schema::Schema;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
struct Invoice {
    #[tenant(primary_key)]
    id: i64,
    #[tenant(tenant_id)]
    tenant_id: TenantId,
    amount_cents: i64,
}

#[derive(Parser)]
#[command(about = "Invoices of one tenant")]
struct Cli {
    /// The database (`sqlite:invoices.db`, `postgres://..`, `mysql://..`).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:invoices.db")]
    db: String,
    /// The tenant every command acts for.
    #[arg(long, value_parser = TenantId::parse)]
    tenant: TenantId,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Records an invoice of `amount_cents`.
    Add { amount_cents: i64 },
    /// Lists the tenant's invoices.
    List,
    /// Prints the tenant's invoice count and total.
    Total,
    /// Deletes one of the tenant's invoices.
    Delete { id: i64 },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let db = TenantDb::connect(&cli.db).await?;
    // The table as the model declares it (DDL generated, not written by
    // hand), created on the first run; then the model and table must agree.
    let models = [ModelInfo::of::<Invoice>()];
    if db.verify(&models).await?.failed("invoices", "table_exists") {
        let ddl = Schema::new(db.backend(), &models)?.to_string();
        if let Ok(pool) = db.raw_sqlite(&tenant_core::CrossTenant::audited("example schema setup"))
        {
            sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
                .execute(pool)
                .await?;
        }
    }
    db.verify(&models).await?.into_result()?;
    let scope = TenantScope::new(cli.tenant);
    match cli.command {
        Command::Add { amount_cents } => {
            let invoice = Invoice::insert(&scope, NewInvoice { amount_cents })
                .fetch_one(&db)
                .await?;
            println!(
                "added invoice {} ({} cents)",
                invoice.id, invoice.amount_cents
            );
        }
        Command::List => {
            let invoices = Invoice::query(&scope)
                .order_by(Invoice::ID.asc())
                .fetch_all(&db)
                .await?;
            for invoice in invoices {
                let (id, tenant, cents) = (invoice.id, invoice.tenant_id, invoice.amount_cents);
                println!("{id:>6} {tenant:<12} {cents:>10}");
            }
        }
        Command::Total => {
            let (count, total): (i64, Option<i64>) = Invoice::query(&scope)
                .select((count(), Invoice::AMOUNT_CENTS.sum()))
                .fetch_one(&db)
                .await?;
            println!("{count} invoices, {} cents", total.unwrap_or(0));
        }
        Command::Delete { id } => {
            let deleted = Invoice::delete(&scope)
                .filter(Invoice::ID.eq(id))
                .execute(&db)
                .await?;
            if deleted == 0 {
                return Err(format!("tenant {} has no invoice {id}", scope.tenant_id()).into());
            }
            println!("deleted invoice {id}");
        }
    }
    db.close().await;
    Ok(())
}
