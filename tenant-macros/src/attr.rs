//! Parsing of `#[tenant(...)]` attributes, on the struct and on its fields.

use proc_macro2::Span;
use syn::LitStr;
use syn::meta::ParseNestedMeta;

use crate::ctxt::Ctxt;

// Every attribute name, once: parsing, the lists in error messages and the
// suggestions all read these (as serde_derive's `symbol.rs`).
const TABLE: &str = "table";
const GLOBAL: &str = "global";
const CRATE: &str = "crate";
const TENANT_ID: &str = "tenant_id";
const PRIMARY_KEY: &str = "primary_key";
const CLIENT_GENERATED: &str = "client_generated";
const GENERATED: &str = "generated";
const RENAME: &str = "rename";
const UNSCOPED_TENANT_ID: &str = "unscoped_tenant_id";
const REFERENCES: &str = "references";
const UNIQUE: &str = "unique";
const INDEX: &str = "index";

/// Keys accepted in the struct's `#[tenant(...)]`.
const CONTAINER_KEYS: &[&str] = &[TABLE, GLOBAL, CRATE, UNIQUE, INDEX];
/// Keys accepted in a field's `#[tenant(...)]`.
const FIELD_KEYS: &[&str] = &[
    TENANT_ID,
    PRIMARY_KEY,
    CLIENT_GENERATED,
    GENERATED,
    RENAME,
    UNSCOPED_TENANT_ID,
    REFERENCES,
    UNIQUE,
    INDEX,
];

/// A value read from an attribute, with the tokens to blame for it.
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// `#[tenant(table = "...", global)]` on the struct.
#[derive(Default)]
pub(crate) struct Container {
    pub(crate) table: Option<Spanned<String>>,
    pub(crate) global: Option<Span>,
    /// `crate = "path"`: where `tenant_core` is, when it is re-exported or
    /// renamed (as `#[serde(crate = "..")]`).
    pub(crate) krate: Option<Spanned<syn::Path>>,
    /// `unique(a, b)`: a unique key over these fields (led by the tenant
    /// column on a tenant model), for the generated DDL.
    pub(crate) unique: Vec<Vec<syn::Ident>>,
    /// `index(a, b)`: an index over these fields (led by the tenant column
    /// on a tenant model).
    pub(crate) indexes: Vec<Vec<syn::Ident>>,
}

/// `#[tenant(tenant_id | primary_key | client_generated | generated | rename = "...")]`
/// on a field.
#[derive(Default)]
pub(crate) struct Field {
    pub(crate) tenant_id: Option<Span>,
    pub(crate) primary_key: Option<Span>,
    pub(crate) client_generated: Option<Span>,
    pub(crate) generated: Option<Span>,
    pub(crate) rename: Option<Spanned<String>>,
    /// `unscoped_tenant_id = "why"`: a `TenantId` column of a global model
    /// that does not scope its rows (a membership table, say).
    pub(crate) unscoped_tenant_id: Option<Spanned<String>>,
    /// `references = Customer`: the field holds the key of that model's
    /// row (a same-tenant reference between tenant models).
    pub(crate) references: Option<syn::Path>,
    /// `unique`: a unique key on this column (after the tenant column).
    pub(crate) unique: Option<Span>,
    /// `index`: an index on this column (after the tenant column).
    pub(crate) index: Option<Span>,
}

impl Container {
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut out = Container::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("tenant")) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident(TABLE) {
                    let lit = string_value(&meta)?;
                    set_once(
                        cx,
                        &meta,
                        &mut out.table,
                        Spanned {
                            value: lit.value(),
                            span: lit.span(),
                        },
                    );
                } else if meta.path.is_ident(GLOBAL) {
                    let span = flag(cx, &meta);
                    set_once(cx, &meta, &mut out.global, span);
                } else if meta.path.is_ident(CRATE) {
                    let lit = string_value(&meta)?;
                    match lit.parse::<syn::Path>() {
                        Ok(path) => set_once(
                            cx,
                            &meta,
                            &mut out.krate,
                            Spanned {
                                value: path,
                                span: lit.span(),
                            },
                        ),
                        Err(_) => cx.syn_error(syn::Error::new(
                            lit.span(),
                            format!(
                                "`crate` takes the path of tenant_core, such as \"::tenant_core\" or \"my_crate::db\"; {:?} is not a path",
                                lit.value()
                            ),
                        )),
                    }
                } else if meta.path.is_ident(UNIQUE) || meta.path.is_ident(INDEX) {
                    let columns = column_list(&meta)?;
                    if meta.path.is_ident(UNIQUE) {
                        out.unique.push(columns);
                    } else {
                        out.indexes.push(columns);
                    }
                } else {
                    unknown_key(cx, &meta, CONTAINER_KEYS, FIELD_KEYS, "struct");
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}

impl Field {
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut out = Field::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("tenant")) {
            let result = attr.parse_nested_meta(|meta| {
                let slot = if meta.path.is_ident(TENANT_ID) {
                    &mut out.tenant_id
                } else if meta.path.is_ident(PRIMARY_KEY) {
                    &mut out.primary_key
                } else if meta.path.is_ident(CLIENT_GENERATED) {
                    &mut out.client_generated
                } else if meta.path.is_ident(GENERATED) {
                    &mut out.generated
                } else if meta.path.is_ident(UNIQUE) || meta.path.is_ident(INDEX) {
                    let key = path_name(&meta.path);
                    if meta.input.peek(syn::token::Paren) {
                        // A list belongs on the struct: report that, not
                        // the generic "takes no value".
                        let _ = meta.parse_nested_meta(|inner| {
                            let _ = inner.value().and_then(|v| v.parse::<syn::Expr>());
                            Ok(())
                        });
                        cx.error_spanned_by(
                            &meta.path,
                            format!(
                                "on a field, `{key}` covers that field alone: write `#[tenant({key})]`; \
                                 a {key} over several fields goes on the struct: `#[tenant({key}(a, b))]`"
                            ),
                        );
                        let slot = if key == UNIQUE { &mut out.unique } else { &mut out.index };
                        set_once(cx, &meta, slot, syn::spanned::Spanned::span(&meta.path));
                        return Ok(());
                    }
                    if key == UNIQUE {
                        &mut out.unique
                    } else {
                        &mut out.index
                    }
                } else if meta.path.is_ident(REFERENCES) {
                    let path = meta
                        .value()
                        .and_then(|v| v.parse::<syn::Path>())
                        .map_err(|_| {
                            meta.error(format!(
                                "`{REFERENCES}` takes the referenced model's type: `{REFERENCES} = Customer`"
                            ))
                        })?;
                    set_once(cx, &meta, &mut out.references, path);
                    return Ok(());
                } else if meta.path.is_ident(RENAME) || meta.path.is_ident(UNSCOPED_TENANT_ID) {
                    let lit = string_value(&meta)?;
                    let slot = if meta.path.is_ident(RENAME) {
                        &mut out.rename
                    } else {
                        &mut out.unscoped_tenant_id
                    };
                    set_once(
                        cx,
                        &meta,
                        slot,
                        Spanned {
                            value: lit.value(),
                            span: lit.span(),
                        },
                    );
                    return Ok(());
                } else {
                    unknown_key(cx, &meta, FIELD_KEYS, CONTAINER_KEYS, "field");
                    return Ok(());
                };
                let span = flag(cx, &meta);
                set_once(cx, &meta, slot, span);
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}

/// Reads the field names of the struct's `unique(a, b)` / `index(a, b)`.
fn column_list(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<syn::Ident>> {
    let key = path_name(&meta.path);
    let usage = || {
        format!(
            "`{key}` on the struct takes the fields it covers: `#[tenant({key}(email))]` or \
             `#[tenant({key}(period, status))]`; on one field, write `#[tenant({key})]` on the field"
        )
    };
    if !meta.input.peek(syn::token::Paren) {
        if meta.input.peek(syn::Token![=]) {
            let _ = meta.value().and_then(|v| v.parse::<syn::Expr>());
        }
        return Err(meta.error(usage()));
    }
    let mut columns = Vec::new();
    meta.parse_nested_meta(|inner| match inner.path.get_ident() {
        Some(ident) if inner.input.is_empty() || inner.input.peek(syn::Token![,]) => {
            columns.push(ident.clone());
            Ok(())
        }
        _ => Err(inner.error(usage())),
    })?;
    if columns.is_empty() {
        return Err(meta.error(usage()));
    }
    Ok(columns)
}

/// Reads `key = "string"`.
fn string_value(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    let key = path_name(&meta.path);
    let value = meta
        .value()
        .map_err(|_| meta.error(format!("`{key}` takes a string: `{key} = \"...\"`")))?;
    value.parse::<LitStr>().map_err(|err| {
        syn::Error::new(
            err.span(),
            format!("`{key}` takes a string: `{key} = \"...\"`"),
        )
    })
}

/// Reads a bare flag such as `global`. `global = ...` is reported, but the
/// flag still counts, so one mistake does not cascade into others.
fn flag(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> Span {
    let key = path_name(&meta.path);
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        cx.syn_error(meta.error(format!("`{key}` takes no value: write `{key}` alone")));
        if meta.input.peek(syn::Token![=]) {
            let _ = meta.value().and_then(|v| v.parse::<syn::Expr>());
        } else {
            let _ = meta.parse_nested_meta(|inner| {
                let _ = inner.value().and_then(|v| v.parse::<syn::Expr>());
                Ok(())
            });
        }
    }
    syn::spanned::Spanned::span(&meta.path)
}

fn set_once<T>(cx: &Ctxt, meta: &ParseNestedMeta<'_>, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        cx.error_spanned_by(
            &meta.path,
            format!("duplicate `{}` attribute", path_name(&meta.path)),
        );
    } else {
        *slot = Some(value);
    }
}

/// Reports an unknown key, suggesting the nearest known one, and skips its
/// value so parsing can go on to the next key.
fn unknown_key(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    known: &[&str],
    other_place: &[&str],
    place: &str,
) {
    let name = path_name(&meta.path);
    let mut message = format!("unknown #[tenant] {place} attribute `{name}`");
    if other_place.contains(&name.as_str()) {
        let there = if place == "struct" {
            "a field"
        } else {
            "the struct"
        };
        message.push_str(&format!("; `{name}` belongs on {there}"));
    } else if let Some(best) = closest(&name, known) {
        message.push_str(&format!("; did you mean `{best}`?"));
    } else {
        message.push_str(&format!("; expected one of: {}", known.join(", ")));
    }
    cx.error_spanned_by(&meta.path, message);
    // Skip `= value` or `(...)` so the remaining keys are still checked.
    if meta.input.peek(syn::Token![=]) {
        let _ = meta.value().and_then(|v| v.parse::<syn::Expr>());
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.parse_nested_meta(|inner| {
            let _ = inner.value().and_then(|v| v.parse::<syn::Expr>());
            Ok(())
        });
    }
}

fn path_name(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The known key closest to `name` by edit distance, if it is close enough to
/// be a typo.
pub(crate) fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typo_fixes() {
        assert_eq!(closest("primay_key", FIELD_KEYS), Some("primary_key"));
        assert_eq!(closest("tenantid", FIELD_KEYS), Some("tenant_id"));
        assert_eq!(closest("tabel", CONTAINER_KEYS), Some("table"));
        assert_eq!(closest("banana", FIELD_KEYS), None);
    }
}
