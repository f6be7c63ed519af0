// The capability has one constructor, which names the reason.

use tenant_core::CrossTenant;

fn main() {
    let _ = CrossTenant {
        reason: "nobody will notice",
        minted_at: std::panic::Location::caller(),
    };
}
