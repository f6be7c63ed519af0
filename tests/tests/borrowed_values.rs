//! Columns compare with, and are set to, borrowed values as well as owned
//! ones: `.eq(&name)` with `name: String` binds a copy and leaves `name` to
//! the caller. Checked against a database so that the copy is shown to be
//! bound, not only accepted by the compiler.

use tenant_tests::models::{Customer, Invoice, NewInvoice};
use tenant_tests::suites::{scope, sqlite_db};

// The borrows of `Copy` values are the point of the test.
#[allow(clippy::needless_borrows_for_generic_args)]
#[tokio::test]
async fn borrowed_values_bind_like_owned_ones() {
    let db = sqlite_db().await;
    let acme = scope("acme");
    for (amount, email) in [(100, "a@example.com"), (200, "b@example.com")] {
        Invoice::insert(
            &acme,
            NewInvoice {
                amount_cents: amount,
                customer_email: email.into(),
            },
        )
        .execute(&db)
        .await
        .expect("insert");
    }
    let email = String::from("b@example.com");
    let found = Invoice::query(&acme)
        .filter(Invoice::CUSTOMER_EMAIL.eq(&email))
        .fetch_all(&db)
        .await
        .expect("eq(&String)");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].amount_cents, 200);

    let threshold: i64 = 150;
    let emails = [String::from("a@example.com"), email.clone()];
    let low = Invoice::query(&acme)
        .filter(Invoice::AMOUNT_CENTS.lt(&threshold))
        .filter(Invoice::CUSTOMER_EMAIL.is_in(emails.iter()))
        .fetch_all(&db)
        .await
        .expect("lt(&i64), is_in(&String..)");
    assert_eq!(low.len(), 1);
    assert_eq!(low[0].customer_email, "a@example.com");

    let renamed = String::from("c@example.com");
    let changed = Invoice::update(&acme)
        .set(Invoice::CUSTOMER_EMAIL, &renamed)
        .filter(Invoice::CUSTOMER_EMAIL.eq(&email))
        .execute(&db)
        .await
        .expect("set(&String)");
    assert_eq!(changed, 1);
    // A nullable column with a borrowed bare value.
    let visits = 3_i32;
    let none = Customer::query(&acme)
        .filter(Customer::VISITS.eq(&visits))
        .count(&db)
        .await
        .expect("eq(&i32) on Option<i32>");
    assert_eq!(none, 0);
    assert_eq!(
        (email.as_str(), renamed.as_str()),
        ("b@example.com", "c@example.com")
    );
}
