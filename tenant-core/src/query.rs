//! The statement builders. Each is made by a generated constructor
//! (`Invoice::query(&scope)` ...) and run by a terminal that takes an
//! [`Executor`].

use std::borrow::Cow;
use std::fmt::Write as _;
use std::marker::PhantomData;

use sqlx::Arguments;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;

use crate::condition::{
    Assignable, ConditionOn, Node, OrderOn, ROW_ALIAS, push_column, push_placeholder, push_quoted,
};
use crate::db::{self, Form, Params, Sql, Statement};
use crate::model::{GlobalModel, HasPrimaryKey, Model, NewRow, TenantOwned};
use crate::shape;
use crate::value::{IntoValue, Value};
use crate::{Backend, Error, Executor, TenantId, TenantScope};

/// Tenant (if any), then values in placeholder order, then LIMIT and OFFSET.
struct DynParams {
    tenant: Option<TenantId>,
    values: Vec<Value>,
    limit: Option<i64>,
    offset: Option<i64>,
}

impl Params for DynParams {
    fn bind_sqlite(self, args: &mut SqliteArguments) -> Result<(), BoxDynError> {
        if let Some(tenant) = self.tenant {
            args.add(tenant)?;
        }
        for value in self.values {
            value.bind_sqlite(args)?;
        }
        if let Some(limit) = self.limit {
            args.add(limit)?;
        }
        if let Some(offset) = self.offset {
            args.add(offset)?;
        }
        Ok(())
    }

    fn bind_postgres(self, args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.reserve(self.values.len() + 3, 0);
        if let Some(tenant) = self.tenant {
            args.add(tenant)?;
        }
        for value in self.values {
            value.bind_postgres(args)?;
        }
        if let Some(limit) = self.limit {
            args.add(limit)?;
        }
        if let Some(offset) = self.offset {
            args.add(offset)?;
        }
        Ok(())
    }
}

/// Tenant (if any) then one key.
struct KeyParams<K> {
    tenant: Option<TenantId>,
    key: K,
}

impl<K: crate::SqlType> Params for KeyParams<K> {
    fn bind_sqlite(self, args: &mut SqliteArguments) -> Result<(), BoxDynError> {
        if let Some(tenant) = self.tenant {
            args.add(tenant)?;
        }
        args.add(self.key)
    }

    fn bind_postgres(self, args: &mut PgArguments) -> Result<(), BoxDynError> {
        if let Some(tenant) = self.tenant {
            args.add(tenant)?;
        }
        args.add(self.key)
    }
}

/// Tenant (if any) then the columns of a `New<Model>`.
struct RowParams<N> {
    tenant: Option<TenantId>,
    row: N,
}

impl<N: NewRow> Params for RowParams<N> {
    fn bind_sqlite(self, args: &mut SqliteArguments) -> Result<(), BoxDynError> {
        if let Some(tenant) = self.tenant {
            args.add(tenant)?;
        }
        self.row.bind_sqlite(args)
    }

    fn bind_postgres(self, args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.reserve(N::LEN + 1, 0);
        if let Some(tenant) = self.tenant {
            args.add(tenant)?;
        }
        self.row.bind_postgres(args)
    }
}

/// Appends ` WHERE`/` AND` and each filter, numbering placeholders.
fn write_filters<M: Model>(sql: &mut String, filters: &[Node], next: &mut usize) {
    let mut has_where = !M::sql().scope_where.is_empty();
    for node in filters {
        sql.push_str(if has_where { " AND " } else { " WHERE " });
        has_where = true;
        node.write_sql(sql, next, M::sql().qualifier.as_str());
    }
}

/// Appends the filters' shape to a cache key, in the order `write_filters`
/// renders them.
fn shape_filters(key: &mut shape::ShapeKey, filters: &[Node]) {
    for node in filters {
        node.shape(key);
    }
}

fn filter_values(filters: Vec<Node>, out: &mut Vec<Value>) {
    for node in filters {
        node.collect_values(out);
    }
}

/// The constructors of `update_by_id` / `delete_by_id`: a filter on the
/// primary key, and `NotFound` when it matches no row. Shared by [`Update`]
/// and [`Delete`], which both have `filters` and `by_key`.
macro_rules! by_key_constructors {
    () => {
        fn with_key(tenant: Option<TenantId>, key: M::PrimaryKey) -> Self
        where
            M: HasPrimaryKey,
        {
            let mut statement = Self::with_tenant(tenant);
            statement.filters.push(key_filter::<M>(key));
            statement.by_key = true;
            statement
        }

        #[doc(hidden)]
        pub fn scoped_by_key(scope: &TenantScope, key: M::PrimaryKey) -> Self
        where
            M: TenantOwned + HasPrimaryKey,
        {
            Self::with_key(scoped_tenant(scope), key)
        }

        #[doc(hidden)]
        pub fn global_by_key(key: M::PrimaryKey) -> Self
        where
            M: GlobalModel + HasPrimaryKey,
        {
            Self::with_key(None, key)
        }
    };
}

/// The rows a write changed; [`Error::NotFound`] for a by-key write that
/// changed none.
fn found_by_key(by_key: bool, rows: u64) -> Result<u64, Error> {
    if by_key && rows == 0 {
        Err(Error::NotFound)
    } else {
        Ok(rows)
    }
}

/// `primary_key = key`, the filter of the by-key forms.
fn key_filter<M: HasPrimaryKey>(key: M::PrimaryKey) -> Node {
    Node::Compare {
        column: M::PRIMARY_KEY.unwrap_or_default(),
        op: crate::condition::CmpOp::Eq,
        value: Value::new(key),
    }
}

fn scoped_tenant(scope: &TenantScope) -> Option<TenantId> {
    Some(*scope.tenant_id())
}

/// `SELECT` of model `M`, from `M::query(&scope)`.
///
/// Filters combine with `AND`; [`order_by`](Select::order_by) may be called
/// several times, each adding a key.
#[must_use = "a query does nothing until a terminal such as `fetch_all` runs it"]
pub struct Select<M> {
    tenant: Option<TenantId>,
    filters: Vec<Node>,
    order: Vec<(&'static str, bool)>,
    limit: Option<u32>,
    offset: Option<u32>,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> Select<M> {
    fn with_tenant(tenant: Option<TenantId>) -> Self {
        Select {
            tenant,
            filters: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: None,
            _model: PhantomData,
        }
    }

    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope) -> Self
    where
        M: TenantOwned,
    {
        Self::with_tenant(scoped_tenant(scope))
    }

    #[doc(hidden)]
    pub fn global() -> Self
    where
        M: GlobalModel,
    {
        Self::with_tenant(None)
    }

    /// Keeps only rows matching `condition` (combined with `AND`).
    pub fn filter(mut self, condition: impl ConditionOn<M>) -> Self {
        self.filters.push(condition.into_node());
        self
    }

    /// Adds an ordering key: `.order_by(Invoice::ID.desc())`.
    pub fn order_by(mut self, order: impl OrderOn<M>) -> Self {
        self.order.push(order.into_key());
        self
    }

    /// Returns at most `n` rows.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u32) -> Self {
        self.offset = Some(n);
        self
    }

    fn value_count(&self) -> usize {
        self.filters.iter().map(Node::value_count).sum()
    }

    fn has_paging(&self) -> bool {
        self.limit.is_some() || self.offset.is_some()
    }

    /// Writes ` ORDER BY ..`, each column qualified by `qualifier`.
    fn write_order(&self, sql: &mut String, qualifier: &str) {
        for (i, (column, desc)) in self.order.iter().enumerate() {
            sql.push_str(if i == 0 { " ORDER BY " } else { ", " });
            push_column(sql, qualifier, column);
            sql.push_str(if *desc { " DESC" } else { " ASC" });
        }
    }

    /// Writes filters, ordering (unless `with_order` is false) and paging.
    fn write_tail(&self, sql: &mut String, with_order: bool) {
        let mut next = M::sql().first_param;
        write_filters::<M>(sql, &self.filters, &mut next);
        if with_order {
            self.write_order(sql, M::sql().qualifier.as_str());
        }
        if self.has_paging() {
            sql.push_str(" LIMIT ");
            push_placeholder(sql, &mut next);
        }
        if self.offset.is_some() {
            sql.push_str(" OFFSET ");
            push_placeholder(sql, &mut next);
        }
    }

    /// Completes an open row-level-security head (see `ModelSql`): the
    /// filters, ordering and paging go inside the LATERAL subquery; without
    /// paging, `OFFSET 0` keeps it from being flattened. The ordering is
    /// repeated outside so the result order is defined.
    fn write_rls(&self, sql: &mut String, head: &str, outer_order: bool) {
        sql.push_str(head);
        self.write_tail(sql, true);
        if !self.has_paging() {
            sql.push_str(" OFFSET 0");
        }
        sql.push_str(") AS ");
        sql.push_str(ROW_ALIAS);
        if outer_order {
            self.write_order(sql, ROW_ALIAS);
        }
    }

    fn is_plain(&self) -> bool {
        self.filters.is_empty() && self.order.is_empty() && !self.has_paging()
    }

    fn select_sql(&self, form: Form) -> Sql {
        if self.is_plain() {
            return Sql::Static(match form {
                Form::Plain => M::sql().select.as_str(),
                Form::Rls => M::sql().rls_select.as_str(),
            });
        }
        let kind = match form {
            Form::Plain => shape::Kind::Select,
            Form::Rls => shape::Kind::SelectRls,
        };
        shape::cached(self.shape(kind), || {
            let mut sql = String::with_capacity(
                M::sql().rls_select_head.len() + 48 * (self.filters.len() + 2),
            );
            match form {
                Form::Plain => {
                    sql.push_str(M::sql().select.as_str());
                    self.write_tail(&mut sql, true);
                }
                Form::Rls => self.write_rls(&mut sql, M::sql().rls_select_head.as_str(), true),
            }
            sql
        })
    }

    /// The statement's shape: everything the SQL text depends on.
    fn shape(&self, kind: shape::Kind) -> shape::ShapeKey {
        let mut key = shape::ShapeKey::new::<M>(kind);
        shape_filters(&mut key, &self.filters);
        for (column, desc) in &self.order {
            key.tag(shape::Tag::Order);
            key.push_str(column);
            key.push(usize::from(*desc));
        }
        key.tag(shape::Tag::Paging);
        key.push(usize::from(self.limit.is_some()));
        key.push(usize::from(self.offset.is_some()));
        key
    }

    fn count_sql(&self, form: Form) -> Sql {
        if self.filters.is_empty() && !self.has_paging() {
            return Sql::Static(match form {
                Form::Plain => M::sql().count.as_str(),
                Form::Rls => M::sql().rls_count.as_str(),
            });
        }
        let kind = match form {
            Form::Plain => shape::Kind::Count,
            Form::Rls => shape::Kind::CountRls,
        };
        shape::cached(self.shape(kind), || self.render_count(form))
    }

    fn render_count(&self, form: Form) -> String {
        let mut sql =
            String::with_capacity(M::sql().rls_select_head.len() + 48 * (self.filters.len() + 2));
        match form {
            Form::Rls if !self.has_paging() => {
                sql.push_str(M::sql().rls_count_agg_head.as_str());
                self.write_tail(&mut sql, false);
                sql.push_str(") AS ");
                sql.push_str(ROW_ALIAS);
            }
            // The page's ordering decides which rows are counted; the single
            // count row needs no order.
            Form::Rls => self.write_rls(&mut sql, M::sql().rls_count_head.as_str(), false),
            Form::Plain if !self.has_paging() => {
                sql.push_str(M::sql().count.as_str());
                self.write_tail(&mut sql, false);
            }
            Form::Plain => {
                // COUNT over a page: count the rows the page would return.
                sql.push_str("SELECT COUNT(*) FROM (");
                sql.push_str(M::sql().select.as_str());
                self.write_tail(&mut sql, true);
                sql.push_str(") AS counted");
            }
        }
        sql
    }

    /// The SQL that [`fetch_all`](Select::fetch_all) runs. Values appear as
    /// `$n` placeholders.
    pub fn to_sql(&self) -> String {
        self.select_sql(Form::Plain).as_str().to_owned()
    }

    /// The SQL that [`count`](Select::count) runs.
    pub fn to_count_sql(&self) -> String {
        self.count_sql(Form::Plain).as_str().to_owned()
    }

    /// The SQL that [`fetch_all`](Select::fetch_all) runs on a
    /// [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls)
    /// pool: `$1` goes to `set_config('app.tenant_id', $1, true)`.
    pub fn to_rls_sql(&self) -> String {
        self.select_sql(self.rls_form()).as_str().to_owned()
    }

    fn rls_form(&self) -> Form {
        if self.tenant.is_some() {
            Form::Rls
        } else {
            Form::Plain
        }
    }

    fn into_statement(self, sql: Sql) -> Statement<DynParams> {
        let mut values = Vec::with_capacity(self.value_count());
        filter_values(self.filters, &mut values);
        // No LIMIT with an OFFSET means every remaining row; both backends
        // accept a maximal LIMIT for that.
        let limit = match (self.limit, self.offset) {
            (Some(n), _) => Some(i64::from(n)),
            (None, Some(_)) => Some(i64::MAX),
            (None, None) => None,
        };
        Statement {
            sql,
            tenant: self.tenant,
            params: DynParams {
                tenant: self.tenant,
                values,
                limit,
                offset: self.offset.map(i64::from),
            },
        }
    }

    /// Every matching row.
    pub async fn fetch_all<'c>(self, executor: impl Executor<'c>) -> Result<Vec<M>, Error> {
        let target = executor.into_target();
        let sql = self.select_sql(target.form(self.tenant.as_ref()));
        db::fetch_all(target, self.into_statement(sql)).await
    }

    /// The first matching row, or `None`.
    pub async fn fetch_optional<'c>(self, executor: impl Executor<'c>) -> Result<Option<M>, Error> {
        let target = executor.into_target();
        let sql = self.select_sql(target.form(self.tenant.as_ref()));
        db::fetch_optional(target, self.into_statement(sql)).await
    }

    /// The first matching row, or [`Error::NotFound`].
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<M, Error> {
        self.fetch_optional(executor).await?.ok_or(Error::NotFound)
    }

    /// The number of matching rows (within `limit`/`offset` when set).
    pub async fn count<'c>(self, executor: impl Executor<'c>) -> Result<i64, Error> {
        let target = executor.into_target();
        let sql = self.count_sql(target.form(self.tenant.as_ref()));
        db::fetch_scalar(target, self.into_statement(sql)).await
    }
}

/// Lookup by primary key, from `M::find(&scope, id)`. Its SQL is a
/// compile-time constant.
#[must_use = "a query does nothing until a terminal such as `fetch_optional` runs it"]
pub struct Find<M: HasPrimaryKey> {
    tenant: Option<TenantId>,
    key: M::PrimaryKey,
}

impl<M: HasPrimaryKey> Find<M> {
    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope, key: M::PrimaryKey) -> Self
    where
        M: TenantOwned,
    {
        Find {
            tenant: scoped_tenant(scope),
            key,
        }
    }

    #[doc(hidden)]
    pub fn global(key: M::PrimaryKey) -> Self
    where
        M: GlobalModel,
    {
        Find { tenant: None, key }
    }

    /// The SQL that runs: `$1` is the tenant, `$2` the key (just `$1`, the
    /// key, for a global model).
    pub fn to_sql(&self) -> &'static str {
        M::sql().find.as_str()
    }

    /// The SQL that runs on a
    /// [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls)
    /// pool: `$1` goes to `set_config('app.tenant_id', $1, true)`.
    pub fn to_rls_sql(&self) -> &'static str {
        if self.tenant.is_some() {
            M::sql().rls_find.as_str()
        } else {
            M::sql().find.as_str()
        }
    }

    fn into_statement(self, form: Form) -> Statement<KeyParams<M::PrimaryKey>> {
        Statement {
            sql: Sql::Static(match form {
                Form::Plain => M::sql().find.as_str(),
                Form::Rls => M::sql().rls_find.as_str(),
            }),
            tenant: self.tenant,
            params: KeyParams {
                tenant: self.tenant,
                key: self.key,
            },
        }
    }

    /// The row, or `None` when it does not exist for this tenant.
    pub async fn fetch_optional<'c>(self, executor: impl Executor<'c>) -> Result<Option<M>, Error> {
        let target = executor.into_target();
        let form = target.form(self.tenant.as_ref());
        db::fetch_optional(target, self.into_statement(form)).await
    }

    /// The row, or [`Error::NotFound`] when it does not exist for this tenant.
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<M, Error> {
        self.fetch_optional(executor).await?.ok_or(Error::NotFound)
    }
}

/// `INSERT` of one row, from `M::insert(&scope, New<M> { .. })`. The tenant
/// column is bound from the scope. Its SQL is a compile-time constant.
#[must_use = "an insert does nothing until `fetch_one` or `execute` runs it"]
pub struct Insert<M: Model> {
    tenant: Option<TenantId>,
    row: M::New,
}

impl<M: Model> Insert<M> {
    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope, row: M::New) -> Self
    where
        M: TenantOwned,
    {
        Insert {
            tenant: scoped_tenant(scope),
            row,
        }
    }

    #[doc(hidden)]
    pub fn global(row: M::New) -> Self
    where
        M: GlobalModel,
    {
        Insert { tenant: None, row }
    }

    /// The SQL that [`fetch_one`](Insert::fetch_one) runs.
    pub fn to_sql(&self) -> &'static str {
        M::sql().insert_returning.as_str()
    }

    /// The SQL that [`fetch_one`](Insert::fetch_one) runs on a
    /// [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls)
    /// pool.
    pub fn to_rls_sql(&self) -> &'static str {
        if self.tenant.is_some() {
            M::sql().rls_insert_returning.as_str()
        } else {
            M::sql().insert_returning.as_str()
        }
    }

    fn into_statement(self, sql: &'static str) -> Statement<RowParams<M::New>> {
        Statement {
            sql: Sql::Static(sql),
            tenant: self.tenant,
            params: RowParams {
                tenant: self.tenant,
                row: self.row,
            },
        }
    }

    /// Inserts and returns the stored row (`RETURNING`), with the values the
    /// database filled in.
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<M, Error> {
        let target = executor.into_target();
        let sql = match target.form(self.tenant.as_ref()) {
            Form::Plain => M::sql().insert_returning.as_str(),
            Form::Rls => M::sql().rls_insert_returning.as_str(),
        };
        let stmt = self.into_statement(sql);
        db::fetch_optional(target, stmt)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Inserts and returns the number of rows inserted.
    pub async fn execute<'c>(self, executor: impl Executor<'c>) -> Result<u64, Error> {
        let target = executor.into_target();
        let sql = match target.form(self.tenant.as_ref()) {
            Form::Plain => M::sql().insert.as_str(),
            Form::Rls => M::sql().rls_insert.as_str(),
        };
        db::execute(target, self.into_statement(sql)).await
    }
}

/// Type state of an [`Update`] before any `set`.
#[derive(Debug, Clone, Copy)]
pub struct NoAssignments;

/// Type state of an [`Update`] with at least one `set`.
#[derive(Debug, Clone, Copy)]
pub struct Assigned;

/// Implemented by the type state of an update that sets something.
#[diagnostic::on_unimplemented(
    message = "this update sets no column",
    label = "call `.set(Model::COLUMN, value)` before running the update",
    note = "an UPDATE needs at least one `.set(column, value)`"
)]
pub trait HasAssignments {}

impl HasAssignments for Assigned {}

/// One `SET` item: `column = $n`, or `column = column + $n`.
struct Assignment {
    column: &'static str,
    value: Value,
    /// `Some` for an increment: the range of the Rust type.
    increment: Option<NumericRange>,
}

mod numeric_sealed {
    pub trait Sealed {}
}

/// Numeric column types that [`Update::increment`] accepts. Sealed: an
/// increment that leaves the type's range is an error on every backend, so
/// each type declares its range.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a numeric column type",
    label = "`increment` needs an integer or floating-point column",
    note = "use `.set(column, value)` for other types"
)]
pub trait Numeric: numeric_sealed::Sealed {
    /// The values the type holds.
    #[doc(hidden)]
    const RANGE: NumericRange;
}

/// The values a [`Numeric`] type holds.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumericRange {
    /// An integer type: its minimum and maximum.
    Int(i64, i64),
    /// A floating-point type: its largest finite magnitude.
    Float(f64),
}

macro_rules! numeric {
    ($($ty:ty => $range:expr;)*) => {$(
        impl numeric_sealed::Sealed for $ty {}
        impl Numeric for $ty {
            const RANGE: NumericRange = $range;
        }
    )*};
}

numeric! {
    i16 => NumericRange::Int(i16::MIN as i64, i16::MAX as i64);
    i32 => NumericRange::Int(i32::MIN as i64, i32::MAX as i64);
    i64 => NumericRange::Int(i64::MIN, i64::MAX);
    f32 => NumericRange::Float(f32::MAX as f64);
    f64 => NumericRange::Float(f64::MAX);
}

/// Appends the right-hand side of `column = column + $n`.
///
/// PostgreSQL raises an error when a sum leaves its type. SQLite does not:
/// a 64-bit overflow silently becomes a REAL (after which every read of the
/// row fails to decode), a sum outside `i32` is stored and then truncated
/// when read, and a floating-point overflow stores infinity. So on SQLite
/// the sum is checked in the statement, and out of range it evaluates
/// `abs(i64::MIN)`, which SQLite reports as an "integer overflow" error:
/// the statement fails and the row is unchanged.
fn push_increment(
    sql: &mut String,
    table: &str,
    column: &str,
    placeholder: &str,
    range: NumericRange,
    backend: Backend,
) {
    let mut sum = String::with_capacity(table.len() + column.len() + 12);
    push_column(&mut sum, table, column);
    sum.push_str(" + ");
    sum.push_str(placeholder);
    let overflow = "ELSE abs(-9223372036854775807 - 1) END";
    match (backend, range) {
        (Backend::Sqlite, NumericRange::Int(lo, hi)) => {
            let _ = write!(sql, "CASE WHEN typeof({sum}) = 'integer'");
            if (lo, hi) != (i64::MIN, i64::MAX) {
                let _ = write!(sql, " AND ({sum}) BETWEEN {lo} AND {hi}");
            }
            let _ = write!(sql, " THEN {sum} WHEN ({sum}) IS NULL THEN NULL {overflow}");
        }
        (Backend::Sqlite, NumericRange::Float(max)) => {
            let _ = write!(
                sql,
                "CASE WHEN abs({sum}) <= {max:e} THEN {sum} WHEN ({sum}) IS NULL THEN NULL {overflow}"
            );
        }
        _ => sql.push_str(&sum),
    }
}

/// `UPDATE` of model `M`, from `M::update(&scope)`. The tenant column cannot
/// be set, and only rows of the scope's tenant are touched.
#[must_use = "an update does nothing until `execute` runs it"]
pub struct Update<M, S = NoAssignments> {
    tenant: Option<TenantId>,
    sets: Vec<Assignment>,
    filters: Vec<Node>,
    /// Made by `update_by_id`: no matching row is [`Error::NotFound`].
    by_key: bool,
    _state: PhantomData<fn() -> (M, S)>,
}

impl<M: Model> Update<M, NoAssignments> {
    fn with_tenant(tenant: Option<TenantId>) -> Self {
        Update {
            tenant,
            sets: Vec::new(),
            filters: Vec::new(),
            by_key: false,
            _state: PhantomData,
        }
    }

    by_key_constructors!();

    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope) -> Self
    where
        M: TenantOwned,
    {
        Self::with_tenant(scoped_tenant(scope))
    }

    #[doc(hidden)]
    pub fn global() -> Self
    where
        M: GlobalModel,
    {
        Self::with_tenant(None)
    }
}

impl<M: Model, S> Update<M, S> {
    /// Sets `column` to `value`.
    pub fn set<C, V>(self, column: C, value: V) -> Update<M, Assigned>
    where
        C: Assignable<M>,
        V: IntoValue<C::Value>,
    {
        self.push(column.column_name(), value.into_value(), None)
    }

    /// Adds `delta` to a numeric column in the database
    /// (`column = column + delta`), without reading it first: concurrent
    /// increments never lose an update. Combine with a filter on the same
    /// column for an atomic bounded counter.
    pub fn increment<T>(self, column: crate::Column<M, T>, delta: T) -> Update<M, Assigned>
    where
        T: Numeric + crate::SqlType,
    {
        self.push(column.name(), Value::new(delta), Some(T::RANGE))
    }

    fn push(
        self,
        column: &'static str,
        value: Value,
        increment: Option<NumericRange>,
    ) -> Update<M, Assigned> {
        let mut sets = self.sets;
        sets.push(Assignment {
            column,
            value,
            increment,
        });
        Update {
            tenant: self.tenant,
            sets,
            filters: self.filters,
            by_key: self.by_key,
            _state: PhantomData,
        }
    }

    /// Keeps only rows matching `condition` (combined with `AND`). Without a
    /// filter every row of the tenant is updated.
    pub fn filter(mut self, condition: impl ConditionOn<M>) -> Self {
        self.filters.push(condition.into_node());
        self
    }

    fn render(&self, backend: Backend) -> String {
        let mut sql = String::with_capacity(
            M::sql().update.len() + 40 * (self.sets.len() + self.filters.len() + 1),
        );
        sql.push_str(M::sql().update.as_str());
        let mut next = M::sql().first_param;
        for (i, set) in self.sets.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            push_quoted(&mut sql, set.column);
            sql.push_str(" = ");
            match set.increment {
                Some(range) => {
                    let mut placeholder = String::new();
                    push_placeholder(&mut placeholder, &mut next);
                    push_increment(
                        &mut sql,
                        M::sql().qualifier.as_str(),
                        set.column,
                        &placeholder,
                        range,
                        backend,
                    );
                }
                None => push_placeholder(&mut sql, &mut next),
            }
        }
        sql.push_str(M::sql().scope_where.as_str());
        write_filters::<M>(&mut sql, &self.filters, &mut next);
        sql
    }

    fn into_statement(self, backend: Backend) -> Result<Statement<DynParams>, Error> {
        // Column constants come from the derive, which never gives the tenant
        // column a settable type; a hand-made one is refused here, in any
        // case: SQLite and MySQL take `"TENANT_ID"` for `tenant_id`.
        if let Some(set) = self
            .sets
            .iter()
            .find(|s| M::TENANT_COLUMN.is_some_and(|tenant| s.column.eq_ignore_ascii_case(tenant)))
        {
            return Err(Error::TenantColumnNotSettable { column: set.column });
        }
        let kind = match backend {
            Backend::Sqlite => shape::Kind::UpdateSqlite,
            Backend::Postgres => shape::Kind::UpdatePostgres,
        };
        let mut key = shape::ShapeKey::new::<M>(kind);
        for set in &self.sets {
            key.tag(shape::Tag::Set);
            key.push_str(set.column);
            key.push(usize::from(set.increment.is_some()));
        }
        shape_filters(&mut key, &self.filters);
        let sql = shape::cached(key, || self.render(backend));
        let count = self.filters.iter().map(Node::value_count).sum::<usize>() + self.sets.len();
        let mut values = Vec::with_capacity(count);
        values.extend(self.sets.into_iter().map(|set| set.value));
        filter_values(self.filters, &mut values);
        Ok(Statement {
            sql,
            tenant: self.tenant,
            params: DynParams {
                tenant: self.tenant,
                values,
                limit: None,
                offset: None,
            },
        })
    }

    /// The SQL that [`execute`](Update::execute) runs on PostgreSQL. Only an
    /// update that sets something has one. (On SQLite an
    /// [`increment`](Update::increment) also checks the sum's range.)
    pub fn to_sql(&self) -> String
    where
        S: HasAssignments,
    {
        self.render(Backend::Postgres)
    }

    /// Runs the update; returns the number of rows changed. Made by
    /// `update_by_id`, it returns [`Error::NotFound`] when no row of the
    /// scope's tenant has that key (another tenant's row is never touched).
    pub async fn execute<'c>(self, executor: impl Executor<'c>) -> Result<u64, Error>
    where
        S: HasAssignments,
    {
        let by_key = self.by_key;
        let target = executor.into_target();
        let stmt = self.into_statement(target.backend())?;
        found_by_key(by_key, db::execute_write(target, stmt).await?)
    }
}

/// `DELETE` of model `M`, from `M::delete(&scope)`. Only rows of the scope's
/// tenant are touched.
#[must_use = "a delete does nothing until `execute` runs it"]
pub struct Delete<M> {
    tenant: Option<TenantId>,
    filters: Vec<Node>,
    /// Made by `delete_by_id`: no matching row is [`Error::NotFound`].
    by_key: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> Delete<M> {
    fn with_tenant(tenant: Option<TenantId>) -> Self {
        Delete {
            tenant,
            filters: Vec::new(),
            by_key: false,
            _model: PhantomData,
        }
    }

    by_key_constructors!();

    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope) -> Self
    where
        M: TenantOwned,
    {
        Self::with_tenant(scoped_tenant(scope))
    }

    #[doc(hidden)]
    pub fn global() -> Self
    where
        M: GlobalModel,
    {
        Self::with_tenant(None)
    }

    /// Keeps only rows matching `condition` (combined with `AND`). Without a
    /// filter every row of the tenant is deleted.
    pub fn filter(mut self, condition: impl ConditionOn<M>) -> Self {
        self.filters.push(condition.into_node());
        self
    }

    fn sql(&self) -> Sql {
        if self.filters.is_empty() {
            return Sql::Static(M::sql().delete.as_str());
        }
        let mut key = shape::ShapeKey::new::<M>(shape::Kind::Delete);
        shape_filters(&mut key, &self.filters);
        shape::cached(key, || {
            let mut sql = String::with_capacity(M::sql().delete.len() + 48 * self.filters.len());
            sql.push_str(M::sql().delete.as_str());
            let mut next = M::sql().first_param;
            write_filters::<M>(&mut sql, &self.filters, &mut next);
            sql
        })
    }

    /// The SQL that [`execute`](Delete::execute) runs.
    pub fn to_sql(&self) -> String {
        self.sql().as_str().to_owned()
    }

    fn into_statement(self) -> Statement<DynParams> {
        let sql = self.sql();
        let mut values = Vec::with_capacity(self.filters.iter().map(Node::value_count).sum());
        filter_values(self.filters, &mut values);
        Statement {
            sql,
            tenant: self.tenant,
            params: DynParams {
                tenant: self.tenant,
                values,
                limit: None,
                offset: None,
            },
        }
    }

    /// Runs the delete; returns the number of rows removed. Made by
    /// `delete_by_id`, it returns [`Error::NotFound`] when no row of the
    /// scope's tenant has that key.
    pub async fn execute<'c>(self, executor: impl Executor<'c>) -> Result<u64, Error> {
        let by_key = self.by_key;
        found_by_key(
            by_key,
            db::execute_write(executor.into_target(), self.into_statement()).await?,
        )
    }
}

/// Builds a statement's SQL and bound arguments, in its plain form, without
/// running it: for benchmarks of the builders alone, and tests.
#[doc(hidden)]
pub trait Prepare: Sized {
    /// SQL and arguments for SQLite.
    fn prepare_sqlite(self) -> Result<(Cow<'static, str>, SqliteArguments), Error>;
    /// SQL and arguments for PostgreSQL.
    fn prepare_postgres(self) -> Result<(Cow<'static, str>, PgArguments), Error>;
}

macro_rules! impl_prepare {
    ($(impl[$($generics:tt)*] $ty:ty => |$this:ident, $backend:pat_param| $statement:expr;)*) => {$(
        impl<$($generics)*> Prepare for $ty {
            fn prepare_sqlite(self) -> Result<(Cow<'static, str>, SqliteArguments), Error> {
                let $this = self;
                let $backend = Backend::Sqlite;
                let stmt = $statement;
                Ok((stmt.sql.into_cow(), db::sqlite_args(stmt.params)?))
            }

            fn prepare_postgres(self) -> Result<(Cow<'static, str>, PgArguments), Error> {
                let $this = self;
                let $backend = Backend::Postgres;
                let stmt = $statement;
                Ok((stmt.sql.into_cow(), db::postgres_args(stmt.params)?))
            }
        }
    )*};
}

impl_prepare! {
    impl[M: Model] Select<M> => |this, _| {
        let sql = this.select_sql(Form::Plain);
        this.into_statement(sql)
    };
    impl[M: HasPrimaryKey] Find<M> => |this, _| this.into_statement(Form::Plain);
    impl[M: Model] Insert<M> => |this, _| this.into_statement(M::sql().insert_returning.as_str());
    impl[M: Model, S: HasAssignments] Update<M, S> => |this, backend| this.into_statement(backend)?;
    impl[M: Model] Delete<M> => |this, _| this.into_statement();
}
