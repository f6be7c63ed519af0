//! The SQL writer: the one place that quotes identifiers, numbers
//! placeholders and writes filters and ordering, for every backend's
//! dialect.

use std::fmt::Write as _;

use crate::backend::Backend;

/// Alias of the LATERAL subquery in the row-level-security forms
/// (PostgreSQL only).
pub(crate) const ROW_ALIAS: &str = "\"__tenant_row\"";

/// Appends ` AS "__c<position>"`: a select-list item of a
/// row-level-security form named by its position, for the outer query to
/// refer to (`"__tenant_row"."__c<position>"`).
pub(crate) fn push_position_alias(sql: &mut String, position: usize) {
    let _ = write!(sql, " AS \"__c{position}\"");
}

/// Appends `identifier` quoted for `backend`.
///
/// Identifiers from the derive were checked to be `[A-Za-z_][A-Za-z0-9_]*`;
/// quoting keeps keywords and case intact, and doubling the quote character
/// keeps any other text (a table name from a caller) from breaking out of
/// the identifier.
pub(crate) fn push_quoted(sql: &mut String, backend: Backend, identifier: &str) {
    let quote = backend.identifier_quote();
    sql.push(quote);
    if identifier.contains(quote) {
        let mut doubled = String::with_capacity(2);
        doubled.push(quote);
        doubled.push(quote);
        sql.push_str(&identifier.replace(quote, &doubled));
    } else {
        sql.push_str(identifier);
    }
    sql.push(quote);
}

/// `identifier` quoted as [`push_quoted`] writes it: the one quoting rule of
/// the crate (statements, the schema check, the doctor).
pub(crate) fn quoted(backend: Backend, identifier: &str) -> String {
    let mut out = String::with_capacity(identifier.len() + 2);
    push_quoted(&mut out, backend, identifier);
    out
}

/// Appends `qualifier.column` (`qualifier` already quoted): a qualified
/// column, never read as a string literal by SQLite when the column does
/// not exist.
pub(crate) fn push_column(sql: &mut String, backend: Backend, qualifier: &str, column: &str) {
    sql.push_str(qualifier);
    sql.push('.');
    push_quoted(sql, backend, column);
}

/// Appends a placeholder: `$n` (numbering from `*next`) or `?`.
pub(crate) fn push_placeholder(sql: &mut String, backend: Backend, next: &mut usize) {
    if backend.numbered_placeholders() {
        let _ = write!(sql, "${next}");
    } else {
        sql.push('?');
    }
    *next += 1;
}

/// Placeholder number `n` as text: `$n`, or `?`.
pub(crate) fn placeholder(backend: Backend, n: usize) -> String {
    let mut out = String::with_capacity(4);
    push_placeholder(&mut out, backend, &mut { n });
    out
}

/// A statement being written for one backend: its text, and the number of
/// the next placeholder.
pub(crate) struct SqlWriter {
    pub(crate) sql: String,
    pub(crate) backend: Backend,
    next: usize,
}

impl SqlWriter {
    /// A writer whose first placeholder is number `first_param`.
    pub(crate) fn new(backend: Backend, capacity: usize, first_param: usize) -> Self {
        SqlWriter {
            sql: String::with_capacity(capacity),
            backend,
            next: first_param,
        }
    }

    pub(crate) fn push(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    pub(crate) fn quoted(&mut self, identifier: &str) {
        push_quoted(&mut self.sql, self.backend, identifier);
    }

    pub(crate) fn column(&mut self, qualifier: &str, column: &str) {
        push_column(&mut self.sql, self.backend, qualifier, column);
    }

    pub(crate) fn placeholder(&mut self) {
        push_placeholder(&mut self.sql, self.backend, &mut self.next);
    }

    /// The next placeholder's text, without appending it.
    pub(crate) fn next_placeholder(&mut self) -> String {
        self.next += 1;
        placeholder(self.backend, self.next - 1)
    }

    pub(crate) fn finish(self) -> String {
        self.sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_quotes_and_numbers_its_way() {
        assert_eq!(quoted(Backend::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(quoted(Backend::MySql, "a`b"), "`a``b`");
        assert_eq!(quoted(Backend::MySql, "a\"b"), "`a\"b`");
        for (backend, expected) in [
            (Backend::Sqlite, "$2, $3"),
            (Backend::Postgres, "$2, $3"),
            (Backend::MySql, "?, ?"),
        ] {
            let mut w = SqlWriter::new(backend, 8, 2);
            w.placeholder();
            w.push(", ");
            w.placeholder();
            assert_eq!(w.finish(), expected);
        }
    }
}
