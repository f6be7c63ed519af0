//! The per-shape SQL cache stays bounded: resident memory is flat across
//! 100 000 distinct statement shapes and thousands of long `IN` lists.
//!
//! Its own test binary (one test, one thread), so nothing else allocates
//! while it measures.

use tenant_core::prelude::*;
use tenant_tests::models::Invoice;

/// Resident set size of this process, in bytes (Linux `/proc/self/statm`).
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// Shape number `n`: six filters, each one of seven comparisons chosen by a
/// base-7 digit of `n`. 7^6 = 117 649 distinct shapes.
fn shaped(scope: &TenantScope, mut n: usize) -> String {
    let mut query = Invoice::query(scope);
    for _ in 0..6 {
        let condition = match n % 7 {
            0 => Invoice::AMOUNT_CENTS.eq(1),
            1 => Invoice::AMOUNT_CENTS.ne(1),
            2 => Invoice::AMOUNT_CENTS.gt(1),
            3 => Invoice::ID.ge(1),
            4 => Invoice::ID.lt(1),
            5 => Invoice::CUSTOMER_EMAIL.like("%"),
            _ => Invoice::ID.is_in([1, 2]),
        };
        query = query.filter(condition);
        n /= 7;
    }
    query.to_sql()
}

#[test]
fn resident_memory_is_flat_across_distinct_shapes() {
    let scope = TenantScope::new(TenantId::parse("acme").expect("id"));
    // Warm the allocator and the cache's own structures a little.
    for n in 0..100 {
        let _ = shaped(&scope, n);
    }
    let before = resident_bytes();
    let mut text_bytes = 0_usize;
    for n in 0..100_000 {
        text_bytes += shaped(&scope, n).len();
    }
    // Long IN lists: 3 000 distinct lengths of 3 000 to 6 000 values, about
    // 100 MB of SQL text in all.
    for len in 3_000..6_000_i64 {
        text_bytes += Invoice::query(&scope)
            .filter(Invoice::ID.is_in(0..len))
            .to_sql()
            .len();
    }
    let after = resident_bytes();
    let growth = after.saturating_sub(before);
    eprintln!(
        "rendered {} MiB of SQL over 103 000 shapes; resident {} -> {} MiB (+{} KiB)",
        text_bytes >> 20,
        before >> 20,
        after >> 20,
        growth >> 10
    );
    assert!(
        growth < 8 << 20,
        "resident memory grew by {} KiB over 103 000 distinct shapes",
        growth >> 10
    );
}
