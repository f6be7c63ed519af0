//! A per-thread cache of rendered SQL, keyed by the statement's *shape*: the
//! model, the statement kind and form, the filter tree's columns and
//! operators, the assignments, the ordering and whether there is paging.
//! Values never take part (they are bound parameters), so one shape always
//! renders the same text; the key holds the whole shape, not a hash of it,
//! so two shapes can never share an entry.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use crate::backend::Backend;
use crate::params::Sql;

/// The statement kind and form a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Select,
    SelectRls,
    Count,
    CountRls,
    Update,
    UpdateReturning,
    Delete,
    DeleteReturning,
    Join,
    JoinRls,
    Aggregate,
    AggregateRls,
}

/// The tag that starts each part of a key: every part has a fixed layout
/// after its tag, so a sequence of parts reads back unambiguously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// A comparison: column, operator.
    Compare,
    /// `IN`: column, number of values.
    In,
    /// `IS [NOT] NULL`: column, negated.
    IsNull,
    /// A condition no row meets (an empty `IN` list); it has no layout.
    Nothing,
    And,
    Or,
    Not,
    /// An ordering key: column, descending.
    Order,
    /// Paging: has a limit, has an offset.
    Paging,
    /// An assignment `column = value`: column.
    Set,
    /// An item of a select list: its kind, its column if any.
    Item,
    /// A `GROUP BY` key: column.
    Group,
    /// An assignment `column = column + delta`: column.
    Increment,
    /// A `HAVING` comparison: an [`Item`](Tag::Item) part, then the
    /// operator.
    Having,
    /// The `HAVING` clause of an aggregate: its number of conditions.
    HavingClause,
    /// `column IN (SELECT ..)`: the column, the subquery's model (the
    /// address of its per-backend SQL), its selected column, whether it has
    /// a tenant predicate, its number of filters, then each filter, its
    /// number of ordering keys, each key, and a paging part.
    InQuery,
}

/// Shapes with more words than this are rendered every time.
const MAX_WORDS: usize = 40;
/// Entries per thread before the cache starts over.
const MAX_ENTRIES: usize = 1024;
/// Texts longer than this (long `IN` lists) are rendered every time: the
/// rendering is cheap next to binding that many values, and caching them
/// let 20 000 distinct list lengths hold 142 MiB per thread.
const MAX_ENTRY_BYTES: usize = 2048;
/// Bytes of SQL text per thread before the cache starts over. With
/// `MAX_ENTRIES` and `MAX_ENTRY_BYTES` this bounds the cache, keys
/// included, to well under 2 MiB per thread whatever the shapes.
const MAX_TOTAL_BYTES: usize = 512 * 1024;

/// The shape of one statement: the model (by `TypeId`), the kind, the
/// backend (whose dialect the text is in), and a sequence of words made by
/// the statement's walk (see [`crate::ast`]): tags, columns by their index
/// in the model's columns, operators and counts. Equal keys mean equal
/// text.
#[derive(Clone)]
pub(crate) struct ShapeKey {
    model: TypeId,
    kind: Kind,
    backend: Backend,
    len: usize,
    words: [usize; MAX_WORDS],
    overflow: bool,
}

impl ShapeKey {
    /// A key for a statement of `kind` on model `M`, for `backend`.
    pub(crate) fn new<M: 'static>(kind: Kind, backend: Backend) -> Self {
        ShapeKey {
            model: TypeId::of::<M>(),
            kind,
            backend,
            len: 0,
            words: [0; MAX_WORDS],
            overflow: false,
        }
    }

    /// Starts a part of the key.
    pub(crate) fn tag(&mut self, tag: Tag) {
        self.push(tag as usize);
    }

    pub(crate) fn push(&mut self, word: usize) {
        match self.words.get_mut(self.len) {
            Some(slot) => {
                *slot = word;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// The backend whose dialect the text is in.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    fn words(&self) -> &[usize] {
        &self.words[..self.len]
    }
}

impl PartialEq for ShapeKey {
    fn eq(&self, other: &Self) -> bool {
        self.model == other.model
            && self.kind == other.kind
            && self.backend == other.backend
            && self.words() == other.words()
    }
}

impl Eq for ShapeKey {}

impl Hash for ShapeKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.model.hash(state);
        self.kind.hash(state);
        self.backend.hash(state);
        self.words().hash(state);
    }
}

/// A small multiplicative hasher: the keys are short runs of machine words.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

type Map = HashMap<ShapeKey, Arc<str>, BuildHasherDefault<WordHasher>>;

#[derive(Default)]
struct Cache {
    map: Map,
    /// Bytes of SQL text held by `map`.
    bytes: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The SQL of `key`'s shape: from the cache, or rendered by `render` and
/// remembered.
pub(crate) fn cached(key: ShapeKey, render: impl FnOnce() -> String) -> Sql {
    if key.overflow {
        return Sql::Owned(render());
    }
    CACHE.with(|cache| {
        if let Some(sql) = cache.borrow().map.get(&key) {
            return Sql::Shared(Arc::clone(sql));
        }
        let text = render();
        if text.len() > MAX_ENTRY_BYTES {
            return Sql::Owned(text);
        }
        let sql: Arc<str> = text.into();
        let mut cache = cache.borrow_mut();
        if cache.map.len() >= MAX_ENTRIES || cache.bytes + sql.len() > MAX_TOTAL_BYTES {
            // Starting over keeps the hot shapes (they come straight back)
            // without bookkeeping per hit.
            cache.map = Map::default();
            cache.bytes = 0;
        }
        cache.bytes += sql.len();
        cache.map.insert(key, Arc::clone(&sql));
        Sql::Shared(sql)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_shapes_share_text_and_different_ones_do_not() {
        let render_count = std::cell::Cell::new(0);
        let render = |text: &str| {
            render_count.set(render_count.get() + 1);
            text.to_owned()
        };
        let mut a = ShapeKey::new::<u8>(Kind::Select, Backend::Sqlite);
        a.tag(Tag::Order);
        a.push(0);
        let mut b = ShapeKey::new::<u8>(Kind::Select, Backend::Sqlite);
        b.tag(Tag::Order);
        b.push(1);
        assert_eq!(cached(a.clone(), || render("A")).as_str(), "A");
        assert_eq!(cached(a, || render("never")).as_str(), "A");
        assert_eq!(cached(b, || render("B")).as_str(), "B");
        assert_eq!(render_count.get(), 2);
    }

    #[test]
    fn long_texts_are_not_kept() {
        let mut key = ShapeKey::new::<u16>(Kind::Count, Backend::Sqlite);
        key.push(1);
        let long = "x".repeat(MAX_ENTRY_BYTES + 1);
        assert!(matches!(
            cached(key.clone(), || long.clone()),
            Sql::Owned(_)
        ));
        assert!(matches!(cached(key, || long.clone()), Sql::Owned(_)));
        CACHE.with(|c| assert!(c.borrow().bytes <= MAX_TOTAL_BYTES));
    }

    #[test]
    fn oversized_shapes_are_rendered_each_time() {
        let mut key = ShapeKey::new::<u32>(Kind::SelectRls, Backend::Postgres);
        for i in 0..=MAX_WORDS {
            key.push(i);
        }
        assert!(key.overflow);
        assert!(matches!(cached(key, || "Z".to_owned()), Sql::Owned(_)));
    }
}
