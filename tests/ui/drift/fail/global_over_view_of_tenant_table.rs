// `invoice_totals` is a view over the tenant table `invoices`.
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoice_totals", global)]
pub struct InvoiceTotals {
    pub total: Option<i64>,
}

fn main() {}
