//! The derive behind [`tenant_core`](https://docs.rs/tenant-core): `#[derive(TenantModel)]`.
//!
//! Depend on `tenant-core`, which re-exports this derive; this crate's output
//! only names items under `::tenant_core::__private`.
//!
//! The derive is a fixed pipeline: `ast` reads the struct and its
//! attributes, `valid` checks the rules that span several fields, and
//! `expand` writes the code. Every error found is reported at once, each on
//! the user's tokens. When the crate has a schema snapshot, `drift` checks
//! the model against it as well.

mod ast;
mod attr;
mod ctxt;
mod drift;
mod expand;
mod projection;
mod raw;
mod valid;

use proc_macro::TokenStream;

/// Derives query builders for a table whose rows belong to a tenant (or, with
/// `#[tenant(global)]`, to nobody).
///
/// See the `tenant_core` crate documentation for the attributes and the
/// generated items.
#[proc_macro_derive(TenantModel, attributes(tenant))]
pub fn derive_tenant_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// Derives `TenantProjection` for a struct of some of a model's columns,
/// read with `Model::query(&scope).select_as::<Struct>()`: the struct names
/// its model with `#[tenant(model = Model)]`, and each field is named and
/// typed like the model's field (column) it reads.
#[proc_macro_derive(TenantProjection, attributes(tenant))]
pub fn derive_tenant_projection(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    projection::derive(&input).into()
}

/// Raw SQL whose tenant tables are named through their models:
/// `query_as!(Row, &scope, "SELECT .. FROM {Invoice} i ..", args..)`.
///
/// See `tenant_core::query_as!` for the rules and an example.
#[proc_macro]
pub fn query_as(input: TokenStream) -> TokenStream {
    raw::expand(input.into()).into()
}
