//! Code generation. Everything generated names `::tenant_core::__private`
//! (or the path given with `#[tenant(crate = "..")]`), never a user import.
//! No SQL is written here: the derive emits the model's facts, and the core
//! renders its statements once, the first time the model is used.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Field, Model};
use crate::ctxt::Ctxt;
use crate::{drift, valid};

/// Entry point on `proc_macro2` tokens, so the expansion can be unit-tested.
pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let model = Model::from_ast(&cx, input);
    let mut snapshot_deps = TokenStream::new();
    if let Some(model) = &model {
        valid::check(&cx, model);
        snapshot_deps = drift::check(&cx, model);
    }
    let mut tokens = match (cx.check(), model) {
        (Ok(()), Some(model)) => expand(&model),
        (Ok(()), None) => TokenStream::new(),
        // Like serde_derive: report the mistakes and still generate the
        // model's items, so code using `Model::query(..)` or the column
        // constants does not add a cascade of "not found" errors to the one
        // that matters. (A generic struct cannot be expanded: its impls would
        // lack the generics, which is itself the error reported.)
        (Err(err), Some(model)) if input.generics.params.is_empty() => {
            let mut tokens = err.to_compile_error();
            tokens.extend(expand(&model));
            tokens
        }
        (Err(err), _) => err.to_compile_error(),
    };
    tokens.extend(snapshot_deps);
    tokens
}

fn expand(model: &Model<'_>) -> TokenStream {
    let ident = &model.input.ident;
    let vis = &model.input.vis;
    let new_ident = format_ident!("New{}", ident);
    let table = model.table().unwrap_or_default();
    let global = model.is_global();

    let columns: Vec<String> = model.fields.iter().map(Field::column).collect();
    let tenant_column = match model.tenant_field() {
        Some(f) => {
            let c = f.column();
            quote!(::core::option::Option::Some(#c))
        }
        None => quote!(::core::option::Option::None),
    };
    let primary_key_column = match model.primary_key() {
        Some(f) => {
            let c = f.column();
            quote!(::core::option::Option::Some(#c))
        }
        None => quote!(::core::option::Option::None),
    };

    // Type checks, each spanned on the user's field type. Every use of an
    // ordinary field's type goes through `col::<T>()` spanned on that type
    // (see `probe`): an unsupported type gives the same error at each use,
    // which the compiler reports once.
    // A field written `u64` gets a probe of its own, whose message names
    // `i64` (the type exists on MySQL only, so the bound decides, not the
    // derive).
    let probe = |ty: &syn::Type| {
        if is_unsigned_64(ty) {
            quote_spanned!(ty.span()=> __tc::unsigned_col::<#ty>())
        } else {
            quote_spanned!(ty.span()=> __tc::col::<#ty>())
        }
    };
    // The tenant field's operations come from the model's key type, whose
    // bound (`TenantKey`) is checked once, on the field's type, by the
    // `Model::TenantKey` item: a bad key type is one error, not three.
    let field_ops = |f: &Field<'_>| {
        if f.is_tenant() {
            let ty = f.ty;
            quote_spanned!(ty.span()=> __tc::key_col::<#ident>())
        } else {
            probe(f.ty)
        }
    };
    // A global model's field whose type *is* `TenantId` under another name
    // (a type alias): the derive's check reads the type as written, this
    // one the type itself. Its own key and declared unscoped fields are
    // exempt; a field written `TenantId` was refused above already.
    let global_checks = model
        .fields
        .iter()
        .filter(|f| {
            model.is_global()
                && f.attrs.primary_key.is_none()
                && f.attrs.unscoped_tenant_id.is_none()
                && !valid::is_tenant_id_type(f.ty)
        })
        .map(|f| {
            let ty = f.ty;
            quote_spanned!(ty.span()=> __tc::assert_not_tenant_id(__tc::FieldProbe::<#ty>::new().probe());)
        });

    // Row decoding by position: the SELECTs above list the fields in order.
    let decode = {
        let fields = model.fields.iter().enumerate().map(|(i, f)| {
            let name = f.ident;
            let probe = field_ops(f);
            quote!(#name: #probe.decode::<DB>(row, offset + #i)?)
        });
        quote!(::core::result::Result::Ok(Self { #(#fields,)* }))
    };

    // New<Model>.
    let insert_fields: Vec<&Field<'_>> = model
        .fields
        .iter()
        .filter(|f| !f.is_tenant() && !f.is_database_filled())
        .collect();
    let new_field_defs = insert_fields.iter().map(|f| {
        let (fvis, name, ty) = (&f.original.vis, f.ident, f.ty);
        let doc = format!("Value of column `{}`.", f.column());
        quote!(#[doc = #doc] #fvis #name: #ty)
    });
    let bind_new = {
        let binds = insert_fields.iter().map(|f| {
            let name = f.ident;
            let probe = probe(f.ty);
            quote!(#probe.bind::<DB>(args, self.#name)?;)
        });
        quote!(#(#binds)* ::core::result::Result::Ok(()))
    };
    let insert_count = insert_fields.len();
    let tenant_note = if global {
        String::new()
    } else {
        " The tenant column is not here: it always comes from the `TenantScope`.".to_string()
    };
    let new_doc = format!(
        "A row to insert into `{table}` with [`{ident}::insert`].{tenant_note} \
         Columns the database fills are left out too."
    );

    // Column constants.
    let column_consts = model.fields.iter().enumerate().map(|(index, f)| {
        let const_name = f.const_name();
        let column = f.column();
        let ty = f.ty;
        if f.is_tenant() {
            let doc = format!(
                "The tenant column `{column}`. It can be read but never set or filtered on: \
                 the scope supplies it."
            );
            let fvis = &f.original.vis;
            quote_spanned!(f.ident.span()=>
                #[doc = #doc]
                #fvis const #const_name: __tc::TenantColumn<#ident> = __tc::TenantColumn::new(#column);
            )
        } else {
            let doc = format!("Column `{column}` of `{table}`.");
            // A field declared `Option<_>` is a nullable column: it compares
            // with bare values, and NULL only through `is_null()`.
            // The primary key is a column of its own kind: it filters and
            // orders like the others, and `.set` refuses it.
            let nullability = if f.attrs.primary_key.is_some() {
                quote!(__tc::PrimaryKey)
            } else if is_option(ty) {
                quote!(__tc::Null)
            } else {
                quote!(__tc::NotNull)
            };
            // The constant is as visible as the field it names.
            let fvis = &f.original.vis;
            quote_spanned!(f.ident.span()=>
                #[doc = #doc]
                #fvis const #const_name: __tc::Column<#ident, #ty, #nullability> = __tc::Column::new(#index);
            )
        }
    });

    let builders = builders(model, &new_ident);
    let default_krate: syn::Path = syn::parse_quote!(::tenant_core);
    let krate = model
        .attrs
        .krate
        .as_ref()
        .map_or(&default_krate, |k| &k.value);

    // Schema facts for `TenantDb::verify`.
    let rust_types = model.fields.iter().map(|f| {
        let ty = f.ty;
        quote!(#ty).to_string().replace(' ', "")
    });
    let nullable = model.fields.iter().map(|f| is_option(f.ty));
    let type_checks_of = model.fields.iter().map(|f| {
        let probe = field_ops(f);
        quote!(#probe.checks())
    });
    // Declared unique keys and indexes, as column lists (the core puts the
    // tenant column first on a tenant model).
    let key_lists = |unique: bool| {
        model
            .key_columns(unique)
            .into_iter()
            .map(|columns| quote!(&[#(#columns),*]))
    };
    let unique_keys = key_lists(true);
    let indexes = key_lists(false);
    let unscoped: Vec<String> = model
        .fields
        .iter()
        .filter(|f| f.attrs.unscoped_tenant_id.is_some())
        .map(Field::column)
        .collect();

    // The tenant column's type: the key type of the scopes this model takes.
    let tenant_key = match model.fields.iter().find(|f| f.is_tenant()) {
        Some(f) => {
            let ty = f.ty;
            quote_spanned!(ty.span()=> #ty)
        }
        None => quote!(__tc::TenantId),
    };
    let scope_marker = if global {
        quote!(__tc::Global)
    } else {
        quote!(__tc::Scoped)
    };
    let primary_key_impl = model.primary_key().map(|pk| {
        let ty = pk.ty;
        let index = model
            .fields
            .iter()
            .position(|f| f.attrs.primary_key.is_some())
            .unwrap_or_default();
        quote!(
            #[automatically_derived]
            impl __tc::HasPrimaryKey for #ident {
                type PrimaryKey = #ty;
                const PRIMARY_KEY_INDEX: usize = #index;
            }
        )
    });
    // The columns `New<Model>` binds, in order (the SQL is rendered from
    // these facts by the core).
    let insert_columns: Vec<String> = insert_fields.iter().map(|f| f.column()).collect();

    // `references = P`: the checks (spanned on `P`) and both ends of the
    // relation.
    let references: Vec<(usize, &Field<'_>, &syn::Path)> = model
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.attrs.references.as_ref().map(|p| (i, f, p)))
        .collect();
    let reference_checks = references.iter().map(|(_, f, p)| {
        let ty = f.ty;
        // The model's name spanned on the attribute's path: a broken rule
        // is reported on `references = ..`, where it is fixed.
        let span = p
            .segments
            .last()
            .map_or_else(|| p.span(), |s| s.ident.span());
        let model = syn::Ident::new(&ident.to_string(), span);
        quote_spanned!(span=> __tc::check_reference::<#model, #p, #ty>();)
    });
    // `Model::REFERENCES` and the keys a `New<Model>` refers to, checked
    // before each write. A field's `KeyField` bound is checked once: where
    // its key is read (`key_of`) or, for a field `New<Model>` lacks, alone.
    let reference_facts = references.iter().map(|(i, _, p)| {
        let model_name = ident.to_string();
        let parent_name = p
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        quote!(__tc::Reference::of::<#ident, #p>(#i, #model_name, #parent_name))
    });
    let reference_keys = references.iter().enumerate().map(|(r, (_, f, p))| {
        let (name, ty) = (f.ident, f.ty);
        let span = p.span();
        if insert_fields.iter().any(|n| n.ident == f.ident) {
            quote_spanned!(span=> keys.push(#r, __tc::key_of::<#p, #ty>(&self.#name));)
        } else {
            quote!()
        }
    });
    let key_field_checks = references
        .iter()
        .filter(|(_, f, _)| !insert_fields.iter().any(|n| n.ident == f.ident))
        .map(|(_, f, p)| {
            let ty = f.ty;
            quote_spanned!(p.span()=> __tc::check_key_field::<#p, #ty>();)
        });
    let reference_impls = references.iter().map(|(i, _, p)| {
        quote_spanned!(p.span()=>
            #[automatically_derived]
            impl __tc::References<#p> for #ident {
                const COLUMN: usize = #i;
            }
            #[automatically_derived]
            impl __tc::Related<#p> for #ident {
                const ON: (usize, usize) = (#i, <#p as __tc::HasPrimaryKey>::PRIMARY_KEY_INDEX);
            }
            #[automatically_derived]
            impl __tc::Related<#ident> for #p {
                const ON: (usize, usize) = (<#p as __tc::HasPrimaryKey>::PRIMARY_KEY_INDEX, #i);
            }
        )
    });

    // Models are read only through their builders: this impl makes
    // `sqlx::query_as::<_, Model>` fail with a message naming them (and a
    // hand-written `derive(sqlx::FromRow)` conflict). Spanned on the
    // struct's name rather than the derive, so rustc does not add its
    // "consider manually implementing" advice for derived impls.
    let refuse_from_row = quote_spanned!(ident.span()=>
        #[automatically_derived]
        impl<'r, R: __tc::sqlx::Row> __tc::sqlx::FromRow<'r, R> for #ident
        where
            R: __tc::LoadThroughBuilders<#ident>,
        {
            #[allow(unreachable_code)]
            fn from_row(_: &'r R) -> ::core::result::Result<Self, __tc::sqlx::Error> {
                match <R as __tc::LoadThroughBuilders<#ident>>::refuse() {}
            }
        }
    );

    quote! {
        #[doc = #new_doc]
        #vis struct #new_ident {
            #(#new_field_defs,)*
        }

        const _: () = {
            use #krate::__private as __tc;

            #[allow(dead_code)]
            fn __tenant_model_type_checks() {
                #[allow(unused_imports)]
                use __tc::OrdinaryField as _;
                #(#global_checks)*
                #(#reference_checks)*
                #(#key_field_checks)*
            }

            #(#reference_impls)*

            #[automatically_derived]
            impl __tc::Model for #ident {
                const TABLE: &'static str = #table;
                const COLUMNS: &'static [&'static str] = &[#(#columns),*];
                const TENANT_COLUMN: ::core::option::Option<&'static str> = #tenant_column;
                const PRIMARY_KEY: ::core::option::Option<&'static str> = #primary_key_column;
                type New = #new_ident;
                type TenantKey = #tenant_key;
                type Scope = #scope_marker;
                fn sql(backend: __tc::Backend) -> &'static __tc::ModelSql {
                    static SQL: __tc::SqlCell = __tc::SqlCell::new();
                    SQL.get::<Self>(backend)
                }

                const SCHEMA: __tc::ModelSchema = __tc::ModelSchema {
                    rust_types: &[#(#rust_types),*],
                    nullable: &[#(#nullable),*],
                    types: &[#(#type_checks_of),*],
                    insert_columns: &[#(#insert_columns),*],
                    unscoped_tenant_columns: &[#(#unscoped),*],
                    unique: &[#(#unique_keys),*],
                    indexes: &[#(#indexes),*],
                };
                const REFERENCES: &'static [__tc::Reference] = &[#(#reference_facts),*];

                fn decode<DB: __tc::Driver>(row: &DB::Row, offset: usize, _: __tc::DecodeToken) -> ::core::result::Result<Self, __tc::sqlx::Error> {
                    #decode
                }
            }

            #primary_key_impl

            #refuse_from_row

            #[automatically_derived]
            impl __tc::NewRow for #new_ident {
                const LEN: usize = #insert_count;

                fn bind<DB: __tc::Driver>(self, args: &mut DB::Arguments) -> ::core::result::Result<(), __tc::BoxDynError> {
                    #bind_new
                }

                #[allow(unused_variables)]
                fn reference_keys<'a>(&'a self, keys: &mut __tc::ReferenceKeys<'a>) {
                    #(#reference_keys)*
                }
            }

            #[automatically_derived]
            impl #ident {
                #(#column_consts)*
                #builders
            }
        };
    }
}

/// `Option<T>` written as such (`Option`, `std::option::Option`,
/// `core::option::Option`). A type alias of an `Option` is not seen through:
/// such a column compares with `Option` values, as SQL does.
fn is_option(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    if path.qself.is_some() {
        return false;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let last_has_args = path
        .path
        .segments
        .last()
        .is_some_and(|s| matches!(s.arguments, syn::PathArguments::AngleBracketed(_)));
    last_has_args
        && matches!(
            segments
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["Option"] | ["std" | "core", "option", "Option"]
        )
}

/// `u64` or `usize`, bare or in an `Option`, written as such.
fn is_unsigned_64(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    match &last.arguments {
        syn::PathArguments::None => {
            path.qself.is_none()
                && path.path.segments.len() == 1
                && (last.ident == "u64" || last.ident == "usize")
        }
        syn::PathArguments::AngleBracketed(args) if is_option(ty) => {
            matches!(args.args.first(), Some(syn::GenericArgument::Type(inner)) if is_unsigned_64(inner))
        }
        _ => false,
    }
}

/// The inherent constructors: scoped for tenant-owned models, unscoped for
/// global ones.
fn builders(model: &Model<'_>, new_ident: &syn::Ident) -> TokenStream {
    let ident = &model.input.ident;
    // The scope's key type: the tenant column's type, as written.
    let key = match model.fields.iter().find(|f| f.is_tenant()) {
        Some(f) => {
            let ty = f.ty;
            quote!(#ty)
        }
        None => quote!(__tc::TenantId),
    };
    let table = model.table().unwrap_or_default();
    let span = Span::call_site();
    let find = model.primary_key().map(|pk| {
        let ty = pk.ty;
        if model.is_global() {
            let doc = format!("Finds the row of `{table}` whose primary key is `id`.");
            quote_spanned!(span=>
                #[doc = #doc]
                pub fn find(id: #ty) -> __tc::Find<#ident> {
                    __tc::Find::global(id)
                }
            )
        } else {
            let doc = format!(
                "Finds the row of `{table}` with primary key `id` that belongs to the scope's tenant."
            );
            quote_spanned!(span=>
                #[doc = #doc]
                pub fn find(scope: &__tc::TenantScope<#key>, id: #ty) -> __tc::Find<#ident> {
                    __tc::Find::scoped(scope, id)
                }
            )
        }
    });
    // A model without a key still has `find`, `update_by_id` and
    // `delete_by_id`, hidden, whose bound fails with a message naming the
    // missing attribute: without them, rustc answers `Task::find(..)` with
    // "`Task` is not an iterator".
    let keyless = model.primary_key().is_none().then(|| {
        let scope_param = if model.is_global() {
            quote!()
        } else {
            quote!(scope: &__tc::TenantScope<#key>,)
        };
        quote_spanned!(span=>
            #[doc(hidden)]
            #[allow(unused_variables)]
            pub fn find<__Key>(#scope_param id: __Key) -> __tc::KeylessFind<#ident>
            where
                #ident: __tc::NoPrimaryKey<__Key>,
            {
                match <#ident as __tc::NoPrimaryKey<__Key>>::refuse() {}
            }
            #[doc(hidden)]
            #[allow(unused_variables)]
            pub fn update_by_id<__Key>(#scope_param id: __Key) -> __tc::Update<#ident, __tc::NoAssignments>
            where
                #ident: __tc::NoPrimaryKey<__Key>,
            {
                match <#ident as __tc::NoPrimaryKey<__Key>>::refuse() {}
            }
            #[doc(hidden)]
            #[allow(unused_variables)]
            pub fn delete_by_id<__Key>(#scope_param id: __Key) -> __tc::Delete<#ident>
            where
                #ident: __tc::NoPrimaryKey<__Key>,
            {
                match <#ident as __tc::NoPrimaryKey<__Key>>::refuse() {}
            }
        )
    });
    let by_key = model.primary_key().map(|pk| {
        let ty = pk.ty;
        let doc_update = format!(
            "Updates the row of `{table}` whose primary key is `id`{}. `execute` returns \
             `Error::NotFound` when there is no such row.",
            if model.is_global() { "" } else { " and that belongs to the scope's tenant" }
        );
        let doc_delete = format!(
            "Deletes the row of `{table}` whose primary key is `id`{}. `execute` returns \
             `Error::NotFound` when there is no such row.",
            if model.is_global() { "" } else { " and that belongs to the scope's tenant" }
        );
        if model.is_global() {
            quote_spanned!(span=>
                #[doc = #doc_update]
                pub fn update_by_id(id: #ty) -> __tc::Update<#ident, __tc::NoAssignments> {
                    __tc::Update::global_by_key(id)
                }
                #[doc = #doc_delete]
                pub fn delete_by_id(id: #ty) -> __tc::Delete<#ident> {
                    __tc::Delete::global_by_key(id)
                }
            )
        } else {
            quote_spanned!(span=>
                #[doc = #doc_update]
                pub fn update_by_id(scope: &__tc::TenantScope<#key>, id: #ty) -> __tc::Update<#ident, __tc::NoAssignments> {
                    __tc::Update::scoped_by_key(scope, id)
                }
                #[doc = #doc_delete]
                pub fn delete_by_id(scope: &__tc::TenantScope<#key>, id: #ty) -> __tc::Delete<#ident> {
                    __tc::Delete::scoped_by_key(scope, id)
                }
            )
        }
    });
    if model.is_global() {
        let doc_query = format!("Selects rows of the global table `{table}`.");
        let doc_insert = format!("Inserts a row into the global table `{table}`.");
        let doc_insert_many = format!(
            "Inserts many rows into the global table `{table}`, all or nothing (see `InsertMany`)."
        );
        let doc_update = format!("Updates rows of the global table `{table}`.");
        let doc_delete = format!("Deletes rows of the global table `{table}`.");
        quote! {
            #[doc = #doc_query]
            pub fn query() -> __tc::Select<#ident> {
                __tc::Select::global()
            }
            #find
            #by_key
            #keyless
            #[doc = #doc_insert]
            pub fn insert(row: #new_ident) -> __tc::Insert<#ident> {
                __tc::Insert::global(row)
            }
            #[doc = #doc_insert_many]
            pub fn insert_many(rows: impl ::core::iter::IntoIterator<Item = #new_ident>) -> __tc::InsertMany<#ident> {
                __tc::InsertMany::global(rows)
            }
            #[doc = #doc_update]
            pub fn update() -> __tc::Update<#ident, __tc::NoAssignments> {
                __tc::Update::global()
            }
            #[doc = #doc_delete]
            pub fn delete() -> __tc::Delete<#ident> {
                __tc::Delete::global()
            }
        }
    } else {
        let doc_query = format!("Selects rows of `{table}` that belong to the scope's tenant.");
        let doc_insert = format!(
            "Inserts a row into `{table}` for the scope's tenant; the tenant column is set from the scope."
        );
        let doc_insert_many = format!(
            "Inserts many rows into `{table}` for the scope's tenant, all or nothing; every row's tenant column is set from the scope (see `InsertMany`)."
        );
        let doc_upsert = format!(
            "Inserts a row into `{table}` for the scope's tenant or, on a conflict with the tenant's row on a unique key led by the tenant column, updates it (see `Upsert`)."
        );
        let doc_update = format!(
            "Updates rows of `{table}` that belong to the scope's tenant. The tenant column cannot be set."
        );
        let doc_delete = format!("Deletes rows of `{table}` that belong to the scope's tenant.");
        let doc_across = format!(
            "Selects rows of `{table}` of every tenant or of a listed set, with the cross-tenant capability; each use is audited (see `Across`)."
        );
        quote! {
            #[doc = #doc_query]
            pub fn query(scope: &__tc::TenantScope<#key>) -> __tc::Select<#ident> {
                __tc::Select::scoped(scope)
            }
            #[doc = #doc_across]
            #[track_caller]
            pub fn query_across(
                cross_tenant: &__tc::CrossTenant,
                tenants: __tc::Tenants<#key>,
            ) -> __tc::Across<#ident> {
                __tc::Across::new(cross_tenant, tenants)
            }
            #find
            #by_key
            #keyless
            #[doc = #doc_insert]
            pub fn insert(scope: &__tc::TenantScope<#key>, row: #new_ident) -> __tc::Insert<#ident> {
                __tc::Insert::scoped(scope, row)
            }
            #[doc = #doc_insert_many]
            pub fn insert_many(scope: &__tc::TenantScope<#key>, rows: impl ::core::iter::IntoIterator<Item = #new_ident>) -> __tc::InsertMany<#ident> {
                __tc::InsertMany::scoped(scope, rows)
            }
            #[doc = #doc_upsert]
            pub fn upsert(scope: &__tc::TenantScope<#key>, row: #new_ident) -> __tc::Upsert<#ident> {
                __tc::Upsert::scoped(scope, row)
            }
            #[doc = #doc_update]
            pub fn update(scope: &__tc::TenantScope<#key>) -> __tc::Update<#ident, __tc::NoAssignments> {
                __tc::Update::scoped(scope)
            }
            #[doc = #doc_delete]
            pub fn delete(scope: &__tc::TenantScope<#key>) -> __tc::Delete<#ident> {
                __tc::Delete::scoped(scope)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_errors_are_reported_together() {
        let input: syn::DeriveInput = syn::parse_str(
            r#"#[tenant(tabel = "x")]
            struct Bad { #[tenant(primay_key)] id: i64, #[tenant(rename = "a b")] name: String }"#,
        )
        .expect("valid struct");
        let out = derive(&input).to_string();
        assert!(out.contains("did you mean `table`"), "{out}");
        assert!(out.contains("did you mean `primary_key`"), "{out}");
        assert!(out.contains("not a safe SQL identifier"), "{out}");
        assert!(out.contains("has no tenant column"), "{out}");
        assert!(out.contains("needs a table name"), "{out}");
    }
}
