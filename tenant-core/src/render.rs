//! The fixed statements of a model, rendered here — the derive emits only
//! the model's facts (table, columns, tenant column, key, insert columns) —
//! once per model, the first time the model is used, and kept for the
//! program's life (the derive stores them in a `OnceLock` per model).

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::backend::Backend;
use crate::model::Model;
use crate::rls::TENANT_SETTING;
use crate::sql::{ROW_ALIAS, placeholder, push_column, quoted};

/// The facts the statements are rendered from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) table: &'a str,
    /// Every column, in field order (the order rows are decoded in).
    pub(crate) columns: &'a [&'a str],
    pub(crate) tenant_column: Option<&'a str>,
    pub(crate) primary_key: Option<&'a str>,
    /// The columns a `New<Model>` supplies, in bind order (the tenant
    /// column is not among them).
    pub(crate) insert_columns: &'a [&'a str],
    /// The PostgreSQL type of the tenant column's key (`text`, `bigint` ..).
    pub(crate) tenant_type: &'a str,
}

/// Every fixed statement of one model. Filters, ordering, paging and
/// assignments are appended by the builders.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct ModelSql {
    /// The quoted table name: `"invoices"`. Every column that is read or
    /// compared is qualified with it.
    pub qualifier: String,
    /// `SELECT <columns> FROM <table>` plus ` WHERE <tenant> = $1` when scoped.
    pub select: String,
    /// `SELECT COUNT(*) FROM <table>` plus the scope predicate.
    pub count: String,
    /// ` WHERE <tenant> = $1`, or empty for a global model.
    pub scope_where: String,
    /// `UPDATE <table> SET `.
    pub update: String,
    /// `DELETE FROM <table>` plus the scope predicate.
    pub delete: String,
    /// `INSERT INTO <table> (...) VALUES (...)`.
    pub insert: String,
    /// The insert followed by `RETURNING <columns>`.
    pub insert_returning: String,
    /// The select plus the primary key predicate; empty without a key.
    pub find: String,
    /// ` RETURNING <columns>`, appended to an UPDATE or DELETE that
    /// returns the rows it changed.
    pub returning: String,
    /// Number of the first free placeholder: 2 when `$1` is the tenant.
    pub first_param: usize,
    /// Row-level-security form of `select`, open: `SELECT "__tenant_row".*
    /// FROM (SELECT set_config(..)) CROSS JOIN LATERAL (SELECT .. WHERE
    /// <tenant> = <set value>` (filters, ordering and the closing follow).
    pub rls_select_head: String,
    /// Row-level-security form of `count` over a page, open like
    /// `rls_select_head`: counts the rows the LATERAL subquery returns.
    pub rls_count_head: String,
    /// Row-level-security form of `count` without paging, open: the
    /// `COUNT(*)` runs inside the LATERAL subquery; close with
    /// `) AS "__tenant_row"`.
    pub rls_count_agg_head: String,
    /// `rls_select_head` closed with ` OFFSET 0) AS "__tenant_row"`.
    pub rls_select: String,
    /// `rls_count_agg_head`, closed.
    pub rls_count: String,
    /// `INSERT .. SELECT <set value>, $2, .. FROM (SELECT set_config(..))`.
    pub rls_insert: String,
    /// `rls_insert` with `RETURNING <columns>`.
    pub rls_insert_returning: String,
    /// Row-level-security form of `find`; empty without a key.
    pub rls_find: String,
    /// The row-level-security heads' `FROM` item that sets the tenant:
    /// `(SELECT set_config(.., $1, true) AS "value" OFFSET 0) AS
    /// "__tenant_ctx"`; statements built elsewhere (joins) start from it.
    pub rls_ctx_from: String,
    /// The reference to the set value, as the tenant column's type.
    pub rls_ctx: String,
}

/// A model's statements for each backend, rendered on first use and kept
/// for the program's life. The derive keeps one in a `static` per model.
#[doc(hidden)]
#[derive(Debug)]
pub struct SqlCell([OnceLock<ModelSql>; Backend::ALL.len()]);

impl SqlCell {
    /// An empty cell.
    pub const fn new() -> Self {
        SqlCell([const { OnceLock::new() }; Backend::ALL.len()])
    }

    /// `M`'s statements for `backend`, rendered the first time.
    pub fn get<M: Model>(&'static self, backend: Backend) -> &'static ModelSql {
        self.0[backend.index()].get_or_init(|| {
            model_sql(
                &Facts {
                    table: M::TABLE,
                    columns: M::COLUMNS,
                    tenant_column: M::TENANT_COLUMN,
                    primary_key: M::PRIMARY_KEY,
                    insert_columns: M::SCHEMA.insert_columns,
                    tenant_type: <M::TenantKey as crate::tenant::TenantKey>::POSTGRES_TYPE,
                },
                backend,
            )
        })
    }
}

impl Default for SqlCell {
    fn default() -> Self {
        Self::new()
    }
}

/// Renders every fixed statement of a model for one backend.
///
/// The row-level-security forms (PostgreSQL only) set the tenant with a
/// `set_config(.., true)` subquery that the tenant-dependent part reads
/// through a LATERAL reference, so it runs first, and ends with the
/// statement's implicit transaction. They are empty for global models and
/// on the other backends.
pub(crate) fn model_sql(facts: &Facts<'_>, backend: Backend) -> ModelSql {
    let table = quoted(backend, facts.table);
    // Every column read or compared is qualified with its table: SQLite
    // reads an unknown *unqualified* quoted name as a string literal
    // (`"tenant_id" = $1` would compare the text 'tenant_id'), but an
    // unknown qualified name is always an error.
    let qualified = |column: &str| {
        let mut out = String::new();
        push_column(&mut out, backend, &table, column);
        out
    };
    let column_list = facts
        .columns
        .iter()
        .map(|c| qualified(c))
        .collect::<Vec<_>>()
        .join(", ");
    let placeholder = |n| placeholder(backend, n);
    let tenant = facts.tenant_column.map(qualified);
    let scope_where = tenant
        .as_ref()
        .map(|t| format!(" WHERE {t} = {}", placeholder(1)))
        .unwrap_or_default();
    let first_param = if tenant.is_some() { 2 } else { 1 };
    // The target list of an INSERT is never qualified; an unknown name there
    // is an error on every backend.
    let insert_columns: Vec<String> = facts
        .tenant_column
        .into_iter()
        .chain(facts.insert_columns.iter().copied())
        .map(|c| quoted(backend, c))
        .collect();
    let placeholders: Vec<String> = (1..=insert_columns.len()).map(placeholder).collect();
    let insert = match (insert_columns.is_empty(), backend) {
        (true, Backend::MySql) => format!("INSERT INTO {table} () VALUES ()"),
        (true, _) => format!("INSERT INTO {table} DEFAULT VALUES"),
        (false, _) => format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            insert_columns.join(", "),
            placeholders.join(", ")
        ),
    };
    let select = format!("SELECT {column_list} FROM {table}{scope_where}");
    let key_placeholder = placeholder(first_param);
    let find = facts
        .primary_key
        .map(|pk| {
            let pk = qualified(pk);
            match &tenant {
                Some(_) => format!("{select} AND {pk} = {key_placeholder}"),
                None => format!("{select} WHERE {pk} = {key_placeholder}"),
            }
        })
        .unwrap_or_default();
    let mut sql = ModelSql {
        count: format!("SELECT COUNT(*) FROM {table}{scope_where}"),
        update: format!("UPDATE {table} SET "),
        delete: format!("DELETE FROM {table}{scope_where}"),
        insert_returning: format!("{insert} RETURNING {column_list}"),
        returning: format!(" RETURNING {column_list}"),
        first_param,
        qualifier: table.clone(),
        insert,
        find,
        select,
        scope_where,
        ..ModelSql::default()
    };
    if let (Some(t), true) = (&tenant, backend.supports_rls()) {
        // The subquery that sets the tenant, and the reference to its value.
        // The setting is text: a key of another type is bound as itself,
        // turned into text for the setting and back for the comparison
        // (the text of a validated key always converts back).
        let (to_text, from_text) = match facts.tenant_type {
            "text" => (String::new(), String::new()),
            other => ("::text".to_owned(), format!("::{other}")),
        };
        let ctx_from = format!(
            "(SELECT set_config('{TENANT_SETTING}', $1{to_text}, true) AS \"value\" OFFSET 0) AS \"__tenant_ctx\""
        );
        let ctx = format!("\"__tenant_ctx\".\"value\"{from_text}");
        sql.rls_select_head = format!(
            "SELECT {ROW_ALIAS}.* FROM {ctx_from} CROSS JOIN LATERAL (SELECT {column_list} FROM {table} WHERE {t} = {ctx}"
        );
        sql.rls_count_head = format!(
            "SELECT COUNT(*) FROM {ctx_from} CROSS JOIN LATERAL (SELECT 1 FROM {table} WHERE {t} = {ctx}"
        );
        // Counting inside the LATERAL subquery keeps the dependency on the
        // tenant setting and returns one row instead of one per match.
        sql.rls_count_agg_head = format!(
            "SELECT {ROW_ALIAS}.\"count\" FROM {ctx_from} CROSS JOIN LATERAL (SELECT COUNT(*) AS \"count\" FROM {table} WHERE {t} = {ctx}"
        );
        // OFFSET 0 keeps the subquery from being flattened into a plain join
        // whose order the planner could choose.
        let close = format!(" OFFSET 0) AS {ROW_ALIAS}");
        sql.rls_select = format!("{}{close}", sql.rls_select_head);
        sql.rls_count = format!("{}) AS {ROW_ALIAS}", sql.rls_count_agg_head);
        if let Some(pk) = facts.primary_key {
            sql.rls_find = format!("{} AND {} = $2{close}", sql.rls_select_head, qualified(pk));
        }
        let mut values = ctx.clone();
        for p in placeholders.iter().skip(1) {
            let _ = write!(values, ", {p}");
        }
        sql.rls_insert = format!(
            "INSERT INTO {table} ({}) SELECT {values} FROM {ctx_from}",
            insert_columns.join(", ")
        );
        sql.rls_insert_returning = format!("{} RETURNING {column_list}", sql.rls_insert);
        sql.rls_ctx_from = ctx_from;
        sql.rls_ctx = ctx;
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice() -> ModelSql {
        model_sql(
            &Facts {
                table: "invoices",
                columns: &["id", "tenant_id", "amount_cents", "email", "created_at"],
                tenant_column: Some("tenant_id"),
                primary_key: Some("id"),
                insert_columns: &["amount_cents", "email"],
                tenant_type: "text",
            },
            Backend::Postgres,
        )
    }

    #[test]
    fn tenant_model_sql() {
        let sql = invoice();
        let cols = r#""invoices"."id", "invoices"."tenant_id", "invoices"."amount_cents", "invoices"."email", "invoices"."created_at""#;
        assert_eq!(
            sql.select,
            format!(r#"SELECT {cols} FROM "invoices" WHERE "invoices"."tenant_id" = $1"#)
        );
        assert_eq!(
            sql.find,
            format!(
                r#"SELECT {cols} FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."id" = $2"#
            )
        );
        assert_eq!(
            sql.insert,
            r#"INSERT INTO "invoices" ("tenant_id", "amount_cents", "email") VALUES ($1, $2, $3)"#
        );
        assert_eq!(
            sql.count,
            r#"SELECT COUNT(*) FROM "invoices" WHERE "invoices"."tenant_id" = $1"#
        );
        assert_eq!(
            sql.delete,
            r#"DELETE FROM "invoices" WHERE "invoices"."tenant_id" = $1"#
        );
        assert_eq!(sql.first_param, 2);
        assert_eq!(sql.qualifier, r#""invoices""#);
    }

    #[test]
    fn rls_forms_set_the_tenant_in_a_lateral_source() {
        let sql = model_sql(
            &Facts {
                table: "invoices",
                columns: &["id", "tenant_id", "amount_cents"],
                tenant_column: Some("tenant_id"),
                primary_key: Some("id"),
                insert_columns: &["amount_cents"],
                tenant_type: "text",
            },
            Backend::Postgres,
        );
        let ctx = r#"(SELECT set_config('app.tenant_id', $1, true) AS "value" OFFSET 0) AS "__tenant_ctx""#;
        assert_eq!(
            sql.rls_find,
            format!(
                r#"SELECT "__tenant_row".* FROM {ctx} CROSS JOIN LATERAL (SELECT "invoices"."id", "invoices"."tenant_id", "invoices"."amount_cents" FROM "invoices" WHERE "invoices"."tenant_id" = "__tenant_ctx"."value" AND "invoices"."id" = $2 OFFSET 0) AS "__tenant_row""#
            )
        );
        assert_eq!(
            sql.rls_insert,
            format!(
                r#"INSERT INTO "invoices" ("tenant_id", "amount_cents") SELECT "__tenant_ctx"."value", $2 FROM {ctx}"#
            )
        );
        assert_eq!(
            sql.rls_count,
            format!(
                r#"SELECT "__tenant_row"."count" FROM {ctx} CROSS JOIN LATERAL (SELECT COUNT(*) AS "count" FROM "invoices" WHERE "invoices"."tenant_id" = "__tenant_ctx"."value") AS "__tenant_row""#
            )
        );
    }

    #[test]
    fn rls_forms_convert_a_non_text_key_through_the_text_setting() {
        let sql = model_sql(
            &Facts {
                table: "invoices",
                columns: &["id", "account_id"],
                tenant_column: Some("account_id"),
                primary_key: Some("id"),
                insert_columns: &[],
                tenant_type: "bigint",
            },
            Backend::Postgres,
        );
        assert!(
            sql.rls_find
                .contains("set_config('app.tenant_id', $1::text, true)"),
            "{}",
            sql.rls_find
        );
        assert!(
            sql.rls_find
                .contains(r#""invoices"."account_id" = "__tenant_ctx"."value"::bigint"#),
            "{}",
            sql.rls_find
        );
        assert_eq!(
            sql.find,
            r#"SELECT "invoices"."id", "invoices"."account_id" FROM "invoices" WHERE "invoices"."account_id" = $1 AND "invoices"."id" = $2"#
        );
    }

    #[test]
    fn global_model_sql_has_no_tenant_predicate() {
        let sql = model_sql(
            &Facts {
                table: "plans",
                columns: &["id", "name"],
                tenant_column: None,
                primary_key: Some("id"),
                insert_columns: &["id", "name"],
                tenant_type: "text",
            },
            Backend::Postgres,
        );
        assert_eq!(
            sql.select,
            r#"SELECT "plans"."id", "plans"."name" FROM "plans""#
        );
        assert_eq!(
            sql.find,
            r#"SELECT "plans"."id", "plans"."name" FROM "plans" WHERE "plans"."id" = $1"#
        );
        assert_eq!(
            sql.insert,
            r#"INSERT INTO "plans" ("id", "name") VALUES ($1, $2)"#
        );
        assert_eq!(sql.first_param, 1);
        assert!(sql.rls_select.is_empty() && sql.rls_find.is_empty());
    }

    #[test]
    fn no_insert_columns_insert_default_values() {
        let sql = model_sql(
            &Facts {
                table: "t",
                columns: &["id"],
                tenant_column: None,
                primary_key: Some("id"),
                insert_columns: &[],
                tenant_type: "text",
            },
            Backend::Postgres,
        );
        assert_eq!(sql.insert, r#"INSERT INTO "t" DEFAULT VALUES"#);
    }

    #[test]
    fn mysql_quotes_with_backticks_and_binds_positionally() {
        let sql = model_sql(
            &Facts {
                table: "invoices",
                columns: &["id", "tenant_id", "amount_cents"],
                tenant_column: Some("tenant_id"),
                primary_key: Some("id"),
                insert_columns: &["amount_cents"],
                tenant_type: "text",
            },
            Backend::MySql,
        );
        assert_eq!(
            sql.find,
            "SELECT `invoices`.`id`, `invoices`.`tenant_id`, `invoices`.`amount_cents` FROM `invoices` WHERE `invoices`.`tenant_id` = ? AND `invoices`.`id` = ?"
        );
        assert_eq!(
            sql.insert,
            "INSERT INTO `invoices` (`tenant_id`, `amount_cents`) VALUES (?, ?)"
        );
        assert!(sql.rls_select.is_empty() && sql.rls_insert.is_empty());
    }
}
