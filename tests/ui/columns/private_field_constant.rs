// A column constant is as visible as its field: a private field's column
// cannot be named from outside the model's module.

mod model {
    use tenant_core::prelude::*;

    #[derive(TenantModel)]
    #[tenant(table = "users")]
    pub struct User {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        password_hash: String,
    }
}

fn main() {
    let _ = model::User::PASSWORD_HASH;
}
