//! Every strategy refuses what it must (401 for credentials, 403 for hints),
//! never yields a default tenant, and a correct credential with agreeing
//! hints reaches the handler with the right scope.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use tenant_axum::jsonwebtoken::Algorithm;
use tenant_axum::{
    ApiKey, ApiKeyFormat, ApiKeyResolver, HeaderHint, JwtResolver, PathPrefixHint, Scope,
    SubdomainHint, TenantChain, TenantLayer,
};

use common::*;

/// API-key chain with every hint, over keys for acme (pro) and globex
/// (free); returns the app and both keys.
fn api_key_app() -> (Router, String, String) {
    let mut keys = Keys::default();
    let acme = keys.add("acme", Plan::Pro);
    let globex = keys.add("globex", Plan::Free);
    let chain = TenantChain::new(ApiKeyResolver::new(keys))
        .hint(HeaderHint::x_tenant_id())
        .hint(SubdomainHint::new(["localhost", "example.com"]))
        .hint(PathPrefixHint::new("/t"));
    (app(TenantLayer::new(chain)), acme, globex)
}

fn jwt_app(resolver: JwtResolver) -> Router {
    let chain = TenantChain::new(resolver)
        .hint(HeaderHint::x_tenant_id())
        .hint(SubdomainHint::new(["localhost"]))
        .hint(PathPrefixHint::new("/t"));
    app(TenantLayer::new(chain))
}

#[tokio::test]
async fn api_key_selects_its_tenant() {
    let (app, acme, globex) = api_key_app();
    send(&app, get_as("/api/whoami", &acme, &[]))
        .await
        .assert_ok("acme");
    send(&app, get_as("/api/whoami", &globex, &[]))
        .await
        .assert_ok("globex");
    // The store's info reaches `Authenticated<Plan>`.
    send(&app, get_as("/api/info", &globex, &[]))
        .await
        .assert_ok("globex Free");
    send(&app, get_as("/api/info", &acme, &[]))
        .await
        .assert_ok("acme Pro");
    // Outside the layer no credential is needed.
    send(&app, get_with("/health", &[])).await.assert_ok("ok");
}

#[tokio::test]
async fn api_key_refuses_missing_malformed_and_unknown_keys() {
    let (app, acme, _) = api_key_app();
    let unknown = ApiKey::generate().unwrap();
    let other_format = ApiKeyFormat::new("sk_").generate().unwrap();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("empty", Some(String::new())),
        ("no scheme", Some(acme.clone())),
        ("basic", Some(format!("Basic {acme}"))),
        ("bearer only", Some("Bearer".into())),
        ("bearer space", Some("Bearer ".into())),
        ("garbage", Some("Bearer not-a-key".into())),
        (
            "truncated",
            Some(format!("Bearer {}", &acme[..acme.len() - 1])),
        ),
        (
            "upper case",
            Some(format!("Bearer {}", acme.to_uppercase())),
        ),
        ("unknown", Some(format!("Bearer {}", unknown.expose()))),
        (
            "other prefix",
            Some(format!("Bearer {}", other_format.expose())),
        ),
        ("a jwt", Some(format!("Bearer {}", token("acme")))),
    ];
    for (what, value) in cases {
        let headers: Vec<(&str, &str)> = value
            .as_deref()
            .map(|v| vec![("authorization", v)])
            .unwrap_or_default();
        let reply = send(&app, get_with("/api/whoami", &headers)).await;
        reply.assert_error(401, "unauthorized");
        assert_eq!(reply.headers["www-authenticate"], "Bearer", "{what}");
        assert!(!reply.text.contains("acme"), "{what}: {}", reply.text);
    }
    // Two Authorization headers, even both right.
    let bearer = format!("Bearer {acme}");
    send(
        &app,
        get_with(
            "/api/whoami",
            &[("authorization", &bearer), ("authorization", &bearer)],
        ),
    )
    .await
    .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn hints_alone_never_select_a_tenant() {
    let (app, ..) = api_key_app();
    for headers in [
        vec![("x-tenant-id", "acme")],
        vec![("host", "acme.localhost")],
        vec![("x-tenant-id", "acme"), ("host", "acme.example.com")],
    ] {
        send(&app, get_with("/api/whoami", &headers))
            .await
            .assert_error(401, "unauthorized");
    }
    send(&app, get_with("/t/acme/whoami", &[("x-tenant-id", "acme")]))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn api_key_chain_refuses_spoofed_hints() {
    let (app, acme, _) = api_key_app();
    for headers in [
        vec![("x-tenant-id", "globex")],
        vec![("x-tenant-id", "GLOBEX")],
        vec![("x-tenant-id", "")],
        vec![("x-tenant-id", "acme"), ("x-tenant-id", "globex")],
        vec![("host", "globex.localhost")],
        vec![("host", "GLOBEX.localhost:3000")],
        vec![("host", "globex.example.com.")],
        vec![("host", "nobody.localhost")],
        vec![("x-tenant-id", "acme"), ("host", "globex.localhost")],
    ] {
        let reply = send(&app, get_as("/api/whoami", &acme, &headers)).await;
        reply.assert_error(403, "tenant_mismatch");
        assert!(
            !reply.text.contains("globex"),
            "{headers:?}: {}",
            reply.text
        );
    }
    for path in ["/t/globex/whoami", "/t/ACME_/whoami", "/t/%61cme/whoami"] {
        send(&app, get_as(path, &acme, &[]))
            .await
            .assert_error(403, "tenant_mismatch");
    }
}

#[tokio::test]
async fn api_key_chain_with_agreeing_hints_passes() {
    let (app, acme, _) = api_key_app();
    for headers in [
        vec![],
        vec![("x-tenant-id", "acme")],
        vec![("x-tenant-id", " ACME ")],
        vec![("host", "acme.localhost:3000")],
        vec![("host", "ACME.Example.com.")],
        vec![("host", "localhost")],
        vec![("host", "www.example.com")],
        vec![("host", "127.0.0.1:3000")],
        vec![("host", "other.org")],
        // A forwarded host is not read: it neither selects nor refuses.
        vec![("x-forwarded-host", "globex.localhost")],
        vec![("x-tenant-id", "acme"), ("host", "acme.localhost")],
    ] {
        send(&app, get_as("/api/whoami", &acme, &headers))
            .await
            .assert_ok("acme");
    }
    send(
        &app,
        get_as("/t/acme/whoami", &acme, &[("x-tenant-id", "acme")]),
    )
    .await
    .assert_ok("acme");
    send(&app, get_as("/t/Acme/whoami", &acme, &[]))
        .await
        .assert_ok("acme");
}

#[tokio::test]
async fn jwt_selects_its_tenant_and_hands_over_the_claims() {
    let app = jwt_app(JwtResolver::hs256(SECRET));
    send(&app, get_as("/api/whoami", &token("acme"), &[]))
        .await
        .assert_ok("acme");
    send(&app, get_as("/api/whoami", &token("globex"), &[]))
        .await
        .assert_ok("globex");
    let reply = send(&app, get_as("/api/info", &token("acme"), &[])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text.starts_with("acme JwtClaims("), "{}", reply.text);
    assert!(
        reply.text.contains("\"sub\": String(\"ann\")"),
        "{}",
        reply.text
    );
    // Agreeing hints.
    send(
        &app,
        get_as(
            "/t/acme/whoami",
            &token("acme"),
            &[("x-tenant-id", "Acme"), ("host", "acme.localhost")],
        ),
    )
    .await
    .assert_ok("acme");
}

#[tokio::test]
async fn jwt_refuses_bad_tokens() {
    let app = jwt_app(JwtResolver::hs256(SECRET));
    let exp = now() + 3600;
    let cases = [
        (
            "expired",
            token_with(
                Algorithm::HS256,
                SECRET,
                &json!({"tenant_id": "acme", "exp": now() - 120}),
            ),
        ),
        (
            "no exp",
            token_with(Algorithm::HS256, SECRET, &json!({"tenant_id": "acme"})),
        ),
        (
            "exp not a number",
            token_with(
                Algorithm::HS256,
                SECRET,
                &json!({"tenant_id": "acme", "exp": "soon"}),
            ),
        ),
        (
            "wrong signature",
            token_with(
                Algorithm::HS256,
                b"another secret, also 32 bytes long",
                &json!({"tenant_id": "acme", "exp": exp}),
            ),
        ),
        (
            "other algorithm",
            token_with(
                Algorithm::HS512,
                SECRET,
                &json!({"tenant_id": "acme", "exp": exp}),
            ),
        ),
        ("alg none", unsigned_token("acme")),
        ("alg none, signature kept", {
            let signed = token("acme");
            let signature = signed.rsplit('.').next().unwrap().to_owned();
            format!("{}{signature}", unsigned_token("acme"))
        }),
        (
            "no tenant claim",
            token_with(Algorithm::HS256, SECRET, &json!({"sub": "ann", "exp": exp})),
        ),
        (
            "tenant claim not an id",
            token_with(
                Algorithm::HS256,
                SECRET,
                &json!({"tenant_id": "ACME", "exp": exp}),
            ),
        ),
        (
            "tenant claim empty",
            token_with(
                Algorithm::HS256,
                SECRET,
                &json!({"tenant_id": "", "exp": exp}),
            ),
        ),
        (
            "tenant claim a number",
            token_with(
                Algorithm::HS256,
                SECRET,
                &json!({"tenant_id": 7, "exp": exp}),
            ),
        ),
        // An audience this server was not told about is refused.
        (
            "unexpected audience",
            token_with(
                Algorithm::HS256,
                SECRET,
                &json!({"tenant_id": "acme", "exp": exp, "aud": "other"}),
            ),
        ),
        ("garbage", "not-a-token".to_owned()),
        ("three dots", "a.b.c".to_owned()),
        ("truncated", {
            let t = token("acme");
            t[..t.len() - 3].to_owned()
        }),
        (
            "an api key",
            ApiKey::generate().unwrap().expose().to_owned(),
        ),
    ];
    for (what, token) in &cases {
        let reply = send(&app, get_as("/api/whoami", token, &[])).await;
        assert_eq!(reply.status.as_u16(), 401, "{what}: {reply:?}");
        reply.assert_error(401, "unauthorized");
        assert!(!reply.text.contains("\"acme\""), "{what}: {}", reply.text);
        assert_eq!(reply.headers["www-authenticate"], "Bearer", "{what}");
    }
    let reply = send(&app, get_as("/api/whoami", &cases[0].1, &[])).await;
    assert_eq!(reply.json["error"]["message"], "expired token");
    let reply = send(&app, get_as("/api/whoami", &cases[3].1, &[])).await;
    assert_eq!(
        reply.json["error"]["message"],
        "invalid token: wrong signature"
    );
    // A missing credential with hints is 401, never a hinted tenant.
    send(&app, get_with("/t/acme/whoami", &[("x-tenant-id", "acme")]))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn jwt_checks_issuer_and_audience_when_configured() {
    let app = jwt_app(
        JwtResolver::hs256(SECRET)
            .issuer(["https://auth.test"])
            .audience(["invoices"]),
    );
    let exp = now() + 3600;
    let good =
        json!({"tenant_id": "acme", "exp": exp, "iss": "https://auth.test", "aud": "invoices"});
    send(
        &app,
        get_as(
            "/api/whoami",
            &token_with(Algorithm::HS256, SECRET, &good),
            &[],
        ),
    )
    .await
    .assert_ok("acme");
    for claims in [
        json!({"tenant_id": "acme", "exp": exp, "aud": "invoices"}),
        json!({"tenant_id": "acme", "exp": exp, "iss": "https://evil.test", "aud": "invoices"}),
        json!({"tenant_id": "acme", "exp": exp, "iss": "https://auth.test"}),
        json!({"tenant_id": "acme", "exp": exp, "iss": "https://auth.test", "aud": "billing"}),
    ] {
        send(
            &app,
            get_as(
                "/api/whoami",
                &token_with(Algorithm::HS256, SECRET, &claims),
                &[],
            ),
        )
        .await
        .assert_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn jwt_reads_the_configured_claim_and_leeway() {
    let app = jwt_app(JwtResolver::hs256(SECRET).tenant_claim("org").leeway(300));
    let exp = now() + 3600;
    send(
        &app,
        get_as(
            "/api/whoami",
            &token_with(
                Algorithm::HS256,
                SECRET,
                &json!({"org": "globex", "tenant_id": "acme", "exp": exp}),
            ),
            &[],
        ),
    )
    .await
    .assert_ok("globex");
    // 2 minutes past exp is inside a 5-minute leeway...
    let late = json!({"org": "globex", "exp": now() - 120});
    send(
        &app,
        get_as(
            "/api/whoami",
            &token_with(Algorithm::HS256, SECRET, &late),
            &[],
        ),
    )
    .await
    .assert_ok("globex");
    // ...10 minutes is not.
    let expired = json!({"org": "globex", "exp": now() - 600});
    send(
        &app,
        get_as(
            "/api/whoami",
            &token_with(Algorithm::HS256, SECRET, &expired),
            &[],
        ),
    )
    .await
    .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn jwt_chain_refuses_spoofed_hints() {
    let app = jwt_app(JwtResolver::hs256(SECRET));
    let acme = token("acme");
    for headers in [
        vec![("x-tenant-id", "globex")],
        vec![("x-tenant-id", "")],
        vec![("host", "globex.localhost")],
    ] {
        send(&app, get_as("/api/whoami", &acme, &headers))
            .await
            .assert_error(403, "tenant_mismatch");
    }
    send(&app, get_as("/t/globex/whoami", &acme, &[]))
        .await
        .assert_error(403, "tenant_mismatch");
}

#[tokio::test]
async fn a_credential_without_a_chain_works_alone() {
    let app = app(TenantLayer::new(JwtResolver::hs256(SECRET)));
    send(
        &app,
        get_as("/api/whoami", &token("acme"), &[("x-tenant-id", "globex")]),
    )
    .await
    // No hint configured: the header is not read at all.
    .assert_ok("acme");
    send(&app, get_with("/api/whoami", &[]))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn an_extractor_without_the_layer_is_a_500_not_a_tenant() {
    let app = Router::new().route(
        "/api/whoami",
        get(|Scope(scope): Scope| async move { scope.tenant_id().to_string() }),
    );
    send(
        &app,
        get_as("/api/whoami", &token("acme"), &[("x-tenant-id", "acme")]),
    )
    .await
    .assert_error(500, "internal_error");
    // An `Authenticated<I>` of another `I` than the layer's is not found
    // either.
    let app = Router::new()
        .route(
            "/api/info",
            get(|t: tenant_axum::Authenticated<u32>| async move { t.tenant_id().to_string() }),
        )
        .route_layer(TenantLayer::new(JwtResolver::hs256(SECRET)));
    send(&app, get_as("/api/info", &token("acme"), &[]))
        .await
        .assert_error(500, "internal_error");
}

#[tokio::test]
async fn unmatched_paths_are_not_authenticated() {
    let (app, ..) = api_key_app();
    let reply = send(&app, get_with("/api/nothing-here", &[])).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}
