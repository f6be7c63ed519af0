//! `#[derive(TenantProjection)]`: a struct of some of a model's columns,
//! read by `Select::select_as`. Each field names a column constant of the
//! model (the field name in upper snake case) and must have its type; both
//! are checked by the compiler on the field's tokens.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;

pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn model(input: &syn::DeriveInput) -> syn::Result<syn::Path> {
    let mut model = None;
    for attr in &input.attrs {
        if !attr.path().is_ident("tenant") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("model") {
                if model.is_some() {
                    return Err(meta.error("`model` is given twice"));
                }
                model = Some(meta.value()?.parse::<syn::Path>()?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown attribute of a projection: expected `#[tenant(model = SomeModel)]`",
                ))
            }
        })?;
    }
    model.ok_or_else(|| {
        syn::Error::new(
            input.ident.span(),
            "a projection names its model: add `#[tenant(model = SomeModel)]` to the struct",
        )
    })
}

fn expand(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let model = model(input)?;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "a projection cannot be generic: name the model's column types",
        ));
    }
    let fields = match &input.data {
        syn::Data::Struct(syn::DataStruct {
            fields: syn::Fields::Named(fields),
            ..
        }) if !fields.named.is_empty() => &fields.named,
        _ => {
            return Err(syn::Error::new(
                input.ident.span(),
                "a projection is a struct with named fields, each named like a column of the model",
            ));
        }
    };
    let mut nodes = Vec::new();
    let mut reads = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        if let Some(attr) = field.attrs.iter().find(|a| a.path().is_ident("tenant")) {
            return Err(syn::Error::new(
                attr.span(),
                "a projection field takes no `#[tenant(..)]` attribute: name it like the model's field",
            ));
        }
        let ident = field.ident.as_ref().expect("named field");
        let ty = &field.ty;
        // Located at the field's name, but of the macro's expansion: the
        // compiler reports an unknown name there without suggesting to
        // rename the field to the constant.
        let constant = syn::Ident::new(
            &ident.unraw().to_string().to_uppercase(),
            proc_macro2::Span::mixed_site().located_at(ident.span()),
        );
        // On the field's tokens: an unknown name is "no associated item
        // `NAME` on the model", a type of another column's "not the type of
        // its column".
        // The column, named on the field's name: a type that is not the
        // column's is reported there.
        let column = syn::Ident::new("__column", ident.span());
        nodes.push(quote_spanned! {ty.span()=>
            {
                let #column = <#model>::#constant;
                ::tenant_core::__private::projected::<#model, #ty>(#column)
            }
        });
        reads.push(quote_spanned! {ty.span()=>
            #ident: <DB as ::tenant_core::__private::Driver>::get::<#ty>(row, #index)?
        });
    }
    let name = &input.ident;
    Ok(quote! {
        #[automatically_derived]
        impl ::tenant_core::TenantProjection<#model> for #name {
            fn nodes() -> ::std::vec::Vec<::tenant_core::__private::ExprNode> {
                ::std::vec![#(#nodes),*]
            }

            fn decode<DB: ::tenant_core::__private::Driver>(
                row: &DB::Row,
            ) -> ::std::result::Result<Self, ::tenant_core::__private::sqlx::Error> {
                ::std::result::Result::Ok(Self { #(#reads),* })
            }
        }
    })
}
