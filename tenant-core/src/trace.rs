//! A tracing span per statement, so per-tenant traffic shows in the
//! subscriber or OpenTelemetry exporter a service already has.
//!
//! Every statement the builders send — a read, a count, a write, each
//! statement of an `insert_many`, a reference lookup, a streamed read —
//! runs inside one span named `statement` under the target [`TARGET`] at
//! level `INFO`, with the fields:
//!
//! | field | value |
//! |---|---|
//! | `model` | the model's table (a reference lookup's: the referenced table) |
//! | `kind` | one of [`KINDS`] |
//! | `tenant` | the scope's tenant key; absent for a global model |
//! | `rows` | rows returned (a read, a count's single row, `RETURNING`) or changed (`execute`) |
//! | `elapsed_us` | microseconds from sending the statement to its result |
//! | `failed` | `true` when the statement failed |
//!
//! Bound values never appear in a span, nor does the SQL text (which holds
//! placeholders only, but is long). Filter the spans in or out like any
//! other target, e.g. `RUST_LOG=tenant_core::statement=info` with
//! `tracing-subscriber`'s `EnvFilter`. With no subscriber, or the target
//! filtered out, a statement pays one check of a cached flag
//! (`benches/benches/tracing.rs` measures it).
//!
//! ```
//! use tenant_core::trace::{KINDS, TARGET, kind};
//!
//! assert_eq!(TARGET, "tenant_core::statement");
//! assert!(KINDS.contains(&kind::SELECT) && KINDS.contains(&kind::INSERT_MANY));
//! ```

use std::time::Instant;

use tracing::Span;
use tracing::field::Empty;

use crate::error::Error;
use crate::params::Label;
use crate::tenant::TenantValue;

/// The target of every statement span.
pub const TARGET: &str = "tenant_core::statement";

/// The values of a span's `kind` field.
pub mod kind {
    /// `Select::fetch_all`, `fetch_optional`, `fetch_one`, `fetch`, a page,
    /// the parents and children of `fetch_with_children`.
    pub const SELECT: &str = "select";
    /// `Select::count`.
    pub const COUNT: &str = "count";
    /// `Model::find`.
    pub const FIND: &str = "find";
    /// `Model::insert`.
    pub const INSERT: &str = "insert";
    /// One statement of `Model::insert_many`.
    pub const INSERT_MANY: &str = "insert_many";
    /// `Model::upsert`.
    pub const UPSERT: &str = "upsert";
    /// `Model::update`.
    pub const UPDATE: &str = "update";
    /// `Model::delete`.
    pub const DELETE: &str = "delete";
    /// An aggregate (`sum`, `count` … with `group_by`).
    pub const AGGREGATE: &str = "aggregate";
    /// A join of two models.
    pub const JOIN: &str = "join";
    /// The lookup of a write's reference, in the write's transaction.
    pub const REFERENCE_LOOKUP: &str = "reference_lookup";
    /// A raw query of `query_as!` (its `model`: the first `{Model}`'s table).
    pub const RAW: &str = "raw";
}

/// Every value of the `kind` field.
pub const KINDS: [&str; 12] = [
    kind::SELECT,
    kind::COUNT,
    kind::FIND,
    kind::INSERT,
    kind::INSERT_MANY,
    kind::UPSERT,
    kind::UPDATE,
    kind::DELETE,
    kind::AGGREGATE,
    kind::JOIN,
    kind::REFERENCE_LOOKUP,
    kind::RAW,
];

/// The span of one statement, and when it was sent (only when the span is
/// enabled: a disabled span costs no clock read).
pub(crate) struct Trace {
    span: Span,
    started: Option<Instant>,
}

impl Trace {
    /// Opens the span of a statement labelled `label` for `tenant`.
    pub(crate) fn start(label: Label, tenant: Option<&TenantValue>) -> Self {
        let span = tracing::info_span!(
            target: TARGET,
            "statement",
            model = label.model,
            kind = label.kind,
            tenant = Empty,
            rows = Empty,
            elapsed_us = Empty,
            failed = Empty,
        );
        if span.is_disabled() {
            return Trace {
                span,
                started: None,
            };
        }
        if let Some(tenant) = tenant {
            span.record("tenant", tracing::field::display(tenant));
        }
        Trace {
            span,
            started: Some(Instant::now()),
        }
    }

    /// The span, to instrument the statement's future with.
    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// Records `rows` (or the failure) and the time taken.
    pub(crate) fn finish<T>(&self, result: &Result<T, Error>, rows: impl FnOnce(&T) -> u64) {
        let Some(started) = self.started else {
            return;
        };
        match result {
            Ok(value) => self.span.record("rows", rows(value)),
            Err(_) => self.span.record("failed", true),
        };
        let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.span.record("elapsed_us", elapsed);
    }

    /// Enters the span, for a stream's poll.
    pub(crate) fn enter(&self) -> tracing::span::Entered<'_> {
        self.span.enter()
    }

    /// Records `rows` rows, for a stream that counts them as they come.
    pub(crate) fn record_rows(&self, rows: u64) {
        if self.started.is_some() {
            self.span.record("rows", rows);
        }
    }

    /// Records a failure, for a stream.
    pub(crate) fn record_failed(&self) {
        if self.started.is_some() {
            self.span.record("failed", true);
        }
    }

    /// Records the time since the statement was sent, for a stream.
    pub(crate) fn record_elapsed(&self) {
        if let Some(started) = self.started {
            let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.span.record("elapsed_us", elapsed);
        }
    }
}
