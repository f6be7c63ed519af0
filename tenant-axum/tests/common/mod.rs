//! What the tests share: an in-memory key store, token minting, a router
//! whose handlers echo the scope they were given, and a request helper.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tenant_axum::jsonwebtoken::{self, Algorithm, EncodingKey, Header};
use tenant_axum::{
    ApiKey, ApiKeyStore, Authenticated, Resolved, Scope, TenantLayer, TenantRejection,
    TenantResolver,
};
use tenant_core::TenantId;
use tower::ServiceExt as _;

pub const SECRET: &[u8] = b"the test secret, 32 bytes or more";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Free,
    Pro,
}

/// Keys by hash, as an application's tenants table would hold them.
#[derive(Default)]
pub struct Keys(pub HashMap<String, (TenantId, Plan)>);

impl Keys {
    /// A new key for `tenant`; returns it in plain text.
    pub fn add(&mut self, tenant: &str, plan: Plan) -> String {
        let key = ApiKey::generate().unwrap();
        self.0
            .insert(key.hash(), (TenantId::parse(tenant).unwrap(), plan));
        key.expose().to_owned()
    }
}

impl ApiKeyStore for Keys {
    type Info = Plan;

    async fn find_by_hash(&self, hash: &str) -> Result<Option<Resolved<Plan>>, TenantRejection> {
        Ok(self.0.get(hash).map(|(id, plan)| Resolved::new(*id, *plan)))
    }
}

pub fn id(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with `alg` under `secret`, carrying `claims`.
pub fn token_with(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// A valid HS256 token for `tenant`, expiring in an hour.
pub fn token(tenant: &str) -> String {
    token_with(
        Algorithm::HS256,
        SECRET,
        &json!({"tenant_id": tenant, "sub": "ann", "exp": now() + 3600}),
    )
}

/// base64url without padding (RFC 7515), to forge tokens jsonwebtoken
/// refuses to make.
pub fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

/// An unsigned token (`alg: none`) for `tenant`.
pub fn unsigned_token(tenant: &str) -> String {
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = b64(json!({"tenant_id": tenant, "exp": now() + 3600})
        .to_string()
        .as_bytes());
    format!("{header}.{claims}.")
}

/// `/api/whoami` (the `Scope`), `/api/info` (the `Authenticated<I>` debug
/// form), `/t/{tenant}/whoami`, behind `layer`; `/health` outside it.
pub fn app<R>(layer: TenantLayer<R>) -> Router
where
    R: TenantResolver,
    R::Info: std::fmt::Debug,
{
    Router::new()
        .route(
            "/api/whoami",
            get(|Scope(scope): Scope| async move { scope.tenant_id().to_string() }),
        )
        .route(
            "/api/info",
            get(|tenant: Authenticated<R::Info>| async move {
                format!("{} {:?}", tenant.tenant_id(), tenant.info())
            }),
        )
        .route(
            "/t/{tenant}/whoami",
            get(|Scope(scope): Scope| async move { scope.tenant_id().to_string() }),
        )
        .route_layer(layer)
        .route("/health", get(|| async { "ok" }))
}

/// A reply: status, headers, body as text and (when it is) JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// Asserts an error reply of `status` with `code`, JSON as the demo's.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.json["error"]["code"], code, "{self:?}");
        assert!(self.json["error"]["message"].is_string(), "{self:?}");
    }

    /// Asserts a 200 whose body is `body`.
    pub fn assert_ok(&self, body: &str) {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(self.text, body, "{self:?}");
    }
}

/// Sends `request` to `app`.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// `GET path` with the headers given.
pub fn get_with(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

/// `GET path` with `Authorization: Bearer <credential>` and the headers
/// given.
pub fn get_as(path: &str, credential: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let bearer = format!("Bearer {credential}");
    let mut all = vec![("authorization", bearer.as_str())];
    all.extend_from_slice(headers);
    get_with(path, &all)
}

pub fn shared<T>(value: T) -> Arc<T> {
    Arc::new(value)
}
