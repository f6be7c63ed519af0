//! Compile-fail suite: a tenant chosen by a hint alone does not compile.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
