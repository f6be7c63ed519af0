//! Every error the API answers with, mapped to a status and a JSON body in
//! one place.
//!
//! The body is always `{"error":{"code":"...","message":"..."}}`; a
//! validation error adds `"field"`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 `malformed_json`: the body is not JSON.
    #[error("{0}")]
    MalformedJson(String),
    /// 400 `invalid_query`: a query-string parameter is invalid.
    #[error("{0}")]
    InvalidQuery(String),
    /// 422 `validation_failed`: well-formed JSON with a wrong field.
    #[error("{message}")]
    Validation {
        /// The offending field, when there is one.
        field: Option<String>,
        /// What is wrong, naming the field.
        message: String,
    },
    /// 413 `payload_too_large`.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415 `unsupported_media_type`.
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 401 `unauthorized`: missing, malformed or unknown credential.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403 `tenant_mismatch`: a tenant hint disagrees with the credential.
    #[error("the {0} names a different tenant than the API key")]
    TenantMismatch(&'static str),
    /// 403 `quota_exceeded`: the plan's invoice limit is reached.
    #[error("the plan allows at most {limit} stored invoices; delete some or upgrade")]
    QuotaExceeded {
        /// The plan's limit.
        limit: i64,
    },
    /// 404 `not_found`: no such resource for this tenant (including another
    /// tenant's resource, deliberately indistinguishable).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 404 `not_found`: a path segment that cannot name a resource, with a
    /// message that says which form ids take (the segment is not repeated).
    #[error(
        "{0} not found: an id is a positive decimal integer, without sign, spaces or leading zeros"
    )]
    MalformedId(&'static str),
    /// 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 429 `rate_limited`, with `Retry-After`.
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request will be accepted.
        retry_after_secs: u64,
    },
    /// 403 `admin_disabled`: the admin API is not configured (no admin key,
    /// or on PostgreSQL no cross-tenant database role).
    #[error("{0}")]
    AdminDisabled(&'static str),
    /// 503 `service_unavailable`: the database cannot be reached.
    #[error("the database is unavailable; retry shortly")]
    Unavailable,
    /// 500 `internal_error`. Details are logged, not sent.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// A 422 for `field`.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::TenantMismatch(_)
            | ApiError::QuotaExceeded { .. }
            | ApiError::AdminDisabled(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::MalformedId(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::TenantMismatch(_) => "tenant_mismatch",
            ApiError::QuotaExceeded { .. } => "quota_exceeded",
            ApiError::AdminDisabled(_) => "admin_disabled",
            ApiError::NotFound(_) | ApiError::MalformedId(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable => "service_unavailable",
            ApiError::Internal => "internal_error",
        }
    }
}

/// `true` when the database, not the request, is the problem and a retry
/// may succeed (no connection, a server shutting down or overloaded, a locked
/// SQLite file): [`tenant_core::Error::is_unavailable`].
pub fn is_database_unavailable(err: &tenant_core::Error) -> bool {
    err.is_unavailable()
}

/// `true` when a foreign key refused the statement: a row named a parent
/// that its tenant does not have (every foreign key between tenant tables
/// pairs the tenant columns, so another tenant's id is refused like a
/// missing one).
pub fn is_foreign_key_violation(err: &tenant_core::Error) -> bool {
    matches!(
        err,
        tenant_core::Error::Database(sqlx::Error::Database(db)) if db.is_foreign_key_violation()
    )
}

impl From<tenant_core::Error> for ApiError {
    fn from(err: tenant_core::Error) -> Self {
        if is_database_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            ApiError::Unavailable
        } else if matches!(err, tenant_core::Error::NoCrossTenantPool) {
            ApiError::AdminDisabled(
                "the admin API needs a cross-tenant database role on PostgreSQL: start with ADMIN_DATABASE_URL",
            )
        } else if err.is_not_found() {
            ApiError::NotFound("resource")
        } else if is_foreign_key_violation(&err)
            || matches!(err, tenant_core::Error::ReferenceNotFound { .. })
        {
            // Handlers that know the field map it themselves; this is the
            // fallback, still a client error rather than a 500.
            ApiError::Validation {
                field: None,
                message: "the request refers to a row this tenant does not have".to_owned(),
            }
        } else {
            tracing::error!(error = %err, "database error");
            ApiError::Internal
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        if let (ApiError::Validation { field: Some(f), .. }, Some(obj)) =
            (&self, error.as_object_mut())
        {
            obj.insert("field".to_owned(), json!(f));
        }
        let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
