//! Compile-fail suite of `tenant_core::query_as!`: raw SQL that could reach
//! another tenant's rows, or write, does not compile, each with a message
//! naming the fix.

#[test]
fn ui_raw() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/raw/*.rs");
}
