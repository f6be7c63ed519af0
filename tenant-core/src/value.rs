//! Column value types and how values reach the database as bound parameters.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArguments, SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Arguments, Decode, Encode, Postgres, Sqlite, Type};

use crate::TenantId;

/// A Rust type that can be a column: readable and writable, as a bound
/// parameter, on both SQLite and PostgreSQL.
///
/// Implemented for every type that sqlx can encode and decode on both
/// backends: integers, `f64`, `bool`, `String`, `Option<T>` (NULL),
/// `uuid::Uuid`, `chrono`/`time` timestamps (with the features),
/// `serde_json::Value`, and user types that `#[derive(sqlx::Type)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a column type",
    label = "not readable and writable on both SQLite and PostgreSQL",
    note = "a column type must implement sqlx's `Type`, `Encode` and `Decode` for both `Sqlite` and `Postgres`",
    note = "use an integer, f64, bool, String, Option<T>, uuid::Uuid, a chrono/time timestamp (crate features), serde_json::Value, or a type that derives `sqlx::Type`"
)]
pub trait SqlType:
    Send
    + Sync
    + 'static
    + for<'q> Encode<'q, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Sqlite>
    + for<'q> Encode<'q, Postgres>
    + Type<Postgres>
    + for<'r> Decode<'r, Postgres>
{
}

#[diagnostic::do_not_recommend]
impl<T> SqlType for T where
    T: Send
        + Sync
        + 'static
        + for<'q> Encode<'q, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Sqlite>
        + for<'q> Encode<'q, Postgres>
        + Type<Postgres>
        + for<'r> Decode<'r, Postgres>
{
}

/// A value that may be compared with, or stored in, a column of type `T`.
///
/// `T` itself always qualifies; so does `&str` for `String` columns. An
/// `Option<T>` column is set with an `Option<T>` (`None` stores NULL), a
/// bare `T`, or a `&str` for `Option<String>`; it is *compared* with a bare
/// `T` only (see [`Column`](crate::Column): `.eq(None)` would match no row,
/// so NULL is tested with `is_null()`).
///
/// ```
/// use tenant_core::prelude::*;
///
/// #[derive(TenantModel)]
/// #[tenant(table = "customers")]
/// struct Customer {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
///     visits: Option<i32>,
///     note: Option<String>,
/// }
///
/// # let scope = TenantScope::new(TenantId::parse("acme").unwrap());
/// let _ = Customer::update(&scope)
///     .set(Customer::VISITS, 3)        // a bare i32
///     .set(Customer::NOTE, None)       // NULL
///     .filter(Customer::VISITS.lt(3)); // compared with a bare i32
/// ```
#[diagnostic::on_unimplemented(
    message = "a value of type `{Self}` cannot be used with a column of type `{T}`",
    label = "expected a value of the column's type `{T}`",
    note = "columns only compare with (and are set to) values of their own Rust type; convert the value first",
    note = "a nullable column compares with a bare value (`.eq(x)`, not `.eq(Some(x))`); test for NULL with `.is_null()` / `.is_not_null()`"
)]
pub trait IntoValue<T> {
    /// Turns the value into a bound parameter.
    #[doc(hidden)]
    fn into_value(self) -> Value;
}

impl<T: SqlType> IntoValue<T> for T {
    fn into_value(self) -> Value {
        Value::new(self)
    }
}

impl<T: SqlType> IntoValue<Option<T>> for T {
    fn into_value(self) -> Value {
        Value::new(Some(self))
    }
}

impl IntoValue<String> for &str {
    fn into_value(self) -> Value {
        Value::new(self.to_owned())
    }
}

impl IntoValue<Option<String>> for &str {
    fn into_value(self) -> Value {
        Value::new(Some(self.to_owned()))
    }
}

/// One bound parameter, kept until the statement runs on a backend that is
/// only known then.
pub struct Value(Box<dyn Bind>);

impl Value {
    pub(crate) fn new<T: SqlType>(value: T) -> Self {
        Value(Box::new(value))
    }

    pub(crate) fn bind_sqlite(self, args: &mut SqliteArguments) -> Result<(), BoxDynError> {
        self.0.bind_sqlite(args)
    }

    pub(crate) fn bind_postgres(self, args: &mut PgArguments) -> Result<(), BoxDynError> {
        self.0.bind_postgres(args)
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Value(..)")
    }
}

trait Bind: Send + Sync {
    fn bind_sqlite(self: Box<Self>, args: &mut SqliteArguments) -> Result<(), BoxDynError>;
    fn bind_postgres(self: Box<Self>, args: &mut PgArguments) -> Result<(), BoxDynError>;
}

impl<T: SqlType> Bind for T {
    fn bind_sqlite(self: Box<Self>, args: &mut SqliteArguments) -> Result<(), BoxDynError> {
        args.add(*self)
    }

    fn bind_postgres(self: Box<Self>, args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.add(*self)
    }
}

/// A type that can be a model's tenant column. Only [`TenantId`] is one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenant key",
    label = "the tenant column must have type `tenant_core::TenantId`",
    note = "declare the field marked #[tenant(tenant_id)] as `tenant_id: TenantId`; a TenantId is validated, so a bad id never reaches a query"
)]
pub trait TenantKey: SqlType {}

impl TenantKey for TenantId {}

// --- TenantId as a TEXT column ------------------------------------------------

impl Type<Sqlite> for TenantId {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for TenantId {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Sqlite>>::encode(self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for TenantId {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(TenantId::parse(text)?)
    }
}

impl Type<Postgres> for TenantId {
    fn type_info() -> PgTypeInfo {
        <str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <str as Type<Postgres>>::compatible(ty)
    }
}

impl PgHasArrayType for TenantId {
    fn array_type_info() -> PgTypeInfo {
        <&str as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for TenantId {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for TenantId {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Postgres>>::decode(value)?;
        Ok(TenantId::parse(text)?)
    }
}
