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
                ApiError::PayloadTooLarge { limit: BODY_LIMIT }
            } else {
                ApiError::MalformedJson(format!("cannot read the body: {}", rejection.body_text()))
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
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
        let field = if path == "." {
            // Missing and unknown fields are reported on the object; serde
            // names the field in backticks.
            inner.split('`').nth(1).map(str::to_owned)
        } else {
            Some(path)
        };
        let message = match &field {
            Some(field) if !inner.contains(&format!("`{field}`")) => format!("{field}: {inner}"),
            _ => inner,
        };
        ApiError::Validation { field, message }
    })
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
            .map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))
    }
}

/// An invoice id from the path. Anything that is not a positive integer
/// cannot name an invoice, so it is a 404 like a missing one.
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
            .map_err(|_| ApiError::NotFound("invoice"))?;
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => {
                tracing::Span::current().record("invoice_id", id);
                Ok(InvoiceId(id))
            }
            _ => Err(ApiError::NotFound("invoice")),
        }
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
