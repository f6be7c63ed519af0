//! `UPDATE` of a model, and the numeric types `increment` accepts.

use std::fmt::Write as _;
use std::marker::PhantomData;

use super::{Filters, Refused, by_key_constructors, found_by_key, scope_constructors};
use crate::ast::{self, AstPass};
use crate::backend::Backend;
use crate::backend::Driver;
use crate::bulk::{Output, add};
use crate::condition::{Assignable, Column, ConditionOn, Settable};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{self, On, dispatch, in_one_transaction};
use crate::model::{GlobalModel, HasPrimaryKey, Model, TenantOwned};
use crate::params::{Params, Sql, Statement};
use crate::reference::Checks;
use crate::shape::{self, Tag};
use crate::sql::push_column;
use crate::tenant::{TenantScope, TenantValue};
use crate::value::{IntoValue, SqlType, Value};

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

/// Never implemented: `execute` and `fetch_all` of an update that sets
/// nothing exist only to fail with this message. (A bound on the real,
/// `async`, terminals would be reported three times: at the call, on the
/// future it returns, and at its `.await`.)
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this update sets no column",
    label = "call `.set(Model::COLUMN, value)` before running the update",
    note = "an UPDATE needs at least one `.set(column, value)`"
)]
pub trait SetsAColumn<M> {
    #[doc(hidden)]
    fn refuse() -> std::convert::Infallible;
}

/// One `SET` item: `column = $n`, or `column = column + $n`.
struct Assignment {
    /// The column's position in the model's columns.
    column: usize,
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
/// the statement fails and the row is unchanged. MySQL raises an error for
/// a sum outside the column's type in strict mode, which the doctor checks
/// (sqlx keeps the server's mode, strict by default).
fn push_increment(
    sql: &mut String,
    table: &str,
    column: &str,
    placeholder: &str,
    range: NumericRange,
    backend: Backend,
) {
    let mut sum = String::with_capacity(table.len() + column.len() + 12);
    push_column(&mut sum, backend, table, column);
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
    tenant: Option<TenantValue>,
    sets: Vec<Assignment>,
    filters: Filters,
    /// Made by `update_by_id`: no matching row is [`Error::NotFound`].
    by_key: bool,
    _state: PhantomData<fn() -> (M, S)>,
}

impl<M: Model> Update<M, NoAssignments> {
    fn with_tenant(tenant: Option<TenantValue>) -> Self {
        Update {
            tenant,
            sets: Vec::new(),
            filters: Filters::default(),
            by_key: false,
            _state: PhantomData,
        }
    }

    by_key_constructors!();

    scope_constructors!();
}

impl<M: Model, S> Update<M, S> {
    /// Sets `column` to `value`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let changed = Invoice::update(&acme)
    ///     .set(Invoice::STATUS, "paid")
    ///     .set(Invoice::NOTE, None) // NULL
    ///     .filter(Invoice::ID.eq(2))
    ///     .execute(&db)
    ///     .await?;
    /// assert_eq!(changed, 1);
    /// let paid = Invoice::query(&acme).filter(Invoice::STATUS.eq("paid"));
    /// assert_eq!(paid.count(&db).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set<C, V>(self, column: C, value: V) -> Update<M, Assigned>
    where
        C: Assignable<M>,
        V: IntoValue<C::Value>,
    {
        self.push(column.column_index(), value.into_value(), None)
    }

    /// Adds `delta` to a numeric column in the database
    /// (`column = column + delta`), without reading it first: concurrent
    /// increments never lose an update. Combine with a filter on the same
    /// column for an atomic bounded counter.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // A bounded counter: add 100 only while the result stays under 1 500.
    /// let bumped = Invoice::update(&acme)
    ///     .increment(Invoice::AMOUNT_CENTS, 100)
    ///     .filter(Invoice::ID.eq(1))
    ///     .filter(Invoice::AMOUNT_CENTS.le(1400))
    ///     .execute(&db)
    ///     .await?;
    /// assert_eq!(bumped, 1);
    /// assert_eq!(Invoice::find(&acme, 1).fetch_one(&db).await?.amount_cents, 1300);
    /// # Ok(())
    /// # }
    /// ```
    pub fn increment<T, N>(self, column: Column<M, T, N>, delta: T) -> Update<M, Assigned>
    where
        T: Numeric + SqlType,
        N: Settable<M>,
    {
        self.push(column.index(), Value::new(delta), Some(T::RANGE))
    }

    fn push(
        self,
        column: usize,
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
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // Every open invoice of acme; globex's rows are never touched.
    /// let closed = Invoice::update(&acme)
    ///     .set(Invoice::STATUS, "void")
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .execute(&db)
    ///     .await?;
    /// assert_eq!(closed, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter(mut self, condition: impl ConditionOn<M>) -> Self {
        self.filters.push(condition);
        self
    }

    /// The one walk over the statement (see [`crate::ast`]).
    fn walk(&self, pass: &mut AstPass<'_>, backend: Backend) {
        let sql = M::sql(backend);
        pass.sql(&sql.update);
        for (i, set) in self.sets.iter().enumerate() {
            pass.tag(match set.increment {
                Some(_) => Tag::Increment,
                None => Tag::Set,
            });
            if i > 0 {
                pass.sql(", ");
            }
            pass.name(set.column);
            pass.sql(" = ");
            match set.increment {
                // The checked sum's text depends on the range, which comes
                // from the column constant's type: a hand-made constant
                // may give another range for the same column, so the range
                // is part of the key.
                Some(range) => {
                    match range {
                        NumericRange::Int(lo, hi) => {
                            pass.word(0);
                            pass.word64(lo as u64);
                            pass.word64(hi as u64);
                        }
                        NumericRange::Float(max) => {
                            pass.word(1);
                            pass.word64(max.to_bits());
                        }
                    }
                    if let Some(w) = pass.writer() {
                        // The delta's placeholder, numbered in `w`'s
                        // sequence; SQLite's checked form repeats it
                        // (numbered, so it binds once).
                        let delta = w.next_placeholder();
                        push_increment(
                            &mut w.sql,
                            &sql.qualifier,
                            M::COLUMNS[set.column],
                            &delta,
                            range,
                            backend,
                        );
                    }
                }
                None => pass.bind(),
            }
        }
        pass.sql(&sql.scope_where);
        pass.filters(
            &self.filters.nodes,
            !sql.scope_where.is_empty(),
            &sql.qualifier,
        );
    }

    fn sql(&self, backend: Backend) -> Sql {
        self.sql_with(backend, false)
    }

    /// The statement's text; `returning`: with `RETURNING <columns>`.
    fn sql_with(&self, backend: Backend, returning: bool) -> Sql {
        let sql = M::sql(backend);
        let capacity = sql.update.len()
            + sql.returning.len()
            + 40 * (self.sets.len() + self.filters.len() + 1);
        let kind = if returning {
            shape::Kind::UpdateReturning
        } else {
            shape::Kind::Update
        };
        ast::render::<M>(kind, backend, capacity, |pass| {
            self.walk(pass, backend);
            if returning {
                pass.sql(&sql.returning);
            }
        })
    }

    /// The statement for `backend`; refuses an assignment to the tenant
    /// column.
    pub(super) fn into_statement(self, backend: Backend) -> Result<Statement<UpdateParams>, Error> {
        self.into_statement_with(backend, false)
    }

    fn into_statement_with(
        self,
        backend: Backend,
        returning: bool,
    ) -> Result<Statement<UpdateParams>, Error> {
        // Column constants come from the derive, which never gives the tenant
        // column or the key a settable type; a hand-made one is refused here.
        crate::model::refuse_unsettable::<M>(self.sets.iter().map(|s| M::COLUMNS[s.column]))?;
        self.filters.check_scopes(self.tenant.as_ref())?;
        let sql = self.sql_with(backend, returning);
        Ok(Statement {
            label: crate::params::Label::of::<M>(crate::trace::kind::UPDATE),
            sql,
            tenant: self.tenant,
            params: UpdateParams {
                tenant: self.tenant,
                tenant_first: backend.numbered_placeholders(),
                sets: self.sets,
                filters: self.filters.values,
            },
        })
    }

    /// The SQL that [`execute`](Update::execute) runs on PostgreSQL. Only an
    /// update that sets something has one. (On SQLite an
    /// [`increment`](Update::increment) also checks the sum's range.)
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let update = Invoice::update(&acme)
    ///     .set(Invoice::STATUS, "paid")
    ///     .filter(Invoice::ID.eq(2));
    /// assert_eq!(
    ///     update.to_sql(),
    ///     r#"UPDATE "invoices" SET "status" = $2 WHERE "invoices"."tenant_id" = $1 AND "invoices"."id" = $3"#
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql(&self) -> String
    where
        S: HasAssignments,
    {
        self.to_sql_for(Backend::Postgres)
    }

    /// The SQL that [`execute`](Update::execute) runs on `backend`. On
    /// MySQL the placeholders bind in text order: the assignments, then
    /// the tenant, then the filters.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::Backend;
    ///
    /// let update = Invoice::update(&acme)
    ///     .set(Invoice::STATUS, "paid")
    ///     .filter(Invoice::ID.eq(2));
    /// assert_eq!(
    ///     update.to_sql_for(Backend::MySql),
    ///     "UPDATE `invoices` SET `status` = ? WHERE `invoices`.`tenant_id` = ? AND `invoices`.`id` = ?"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql_for(&self, backend: Backend) -> String
    where
        S: HasAssignments,
    {
        self.sql(backend).as_str().to_owned()
    }

    /// The tenant, when the update assigns a `#[tenant(references = ..)]`
    /// column, whose new key must be a row of the tenant (see
    /// [`crate::reference`]). Incrementing such a column is refused: the
    /// new keys are not known before the update.
    fn checked_tenant(&self, backend: Backend) -> Result<Option<TenantValue>, Error> {
        let Some(tenant) = self.tenant else {
            return Ok(None);
        };
        if !Checks::apply::<M>(Some(&tenant)) {
            return Ok(None);
        }
        let mut assigns_reference = false;
        for set in &self.sets {
            if M::REFERENCES.iter().any(|r| r.column == set.column) {
                if set.increment.is_some() {
                    return Err(Error::Unsupported {
                        backend,
                        operation: "`increment` of a `#[tenant(references = ..)]` column (assign the new key with `set`)",
                    });
                }
                assigns_reference = true;
            }
        }
        Ok(assigns_reference.then_some(tenant))
    }

    /// Looks up the keys the update assigns, then runs it, in one
    /// transaction.
    async fn run_checked<DB: Driver>(
        self,
        on: On<'_, DB>,
        tenant: TenantValue,
        mut out: Output<M>,
    ) -> Result<Output<M>, Error> {
        let returning = matches!(out, Output::Rows(_));
        in_one_transaction!(on, tenant, |unit| async {
            Checks::of_assignments::<M>(self.sets.iter().map(|s| (s.column, &s.value)))
                .run::<DB, M>(&mut unit, tenant)
                .await?;
            let stmt = self.into_statement_with(DB::BACKEND, returning)?;
            add(&mut out, unit, stmt).await?;
            Ok(out)
        }
        .await)
    }
}

impl<M: Model> Update<M, Assigned> {
    /// Runs the update; returns the number of rows changed. Made by
    /// `update_by_id`, it returns [`Error::NotFound`] when no row of the
    /// scope's tenant has that key (another tenant's row is never touched).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let changed = Invoice::update(&acme)
    ///     .set(Invoice::NOTE, "checked")
    ///     .execute(&db)
    ///     .await?;
    /// assert_eq!(changed, 3); // acme's three, not globex's
    ///
    /// // By key: another tenant's key is not found, and nothing changes.
    /// let err = Invoice::update_by_id(&acme, 4)
    ///     .set(Invoice::STATUS, "void")
    ///     .execute(&db)
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.is_not_found());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute<'c>(self, executor: impl Executor<'c>) -> Result<u64, Error> {
        let by_key = self.by_key;
        let target = executor.into_target();
        if let Some(tenant) = self.checked_tenant(target.backend())? {
            let out =
                dispatch!(target, on => self.run_checked(on, tenant, Output::Count(0)).await)?;
            return found_by_key(by_key, out.count());
        }
        let stmt = self.into_statement(target.backend())?;
        found_by_key(
            by_key,
            dispatch!(target, on => exec::execute_write(on, stmt).await)?,
        )
    }

    /// Runs the update and returns the changed rows as they are now
    /// (`UPDATE … RETURNING`, SQLite and PostgreSQL). MySQL and MariaDB
    /// have no `UPDATE … RETURNING`: there it returns
    /// [`Error::Unsupported`] and changes nothing; use
    /// [`execute`](Update::execute) and read the rows back. Made by
    /// `update_by_id`, it returns [`Error::NotFound`] when no row of the
    /// scope's tenant has that key.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let paid = Invoice::update(&acme)
    ///     .set(Invoice::STATUS, "paid")
    ///     .filter(Invoice::CUSTOMER_ID.eq(1))
    ///     .fetch_all(&db)
    ///     .await?;
    /// let mut ids: Vec<i64> = paid.iter().map(|i| i.id).collect();
    /// ids.sort();
    /// assert_eq!(ids, [1, 2]);
    /// assert!(paid.iter().all(|i| i.status == "paid"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all<'c>(self, executor: impl Executor<'c>) -> Result<Vec<M>, Error> {
        let by_key = self.by_key;
        let target = executor.into_target();
        let backend = target.backend();
        if backend == Backend::MySql {
            return Err(Error::Unsupported {
                backend,
                operation: "UPDATE … RETURNING",
            });
        }
        let rows = if let Some(tenant) = self.checked_tenant(backend)? {
            let out = Output::Rows(Vec::new());
            dispatch!(target, on => self.run_checked(on, tenant, out).await)?.into_rows()
        } else {
            let stmt = self.into_statement_with(backend, true)?;
            dispatch!(target, on => exec::fetch_all_write(on, stmt).await)?
        };
        found_by_key(by_key, rows.len() as u64)?;
        Ok(rows)
    }
}

/// The terminals of an update that sets nothing: refused, once, with a
/// message that says what is missing (see [`SetsAColumn`]).
impl<M: Model> Update<M, NoAssignments> {
    #[doc(hidden)]
    #[allow(unreachable_code)]
    pub fn execute<E>(self, _executor: E) -> Refused<u64>
    where
        NoAssignments: SetsAColumn<M>,
    {
        match <NoAssignments as SetsAColumn<M>>::refuse() {}
    }

    #[doc(hidden)]
    #[allow(unreachable_code)]
    pub fn fetch_all<E>(self, _executor: E) -> Refused<Vec<M>>
    where
        NoAssignments: SetsAColumn<M>,
    {
        match <NoAssignments as SetsAColumn<M>>::refuse() {}
    }
}

/// An UPDATE's parameters: the assignments' values, the tenant, the
/// filters' values. The tenant is `$1` on the backends with numbered
/// placeholders, so it binds first wherever it appears in the text; with
/// positional `?` placeholders (MySQL) it binds where the scope predicate
/// stands, after the assignments.
pub(super) struct UpdateParams {
    tenant: Option<TenantValue>,
    tenant_first: bool,
    sets: Vec<Assignment>,
    filters: Vec<Value>,
}

impl Params for UpdateParams {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), sqlx::error::BoxDynError> {
        sqlx::Arguments::reserve(args, self.sets.len() + self.filters.len() + 1, 0);
        let tenant = |args: &mut DB::Arguments| match self.tenant {
            Some(tenant) => tenant.bind::<DB>(args),
            None => Ok(()),
        };
        if self.tenant_first {
            tenant(args)?;
        }
        for set in self.sets {
            DB::add_value(args, set.value)?;
        }
        if !self.tenant_first {
            tenant(args)?;
        }
        for value in self.filters {
            DB::add_value(args, value)?;
        }
        Ok(())
    }
}
