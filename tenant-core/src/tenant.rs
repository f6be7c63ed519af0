//! The tenant key and the scope token.

use std::fmt;
use std::str::FromStr;

/// Longest tenant id, in bytes. Matches PostgreSQL's identifier limit so an id
/// can also name a schema or a database.
pub const MAX_TENANT_ID_LEN: usize = 63;

/// A validated tenant key.
///
/// 1 to 63 bytes of `[a-z0-9_-]`, starting with a letter or a digit. UUIDs in
/// lower-case text form are valid ids. The value is stored inline, so cloning
/// a `TenantId` never allocates.
///
/// ```
/// use tenant_core::TenantId;
///
/// let id = TenantId::parse("acme")?;
/// assert_eq!(id.to_string(), "acme");
/// assert!(TenantId::parse("Acme").is_err());
/// assert!(TenantId::parse("").is_err());
/// assert!(TenantId::parse("-acme").is_err());
/// assert!(TenantId::parse("67e55044-10b1-426f-9247-bb680e5fe0c8").is_ok());
/// # Ok::<(), tenant_core::InvalidTenantId>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId {
    len: u8,
    bytes: [u8; MAX_TENANT_ID_LEN],
}

/// Why a string is not a [`TenantId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTenantId {
    /// The string is empty.
    #[error("tenant id is empty")]
    Empty,
    /// The string is longer than [`MAX_TENANT_ID_LEN`] bytes.
    #[error("tenant id is {len} bytes long; the limit is {MAX_TENANT_ID_LEN}")]
    TooLong {
        /// Length of the rejected input, in bytes.
        len: usize,
    },
    /// The string holds a character outside `[a-z0-9_-]`.
    #[error(
        "tenant id contains {found:?} at byte {index}; only lower-case letters, digits, `_` and `-` are allowed"
    )]
    InvalidChar {
        /// The offending character.
        found: char,
        /// Its byte offset.
        index: usize,
    },
    /// The string starts with `_` or `-`.
    #[error("tenant id must start with a letter or a digit, not {found:?}")]
    InvalidStart {
        /// The offending first character.
        found: char,
    },
    /// An integer tenant key that is zero or negative: such keys are never
    /// issued by a sequence, and `0`/`-1` are common "none" markers.
    #[error("integer tenant key {value} is not positive")]
    NotPositive {
        /// The rejected key.
        value: i64,
    },
    /// The nil UUID (all zeros): a default value, never a real tenant.
    #[error("the nil UUID is not a tenant key")]
    NilUuid,
}

impl TenantId {
    /// Validates `s` as a tenant id: 1 to 63 characters of `a-z`, `0-9`,
    /// `_` and `-`, starting with a letter or a digit.
    ///
    /// ```
    /// use tenant_core::{InvalidTenantId, TenantId};
    ///
    /// assert_eq!(TenantId::parse("acme-2").unwrap().as_str(), "acme-2");
    /// assert_eq!(TenantId::parse(""), Err(InvalidTenantId::Empty));
    /// assert!(matches!(
    ///     TenantId::parse("Acme"),
    ///     Err(InvalidTenantId::InvalidChar { found: 'A', index: 0 })
    /// ));
    /// assert!(TenantId::parse("-acme").is_err());
    /// assert!(TenantId::parse(&"a".repeat(64)).is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, InvalidTenantId> {
        let len = s.len();
        if len == 0 {
            return Err(InvalidTenantId::Empty);
        }
        if len > MAX_TENANT_ID_LEN {
            return Err(InvalidTenantId::TooLong { len });
        }
        for (index, found) in s.char_indices() {
            if !(found.is_ascii_lowercase()
                || found.is_ascii_digit()
                || found == '_'
                || found == '-')
            {
                return Err(InvalidTenantId::InvalidChar { found, index });
            }
        }
        let first = s.as_bytes()[0];
        if first == b'_' || first == b'-' {
            return Err(InvalidTenantId::InvalidStart {
                found: char::from(first),
            });
        }
        let mut bytes = [0; MAX_TENANT_ID_LEN];
        bytes[..len].copy_from_slice(s.as_bytes());
        Ok(TenantId {
            len: len as u8,
            bytes,
        })
    }

    /// The id as text.
    ///
    /// ```
    /// let id = tenant_core::TenantId::parse("acme").unwrap();
    /// assert_eq!(id.as_str(), "acme");
    /// ```
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored (checked in `parse`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The tenant id of a UUID, in its lower-case hyphenated form.
    ///
    /// ```
    /// let uuid = uuid::Uuid::from_u128(0xA1B2);
    /// let id = tenant_core::TenantId::from_uuid(uuid);
    /// assert_eq!(id.as_str(), "00000000-0000-0000-0000-00000000a1b2");
    /// ```
    #[cfg(feature = "uuid")]
    pub fn from_uuid(id: uuid::Uuid) -> Self {
        let mut buf = uuid::Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut buf);
        // A hyphenated lower-case UUID is always a valid id.
        Self::parse(text)
            .unwrap_or_else(|_| unreachable!("lower-case UUID text is a valid tenant id"))
    }
}

impl PartialOrd for TenantId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TenantId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// The id as written; width and alignment are honoured, so ids line up in
/// tables:
///
/// ```
/// use tenant_core::TenantId;
///
/// let id = TenantId::parse("acme").unwrap();
/// assert_eq!(format!("[{id:<6}]"), "[acme  ]");
/// assert_eq!(format!("[{id:>6}]"), "[  acme]");
/// ```
impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TenantId").field(&self.as_str()).finish()
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for TenantId {
    type Err = InvalidTenantId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for TenantId {
    type Error = InvalidTenantId;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenantId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for TenantId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        TenantId::parse(&s).map_err(serde::de::Error::custom)
    }
}

mod key_sealed {
    pub trait Sealed {}
}

/// A type a tenant column can have: [`TenantId`] (validated text, the
/// default), `i64`, `i32` or `uuid::Uuid` (feature `uuid`) — the keys of
/// schemas from Rails, Django and JPA (`account_id BIGINT`, `org_id UUID`).
/// Each is bound as its own type, so the tenant column's index is used.
/// Sealed: the values each type refuses are part of the contract.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenant key",
    label = "the tenant column must be a `TenantId`, `i64`, `i32` or `uuid::Uuid`",
    note = "declare the field marked #[tenant(tenant_id)] with one of those types; `TenantId` (validated text) is the default"
)]
pub trait TenantKey:
    crate::value::SqlType + Copy + Eq + Unpin + fmt::Debug + fmt::Display + key_sealed::Sealed
{
    /// Refuses a key no tenant can have: a zero or negative integer, the nil
    /// UUID. (A `TenantId` was validated when it was parsed.)
    fn validate(&self) -> Result<(), InvalidTenantId>;

    /// The key as the statement binds it.
    #[doc(hidden)]
    fn to_value(&self) -> TenantValue;

    /// The PostgreSQL type the key is stored as (`text`, `bigint`,
    /// `integer`, `uuid`): the row-level-security forms convert the
    /// setting's text to it.
    #[doc(hidden)]
    const POSTGRES_TYPE: &'static str;
}

/// A tenant key of any supported type, as a statement binds it; equal values
/// are the same tenant.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenantValue {
    /// A [`TenantId`].
    Text(TenantId),
    /// An `i64` key.
    I64(i64),
    /// An `i32` key.
    I32(i32),
    /// A UUID key.
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
}

impl TenantValue {
    /// The key as a bound value of its own type (a subquery's tenant).
    pub(crate) fn into_value(self) -> crate::value::Value {
        use crate::value::Value;
        match self {
            TenantValue::Text(id) => Value::new(id),
            TenantValue::I64(n) => Value::new(n),
            TenantValue::I32(n) => Value::new(n),
            #[cfg(feature = "uuid")]
            TenantValue::Uuid(u) => Value::new(u),
        }
    }

    /// Binds the key as its own type.
    pub(crate) fn bind<DB: crate::backend::Driver>(
        self,
        args: &mut DB::Arguments,
    ) -> Result<(), sqlx::error::BoxDynError> {
        match self {
            TenantValue::Text(id) => DB::add(args, id),
            TenantValue::I64(n) => DB::add(args, n),
            TenantValue::I32(n) => DB::add(args, n),
            #[cfg(feature = "uuid")]
            TenantValue::Uuid(u) => DB::add(args, u),
        }
    }
}

/// The key's text, as the row-level-security setting holds it: the id, the
/// decimal number, or the lower-case hyphenated UUID — never a quote.
impl fmt::Display for TenantValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantValue::Text(id) => f.pad(id.as_str()),
            TenantValue::I64(n) => f.pad(&n.to_string()),
            TenantValue::I32(n) => f.pad(&n.to_string()),
            #[cfg(feature = "uuid")]
            TenantValue::Uuid(u) => f.pad(&u.hyphenated().to_string()),
        }
    }
}

impl key_sealed::Sealed for TenantId {}
impl TenantKey for TenantId {
    const POSTGRES_TYPE: &'static str = "text";

    fn validate(&self) -> Result<(), InvalidTenantId> {
        Ok(())
    }

    fn to_value(&self) -> TenantValue {
        TenantValue::Text(*self)
    }
}

macro_rules! integer_key {
    ($($ty:ty => $variant:ident, $pg:literal),*) => {$(
        impl key_sealed::Sealed for $ty {}
        impl TenantKey for $ty {
            const POSTGRES_TYPE: &'static str = $pg;

            fn validate(&self) -> Result<(), InvalidTenantId> {
                if *self > 0 {
                    Ok(())
                } else {
                    Err(InvalidTenantId::NotPositive { value: i64::from(*self) })
                }
            }

            fn to_value(&self) -> TenantValue {
                TenantValue::$variant(*self)
            }
        }
    )*};
}

integer_key!(i64 => I64, "bigint", i32 => I32, "integer");

#[cfg(feature = "uuid")]
impl key_sealed::Sealed for uuid::Uuid {}
#[cfg(feature = "uuid")]
impl TenantKey for uuid::Uuid {
    const POSTGRES_TYPE: &'static str = "uuid";

    fn validate(&self) -> Result<(), InvalidTenantId> {
        if self.is_nil() {
            Err(InvalidTenantId::NilUuid)
        } else {
            Ok(())
        }
    }

    fn to_value(&self) -> TenantValue {
        TenantValue::Uuid(*self)
    }
}

/// The proof that code is acting for one tenant.
///
/// Every builder of a tenant-owned model takes a `&TenantScope`, so a query
/// without a tenant cannot be written. A scope is made only by
/// [`TenantScope::new`] (a [`TenantId`]) or [`TenantScope::try_new`] (any
/// [`TenantKey`], validated), typically in the code that authenticated the
/// request; it has no public fields, no `Default` and no `Deserialize`.
///
/// `K` is the type of the tenant column of the models it scopes: a scope of
/// one key type cannot be used with a model of another (a compile error,
/// "expected `&TenantScope<i64>`, found `&TenantScope<TenantId>`").
///
/// ```
/// use tenant_core::{TenantId, TenantScope};
///
/// let scope = TenantScope::new(TenantId::parse("acme")?);
/// assert_eq!(scope.tenant_id().as_str(), "acme");
///
/// // Integer and UUID keys are validated where the scope is made.
/// let account = TenantScope::try_new(42_i64)?;
/// assert_eq!(*account.key(), 42);
/// assert!(TenantScope::try_new(0_i64).is_err());
/// assert!(TenantScope::try_new(-7_i32).is_err());
/// assert!(TenantScope::try_new(uuid::Uuid::nil()).is_err());
/// # Ok::<(), tenant_core::InvalidTenantId>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TenantScope<K = TenantId> {
    key: K,
}

impl TenantScope {
    /// Makes the scope of one tenant. Call it where the tenant is known for
    /// certain: after the credential has been verified.
    ///
    /// ```
    /// use tenant_core::{TenantId, TenantScope};
    ///
    /// // e.g. the tenant of a verified API key
    /// let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    /// assert_eq!(scope.tenant_id().as_str(), "acme");
    /// ```
    pub fn new(tenant_id: TenantId) -> Self {
        TenantScope { key: tenant_id }
    }

    /// The tenant this scope is for.
    ///
    /// ```
    /// use tenant_core::{TenantId, TenantScope};
    ///
    /// let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    /// assert_eq!(format!("tenant {}", scope.tenant_id()), "tenant acme");
    /// ```
    pub fn tenant_id(&self) -> &TenantId {
        &self.key
    }
}

impl<K: TenantKey> TenantScope<K> {
    /// Makes the scope of the tenant with key `key`, refusing a key no
    /// tenant can have ([`TenantKey::validate`]: zero or negative integers,
    /// the nil UUID). Call it where the tenant is known for certain.
    ///
    /// ```
    /// use tenant_core::TenantScope;
    ///
    /// let scope = TenantScope::try_new(42_i64).unwrap();
    /// assert_eq!(*scope.key(), 42);
    /// assert!(TenantScope::try_new(0_i64).is_err());
    /// assert!(TenantScope::try_new(uuid::Uuid::nil()).is_err());
    /// ```
    pub fn try_new(key: K) -> Result<Self, InvalidTenantId> {
        key.validate()?;
        Ok(TenantScope { key })
    }

    /// The tenant's key.
    ///
    /// ```
    /// let scope = tenant_core::TenantScope::try_new(7_i32).unwrap();
    /// assert_eq!(*scope.key(), 7);
    /// ```
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The key as statements bind it.
    pub(crate) fn value(&self) -> TenantValue {
        self.key.to_value()
    }
}

impl<K: TenantKey> fmt::Debug for TenantScope<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TenantScope")
            .field(&format_args!("{}", self.key))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_ids() {
        for ok in ["a", "acme", "0day", "acme-corp_2", &"x".repeat(63)] {
            let id = TenantId::parse(ok).expect(ok);
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.to_string(), ok);
        }
    }

    #[test]
    fn rejects_invalid_ids() {
        assert_eq!(TenantId::parse(""), Err(InvalidTenantId::Empty));
        assert_eq!(
            TenantId::parse(&"x".repeat(64)),
            Err(InvalidTenantId::TooLong { len: 64 })
        );
        assert!(matches!(
            TenantId::parse("Acme"),
            Err(InvalidTenantId::InvalidChar {
                found: 'A',
                index: 0
            })
        ));
        for bad in [
            "acme corp",
            "acme;drop",
            "acme'",
            "acme\"",
            "é",
            "acme\0",
            "a.b",
            "a/b",
            "*",
            "%",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(matches!(
            TenantId::parse("_x"),
            Err(InvalidTenantId::InvalidStart { found: '_' })
        ));
        assert!(matches!(
            TenantId::parse("-x"),
            Err(InvalidTenantId::InvalidStart { found: '-' })
        ));
    }

    #[test]
    #[cfg(feature = "serde")]
    fn serde_validates() {
        let id: TenantId = serde_json::from_str("\"acme\"").expect("valid");
        assert_eq!(id.as_str(), "acme");
        assert!(serde_json::from_str::<TenantId>("\"ACME\"").is_err());
        assert_eq!(serde_json::to_string(&id).expect("serialize"), "\"acme\"");
    }

    #[cfg(feature = "uuid")]
    #[test]
    fn uuid_ids() {
        let u = uuid::Uuid::parse_str("67E55044-10B1-426F-9247-BB680E5FE0C8").expect("uuid");
        assert_eq!(
            TenantId::from_uuid(u).as_str(),
            "67e55044-10b1-426f-9247-bb680e5fe0c8"
        );
    }
}
