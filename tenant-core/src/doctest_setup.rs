// The models and rows the doc examples share; each example pulls this in
// with a hidden `include!` line (as diesel's `doctest_setup.rs`). Not a
// module of the crate.
//
// acme:   customers 1 ann (vip), 2 bob
//         invoices  1 (ann, paid, 1200, note "rush"), 2 (ann, open, 300),
//                   3 (bob, open, 5000)
// globex: customers 3 cy (vip); invoices 4 (cy, paid, 9999)

use tenant_core::prelude::*;

#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub email: String,
    pub vip: bool,
}

#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = Customer)]
    pub customer_id: i64,
    pub status: String,
    pub amount_cents: i64,
    pub note: Option<String>,
}

/// An in-memory database holding the rows above, and the scopes of acme
/// and globex.
async fn setup() -> Result<(TenantDb, TenantScope, TenantScope), tenant_core::Error> {
    let db = TenantDb::connect("sqlite::memory:").await?;
    let pool = db.raw_sqlite(&tenant_core::CrossTenant::audited("doc test fixtures"))?;
    sqlx::raw_sql(
        "CREATE TABLE customers (
             id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, email TEXT NOT NULL,
             vip BOOLEAN NOT NULL, UNIQUE (tenant_id, email));
         CREATE TABLE invoices (
             id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, customer_id INTEGER NOT NULL,
             status TEXT NOT NULL, amount_cents INTEGER NOT NULL, note TEXT);
         INSERT INTO customers VALUES
             (1, 'acme', 'ann@acme.test', TRUE), (2, 'acme', 'bob@acme.test', FALSE),
             (3, 'globex', 'cy@globex.test', TRUE);
         INSERT INTO invoices VALUES
             (1, 'acme', 1, 'paid', 1200, 'rush'), (2, 'acme', 1, 'open', 300, NULL),
             (3, 'acme', 2, 'open', 5000, NULL), (4, 'globex', 3, 'paid', 9999, NULL);",
    )
    .execute(pool)
    .await?;
    let acme = TenantScope::new(TenantId::parse("acme").expect("valid id"));
    let globex = TenantScope::new(TenantId::parse("globex").expect("valid id"));
    Ok((db, acme, globex))
}
