//! The error type of every fallible operation.

use crate::tenant::InvalidTenantId;

/// Everything that can go wrong running a tenant-scoped statement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `fetch_one` found no row (for this tenant).
    #[error("no matching row")]
    NotFound,
    /// A tenant id failed validation.
    #[error(transparent)]
    InvalidTenantId(#[from] InvalidTenantId),
    /// [`TenantDb::connect`](crate::TenantDb::connect) was given a URL of
    /// no supported database. The URL is shown without its password.
    #[error(
        "unsupported database URL {url:?}: expected sqlite:..., postgres://... or mysql://... (with the backend's crate feature)"
    )]
    UnsupportedUrl {
        /// The URL, password removed.
        url: String,
    },
    /// [`TenantDbOptions::connect`](crate::TenantDbOptions::connect) (or
    /// [`TenantDb::connect`](crate::TenantDb::connect)) could not open the
    /// database: `failure` says why (refused, unknown host, authentication,
    /// missing database, timed out), `source` is the driver's error. The URL
    /// is shown without its password.
    #[error("cannot connect to {url}: {failure} ({source})")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// Why, in the terms of the fix.
        failure: crate::ConnectFailure,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// An update tried to set the tenant column (through a hand-made column
    /// constant; the generated ones cannot). Nothing was sent.
    #[error(
        "an update cannot set the tenant column {column:?}: a row never moves to another tenant"
    )]
    TenantColumnNotSettable {
        /// The column named, in the case it was written.
        column: &'static str,
    },
    /// An update or an upsert named the primary key as a column to set,
    /// through a hand-made column constant or a tuple of columns (the
    /// derive's single constants do not compile there). Nothing was sent: a
    /// row keeps its key; delete it and insert it again to change it.
    #[error(
        "an update cannot set the primary key {column:?}: delete the row and insert it again with the new key"
    )]
    PrimaryKeyNotSettable {
        /// The column named, in the case it was written.
        column: &'static str,
    },
    /// The operation does not exist on this backend.
    #[error("{operation} is not supported on {backend:?}")]
    Unsupported {
        /// The backend.
        backend: crate::Backend,
        /// What was asked.
        operation: &'static str,
    },
    /// A [`CrossTenant`](crate::CrossTenant) capability with a blank reason
    /// was used. Nothing was sent: say why the code needs several tenants.
    #[error(
        "a cross-tenant capability needs a reason: write CrossTenant::audited(\"why this code reads several tenants\")"
    )]
    MissingReason,
    /// A cross-tenant read on a row-level-security [`TenantDb`](crate::TenantDb)
    /// that has no cross-tenant pool: the serving role's policies admit
    /// one tenant's rows, so the read would see nothing. Nothing was sent.
    #[error(
        "cross-tenant reads on a row-level-security TenantDb need a separate pool whose role has a cross-tenant policy: configure it with TenantDb::with_cross_tenant (see tenant_core::rls::cross_tenant_policy_sql)"
    )]
    NoCrossTenantPool,
    /// [`TenantDb::raw_sqlite`](crate::TenantDb::raw_sqlite) (or a sibling)
    /// asked for a pool of another backend than the database's.
    #[error("the database is {actual:?}, not {expected:?}")]
    WrongBackend {
        /// The backend asked for.
        expected: crate::Backend,
        /// The backend of the database.
        actual: crate::Backend,
    },
    /// [`TenantDb::with_cross_tenant`](crate::TenantDb::with_cross_tenant)
    /// was given a database it cannot pair: another backend, or one in
    /// row-level-security mode (whose role reads one tenant at a time).
    #[error("cannot use this database for cross-tenant work: {why}")]
    CrossTenantPool {
        /// What is wrong with it.
        why: &'static str,
    },
    /// A statement scoped to one tenant was run on a transaction opened for
    /// another. Nothing was sent to the database.
    #[error(
        "scope mismatch: the transaction belongs to tenant `{transaction}` but the statement is scoped to tenant `{statement}`"
    )]
    ScopeMismatch {
        /// Tenant of the transaction (its key as text).
        transaction: String,
        /// Tenant of the statement that was refused (its key as text).
        statement: String,
    },
    /// A statement holds a subquery
    /// ([`is_in`](crate::Column::is_in) with a subquery) built from the scope of
    /// another tenant than its own (or, for a global model's statement, of
    /// any tenant). Nothing was sent to the database: build the subquery
    /// from the statement's own scope.
    #[error(
        "scope mismatch: the statement is scoped to tenant `{statement}` but its subquery to tenant `{subquery}`; nothing was sent (build the subquery from the statement's own scope)"
    )]
    SubqueryScopeMismatch {
        /// Tenant of the statement (its key as text).
        statement: String,
        /// Tenant of the refused subquery (its key as text).
        subquery: String,
    },
    /// A statement of the transaction failed, so the transaction is rolled
    /// back and nothing of it is stored: returned by
    /// [`TenantTransaction::commit`](crate::TenantTransaction::commit)
    /// (which rolled it back instead), and by any statement run on the
    /// transaction after the failure (which is not sent to the database).
    #[error(
        "the transaction is rolled back, not committed: a statement in it failed, so nothing of it is stored"
    )]
    RolledBack,
    /// An upsert's row conflicted with another tenant's row on a unique key
    /// that does not include the tenant column (MySQL, whose `ON DUPLICATE
    /// KEY UPDATE` fires on any unique key). Nothing was written and the
    /// other tenant's row is unchanged. The fix is in the schema: lead every
    /// unique key of a tenant table with the tenant column (the
    /// [doctor](crate::doctor) reports keys that do not).
    #[error(
        "the upsert into {table:?} conflicted with another tenant's row on a unique key without the tenant column; nothing was written (lead every unique key of the table with its tenant column)"
    )]
    CrossTenantConflict {
        /// The table.
        table: &'static str,
    },
    /// The models do not match the live database
    /// ([`TenantDb::verify`](crate::TenantDb::verify)); the report lists
    /// every mismatch with its fix.
    #[error("{0}")]
    SchemaMismatch(Box<crate::verify::SchemaReport>),
    /// [`fetch_with_children`](crate::Select::fetch_with_children) could
    /// not give every child to exactly one parent: the parents hold a key
    /// twice (the column is not a primary key in the table), or the
    /// database matched a child's key to a parent's key that is not equal
    /// to it byte for byte (a case- or trailing-space-insensitive collation
    /// on a text key). Nothing is returned rather than children dropped or
    /// guessed; a join (`inner_join`) returns the database's own matching.
    #[error("the children of `{table}` cannot be matched to their parents on `{column}`: {reason}")]
    ChildrenUnmatched {
        /// The parents' table.
        table: &'static str,
        /// The parents' key column.
        column: &'static str,
        /// What was found.
        reason: &'static str,
    },
    /// A write would store a reference (a `#[tenant(references = ..)]`
    /// field) to a row the tenant does not have: another tenant's row, or
    /// none at all — the two are one error, so it tells nothing about other
    /// tenants' rows. Checked before the write, in its transaction, whether
    /// or not the schema has a foreign key; nothing was written.
    #[error(
        "`{model}.{column}` must refer to a `{parent}` of tenant `{tenant}`, and tenant `{tenant}` has no `{parent}` with {column} = {key}; nothing was written"
    )]
    ReferenceNotFound {
        /// The referencing model.
        model: &'static str,
        /// The referencing column.
        column: &'static str,
        /// The referenced model.
        parent: &'static str,
        /// The tenant of the write (its key as text).
        tenant: String,
        /// The first key missing (`the value assigned` for an update's).
        key: String,
    },
    /// The database, the connection or the driver failed.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl Error {
    /// `true` for [`Error::NotFound`].
    ///
    /// ```
    /// # include!("doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let err = Invoice::find(&acme, 4).fetch_one(&db).await.unwrap_err();
    /// assert!(err.is_not_found()); // globex's invoice, not acme's
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound)
    }

    /// `true` when the database could not be reached, is shutting down or
    /// refusing connections, is busy (SQLite), or the pool gave no connection
    /// in time: retrying later may succeed.
    ///
    /// ```
    /// # include!("doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// db.close().await;
    /// let err = Invoice::query(&acme).count(&db).await.unwrap_err();
    /// assert!(err.is_unavailable()); // answer 503 and let the client retry
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            Error::Database(sqlx::Error::Database(db)) => transient(db.as_ref()),
            Error::Connect { failure, .. } => failure.is_transient(),
            _ => false,
        }
    }

    /// The database's constraint name, when a constraint (unique, foreign
    /// key, check) rejected the statement.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Database(sqlx::Error::Database(db)) => db.constraint(),
            _ => None,
        }
    }

    /// `true` when a unique constraint rejected the statement.
    ///
    /// ```
    /// # include!("doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // customers has UNIQUE (tenant_id, email).
    /// let again = NewCustomer { email: "ann@acme.test".into(), vip: false };
    /// let err = Customer::insert(&acme, again).execute(&db).await.unwrap_err();
    /// assert!(err.is_unique_violation());
    /// // The same address is free in another tenant.
    /// let theirs = NewCustomer { email: "ann@acme.test".into(), vip: false };
    /// Customer::insert(&globex, theirs).execute(&db).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
    }
}

impl Error {
    /// A failed connect to `url` (its password is not kept).
    pub(crate) fn connect(url: &str, failure: crate::ConnectFailure, source: sqlx::Error) -> Self {
        Error::Connect {
            url: crate::db::redact_url(url),
            failure,
            source,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Error::NotFound,
            other => Error::Database(other),
        }
    }
}

/// Whether a database error says "try again later".
fn transient(db: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "postgres")]
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        // Connection exceptions (08xxx), admin/crash shutdown and
        // cannot-connect-now (57P01..57P03), too many connections.
        let code = pg.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300");
    }
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), in any extended form: the
        // busy timeout passed while another writer held the database.
        let primary = db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff);
        return matches!(primary, Some(5 | 6));
    }
    #[cfg(feature = "mysql")]
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // Too many connections (1040), server shutdown (1053), lock wait
        // timeout (1205), deadlock (1213).
        return matches!(my.number(), 1040 | 1053 | 1205 | 1213);
    }
    let _ = db;
    false
}
