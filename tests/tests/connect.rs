//! `TenantDbOptions`: an unreachable database is reported at once with its
//! cause (never a 30-second `PoolTimedOut`), the password never shown, and
//! every option reaches the pool or the driver.

use std::time::{Duration, Instant};

use tenant_core::{ConnectFailure, Error, TenantDb, TenantDbOptions};
use tenant_tests::{MyTestDb, PgTestDb, unique_name};

/// A port nothing listens on: bound, then released.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// Connects to `url` with the defaults (a 30 s acquire timeout), expecting
/// `failure` within 5 s; returns the error.
async fn fails_fast(url: &str, failure: ConnectFailure) -> Error {
    let started = Instant::now();
    let err = match TenantDb::connect(url).await {
        Ok(_) => panic!("{url}: connected"),
        Err(err) => err,
    };
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "{url}: failed after {elapsed:?}, not at once: {err}"
    );
    match &err {
        Error::Connect { failure: got, .. } => {
            assert_eq!(*got, failure, "{url}: {err}");
        }
        other => panic!("{url}: not a connect error: {other:?}"),
    }
    let message = err.to_string();
    assert!(
        !message.contains("s3cret"),
        "the password is shown: {message}"
    );
    err
}

#[tokio::test]
async fn a_dead_port_is_refused_at_once_on_postgres_and_mysql() {
    let port = dead_port();
    for url in [
        format!("postgres://app:s3cret@127.0.0.1:{port}/app"),
        format!("mysql://app:s3cret@127.0.0.1:{port}/app"),
        format!("mariadb://app:s3cret@127.0.0.1:{port}/app"),
    ] {
        let message = fails_fast(&url, ConnectFailure::Refused).await.to_string();
        assert!(message.contains("refused"), "{message}");
        assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    }
    let err = TenantDb::connect(&format!("postgres://127.0.0.1:{port}/x"))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "refused is worth retrying: {err}");
}

#[tokio::test]
async fn an_unknown_host_is_named() {
    // `.invalid` never resolves (RFC 6761).
    for url in [
        "postgres://app:s3cret@no-such-host.invalid:5432/app",
        "mysql://app:s3cret@no-such-host.invalid:3306/app",
    ] {
        let message = fails_fast(url, ConnectFailure::UnknownHost)
            .await
            .to_string();
        assert!(message.contains("unknown host"), "{message}");
    }
}

#[tokio::test]
async fn postgres_names_a_refused_login_and_a_missing_database() {
    let pg = PgTestDb::create().await;
    // The test server trusts every password on 127.0.0.1, so a login is
    // refused for a role that does not exist, or that may not log in.
    let ghost = unique_name("ghost");
    let url = pg
        .url_for(&ghost)
        .replacen(&format!("{ghost}@"), &format!("{ghost}:s3cret@"), 1);
    let message = fails_fast(&url, ConnectFailure::Authentication)
        .await
        .to_string();
    assert!(message.contains("authentication failed"), "{message}");

    let nologin = unique_name("nologin");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE \"{nologin}\" NOLOGIN PASSWORD 's3cret'"
    )))
    .execute(&pg.owner)
    .await
    .expect("create role");
    let message = fails_fast(&pg.url_for(&nologin), ConnectFailure::Authentication)
        .await
        .to_string();
    assert!(message.contains("authentication failed"), "{message}");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP ROLE \"{nologin}\"")))
        .execute(&pg.owner)
        .await
        .expect("drop role");

    let missing = pg.url().replace(pg.name(), &unique_name("missing"));
    let message = fails_fast(&missing, ConnectFailure::UnknownDatabase)
        .await
        .to_string();
    assert!(message.contains("does not exist"), "{message}");
}

#[tokio::test]
async fn mysql_names_a_wrong_password_and_a_missing_database() {
    let mut my = MyTestDb::create().await;
    let user = my.create_app_user().await;
    let right = my.url_for(&user);
    let wrong = right.replace(tenant_tests::MYSQL_APP_PASSWORD, "s3cret");
    assert_ne!(right, wrong);
    let err = fails_fast(&wrong, ConnectFailure::Authentication).await;
    assert!(
        !err.is_unavailable(),
        "a wrong password is not worth retrying"
    );
    let message = err.to_string();
    assert!(message.contains("authentication failed"), "{message}");
    // The right password connects: it is the password that was refused.
    TenantDb::connect(&right).await.expect("right password");

    let missing = my.url().replace(my.name(), &unique_name("missing"));
    let message = fails_fast(&missing, ConnectFailure::UnknownDatabase)
        .await
        .to_string();
    assert!(message.contains("does not exist"), "{message}");
}

#[tokio::test]
async fn a_bad_url_and_rls_off_postgres_are_refused_without_connecting() {
    let err = TenantDb::connect("postgres://app:s3cret@127.0.0.1:notaport/app")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect {
                failure: ConnectFailure::InvalidUrl,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cret"), "{err}");

    for url in ["sqlite::memory:", "mysql://root@127.0.0.1:1/x"] {
        let err = TenantDbOptions::new()
            .rls(true)
            .connect(url)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Unsupported { .. }),
            "{url}: row-level security must be refused, got {err:?}"
        );
        assert!(err.to_string().contains("row-level security"), "{err}");
    }
}

#[tokio::test]
async fn pool_options_reach_the_pool_and_no_ping_is_the_default() {
    let pg = PgTestDb::create().await;
    let db = TenantDbOptions::new()
        .max_connections(3)
        .min_connections(2)
        .acquire_timeout(Duration::from_millis(1500))
        .rls(true)
        .connect(&pg.url())
        .await
        .expect("connect");
    assert!(db.uses_rls());
    let pool = db
        .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
        .expect("postgres");
    let options = pool.options();
    assert_eq!(options.get_max_connections(), 3);
    assert_eq!(options.get_min_connections(), 2);
    assert_eq!(options.get_acquire_timeout(), Duration::from_millis(1500));
    assert!(!options.get_test_before_acquire());
    // max_connections is enforced: a fourth acquire waits out the timeout.
    let held = [
        pool.acquire().await.expect("1"),
        pool.acquire().await.expect("2"),
        pool.acquire().await.expect("3"),
    ];
    let err = pool.acquire().await.unwrap_err();
    assert!(matches!(err, sqlx::Error::PoolTimedOut), "{err}");
    drop(held);

    let plain = TenantDb::connect(&pg.url()).await.expect("connect");
    assert!(!plain.uses_rls());
    let options = plain
        .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
        .expect("postgres")
        .options();
    assert!(
        !options.get_test_before_acquire(),
        "a ping before every acquire"
    );
    let asked = TenantDbOptions::new()
        .test_before_acquire(true)
        .connect(&pg.url())
        .await
        .expect("connect");
    assert!(
        asked
            .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
            .expect("pg")
            .options()
            .get_test_before_acquire()
    );
}

/// Runs three different statements on one connection and returns how many
/// the connection's cache holds.
macro_rules! cached_after_three {
    ($pool:expr) => {{
        use sqlx::Connection;
        let mut conn = $pool.acquire().await.expect("acquire");
        for sql in ["SELECT 1", "SELECT 2", "SELECT 3"] {
            sqlx::query(sql).execute(&mut *conn).await.expect(sql);
        }
        conn.cached_statements_size()
    }};
}

#[tokio::test]
async fn statement_cache_capacity_reaches_every_driver() {
    let pg = PgTestDb::create().await;
    let my = MyTestDb::create().await;
    for (capacity, expected) in [(None, 3), (Some(1), 1)] {
        let options = capacity.map_or_else(TenantDbOptions::new, |c| {
            TenantDbOptions::new().statement_cache_capacity(c)
        });
        let db = options.connect(&pg.url()).await.expect("pg");
        assert_eq!(
            cached_after_three!(
                db.raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
                    .expect("pg")
            ),
            expected
        );
        let db = options.connect(&my.url()).await.expect("mysql");
        assert_eq!(
            cached_after_three!(
                db.raw_mysql(&tenant_core::CrossTenant::audited("test fixtures"))
                    .expect("mysql")
            ),
            expected
        );
        let db = options.connect("sqlite::memory:").await.expect("sqlite");
        assert_eq!(
            cached_after_three!(
                db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
                    .expect("sqlite")
            ),
            expected
        );
    }
}

#[tokio::test]
async fn sqlite_files_run_in_wal_with_the_busy_timeout_asked_for() {
    let dir = std::env::temp_dir().join(unique_name("connect"));
    std::fs::create_dir_all(&dir).expect("dir");
    let wal = dir.join("wal.db");
    let db = TenantDbOptions::new()
        .busy_timeout(Duration::from_millis(2500))
        .connect(&format!("sqlite://{}", wal.display()))
        .await
        .expect("connect");
    let pool = db
        .raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
        .expect("sqlite");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .expect("busy_timeout");
    assert_eq!(busy, 2500);
    assert!(wal.exists(), "the file is created");
    db.close().await;

    // Asked not to, the file keeps SQLite's own rollback journal.
    let plain = dir.join("plain.db");
    let db = TenantDbOptions::new()
        .sqlite_wal(false)
        .connect(&format!("sqlite://{}", plain.display()))
        .await
        .expect("connect");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(
            db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
                .expect("sqlite"),
        )
        .await
        .expect("journal_mode");
    assert_eq!(mode, "delete");
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
