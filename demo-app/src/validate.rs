//! Field rules shared by create and update, and the one accepted form of
//! an id in a path or a cursor.

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

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

/// Parses a row id in its one canonical form: decimal digits with no sign,
/// no leading zeros, no spaces, positive and within `i64`. `+1`, `01` and
/// ` 1` are not ids, so each invoice has exactly one URL.
pub fn canonical_id(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let canonical =
        matches!(bytes.first(), Some(b'1'..=b'9')) && bytes.iter().all(u8::is_ascii_digit);
    // Digits only, so the parse fails only on overflow.
    canonical.then(|| text.parse::<i64>().ok()).flatten()
}

/// Whether `c` may appear in an email address: no spaces or separators, and
/// nothing of the Unicode "Other" group — control characters, format
/// characters (zero-width spaces and joiners, bidirectional marks, embeddings,
/// overrides and isolates, the byte-order mark, soft hyphens, tags),
/// surrogates, private-use and unassigned code points. Such characters make
/// two different addresses look the same, or reorder what a reader sees.
fn visible_email_char(c: char) -> bool {
    !matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Separator | GeneralCategoryGroup::Other
    ) && !c.is_whitespace()
}

/// Checks the shape of an email address: one `@`, a non-empty local part, a
/// domain of dot-separated labels, no spaces, control, invisible or
/// bidirectional-formatting characters. Whether the mailbox exists is not
/// this service's business. The error never repeats the value: it may be
/// something pasted by mistake, such as a key.
pub fn email(field: &str, value: String) -> Result<String, ApiError> {
    let invalid =
        || ApiError::invalid_field(field, format!("{field} is not a valid email address"));
    if value.len() > MAX_EMAIL_LEN || !value.chars().all(visible_email_char) {
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

/// Checks a short text such as a name or a description: not blank, at most
/// `max_chars` characters, no control, format or other invisible
/// characters (spaces are allowed inside). The error never repeats the
/// value.
pub fn text(field: &str, value: String, max_chars: usize) -> Result<String, ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > max_chars {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must be at most {max_chars} characters"),
        ));
    }
    let visible = value.chars().all(|c| {
        c == ' '
            || !matches!(
                c.general_category_group(),
                GeneralCategoryGroup::Separator | GeneralCategoryGroup::Other
            )
    });
    if !visible {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must not contain control or invisible characters"),
        ));
    }
    Ok(value)
}

/// Checks a count of units: 1 to `max`.
pub fn quantity(field: &str, value: i64, max: i64) -> Result<i64, ApiError> {
    if !(1..=max).contains(&value) {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must be between 1 and {max}"),
        ));
    }
    Ok(value)
}

/// Checks an id given in a body (such as `customer_id`): positive.
pub fn id(field: &str, value: i64) -> Result<i64, ApiError> {
    if value < 1 {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must be a positive id"),
        ));
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
            "a\u{200B}b@example.com",
            "a\u{202E}b@example.com",
            "ab@example.com\u{2066}",
            "\u{FEFF}ab@example.com",
            "a\u{00A0}b@example.com",
            "a\u{E000}b@example.com",
            &format!("{}@example.com", "x".repeat(65)),
        ] {
            assert!(email("e", bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn canonical_ids() {
        assert_eq!(canonical_id("1"), Some(1));
        assert_eq!(canonical_id("42"), Some(42));
        assert_eq!(canonical_id("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            "0",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1.0",
            "1e0",
            "0x1",
            "\u{FF11}",
            "9223372036854775808",
        ] {
            assert_eq!(canonical_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn texts() {
        assert!(text("n", "Ada Lovelace".to_owned(), 20).is_ok());
        for bad in ["", "   ", "a\u{200B}b", "a\nb", "a\u{202E}b"] {
            assert!(text("n", bad.to_owned(), 20).is_err(), "{bad:?}");
        }
        assert!(text("n", "x".repeat(21), 20).is_err());
        assert!(quantity("q", 0, 10).is_err());
        assert!(quantity("q", 11, 10).is_err());
        assert!(id("c", 0).is_err());
        assert!(id("c", 1).is_ok());
    }

    #[test]
    fn amounts() {
        assert!(amount_cents("a", 0).is_ok());
        assert!(amount_cents("a", MAX_AMOUNT_CENTS).is_ok());
        assert!(amount_cents("a", -1).is_err());
        assert!(amount_cents("a", MAX_AMOUNT_CENTS + 1).is_err());
    }
}
