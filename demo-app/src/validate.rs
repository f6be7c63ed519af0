//! Field rules shared by create and update.

use crate::error::ApiError;

/// Largest accepted amount: ten billion dollars, in cents.
pub const MAX_AMOUNT_CENTS: i64 = 1_000_000_000_000;

/// Longest accepted email address (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;

/// Checks an amount in cents.
pub fn amount_cents(field: &str, value: i64) -> Result<i64, ApiError> {
    if value < 0 {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must not be negative"),
        ));
    }
    if value > MAX_AMOUNT_CENTS {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must be at most {MAX_AMOUNT_CENTS}"),
        ));
    }
    Ok(value)
}

/// Checks the shape of an email address: one `@`, a non-empty local part, a
/// domain of dot-separated labels, no spaces or control characters. Whether
/// the mailbox exists is not this service's business.
pub fn email(field: &str, value: String) -> Result<String, ApiError> {
    let invalid =
        || ApiError::invalid_field(field, format!("{field} is not a valid email address"));
    if value.len() > MAX_EMAIL_LEN || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || !labels_ok
    {
        return Err(invalid());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@example.com", "first.last+tag@sub.example.co", "x@b.c"] {
            assert!(email("e", ok.to_owned()).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@example.com",
            "a@example",
            "a@@example.com",
            "a@b@example.com",
            "a b@example.com",
            "a@example..com",
            "a@-example.com",
            "a@example.com\n",
            &format!("{}@example.com", "x".repeat(65)),
        ] {
            assert!(email("e", bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn amounts() {
        assert!(amount_cents("a", 0).is_ok());
        assert!(amount_cents("a", MAX_AMOUNT_CENTS).is_ok());
        assert!(amount_cents("a", -1).is_err());
        assert!(amount_cents("a", MAX_AMOUNT_CENTS + 1).is_err());
    }
}
