//! Database outage: 503 with a JSON error, the server keeps running, and it
//! recovers when the database returns.
//!
//! The app reaches PostgreSQL or MySQL/MariaDB through a TCP proxy in the
//! test. Cutting the proxy closes every open connection and refuses new
//! ones, exactly what the app sees when the database goes away, without
//! touching the shared server.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Backend, Options, TestDb, TestServer, send};
use demo_app::models::Plan;
use reqwest::{StatusCode, header};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy to `target` that can be cut and restored.
struct Proxy {
    addr: SocketAddr,
    target: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            target,
            accept: Mutex::new(None),
            connections: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target;
        let connections = self.connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(pipe);
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }

    /// Drops the listener (new connections are refused) and every open
    /// connection.
    async fn cut(&self) {
        let accept = self.accept.lock().unwrap().take();
        if let Some(task) = accept {
            task.abort();
            let _ = task.await;
        }
        let pipes: Vec<_> = self.connections.lock().unwrap().drain(..).collect();
        for pipe in pipes {
            pipe.abort();
            let _ = pipe.await;
        }
        // The port is closed now.
        assert!(TcpStream::connect(self.addr).await.is_err());
    }

    /// Listens again on the same address.
    async fn restore(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

/// Splits `postgres://user@host:port/db` (or `mysql://...`) into the
/// server's address and a function giving the same URL through another
/// address.
async fn server_of(url: &str) -> (SocketAddr, impl Fn(SocketAddr) -> String) {
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (host_port, db) = rest.split_once('/').unwrap();
    let server = tokio::net::lookup_host(host_port)
        .await
        .unwrap()
        .find(SocketAddr::is_ipv4)
        .unwrap();
    let (scheme_user, db) = (scheme_user.to_owned(), db.to_owned());
    (server, move |addr| format!("{scheme_user}@{addr}/{db}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_503_and_the_server_recovers() {
    outage_is_503_and_the_server_recovers(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_outage_is_503_and_the_server_recovers() {
    outage_is_503_and_the_server_recovers(Backend::MySql).await;
}

async fn outage_is_503_and_the_server_recovers(backend: Backend) {
    let db = TestDb::new(backend).await;
    // Find where the database listens, then put the proxy in front of it.
    let (server, through) = server_of(&db.url).await;
    let proxy = Proxy::start(server).await;
    let url = through(proxy.addr);

    let srv = TestServer::start_with(
        &url,
        Options {
            db: tenant_core::TenantDbOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(1)),
            ..Options::default()
        },
    )
    .await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let id = srv.create_invoice(&key, 1200).await;
    let path = format!("/api/invoices/{id}");
    assert_eq!(srv.get(&key, &path).await.status, StatusCode::OK);

    proxy.cut().await;
    for _ in 0..2 {
        let started = Instant::now();
        let reply = srv.get(&key, &path).await;
        reply.assert_error(503, "service_unavailable");
        assert!(reply.headers.contains_key(header::RETRY_AFTER));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "answered quickly"
        );
        srv.post(
            &key,
            "/api/invoices",
            &json!({"amount_cents": 5, "customer_email": "down@example.com"}),
        )
        .await
        .assert_error(503, "service_unavailable");
        srv.get(&key, "/api/usage")
            .await
            .assert_error(503, "service_unavailable");
    }
    // The process is still serving.
    assert_eq!(
        send(srv.client.get(srv.url("/health"))).await.status,
        StatusCode::OK
    );

    proxy.restore().await;
    let mut recovered = None;
    for _ in 0..20 {
        let reply = srv.get(&key, &path).await;
        if reply.status == StatusCode::OK {
            recovered = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let reply = recovered.expect("the server recovers once the database is back");
    assert_eq!(reply.body["amount_cents"], 1200);
    // Nothing was stored during the outage.
    let listed = srv.get(&key, "/api/invoices").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    srv.create_invoice(&key, 7).await;
    srv.stop().await;
    proxy.cut().await;
}

/// PostgreSQL closes the app's connections (as on a server restart or an
/// administrator's `pg_terminate_backend`): the pool replaces them, and no
/// request is answered with a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_terminated_connections_are_replaced() {
    let db = TestDb::new(Backend::Postgres).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let id = srv.create_invoice(&key, 1200).await;
    let path = format!("/api/invoices/{id}");
    assert_eq!(srv.get(&key, &path).await.status, StatusCode::OK);

    let owner = &db.pg.as_ref().unwrap().owner;
    for _ in 0..3 {
        let terminated: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(owner)
        .await
        .unwrap();
        assert!(!terminated.is_empty(), "the app had connections");
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..3 {
            let reply = srv.get(&key, &path).await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        }
        srv.create_invoice(&key, 5).await;
    }
    srv.stop().await;
}

/// The same on MySQL: the server kills the app's connections (as on a
/// restart, `wait_timeout`, or an administrator's `KILL`): the pool replaces
/// them, and no request is answered with a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_killed_connections_are_replaced() {
    let db = TestDb::new(Backend::MySql).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let id = srv.create_invoice(&key, 1200).await;
    let path = format!("/api/invoices/{id}");
    assert_eq!(srv.get(&key, &path).await.status, StatusCode::OK);

    let owner = &db.my.as_ref().unwrap().owner;
    for _ in 0..3 {
        let mut admin = owner.acquire().await.unwrap();
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM information_schema.processlist \
             WHERE db = DATABASE() AND id <> CONNECTION_ID()",
        )
        .fetch_all(&mut *admin)
        .await
        .unwrap();
        assert!(!ids.is_empty(), "the app had connections");
        for id in ids {
            // One may have gone on its own since: ignore "unknown thread".
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
                .execute(&mut *admin)
                .await;
        }
        drop(admin);
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..3 {
            let reply = srv.get(&key, &path).await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        }
        srv.create_invoice(&key, 5).await;
    }
    srv.stop().await;
}
