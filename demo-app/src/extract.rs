//! Request-body, query and path extractors whose rejections are
//! [`ApiError`]s: 400 for bytes that are not JSON, 422 naming the field for
//! JSON of the wrong shape, 413 for an oversized body, 415 for a non-JSON
//! content type.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Largest accepted body of `POST /api/invoices/batch` (up to 1 000
/// invoices with their line items).
pub const BATCH_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON body deserialised into `T`.
///
/// The body is first parsed as JSON (a syntax error is a 400), then mapped
/// onto `T` (a missing, unknown or mistyped field is a 422 that names it).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, BODY_LIMIT).await.map(JsonBody)
    }
}

/// A JSON body like [`JsonBody`], of at most [`BATCH_BODY_LIMIT`] bytes; the
/// route must raise axum's `DefaultBodyLimit` to that size as well.
#[derive(Debug, Clone)]
pub struct BatchJsonBody<T>(pub T);

impl<S, T> FromRequest<S> for BatchJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, BATCH_BODY_LIMIT)
            .await
            .map(BatchJsonBody)
    }
}

/// Reads a JSON body of at most `limit` bytes (the limit the route's
/// `DefaultBodyLimit` enforces, named in the 413).
async fn read_json<S, T>(req: Request, state: &S, limit: usize) -> Result<T, ApiError>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let essence = content_type
            .to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::MalformedJson(format!("cannot read the body: {}", rejection.body_text()))
        }
    })?;
    parse_json(&bytes)
}

/// Parses `bytes` as JSON, then as `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::MalformedJson(format!("request body is not valid JSON: {err}")))?;
    if !value.is_object() {
        return Err(ApiError::Validation {
            field: None,
            message: "request body must be a JSON object".to_owned(),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // serde names a missing or unknown field in backticks. The path is
        // the object that lacks a missing field (`.` for the body,
        // `invoices[1]` for a nested one), or ends with the unknown field:
        // the field is named apart from its object, so that only a name
        // that looks like a field name is repeated.
        let named = inner.split('`').nth(1).map(str::to_owned);
        let on_object = inner.starts_with("unknown field") || inner.starts_with("missing field");
        let (object, field) = match named {
            _ if path == "." => (None, named),
            Some(name) if on_object => {
                let object = path
                    .strip_suffix(name.as_str())
                    .unwrap_or(&path)
                    .trim_end_matches('.');
                ((!object.is_empty()).then(|| object.to_owned()), Some(name))
            }
            _ => (None, Some(path)),
        };
        let (field, message) = describe_shape_error(field, &inner);
        let field = match object {
            Some(object) => field.map(|f| format!("{object}.{f}")),
            None => field,
        };
        ApiError::Validation { field, message }
    })
}

/// A message for a serde error that never repeats the rejected value, which
/// may be something pasted by mistake, such as an API key.
///
/// serde's messages quote the input (`invalid type: string "tsk_…",
/// expected i64`, ``unknown variant `tsk_…` ``); what follows `expected` comes
/// from the target type and is kept. A missing or duplicate field is named
/// (the name is the schema's). An unknown field is named only when it looks
/// like a field name (a short lower-case identifier); anything else could be
/// a value sent as a key and is not repeated.
fn describe_shape_error(field: Option<String>, serde_message: &str) -> (Option<String>, String) {
    let expected = serde_message
        .split_once(", expected ")
        .map(|(_, expected)| expected);
    if serde_message.starts_with("unknown field") {
        let field = field.filter(|f| looks_like_a_field_name(f));
        let message = match (&field, expected) {
            (Some(f), Some(e)) => format!("unknown field `{f}`, expected {e}"),
            (Some(f), None) => format!("unknown field `{f}`"),
            (None, Some(e)) => format!("unknown field, expected {e}"),
            (None, None) => "unknown field".to_owned(),
        };
        return (field, message);
    }
    if serde_message.starts_with("missing field") || serde_message.starts_with("duplicate field") {
        return (field, serde_message.to_owned());
    }
    // The standard library's integer parse errors are fixed texts.
    const FIXED: [&str; 4] = [
        "cannot parse integer from empty string",
        "invalid digit found in string",
        "number too large to fit in target type",
        "number too small to fit in target type",
    ];
    let message = match (&field, expected) {
        (Some(f), _) if FIXED.contains(&serde_message) => format!("{f}: {serde_message}"),
        (Some(f), Some(e)) => format!("{f}: invalid value, expected {e}"),
        (Some(f), None) => format!("{f}: invalid value"),
        (None, Some(e)) => format!("invalid value, expected {e}"),
        (None, None) => "invalid value".to_owned(),
    };
    (field, message)
}

/// A short lower-case identifier such as `amount_cents`; an API key
/// (`tsk_` and 64 hex digits) is too long to be one.
fn looks_like_a_field_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Query-string parameters deserialised into `T`; a bad parameter is a 400
/// naming it.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|rejection| {
                // `Failed to deserialize query string: limit: <serde error>`;
                // rebuilt so that no parameter's value is repeated.
                let text = rejection.body_text();
                let detail = text.split_once(": ").map_or(text.as_str(), |(_, d)| d);
                let (name, serde_message) = match detail.split_once(": ") {
                    Some((name, rest)) if looks_like_a_field_name(name) => {
                        (Some(name.to_owned()), rest)
                    }
                    _ => (None, detail),
                };
                let (_, message) = describe_shape_error(name, serde_message);
                ApiError::InvalidQuery(format!("invalid query string: {message}"))
            })
    }
}

/// An invoice id from the path, in its one canonical form (see
/// [`validate::canonical_id`](crate::validate::canonical_id)). Anything else
/// (`+1`, `01`, `abc`) cannot name an invoice, so it is a 404 like a missing
/// one, whose message says what an id looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceId(pub i64);

impl<S> FromRequestParts<S> for InvoiceId
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::MalformedId("invoice"))?;
        let id = crate::validate::canonical_id(&raw).ok_or(ApiError::MalformedId("invoice"))?;
        tracing::Span::current().record("invoice_id", id);
        Ok(InvoiceId(id))
    }
}

/// A customer id from the path, in the canonical form of
/// [`InvoiceId`]; anything else is a 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerId(pub i64);

impl<S> FromRequestParts<S> for CustomerId
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::MalformedId("customer"))?;
        let id = crate::validate::canonical_id(&raw).ok_or(ApiError::MalformedId("customer"))?;
        Ok(CustomerId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        amount_cents: i64,
        customer_email: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Batch {
        invoices: Vec<Body>,
    }

    #[test]
    fn nested_missing_and_unknown_fields_are_named_with_their_path() {
        let field = |json: &str| match parse_json::<Batch>(json.as_bytes()) {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let ok = r#"{"amount_cents":1,"customer_email":"a@b.c"}"#;
        assert_eq!(
            field(&format!(r#"{{"invoices":[{ok},{{"amount_cents":1}}]}}"#)).as_deref(),
            Some("invoices[1].customer_email")
        );
        assert_eq!(
            field(&format!(
                r#"{{"invoices":[{ok},{{"amount_cents":1,"customer_email":"a@b.c","tenant_id":"x"}}]}}"#
            ))
            .as_deref(),
            Some("invoices[1].tenant_id")
        );
        // A key that does not look like a field name is not repeated.
        let key = format!("tsk_{}", "a".repeat(64));
        assert_eq!(
            field(&format!(
                r#"{{"invoices":[{{"amount_cents":1,"customer_email":"a@b.c","{key}":1}}]}}"#
            )),
            None
        );
        assert_eq!(
            field(r#"{"invoices":[{"amount_cents":"x","customer_email":"a@b.c"}]}"#).as_deref(),
            Some("invoices[0].amount_cents")
        );
    }

    fn field_of(json: &str) -> (u16, Option<String>, String) {
        match parse_json::<Body>(json.as_bytes()) {
            Ok(_) => (200, None, String::new()),
            Err(err) => {
                let status = err.status().as_u16();
                match err {
                    ApiError::Validation { field, message } => (status, field, message),
                    other => (status, None, other.to_string()),
                }
            }
        }
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_name_the_field() {
        assert_eq!(field_of("{").0, 400);
        assert_eq!(field_of("").0, 400);
        assert_eq!(
            field_of(r#"{"amount_cents":1,"customer_email":"a@b.c"}"#).0,
            200
        );
        let (status, field, message) = field_of(r#"{"amount_cents":"x","customer_email":"a@b.c"}"#);
        assert_eq!((status, field.as_deref()), (422, Some("amount_cents")));
        assert!(message.contains("amount_cents"), "{message}");
        let (status, field, message) =
            field_of(r#"{"amount_cents":1,"customer_email":"a@b.c","admin":true}"#);
        assert_eq!((status, field.as_deref()), (422, Some("admin")));
        assert!(message.contains("admin"), "{message}");
        let (status, field, _) = field_of(r#"{"amount_cents":1}"#);
        assert_eq!((status, field.as_deref()), (422, Some("customer_email")));
        assert_eq!(field_of("[1]").0, 422);
        assert_eq!(field_of(r#"{"amount_cents":1e400}"#).0, 400);
        let (status, field, _) =
            field_of(r#"{"amount_cents":18446744073709551616,"customer_email":"a@b.c"}"#);
        assert_eq!((status, field.as_deref()), (422, Some("amount_cents")));
    }
}
