//! The one walk over a statement's parts, after diesel's `AstPass`: each
//! part (a filter node, an ordering key, an assignment, paging) says once
//! what it contributes, and the pass decides what to keep of it — the words
//! of the statement's shape key, or its SQL text. The key is made on every
//! call; the text only when the key is not in the per-thread cache. Bound
//! values do not take part: they are kept beside the condition tree, in
//! placeholder order, from the moment a condition is built.

use std::fmt::Write as _;

use crate::backend::Backend;
use crate::condition::Node;
use crate::model::{Model, ModelSql};
use crate::params::Sql;
use crate::shape::{self, Kind, ShapeKey, Tag};
use crate::sql::{ROW_ALIAS, SqlWriter, placeholder, push_position_alias};

/// What a walk keeps.
pub(crate) enum AstPass<'a> {
    /// The words of the shape key: tags, column indexes, operators and
    /// counts; no text.
    Key(&'a mut ShapeKey),
    /// The SQL text, with the model's column names.
    Sql {
        w: &'a mut SqlWriter,
        columns: &'static [&'static str],
    },
}

impl AstPass<'_> {
    /// Starts a part of the key (each part has a fixed layout after its
    /// tag); no text.
    pub(crate) fn tag(&mut self, tag: Tag) {
        if let AstPass::Key(key) = self {
            key.tag(tag);
        }
    }

    /// A word of the key only (a fact the text shows some other way).
    pub(crate) fn word(&mut self, word: usize) {
        if let AstPass::Key(key) = self {
            key.push(word);
        }
    }

    /// A 64-bit word of the key only, whatever the width of `usize`.
    pub(crate) fn word64(&mut self, word: u64) {
        self.word((word >> 32) as usize);
        self.word((word & 0xffff_ffff) as usize);
    }

    /// Structural text, which the key's tags already imply.
    pub(crate) fn sql(&mut self, text: &str) {
        if let AstPass::Sql { w, .. } = self {
            w.push(text);
        }
    }

    /// One fact with its text: `word` in the key, `text` in the SQL.
    pub(crate) fn fact(&mut self, word: usize, text: &str) {
        match self {
            AstPass::Key(key) => key.push(word),
            AstPass::Sql { w, .. } => w.push(text),
        }
    }

    /// An optional clause: `on` in the key, `text` in the SQL when `on`.
    pub(crate) fn when(&mut self, on: bool, text: &str) {
        match self {
            AstPass::Key(key) => key.push(usize::from(on)),
            AstPass::Sql { w, .. } => {
                if on {
                    w.push(text);
                }
            }
        }
    }

    /// Column `index` of the model: the index in the key, the quoted and
    /// qualified name in the SQL.
    pub(crate) fn column(&mut self, qualifier: &str, index: usize) {
        match self {
            AstPass::Key(key) => key.push(index),
            AstPass::Sql { w, columns } => w.column(qualifier, columns[index]),
        }
    }

    /// Column `index` of the model, unqualified (an assignment's target).
    pub(crate) fn name(&mut self, index: usize) {
        match self {
            AstPass::Key(key) => key.push(index),
            AstPass::Sql { w, columns } => w.quoted(columns[index]),
        }
    }

    /// Switches to the columns of another model of the statement (a join's
    /// side): its number in the key, its column names in the SQL.
    pub(crate) fn side(&mut self, side: usize, side_columns: &'static [&'static str]) {
        match self {
            AstPass::Key(key) => key.push(side),
            AstPass::Sql { columns, .. } => *columns = side_columns,
        }
    }

    /// The backend the statement is for.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            AstPass::Key(key) => key.backend(),
            AstPass::Sql { w, .. } => w.backend,
        }
    }

    /// Switches the SQL text to the columns of a model the statement reads
    /// in a subquery; returns the columns to switch back to (the key names
    /// the subquery's model itself).
    pub(crate) fn swap_columns(&mut self, new: &'static [&'static str]) -> &'static [&'static str] {
        match self {
            AstPass::Key(_) => new,
            AstPass::Sql { columns, .. } => std::mem::replace(columns, new),
        }
    }

    /// One placeholder, numbered in the writer's sequence.
    pub(crate) fn bind(&mut self) {
        if let AstPass::Sql { w, .. } = self {
            w.placeholder();
        }
    }

    /// `len` placeholders separated by `, `; the length in the key.
    pub(crate) fn bind_list(&mut self, len: usize) {
        match self {
            AstPass::Key(key) => key.push(len),
            AstPass::Sql { w, .. } => {
                for i in 0..len {
                    if i > 0 {
                        w.push(", ");
                    }
                    w.placeholder();
                }
            }
        }
    }

    /// The writer, for text that a part writes in one piece (an
    /// increment's checked sum); `None` when only the key is made.
    pub(crate) fn writer(&mut self) -> Option<&mut SqlWriter> {
        match self {
            AstPass::Key(_) => None,
            AstPass::Sql { w, .. } => Some(w),
        }
    }

    /// Opens the one-statement row-level-security form around model
    /// `sql`'s tenant setting: `SELECT "__tenant_row".* FROM <the
    /// set_config subquery> CROSS JOIN LATERAL (`; close with
    /// [`rls_close`](Self::rls_close).
    pub(crate) fn rls_open(&mut self, sql: &ModelSql) {
        self.sql("SELECT ");
        self.sql(ROW_ALIAS);
        self.sql(".* FROM ");
        self.sql(&sql.rls_ctx_from);
        self.sql(" CROSS JOIN LATERAL (");
    }

    /// Closes the LATERAL subquery: without paging, `OFFSET 0` keeps it
    /// from being flattened into a join whose order the planner chooses.
    pub(crate) fn rls_close(&mut self, paged: bool) {
        if !paged {
            self.sql(" OFFSET 0");
        }
        self.sql(") AS ");
        self.sql(ROW_ALIAS);
    }

    /// ` WHERE <tenant column> = $1`, or `= <the set value>` in the
    /// row-level-security form (`rls`), for model `sql` with tenant column
    /// `tenant`.
    pub(crate) fn scope_where(&mut self, sql: &ModelSql, tenant: &str, rls: bool) {
        if let Some(w) = self.writer() {
            w.push(" WHERE ");
            w.column(&sql.qualifier, tenant);
            w.push(" = ");
            if rls {
                w.push(&sql.rls_ctx);
            } else {
                let first = placeholder(w.backend, 1);
                w.push(&first);
            }
        }
    }

    /// ` AS "__c<position>"`: a select-list item named by its position,
    /// which the row-level-security form's outer ordering refers to.
    pub(crate) fn position_alias(&mut self, position: usize) {
        if let Some(w) = self.writer() {
            push_position_alias(&mut w.sql, position);
        }
    }

    /// `"__tenant_row"."__c<position>"`: the item at `position` outside
    /// the LATERAL subquery.
    pub(crate) fn position_ref(&mut self, position: usize) {
        if let Some(w) = self.writer() {
            let _ = write!(w.sql, "{ROW_ALIAS}.\"__c{position}\"");
        }
    }

    /// ` WHERE`/` AND` and each filter; `has_where` says whether the
    /// statement already has a `WHERE` (the scope predicate).
    pub(crate) fn filters(&mut self, filters: &[Node], mut has_where: bool, qualifier: &str) {
        for node in filters {
            self.sql(if has_where { " AND " } else { " WHERE " });
            has_where = true;
            node.walk(self, qualifier);
        }
    }

    /// ` ORDER BY ..`, each column qualified by `qualifier`.
    pub(crate) fn order(&mut self, order: &[(usize, bool)], qualifier: &str) {
        for (i, &(column, desc)) in order.iter().enumerate() {
            self.tag(Tag::Order);
            self.sql(if i == 0 { " ORDER BY " } else { ", " });
            self.column(qualifier, column);
            self.fact(usize::from(desc), if desc { " DESC" } else { " ASC" });
        }
    }
}

/// The SQL of a dynamic statement of model `M`: `walk` runs once to make
/// the shape key and, when the key is not cached, once more to write the
/// text (`capacity` bytes reserved).
pub(crate) fn render<M: Model>(
    kind: Kind,
    backend: Backend,
    capacity: usize,
    walk: impl Fn(&mut AstPass<'_>),
) -> Sql {
    let first_param = M::sql(backend).first_param;
    render_for::<M>(kind, backend, capacity, first_param, M::COLUMNS, walk)
}

/// [`render`] for a statement over several models: `T` names the
/// statement's type in the key (a join's models), `columns` are those the
/// walk starts with, `first_param` the number of the first placeholder.
pub(crate) fn render_for<T: 'static>(
    kind: Kind,
    backend: Backend,
    capacity: usize,
    first_param: usize,
    columns: &'static [&'static str],
    walk: impl Fn(&mut AstPass<'_>),
) -> Sql {
    let mut key = ShapeKey::new::<T>(kind, backend);
    walk(&mut AstPass::Key(&mut key));
    shape::cached(key, || {
        let mut w = SqlWriter::new(backend, capacity, first_param);
        walk(&mut AstPass::Sql { w: &mut w, columns });
        w.finish()
    })
}
