//! A statement ready to run: its SQL text and its bound parameters, which
//! bind on whichever backend the statement runs on.

use sqlx::error::BoxDynError;
use sqlx::{Arguments, AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::backend::Driver;
use crate::model::NewRow;
use crate::tenant::TenantValue;
use crate::value::{SqlType, Value};

/// SQL text: rendered once per model, or for a dynamic shape.
#[derive(Debug)]
pub(crate) enum Sql {
    Static(&'static str),
    Owned(String),
    /// From the per-shape cache.
    Shared(std::sync::Arc<str>),
}

impl Sql {
    pub(crate) fn into_cow(self) -> std::borrow::Cow<'static, str> {
        match self {
            Sql::Static(s) => s.into(),
            Sql::Owned(s) => s.into(),
            Sql::Shared(s) => String::from(&*s).into(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Sql::Static(s) => s,
            Sql::Owned(s) => s,
            Sql::Shared(s) => s,
        }
    }
}

impl SqlSafeStr for Sql {
    fn into_sql_str(self) -> SqlStr {
        match self {
            Sql::Static(s) => SqlStr::from_static(s),
            // Rendered only from identifiers validated by the derive and
            // placeholders; every value is a bound parameter.
            Sql::Owned(s) => AssertSqlSafe(s).into_sql_str(),
            Sql::Shared(s) => AssertSqlSafe(s).into_sql_str(),
        }
    }
}

/// The bound parameters of one statement, in placeholder order.
pub(crate) trait Params: Send {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError>;
}

/// What a statement is, for its tracing span (see [`crate::trace`]): the
/// table it is about and its kind. Never a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label {
    /// The model's table (a reference lookup's: the referenced table).
    pub(crate) model: &'static str,
    /// The statement kind, one of [`crate::trace::KINDS`].
    pub(crate) kind: &'static str,
}

impl Label {
    /// A statement of kind `kind` on `M`'s table.
    pub(crate) const fn of<M: crate::model::Model>(kind: &'static str) -> Self {
        Label {
            model: M::TABLE,
            kind,
        }
    }
}

/// A statement ready to run.
pub(crate) struct Statement<P> {
    pub(crate) label: Label,
    pub(crate) sql: Sql,
    /// The tenant the statement is scoped to; `None` for global models.
    pub(crate) tenant: Option<TenantValue>,
    pub(crate) params: P,
}

/// The bound arguments of `params` for backend `DB`.
pub(crate) fn arguments<DB: Driver, P: Params>(params: P) -> Result<DB::Arguments, sqlx::Error> {
    let mut args = DB::Arguments::default();
    params.bind::<DB>(&mut args).map_err(sqlx::Error::Encode)?;
    Ok(args)
}

/// The tenant (if any), the values in placeholder order, then LIMIT and
/// OFFSET: a statement whose scope predicate comes before its filters.
pub(crate) struct DynParams {
    pub(crate) tenant: Option<TenantValue>,
    pub(crate) values: Vec<Value>,
    pub(crate) limit: Option<i64>,
    pub(crate) offset: Option<i64>,
}

impl Params for DynParams {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        args.reserve(self.values.len() + 3, 0);
        if let Some(tenant) = self.tenant {
            tenant.bind::<DB>(args)?;
        }
        for value in self.values {
            DB::add_value(args, value)?;
        }
        if let Some(limit) = self.limit {
            DB::add(args, limit)?;
        }
        if let Some(offset) = self.offset {
            DB::add(args, offset)?;
        }
        Ok(())
    }
}

/// Tenant (if any) then one key.
pub(crate) struct KeyParams<K> {
    pub(crate) tenant: Option<TenantValue>,
    pub(crate) key: K,
}

impl<K: SqlType> Params for KeyParams<K> {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        if let Some(tenant) = self.tenant {
            tenant.bind::<DB>(args)?;
        }
        DB::add(args, self.key)
    }
}

/// Tenant (if any) then the columns of a `New<Model>`.
pub(crate) struct RowParams<N> {
    pub(crate) tenant: Option<TenantValue>,
    pub(crate) row: N,
}

impl<N: NewRow> Params for RowParams<N> {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        args.reserve(N::LEN + 1, 0);
        if let Some(tenant) = self.tenant {
            tenant.bind::<DB>(args)?;
        }
        self.row.bind::<DB>(args)
    }
}
