//! Compile-fail suite: every way to reach tenant rows without a tenant
//! filter, or to break a model's declaration, must be refused by the compiler
//! with a message that says what to do. `ui/pass` holds programs that must
//! keep compiling.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    // 1. Unscoped access to a tenant-owned model.
    t.compile_fail("ui/unscoped/*.rs");
    //    Bulk writes too: unscoped or foreign rows, conflict targets
    //    without the tenant column, upserts of the tenant column.
    t.compile_fail("ui/bulk/*.rs");
    // 2. Forging a `TenantScope`.
    t.compile_fail("ui/forged_scope/*.rs");
    // 3. Writing or filtering the tenant column.
    t.compile_fail("ui/tenant_column/*.rs");
    // 4. Model declarations the derive refuses.
    t.compile_fail("ui/derive/*.rs");
    // 5. Columns of another model, values of the wrong type, empty updates.
    t.compile_fail("ui/columns/*.rs");
    // 6. A scope of one tenant key type used with a model of another.
    t.compile_fail("ui/key_types/*.rs");
    // 7. Joins and references that could reach another tenant's rows.
    t.compile_fail("ui/relations/*.rs");
    // 8. Cross-tenant reads and the raw pool without the capability.
    t.compile_fail("ui/cross_tenant/*.rs");
    // 8. Background jobs without their tenant (tenant-jobs).
    t.compile_fail("ui/jobs/*.rs");
    // Programs that must compile.
    t.pass("ui/pass/*.rs");
}
