//! Invoice service demo: multi-tenant, shared schema, tenant from the API key.
//!
//! Run it (SQLite file `demo.db`, created and migrated on first start; the
//! first start prints two demo tenants' API keys):
//!
//! ```text
//! cargo run -p demo-app
//! ```
//!
//! Then, with the key printed for `acme`:
//!
//! ```text
//! export ACME_KEY=tsk_...
//! curl -s localhost:3000/health
//! curl -s -X POST localhost:3000/api/invoices -H "Authorization: Bearer $ACME_KEY" \
//!      -H 'Content-Type: application/json' -d '{"amount_cents":1200,"customer_email":"a@example.com"}'
//! curl -s localhost:3000/api/invoices -H "Authorization: Bearer $ACME_KEY"
//! curl -s localhost:3000/api/usage -H "Authorization: Bearer $ACME_KEY"
//! ```
//!
//! PostgreSQL: `cargo run -p demo-app -- --database-url postgres://postgres@127.0.0.1:5432/test`.
//! MySQL/MariaDB (10.5+): `cargo run -p demo-app -- --database-url mysql://root@127.0.0.1:3306/test`.
//! Tenants: `cargo run -p demo-app -- tenant create initech --plan pro`
//! (prints the key), `tenant list`, `tenant rotate-key initech`.
//! See `demo-app/README.md` and `--help` for every option.

use std::process::ExitCode;

use clap::Parser;
use demo_app::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    demo_app::telemetry::init();
    cli::run(Cli::parse()).await
}
