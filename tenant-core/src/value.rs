//! Column value types and how values reach the database as bound parameters.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Type};

use crate::backend::Driver;
use crate::tenant::TenantId;
#[cfg(feature = "mysql")]
use sqlx::mysql::{MySqlArguments, MySqlRow, MySqlTypeInfo};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgArguments, PgRow, PgTypeInfo};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteArguments, SqliteRow, SqliteTypeInfo};

/// The bounds a column type meets for one backend: sqlx's `Type`, `Encode`
/// and `Decode` when the backend's feature is on, nothing when it is off
/// (so a build for one backend does not ask for the others' impls).
macro_rules! backend_bound {
    ($name:ident, $feature:literal, $db:ty) => {
        #[cfg(feature = $feature)]
        #[doc(hidden)]
        pub trait $name: for<'q> Encode<'q, $db> + Type<$db> + for<'r> Decode<'r, $db> {}
        #[cfg(feature = $feature)]
        impl<T> $name for T where T: for<'q> Encode<'q, $db> + Type<$db> + for<'r> Decode<'r, $db> {}
        #[cfg(not(feature = $feature))]
        #[doc(hidden)]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T: ?Sized> $name for T {}
    };
}

backend_bound!(SqliteType, "sqlite", sqlx::Sqlite);
backend_bound!(PostgresType, "postgres", sqlx::Postgres);
backend_bound!(MySqlType, "mysql", sqlx::MySql);

/// A Rust type that can be a column: readable and writable, as a bound
/// parameter, on every backend compiled in (crate features `sqlite`,
/// `postgres`, `mysql`).
///
/// Implemented for every type that sqlx can encode and decode on those
/// backends: integers, `f64`, `bool`, `String`, `Option<T>` (NULL),
/// `uuid::Uuid`, `chrono`/`time` timestamps (with the features),
/// `serde_json::Value`, and user types that `#[derive(sqlx::Type)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a column type",
    label = "not readable and writable on every enabled backend",
    note = "a column type must implement sqlx's `Type`, `Encode` and `Decode` for each enabled backend (`Sqlite`, `Postgres`, `MySql`)",
    note = "use an integer, f64, bool, String, Option<T>, uuid::Uuid, a chrono/time timestamp (crate features), serde_json::Value, or a type that derives `sqlx::Type`"
)]
pub trait SqlType: Send + Sync + 'static + SqliteType + PostgresType + MySqlType {}

#[diagnostic::do_not_recommend]
impl<T> SqlType for T where T: Send + Sync + 'static + SqliteType + PostgresType + MySqlType {}

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
///
/// // A borrowed value is copied into the statement; the caller keeps it.
/// let note = String::from("vip");
/// let limit = 10;
/// let _ = Customer::query(&scope)
///     .filter(Customer::NOTE.eq(&note))
///     .filter(Customer::VISITS.lt(&limit));
/// assert_eq!(note, "vip");
/// ```
#[diagnostic::on_unimplemented(
    message = "a value of type `{Self}` cannot be used with a column of type `{T}`",
    label = "expected a value of the column's type `{T}`",
    note = "columns only compare with (and are set to) values of their own Rust type, here `{T}`: write a literal of that type (for a float column `3.0`, not `3`) or convert the value first, e.g. `{T}::from(x)`",
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

/// A borrowed value is copied: `.eq(&name)` with `name: String`.
// Left out of the "other types implement" list of a type error: it names
// the owned types, which is what a wrong value should become.
#[diagnostic::do_not_recommend]
impl<T: SqlType + Clone> IntoValue<T> for &T {
    fn into_value(self) -> Value {
        Value::new(self.clone())
    }
}

/// A borrowed value for a nullable column: `.eq(&score)`.
#[diagnostic::do_not_recommend]
impl<T: SqlType + Clone> IntoValue<Option<T>> for &T {
    fn into_value(self) -> Value {
        Value::new(Some(self.clone()))
    }
}

/// A string slice for a text column: `.eq("vip")`.
// Kept out of the help list of a type error too: for a column of another
// type, "`&str` implements `IntoValue<String>`" suggests nothing useful.
#[diagnostic::do_not_recommend]
impl IntoValue<String> for &str {
    fn into_value(self) -> Value {
        Value::new(self.to_owned())
    }
}

#[diagnostic::do_not_recommend]
impl IntoValue<Option<String>> for &str {
    fn into_value(self) -> Value {
        Value::new(Some(self.to_owned()))
    }
}

/// One bound parameter, kept until the statement runs on a backend that is
/// only known then.
pub struct Value(pub(crate) Box<dyn Bind>);

impl Value {
    pub(crate) fn new<T: SqlType>(value: T) -> Self {
        Value(Box::new(value))
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Value(..)")
    }
}

/// A key a `New<Model>` refers to, borrowed for the check that the
/// referenced row exists (see [`crate::reference`]): bindable, and
/// comparable with other keys so each distinct key is checked once.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct KeyRef<'a>(pub(crate) &'a dyn DynKey);

impl<'a> KeyRef<'a> {
    /// Borrows `key`.
    pub fn new<K: ReferenceKey>(key: &'a K) -> Self {
        KeyRef(key)
    }
}

impl std::fmt::Debug for KeyRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt_key(f)
    }
}

impl PartialEq for KeyRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_key(other.0.as_any())
    }
}

impl Eq for KeyRef<'_> {}

impl std::hash::Hash for KeyRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash_key());
    }
}

/// The type of a key that a `#[tenant(references = ..)]` field holds: the
/// referenced model's primary key type. Written values are checked against
/// the referenced table before they are stored, so the key must be
/// comparable and printable (for the error that names it).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the key of a referenced model",
    label = "a referenced key must be `Eq + Hash + Debug` as well as a column type",
    note = "derive `PartialEq, Eq, Hash, Debug` on the key type"
)]
pub trait ReferenceKey: SqlType + Eq + std::hash::Hash + std::fmt::Debug {}

impl<T: SqlType + Eq + std::hash::Hash + std::fmt::Debug> ReferenceKey for T {}

/// [`ReferenceKey`] behind a trait object.
pub(crate) trait DynKey: Bind {
    fn as_any(&self) -> &dyn std::any::Any;
    fn eq_key(&self, other: &dyn std::any::Any) -> bool;
    fn hash_key(&self) -> u64;
    fn fmt_key(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result;
}

impl<K: ReferenceKey> DynKey for K {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn eq_key(&self, other: &dyn std::any::Any) -> bool {
        other.downcast_ref::<K>() == Some(self)
    }

    fn hash_key(&self) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(self)
    }

    fn fmt_key(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// A value whose type is erased: one method per backend, because a trait
/// object cannot have a generic one. [`crate::backend::Driver::add_value`]
/// picks the backend's.
pub(crate) trait Bind: Send + Sync {
    #[cfg(feature = "sqlite")]
    fn bind_sqlite(
        self: Box<Self>,
        args: &mut sqlx::sqlite::SqliteArguments,
    ) -> Result<(), BoxDynError>;
    #[cfg(feature = "postgres")]
    fn bind_postgres(
        self: Box<Self>,
        args: &mut sqlx::postgres::PgArguments,
    ) -> Result<(), BoxDynError>;
    #[cfg(feature = "mysql")]
    fn bind_mysql(
        self: Box<Self>,
        args: &mut sqlx::mysql::MySqlArguments,
    ) -> Result<(), BoxDynError>;
    /// Binds a copy, keeping the value (a key checked before the write
    /// that stores it).
    #[cfg(feature = "sqlite")]
    fn bind_sqlite_ref(&self, args: &mut sqlx::sqlite::SqliteArguments) -> Result<(), BoxDynError>;
    #[cfg(feature = "postgres")]
    fn bind_postgres_ref(&self, args: &mut sqlx::postgres::PgArguments) -> Result<(), BoxDynError>;
    #[cfg(feature = "mysql")]
    fn bind_mysql_ref(&self, args: &mut sqlx::mysql::MySqlArguments) -> Result<(), BoxDynError>;
}

impl<T: SqlType> Bind for T {
    #[cfg(feature = "sqlite")]
    fn bind_sqlite(
        self: Box<Self>,
        args: &mut sqlx::sqlite::SqliteArguments,
    ) -> Result<(), BoxDynError> {
        sqlx::Arguments::add(args, *self)
    }

    #[cfg(feature = "postgres")]
    fn bind_postgres(
        self: Box<Self>,
        args: &mut sqlx::postgres::PgArguments,
    ) -> Result<(), BoxDynError> {
        sqlx::Arguments::add(args, *self)
    }

    #[cfg(feature = "mysql")]
    fn bind_mysql(
        self: Box<Self>,
        args: &mut sqlx::mysql::MySqlArguments,
    ) -> Result<(), BoxDynError> {
        sqlx::Arguments::add(args, *self)
    }

    #[cfg(feature = "sqlite")]
    fn bind_sqlite_ref(&self, args: &mut sqlx::sqlite::SqliteArguments) -> Result<(), BoxDynError> {
        sqlx::Arguments::add(args, self)
    }

    #[cfg(feature = "postgres")]
    fn bind_postgres_ref(&self, args: &mut sqlx::postgres::PgArguments) -> Result<(), BoxDynError> {
        sqlx::Arguments::add(args, self)
    }

    #[cfg(feature = "mysql")]
    fn bind_mysql_ref(&self, args: &mut sqlx::mysql::MySqlArguments) -> Result<(), BoxDynError> {
        sqlx::Arguments::add(args, self)
    }
}

/// A column type's operations, as function pointers made where
/// `T: SqlType` is known, one set per backend compiled in. The generated
/// code reaches every use of a field's type through `col::<T>()`,
/// spanned on the field's type, so an unsupported type gives the same
/// error at every use, which the compiler reports once.
pub struct Col<T> {
    #[cfg(feature = "sqlite")]
    pub(crate) decode_sqlite: fn(&SqliteRow, usize) -> Result<T, sqlx::Error>,
    #[cfg(feature = "sqlite")]
    pub(crate) bind_sqlite: fn(&mut SqliteArguments, T) -> Result<(), BoxDynError>,
    #[cfg(feature = "postgres")]
    pub(crate) decode_postgres: fn(&PgRow, usize) -> Result<T, sqlx::Error>,
    #[cfg(feature = "postgres")]
    pub(crate) bind_postgres: fn(&mut PgArguments, T) -> Result<(), BoxDynError>,
    #[cfg(feature = "mysql")]
    pub(crate) decode_mysql: fn(&MySqlRow, usize) -> Result<T, sqlx::Error>,
    #[cfg(feature = "mysql")]
    pub(crate) bind_mysql: fn(&mut MySqlArguments, T) -> Result<(), BoxDynError>,
    checks: TypeChecks,
}

/// A column type's database types, per backend, as sqlx sees them: the
/// one source of the schema check ([`TenantDb::verify`](crate::TenantDb::verify):
/// does it read a live column of a type) and of the generated DDL
/// ([`crate::schema`]: which type to declare), so a generated column
/// always passes the check.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct TypeChecks {
    #[cfg(feature = "sqlite")]
    pub(crate) sqlite: fn(&SqliteTypeInfo) -> bool,
    #[cfg(feature = "postgres")]
    pub(crate) postgres: fn(&PgTypeInfo) -> bool,
    #[cfg(feature = "mysql")]
    pub(crate) mysql: fn(&MySqlTypeInfo) -> bool,
    /// The type sqlx declares for the Rust type (`Type::type_info`).
    #[cfg(feature = "sqlite")]
    pub(crate) sqlite_type: fn() -> SqliteTypeInfo,
    #[cfg(feature = "postgres")]
    pub(crate) postgres_type: fn() -> PgTypeInfo,
    #[cfg(feature = "mysql")]
    pub(crate) mysql_type: fn() -> MySqlTypeInfo,
}

/// The operations of column type `T`.
#[inline]
pub const fn col<T: SqlType>() -> Col<T> {
    Col {
        #[cfg(feature = "sqlite")]
        decode_sqlite: <sqlx::Sqlite as Driver>::get::<T>,
        #[cfg(feature = "sqlite")]
        bind_sqlite: <sqlx::Sqlite as Driver>::add::<T>,
        #[cfg(feature = "postgres")]
        decode_postgres: <sqlx::Postgres as Driver>::get::<T>,
        #[cfg(feature = "postgres")]
        bind_postgres: <sqlx::Postgres as Driver>::add::<T>,
        #[cfg(feature = "mysql")]
        decode_mysql: <sqlx::MySql as Driver>::get::<T>,
        #[cfg(feature = "mysql")]
        bind_mysql: <sqlx::MySql as Driver>::add::<T>,
        checks: TypeChecks {
            #[cfg(feature = "sqlite")]
            sqlite: <T as sqlx::Type<sqlx::Sqlite>>::compatible,
            #[cfg(feature = "postgres")]
            postgres: <T as sqlx::Type<sqlx::Postgres>>::compatible,
            #[cfg(feature = "mysql")]
            mysql: <T as sqlx::Type<sqlx::MySql>>::compatible,
            #[cfg(feature = "sqlite")]
            sqlite_type: <T as sqlx::Type<sqlx::Sqlite>>::type_info,
            #[cfg(feature = "postgres")]
            postgres_type: <T as sqlx::Type<sqlx::Postgres>>::type_info,
            #[cfg(feature = "mysql")]
            mysql_type: <T as sqlx::Type<sqlx::MySql>>::type_info,
        },
    }
}

/// A field written `u64` (or `usize`, `Option<u64>`): a column type on
/// MySQL alone. Its own message says which type to use instead, where
/// [`SqlType`]'s can only list the supported ones.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a column type: PostgreSQL and SQLite have no unsigned 64-bit integer",
    label = "declare this field `i64` (`Option<i64>` if the column is nullable)",
    note = "`i64` holds every value up to 9.2 × 10^18; keep it from going negative where it is written, or with a CHECK constraint",
    note = "a `u64` column reads and writes only in a build for MySQL alone (crate feature `mysql` without `sqlite` and `postgres`)"
)]
pub trait UnsignedColumn: SqlType {}

#[diagnostic::do_not_recommend]
impl<T: SqlType> UnsignedColumn for T {}

/// [`col`] for a field written `u64`: the same operations, refused with
/// [`UnsignedColumn`]'s message.
#[inline]
pub const fn unsigned_col<T: UnsignedColumn>() -> Col<T> {
    col::<T>()
}

impl<T> Col<T> {
    /// Reads column `index` of a row.
    #[inline]
    pub fn decode<DB: Driver>(&self, row: &DB::Row, index: usize) -> Result<T, sqlx::Error> {
        DB::decode_col(self, row, index)
    }

    /// Binds one value.
    #[inline]
    pub fn bind<DB: Driver>(&self, args: &mut DB::Arguments, value: T) -> Result<(), BoxDynError> {
        DB::bind_col(self, args, value)
    }

    /// The type's compatibility checks, for the schema check.
    pub const fn checks(&self) -> TypeChecks {
        self.checks
    }
}

// --- TenantId as a TEXT column ------------------------------------------------

/// `TenantId` is read and written as the text type of backend `$db`; a
/// value read back is validated again, so a hand-written bad id in the
/// table fails to decode instead of becoming a scope.
macro_rules! tenant_id_as_text {
    ($feature:literal, $db:ty) => {
        #[cfg(feature = $feature)]
        impl Type<$db> for TenantId {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <str as Type<$db>>::type_info()
            }

            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <str as Type<$db>>::compatible(ty)
            }
        }

        #[cfg(feature = $feature)]
        impl Encode<'_, $db> for TenantId {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<$db>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = $feature)]
        impl<'r> Decode<'r, $db> for TenantId {
            fn decode(value: <$db as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as Decode<$db>>::decode(value)?;
                Ok(TenantId::parse(text)?)
            }
        }
    };
}

tenant_id_as_text!("sqlite", sqlx::Sqlite);
tenant_id_as_text!("postgres", sqlx::Postgres);
tenant_id_as_text!("mysql", sqlx::MySql);

#[cfg(feature = "postgres")]
impl sqlx::postgres::PgHasArrayType for TenantId {
    fn array_type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
    }
}
