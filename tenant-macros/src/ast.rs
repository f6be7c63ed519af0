//! The model as the derive sees it: the struct, its fields and their
//! attributes, each keeping the `syn` node it came from for error spans.

use syn::ext::IdentExt;

use crate::attr;
use crate::ctxt::Ctxt;

/// A struct deriving `TenantModel`.
pub(crate) struct Model<'a> {
    pub(crate) input: &'a syn::DeriveInput,
    pub(crate) attrs: attr::Container,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field of the model.
pub(crate) struct Field<'a> {
    pub(crate) original: &'a syn::Field,
    pub(crate) ident: &'a syn::Ident,
    pub(crate) ty: &'a syn::Type,
    pub(crate) attrs: attr::Field,
}

impl<'a> Model<'a> {
    /// Reads the struct. Returns `None` when it is not a struct with named
    /// fields, after recording why.
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a syn::DeriveInput) -> Option<Self> {
        let attrs = attr::Container::from_attrs(cx, &input.attrs);
        let fields = match &input.data {
            syn::Data::Struct(syn::DataStruct {
                fields: syn::Fields::Named(named),
                ..
            }) => &named.named,
            syn::Data::Struct(_) => {
                cx.error_spanned_by(
                    &input.ident,
                    "TenantModel needs a struct with named fields, one per column",
                );
                return None;
            }
            syn::Data::Enum(data) => {
                cx.syn_error(syn::Error::new(
                    data.enum_token.span,
                    "TenantModel can only be derived for a struct with named fields, not an enum",
                ));
                return None;
            }
            syn::Data::Union(data) => {
                cx.syn_error(syn::Error::new(
                    data.union_token.span,
                    "TenantModel can only be derived for a struct with named fields, not a union",
                ));
                return None;
            }
        };
        let fields = fields
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                Some(Field {
                    original: field,
                    ident,
                    ty: &field.ty,
                    attrs: attr::Field::from_attrs(cx, &field.attrs),
                })
            })
            .collect();
        Some(Model {
            input,
            attrs,
            fields,
        })
    }

    /// The table name, when one was given.
    pub(crate) fn table(&self) -> Option<&str> {
        self.attrs.table.as_ref().map(|t| t.value.as_str())
    }

    pub(crate) fn is_global(&self) -> bool {
        self.attrs.global.is_some()
    }

    pub(crate) fn tenant_field(&self) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.attrs.tenant_id.is_some())
    }

    pub(crate) fn primary_key(&self) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.attrs.primary_key.is_some())
    }

    /// The field a struct-level `unique(..)` / `index(..)` names: by its
    /// field name, or by its column name.
    pub(crate) fn field_named(&self, name: &syn::Ident) -> Option<&Field<'a>> {
        let name = name.unraw().to_string();
        self.fields
            .iter()
            .find(|f| f.ident.unraw() == name)
            .or_else(|| self.fields.iter().find(|f| f.column() == name))
    }

    /// The declared unique keys (`unique` on fields, then `unique(..)` on
    /// the struct), or indexes, as column names; unknown names were
    /// reported by `valid.rs` and are left out.
    pub(crate) fn key_columns(&self, unique: bool) -> Vec<Vec<String>> {
        let flagged = self
            .fields
            .iter()
            .filter(|f| {
                if unique {
                    f.attrs.unique.is_some()
                } else {
                    f.attrs.index.is_some()
                }
            })
            .map(|f| vec![f.column()]);
        let lists = if unique {
            &self.attrs.unique
        } else {
            &self.attrs.indexes
        };
        let declared = lists.iter().map(|list| {
            list.iter()
                .filter_map(|name| self.field_named(name).map(Field::column))
                .collect()
        });
        flagged.chain(declared).collect()
    }
}

impl Field<'_> {
    /// The SQL column name: `rename`, or the field name without `r#`.
    pub(crate) fn column(&self) -> String {
        match &self.attrs.rename {
            Some(rename) => rename.value.clone(),
            None => self.ident.unraw().to_string(),
        }
    }

    /// The name of the column constant: the field name in upper snake case.
    pub(crate) fn const_name(&self) -> syn::Ident {
        let name = self.ident.unraw().to_string().to_uppercase();
        syn::Ident::new(&name, self.ident.span())
    }

    pub(crate) fn is_tenant(&self) -> bool {
        self.attrs.tenant_id.is_some()
    }

    /// Whether the database fills this column on insert, so `New<Model>`
    /// leaves it out.
    pub(crate) fn is_database_filled(&self) -> bool {
        self.attrs.generated.is_some()
            || (self.attrs.primary_key.is_some() && self.attrs.client_generated.is_none())
    }
}
