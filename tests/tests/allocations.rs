//! Building a find-by-id allocates nothing but its argument buffer: the SQL
//! is a compile-time constant and the tenant id is stored inline. Counted
//! with a global allocator that counts, against a hand-built argument buffer
//! holding the same two values.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sqlx::Arguments;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use tenant_core::__private::Prepare;
use tenant_core::prelude::*;
use tenant_tests::models::Invoice;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

#[test]
fn find_by_id_allocates_only_its_arguments() {
    let scope = TenantScope::new(TenantId::parse("acme").expect("id"));

    // The model's statements are rendered once, at its first use; after
    // that, no statement renders or allocates SQL again.
    let (first, _) = allocations(|| Invoice::find(&scope, 42).to_sql());
    assert!(first > 0, "the first use renders the model's statements");
    let (n, sql) = allocations(|| {
        let find = Invoice::find(&scope, 42);
        find.to_sql()
    });
    assert_eq!(n, 0, "building a find and its SQL allocated");
    assert!(sql.contains(r#""invoices"."tenant_id" = $1 AND "invoices"."id" = $2"#));

    // Warm up lazily initialised state (type info caches) before counting.
    let _ = Invoice::find(&scope, 42).prepare::<sqlx::Postgres>();
    let _ = Invoice::find(&scope, 42).prepare::<sqlx::Sqlite>();

    let (by_hand, _) = allocations(|| {
        let mut args = PgArguments::default();
        args.add(scope.tenant_id().as_str()).expect("bind");
        args.add(42_i64).expect("bind");
        args
    });
    let (built, prepared) = allocations(|| Invoice::find(&scope, 42).prepare::<sqlx::Postgres>());
    let (sql, _) = prepared.expect("prepare");
    assert!(
        matches!(sql, std::borrow::Cow::Borrowed(_)),
        "the SQL was built at run time"
    );
    assert_eq!(built, by_hand, "PostgreSQL: more than the argument buffer");

    let (by_hand, _) = allocations(|| {
        let mut args = SqliteArguments::default();
        args.add(scope.tenant_id().as_str()).expect("bind");
        args.add(42_i64).expect("bind");
        args
    });
    let (built, prepared) = allocations(|| Invoice::find(&scope, 42).prepare::<sqlx::Sqlite>());
    prepared.expect("prepare");
    assert_eq!(built, by_hand, "SQLite: more than the argument buffer");
}
