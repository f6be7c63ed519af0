//! Schema drift as a compile error: with a schema snapshot, each model is
//! checked against its table and a mismatch is an error on the field,
//! naming the column and the fix (see `tenant_core::snapshot`).
//!
//! The snapshot is `ui/drift/tenant-schema.json`, recorded from
//! `ui/drift/schema.sql` (kept current by tests/tests/snapshot.rs). trybuild
//! builds the cases in a project of its own, so the derive finds the
//! snapshot through `TENANT_SCHEMA_SNAPSHOT`, which trybuild's cargo
//! inherits. Without a snapshot nothing changes: tests/tests/ui.rs runs the
//! other cases with none, and their expected output is the same as before
//! snapshots existed.

use std::path::Path;

/// Runs the cases `add` registers with the snapshot `snapshot` (a path
/// relative to this crate).
fn with_snapshot(snapshot: &str, add: impl FnOnce(&trybuild::TestCases)) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(snapshot);
    // SAFETY: this binary has one test, so no other thread reads the
    // environment while it changes.
    unsafe { std::env::set_var("TENANT_SCHEMA_SNAPSHOT", &path) };
    let cases = trybuild::TestCases::new();
    add(&cases);
    // The cases are built and checked when `cases` is dropped, here.
    drop(cases);
}

#[test]
fn ui_drift() {
    // One mismatch per case, and models that match.
    with_snapshot("ui/drift/tenant-schema.json", |t| {
        t.compile_fail("ui/drift/fail/*.rs");
        t.pass("ui/drift/pass/*.rs");
    });
    // A snapshot of another version: one error naming the file and the fix.
    with_snapshot("ui/drift/bad/tenant-schema.json", |t| {
        t.compile_fail("ui/drift/bad/*.rs");
    });
    // A snapshot the variable names but that is not there.
    with_snapshot("ui/drift/missing/tenant-schema.json", |t| {
        t.compile_fail("ui/drift/missing/*.rs");
    });
}
