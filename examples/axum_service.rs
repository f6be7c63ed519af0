//! A minimal multi-tenant invoice service on axum and SQLite.
//!
//! Each request names its tenant through an API key (`Authorization: Bearer
//! <key>`); the handlers receive a [`TenantScope`] from the extractor and
//! cannot build a query without it.
//!
//! ```text
//! cargo run -p tenant-examples --bin axum-service
//! curl -H 'authorization: Bearer acme-key' -d '{"amount_cents":1200}' \
//!      -H 'content-type: application/json' localhost:3000/invoices
//! curl -H 'authorization: Bearer acme-key' localhost:3000/invoices
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::{StatusCode, request::Parts};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tenant_core::prelude::*;
use tenant_core::rls::ModelInfo;
use tenant_core::schema::Schema;

#[derive(Debug, Serialize, TenantModel)]
#[tenant(table = "invoices")]
struct Invoice {
    #[tenant(primary_key)]
    id: i64,
    #[tenant(tenant_id)]
    tenant_id: TenantId,
    amount_cents: i64,
}

#[derive(Clone)]
struct App {
    db: TenantDb,
    /// API key → tenant. A real service keeps hashed keys in a table.
    keys: Arc<HashMap<String, TenantId>>,
}

/// The caller's tenant, resolved from its API key.
struct Tenant(TenantScope);

impl FromRequestParts<App> for Tenant {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        match key.and_then(|key| app.keys.get(key)) {
            Some(tenant) => Ok(Tenant(TenantScope::new(*tenant))),
            None => Err((StatusCode::UNAUTHORIZED, "unknown or missing API key")),
        }
    }
}

/// Every framework error is a 500 here, without its details.
fn internal(error: tenant_core::Error) -> (StatusCode, &'static str) {
    eprintln!("database error: {error}");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

type Reply<T> = Result<Json<T>, (StatusCode, &'static str)>;

async fn list(State(app): State<App>, Tenant(scope): Tenant) -> Reply<Vec<Invoice>> {
    let invoices = Invoice::query(&scope)
        .order_by(Invoice::ID.asc())
        .limit(100)
        .fetch_all(&app.db)
        .await
        .map_err(internal)?;
    Ok(Json(invoices))
}

#[derive(Deserialize)]
struct Create {
    amount_cents: i64,
}

async fn create(
    State(app): State<App>,
    Tenant(scope): Tenant,
    Json(body): Json<Create>,
) -> Reply<Invoice> {
    let new = NewInvoice {
        amount_cents: body.amount_cents,
    };
    let invoice = Invoice::insert(&scope, new)
        .fetch_one(&app.db)
        .await
        .map_err(internal)?;
    Ok(Json(invoice))
}

async fn show(
    State(app): State<App>,
    Tenant(scope): Tenant,
    Path(id): Path<i64>,
) -> Reply<Invoice> {
    // Another tenant's id is simply not found: the scope is in the statement.
    match Invoice::find(&scope, id)
        .fetch_optional(&app.db)
        .await
        .map_err(internal)?
    {
        Some(invoice) => Ok(Json(invoice)),
        None => Err((StatusCode::NOT_FOUND, "no such invoice")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let db = TenantDb::connect(&url).await?;
    // The table as the model declares it: DDL generated, not written by hand.
    let models = [ModelInfo::of::<Invoice>()];
    let ddl = Schema::new(db.backend(), &models)?.to_string();
    if let Ok(pool) = db.raw_sqlite(&tenant_core::CrossTenant::audited("example schema setup")) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
            .execute(pool)
            .await?;
    }
    db.verify(&models).await?.into_result()?;
    let keys = [("acme-key", "acme"), ("globex-key", "globex")]
        .into_iter()
        .map(|(key, tenant)| Ok((key.to_owned(), TenantId::parse(tenant)?)))
        .collect::<Result<HashMap<_, _>, tenant_core::InvalidTenantId>>()?;
    let app = App {
        db,
        keys: Arc::new(keys),
    };
    let router = Router::new()
        .route("/invoices", get(list).post(create))
        .route("/invoices/{id}", get(show))
        .with_state(app);
    let address = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
