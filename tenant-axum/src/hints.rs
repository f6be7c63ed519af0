//! Tenant hints: a header, a subdomain, a path segment. Each can only refuse
//! a request whose credential names another tenant.

use std::borrow::Cow;
use std::net::IpAddr;

use axum::extract::OriginalUri;
use axum::http::request::Parts;
use axum::http::{HeaderName, header};
use tenant_core::TenantId;

use crate::{TenantHint, TenantRejection, hint_names};

/// A header that names the tenant, such as `X-Tenant-ID`.
///
/// Every value of the header must name the credential's tenant (ignoring
/// ASCII case and surrounding white space); an empty value, a value that is
/// not UTF-8, or another tenant is a 403. No header passes.
///
/// ```
/// use axum::http::Request;
/// use tenant_axum::{HeaderHint, TenantHint};
/// use tenant_core::TenantId;
///
/// let acme = TenantId::parse("acme").unwrap();
/// let hint = HeaderHint::x_tenant_id();
/// let parts = |v: &str| Request::get("/").header("x-tenant-id", v).body(()).unwrap().into_parts().0;
/// assert!(hint.check(&parts("ACME"), &acme).is_ok());
/// assert!(hint.check(&parts("globex"), &acme).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct HeaderHint {
    name: HeaderName,
    label: Cow<'static, str>,
}

impl HeaderHint {
    /// The header `name`.
    ///
    /// ```
    /// use axum::http::HeaderName;
    /// let hint = tenant_axum::HeaderHint::new(HeaderName::from_static("x-org"));
    /// ```
    pub fn new(name: HeaderName) -> Self {
        let label = format!("{name} header").into();
        HeaderHint { name, label }
    }

    /// The `X-Tenant-ID` header.
    ///
    /// ```
    /// let hint = tenant_axum::HeaderHint::x_tenant_id();
    /// ```
    pub fn x_tenant_id() -> Self {
        HeaderHint {
            name: HeaderName::from_static("x-tenant-id"),
            label: Cow::Borrowed("X-Tenant-ID header"),
        }
    }
}

impl TenantHint for HeaderHint {
    fn check(&self, parts: &Parts, tenant: &TenantId) -> Result<(), TenantRejection> {
        for value in parts.headers.get_all(&self.name) {
            if !value.to_str().is_ok_and(|hint| hint_names(hint, tenant)) {
                return Err(TenantRejection::TenantMismatch(self.label.clone()));
            }
        }
        Ok(())
    }
}

/// The subdomain directly in front of a base domain: `acme.example.com`
/// under `example.com` names `acme`.
///
/// The host is the `Host` header (HTTP/1.1) or the URI's authority
/// (HTTP/2); a proxy's `X-Forwarded-Host` is not trusted and not read. A
/// host outside the base domains, a base domain itself, `www.…` and IP
/// literals name no tenant and pass.
///
/// ```
/// use axum::http::Request;
/// use tenant_axum::{SubdomainHint, TenantHint};
/// use tenant_core::TenantId;
///
/// let acme = TenantId::parse("acme").unwrap();
/// let hint = SubdomainHint::new(["example.com"]);
/// let parts = |host: &str| Request::get("/").header("host", host).body(()).unwrap().into_parts().0;
/// assert!(hint.check(&parts("ACME.example.com:443"), &acme).is_ok());
/// assert!(hint.check(&parts("example.com"), &acme).is_ok());
/// assert!(hint.check(&parts("globex.example.com"), &acme).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct SubdomainHint {
    base_domains: Vec<String>,
}

impl SubdomainHint {
    /// Subdomains of each of `base_domains`.
    ///
    /// ```
    /// let hint = tenant_axum::SubdomainHint::new(["localhost", "example.com"]);
    /// ```
    pub fn new<T: Into<String>>(base_domains: impl IntoIterator<Item = T>) -> Self {
        SubdomainHint {
            base_domains: base_domains
                .into_iter()
                .map(|d| d.into().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        }
    }
}

impl TenantHint for SubdomainHint {
    fn check(&self, parts: &Parts, tenant: &TenantId) -> Result<(), TenantRejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(parts.uri.host());
        if let Some(hint) = host.and_then(|h| host_tenant_hint(h, &self.base_domains))
            && !hint_names(&hint, tenant)
        {
            return Err(TenantRejection::TenantMismatch("host name".into()));
        }
        Ok(())
    }
}

/// The tenant a host name hints at: the subdomain directly in front of a base
/// domain, as in `acme.localhost:3000` → `acme`.
///
/// Ports, upper case and one trailing dot are normalised away (`ACME.localhost.`
/// is `acme`). IP literals, a base domain itself (`localhost`), `www.…` and
/// hosts outside the base domains give no hint. The result is compared with
/// the credential's tenant; it never selects a tenant on its own.
///
/// ```
/// use tenant_axum::host_tenant_hint;
///
/// let bases = ["localhost".to_owned()];
/// assert_eq!(host_tenant_hint("ACME.localhost:3000", &bases).as_deref(), Some("acme"));
/// assert_eq!(host_tenant_hint("localhost:3000", &bases), None);
/// assert_eq!(host_tenant_hint("www.localhost", &bases), None);
/// ```
pub fn host_tenant_hint(host: &str, base_domains: &[String]) -> Option<String> {
    if host.starts_with('[') {
        return None; // IPv6 literal, possibly with a port
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        Some(_) => return None,
        None => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() || name.parse::<IpAddr>().is_ok() {
        return None;
    }
    for base in base_domains {
        let base = base.trim_end_matches('.').to_ascii_lowercase();
        if let Some(sub) = name
            .strip_suffix(base.as_str())
            .and_then(|s| s.strip_suffix('.'))
        {
            if sub.is_empty() || sub == "www" || sub.starts_with("www.") {
                return None;
            }
            return Some(sub.to_owned());
        }
    }
    None
}

/// The path segment after a prefix: under `/t`, `/t/acme/invoices` names
/// `acme`.
///
/// The path is the one the client sent ([`OriginalUri`] when axum recorded
/// it, so a nested router sees the full path). A path outside the prefix
/// names no tenant and passes; under it, the segment must name the
/// credential's tenant (ignoring ASCII case); an empty or percent-encoded
/// segment is a mismatch. The route itself still declares the segment
/// (`/t/{tenant}/invoices`); the handler uses the scope, not the segment.
///
/// ```
/// use axum::http::Request;
/// use tenant_axum::{PathPrefixHint, TenantHint};
/// use tenant_core::TenantId;
///
/// let acme = TenantId::parse("acme").unwrap();
/// let hint = PathPrefixHint::new("/t");
/// let parts = |path: &str| Request::get(path).body(()).unwrap().into_parts().0;
/// assert!(hint.check(&parts("/t/acme/invoices"), &acme).is_ok());
/// assert!(hint.check(&parts("/health"), &acme).is_ok());
/// assert!(hint.check(&parts("/t/globex/invoices"), &acme).is_err());
/// assert!(hint.check(&parts("/t//invoices"), &acme).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct PathPrefixHint {
    prefix: String,
}

impl PathPrefixHint {
    /// The segment after `prefix` (`"/t"`, `"/tenants/"`; `"/"` or `""` for
    /// the first segment of every path).
    ///
    /// ```
    /// let hint = tenant_axum::PathPrefixHint::new("/tenants/");
    /// ```
    pub fn new(prefix: &str) -> Self {
        let trimmed = prefix.trim_matches('/');
        let prefix = if trimmed.is_empty() {
            "/".to_owned()
        } else {
            format!("/{trimmed}/")
        };
        PathPrefixHint { prefix }
    }

    /// The tenant segment of `path`: `None` outside the prefix.
    fn segment<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(self.prefix.as_str())?;
        Some(rest.split('/').next().unwrap_or(rest))
    }
}

impl TenantHint for PathPrefixHint {
    fn check(&self, parts: &Parts, tenant: &TenantId) -> Result<(), TenantRejection> {
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(parts.uri.path(), |original| original.path());
        match self.segment(path) {
            Some(segment) if !hint_names(segment, tenant) || segment.trim() != segment => {
                Err(TenantRejection::TenantMismatch("path".into()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(host: &str) -> Option<String> {
        host_tenant_hint(host, &["localhost".to_owned(), "example.com".to_owned()])
    }

    #[test]
    fn subdomains_hint_at_a_tenant() {
        assert_eq!(hint("acme.localhost").as_deref(), Some("acme"));
        assert_eq!(hint("acme.localhost:3000").as_deref(), Some("acme"));
        assert_eq!(hint("ACME.LocalHost:3000").as_deref(), Some("acme"));
        assert_eq!(hint("acme.localhost.").as_deref(), Some("acme"));
        assert_eq!(hint("globex.example.com").as_deref(), Some("globex"));
        assert_eq!(hint("a.b.localhost").as_deref(), Some("a.b"));
    }

    #[test]
    fn other_hosts_give_no_hint() {
        for host in [
            "localhost",
            "localhost:3000",
            "LOCALHOST.",
            "127.0.0.1",
            "127.0.0.1:3000",
            "[::1]:3000",
            "[::1]",
            "::1",
            "www.localhost",
            "www.acme.localhost:3000",
            "example.com",
            "evil-localhost",
            "acme.example.org",
            "",
            ":3000",
            "acme.localhost:x",
        ] {
            assert_eq!(hint(host), None, "{host:?}");
        }
    }

    #[test]
    fn path_segments() {
        let t = PathPrefixHint::new("/t/");
        assert_eq!(t.segment("/t/acme/x"), Some("acme"));
        assert_eq!(t.segment("/t/acme"), Some("acme"));
        assert_eq!(t.segment("/t/"), Some(""));
        assert_eq!(t.segment("/t"), None);
        assert_eq!(t.segment("/tx/acme"), None);
        assert_eq!(t.segment("/health"), None);
        let root = PathPrefixHint::new("/");
        assert_eq!(root.segment("/acme/x"), Some("acme"));
        assert_eq!(PathPrefixHint::new("").segment("/acme"), Some("acme"));
    }
}
