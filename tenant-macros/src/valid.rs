//! Rules that involve several attributes or fields.

use crate::ast::Model;
use crate::ctxt::Ctxt;

/// Prefix of the aliases in the generated SQL (`"__tenant_ctx"`,
/// `"__tenant_row"`): a table or column with such a name could be confused
/// with them.
const RESERVED_PREFIX: &str = "__tenant";

/// Longest identifier PostgreSQL keeps without truncating it.
const MAX_IDENTIFIER_BYTES: usize = 63;

pub(crate) fn check(cx: &Ctxt, model: &Model<'_>) {
    check_container(cx, model);
    check_tenant_column(cx, model);
    check_fields(cx, model);
    check_references(cx, model);
    check_keys(cx, model);
}

/// Struct-level `unique(..)` / `index(..)`: every name is a field of the
/// model, named once.
fn check_keys(cx: &Ctxt, model: &Model<'_>) {
    let lists = model
        .attrs
        .unique
        .iter()
        .map(|l| ("unique", l))
        .chain(model.attrs.indexes.iter().map(|l| ("index", l)));
    for (key, list) in lists {
        for (i, name) in list.iter().enumerate() {
            if model.field_named(name).is_none() {
                let fields: Vec<String> =
                    model.fields.iter().map(|f| f.ident.to_string()).collect();
                cx.error_spanned_by(
                    name,
                    format!(
                        "`{key}({name})` names no field of `{}`; its fields are: {}",
                        model.input.ident,
                        fields.join(", ")
                    ),
                );
            } else if list[..i].iter().any(|earlier| earlier == name) {
                cx.error_spanned_by(
                    name,
                    format!("`{name}` is named twice in `{key}(..)`; name each field once"),
                );
            }
        }
    }
}

/// `references = P`: not on the tenant column, not to the model itself, at
/// most one per referenced model (a join follows *the* reference).
fn check_references(cx: &Ctxt, model: &Model<'_>) {
    let ident = &model.input.ident;
    let mut seen: Vec<String> = Vec::new();
    for f in &model.fields {
        let Some(path) = &f.attrs.references else {
            continue;
        };
        let target = quote::quote!(#path).to_string().replace(' ', "");
        if f.is_tenant() {
            cx.error_spanned_by(
                path,
                "the tenant column cannot reference another model: the scope decides the tenant; put `references` on the field that holds the other model's key",
            );
        } else if path.is_ident("Self") || path.is_ident(ident) {
            cx.error_spanned_by(
                path,
                format!("`{ident}` cannot reference itself: self-references are not supported yet; load the parent with a second query"),
            );
        } else if seen.contains(&target) {
            cx.error_spanned_by(
                path,
                format!("`{ident}` already references `{target}`: a join follows one declared reference per pair of models; keep `references` on one of the fields"),
            );
        } else {
            seen.push(target);
        }
    }
}

fn check_container(cx: &Ctxt, model: &Model<'_>) {
    let input = model.input;
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "TenantModel does not support generic structs: a model maps to one table with fixed column types",
        );
    }
    match &model.attrs.table {
        None => cx.error_spanned_by(
            &input.ident,
            format!(
                "`{}` needs a table name: add #[tenant(table = \"...\")] to the struct",
                input.ident
            ),
        ),
        Some(table) => {
            if let Err(why) = check_identifier(&table.value) {
                cx.syn_error(syn::Error::new(
                    table.span,
                    format!(
                        "table name {:?} is not a safe SQL identifier: {why}",
                        table.value
                    ),
                ));
            }
        }
    }
}

fn check_tenant_column(cx: &Ctxt, model: &Model<'_>) {
    let tenant_fields: Vec<_> = model.fields.iter().filter(|f| f.is_tenant()).collect();
    match (model.attrs.global, tenant_fields.as_slice()) {
        (None, []) => cx.error_spanned_by(
            &model.input.ident,
            format!(
                "`{}` has no tenant column: mark the column that holds the tenant with \
                 #[tenant(tenant_id)], or, if the table really is shared by all tenants, \
                 declare it with #[tenant(table = \"...\", global)]",
                model.input.ident
            ),
        ),
        (None, [_]) => {}
        (None, [_, extra @ ..]) => {
            for field in extra {
                cx.error_spanned_by(
                    field.original,
                    "a model has exactly one tenant column; remove #[tenant(tenant_id)] from all but one field",
                );
            }
        }
        (Some(_), fields) => {
            for field in fields {
                cx.error_spanned_by(
                    field.original,
                    "a #[tenant(global)] model has no tenant column: remove `global` or remove #[tenant(tenant_id)]",
                );
            }
            check_global_fields(cx, model);
        }
    }
}

/// A global model reads and rewrites every row of its table. A `TenantId`
/// field there usually means the table is a tenant table declared global by
/// mistake (or to get around the scope); it is allowed only as the model's
/// own key (a directory of tenants) or with a stated reason.
fn check_global_fields(cx: &Ctxt, model: &Model<'_>) {
    for field in &model.fields {
        let attrs = &field.attrs;
        let holds_tenant = is_tenant_id_type(field.ty);
        match &attrs.unscoped_tenant_id {
            Some(reason) if reason.value.trim().is_empty() => cx.syn_error(syn::Error::new(
                reason.span,
                "`unscoped_tenant_id` needs the reason this global table holds tenant ids: \
                 #[tenant(unscoped_tenant_id = \"memberships map users to tenants\")]",
            )),
            Some(reason) if !holds_tenant => cx.syn_error(syn::Error::new(
                reason.span,
                "`unscoped_tenant_id` applies to a field of type `TenantId`; remove it",
            )),
            Some(_) => {}
            // A field marked `tenant_id` was reported above already.
            None if holds_tenant && attrs.primary_key.is_none() && attrs.tenant_id.is_none() => cx.error_spanned_by(
                field.original,
                format!(
                    "`{}` holds a `TenantId` in the #[tenant(global)] model `{}`, which reads and \
                     rewrites every tenant's rows: if the table belongs to tenants, remove `global` \
                     and mark this field #[tenant(tenant_id)]; if it really is shared (a membership \
                     or audit table), say why with #[tenant(unscoped_tenant_id = \"...\")]",
                    field.ident, model.input.ident
                ),
            ),
            None => {}
        }
    }
}

/// `TenantId`, `Option<TenantId>`, or a path ending in `TenantId`.
pub(crate) fn is_tenant_id_type(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident == "TenantId" {
        return true;
    }
    if last.ident == "Option"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
    {
        return is_tenant_id_type(inner);
    }
    false
}

fn check_fields(cx: &Ctxt, model: &Model<'_>) {
    let mut seen: Vec<(String, &syn::Ident)> = Vec::new();
    let mut primary_keys = 0;
    for field in &model.fields {
        let attrs = &field.attrs;
        let column = field.column();
        if let Err(why) = check_identifier(&column) {
            let message = format!("column name {column:?} is not a safe SQL identifier: {why}");
            match &attrs.rename {
                Some(rename) => cx.syn_error(syn::Error::new(rename.span, message)),
                None => cx.error_spanned_by(field.ident, message),
            }
        }
        // SQLite and MySQL compare identifiers without regard to ASCII case:
        // `Tenant_ID` is the same column as `tenant_id` there.
        if let Some((other, first)) = seen.iter().find(|(c, _)| c.eq_ignore_ascii_case(&column)) {
            let same = if *other == column {
                String::new()
            } else {
                format!(" (as {other:?}: SQLite and MySQL ignore the case of identifiers)")
            };
            cx.error_spanned_by(
                field.original,
                format!("column {column:?} is already mapped by field `{first}`{same}"),
            );
        } else {
            seen.push((column, field.ident));
        }
        if attrs.primary_key.is_some() {
            primary_keys += 1;
            if primary_keys > 1 {
                cx.error_spanned_by(
                    field.original,
                    "only one field can be #[tenant(primary_key)]; composite keys are not supported",
                );
            }
        }
        if let Some(span) = attrs.client_generated
            && attrs.primary_key.is_none()
        {
            cx.syn_error(syn::Error::new(
                span,
                "`client_generated` only applies to the primary key: write #[tenant(primary_key, client_generated)]",
            ));
        }
        if let (Some(span), Some(_)) = (attrs.generated, attrs.primary_key) {
            cx.syn_error(syn::Error::new(
                span,
                "a primary key is database-generated already; remove `generated` \
                 (or use `client_generated` if the caller supplies it)",
            ));
        }
        if let (Some(reason), None) = (&attrs.unscoped_tenant_id, model.attrs.global) {
            cx.syn_error(syn::Error::new(
                reason.span,
                "`unscoped_tenant_id` applies only to fields of a #[tenant(global)] model",
            ));
        }
        if let Some(span) = attrs.tenant_id {
            let clash = [
                (attrs.primary_key.is_some(), "primary_key"),
                (attrs.generated.is_some(), "generated"),
            ];
            for (_, name) in clash.iter().filter(|(set, _)| *set) {
                cx.syn_error(syn::Error::new(
                    span,
                    format!(
                        "the tenant column cannot also be `{name}`: its value always comes from the TenantScope"
                    ),
                ));
            }
        }
    }
}

/// A safe identifier: ASCII letters, digits and `_`, not starting with a
/// digit, 1 to 63 bytes. The generated SQL quotes it as well.
pub(crate) fn check_identifier(name: &str) -> Result<(), String> {
    let first = name.chars().next().ok_or("it is empty")?;
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(format!(
            "it is {} bytes long; the limit is {MAX_IDENTIFIER_BYTES}",
            name.len()
        ));
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err("it must start with an ASCII letter or `_`".into());
    }
    if name.len() >= RESERVED_PREFIX.len()
        && name[..RESERVED_PREFIX.len()].eq_ignore_ascii_case(RESERVED_PREFIX)
    {
        return Err(format!(
            "names starting with `{RESERVED_PREFIX}` are reserved for the aliases of the generated SQL"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(format!(
            "it contains {bad:?}; only ASCII letters, digits and `_` are allowed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_identifier;

    #[test]
    fn identifiers() {
        assert!(check_identifier("invoices").is_ok());
        assert!(check_identifier("_x1").is_ok());
        assert!(check_identifier("").is_err());
        assert!(check_identifier("1abc").is_err());
        assert!(check_identifier("inv\"; drop table x; --").is_err());
        assert!(check_identifier("a b").is_err());
        assert!(check_identifier("é").is_err());
        assert!(check_identifier(&"a".repeat(63)).is_ok());
        assert!(check_identifier(&"a".repeat(64)).is_err());
        assert!(check_identifier("__tenant_ctx").is_err());
        assert!(check_identifier("__TENANT_row").is_err());
        assert!(check_identifier("__tenan").is_ok());
    }
}
