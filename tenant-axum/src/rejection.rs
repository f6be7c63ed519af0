//! Why a request got no tenant, as an HTTP answer.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why a request was refused before it reached a handler.
///
/// Answered as JSON, `{"error":{"code":"...","message":"..."}}`, with the
/// status and code of each variant. A 401 carries `WWW-Authenticate: Bearer`,
/// a 429 and a 503 carry `Retry-After`.
///
/// ```
/// use axum::http::StatusCode;
/// use axum::response::IntoResponse;
/// use tenant_axum::TenantRejection;
///
/// let rejection = TenantRejection::Unauthorized("missing credential".into());
/// assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(rejection.code(), "unauthorized");
/// let response = rejection.into_response();
/// assert_eq!(response.headers()["www-authenticate"], "Bearer");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenantRejection {
    /// 401 `unauthorized`: the credential is missing, malformed, unknown,
    /// expired or wrongly signed.
    #[error("{0}")]
    Unauthorized(Cow<'static, str>),
    /// 403 `tenant_mismatch`: a tenant hint (named here, such as
    /// `X-Tenant-ID header`) disagrees with the credential.
    #[error("the {0} names a different tenant than the credential")]
    TenantMismatch(Cow<'static, str>),
    /// 429 `rate_limited`, with `Retry-After`.
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request will be accepted (at least 1).
        retry_after_secs: u64,
    },
    /// 503 `service_unavailable`, with `Retry-After: 1`: the credential
    /// store cannot be reached.
    #[error("the database is unavailable; retry shortly")]
    Unavailable,
    /// 500 `internal_error`. Details are logged, not sent.
    #[error("internal error")]
    Internal,
}

impl TenantRejection {
    /// The HTTP status.
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use tenant_axum::TenantRejection;
    ///
    /// assert_eq!(
    ///     TenantRejection::TenantMismatch("X-Tenant-ID header".into()).status(),
    ///     StatusCode::FORBIDDEN
    /// );
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            TenantRejection::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            TenantRejection::TenantMismatch(_) => StatusCode::FORBIDDEN,
            TenantRejection::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            TenantRejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            TenantRejection::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code of the JSON body.
    ///
    /// ```
    /// use tenant_axum::TenantRejection;
    ///
    /// let limited = TenantRejection::RateLimited { retry_after_secs: 3 };
    /// assert_eq!(limited.code(), "rate_limited");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            TenantRejection::Unauthorized(_) => "unauthorized",
            TenantRejection::TenantMismatch(_) => "tenant_mismatch",
            TenantRejection::RateLimited { .. } => "rate_limited",
            TenantRejection::Unavailable => "service_unavailable",
            TenantRejection::Internal => "internal_error",
        }
    }
}

impl From<tenant_core::Error> for TenantRejection {
    /// A database error while looking up a credential: 503 when the
    /// database cannot be reached ([`tenant_core::Error::is_unavailable`]),
    /// else 500. Either way the error is logged, not sent.
    fn from(err: tenant_core::Error) -> Self {
        if err.is_unavailable() {
            tracing::warn!(error = %err, "credential store unavailable");
            TenantRejection::Unavailable
        } else {
            tracing::error!(error = %err, "credential store failed");
            TenantRejection::Internal
        }
    }
}

impl IntoResponse for TenantRejection {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            TenantRejection::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            TenantRejection::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            TenantRejection::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            TenantRejection::TenantMismatch(_) | TenantRejection::Internal => {}
        }
        response
    }
}
