//! `query_as!`: raw SQL whose tenant tables are named through their models
//! (`{Invoice}`), checked at compile time with `sqlparser`.
//!
//! The SQL is tokenized with sqlparser's generic dialect to find the
//! `{Model}` slots and the `?` parameters; each slot becomes a reserved
//! identifier, and the statement is parsed once per dialect — generic,
//! PostgreSQL and SQLite (which receive `$n`), MySQL (which receives `?`) —
//! and every parse is walked with sqlparser's [`Visitor`]. A statement is
//! refused unless every parse is one query whose every table is a `{Model}`
//! slot (used once, as a table), a CTE defined in scope, a subquery or a
//! parenthesized join.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use sqlparser::ast::{
    Expr, ObjectNamePart, Query, Select, SetExpr, Statement, TableFactor, Value, ValueWithSpan,
    Visit, Visitor,
};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, Tokenizer};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr as RustExpr, LitStr, Token as T, Type};

/// The identifier a `{Model}` slot is parsed as; user SQL may not contain
/// identifiers starting with `__tenant`.
const SLOT: &str = "__tenant_model_";

/// Functions that read tables or settings by a name given as a value, out
/// of the walk's sight, or that change the row-level-security setting.
const REFUSED_FUNCTIONS: &[&str] = &[
    "set_config",
    "query_to_xml",
    "query_to_xml_and_xmlschema",
    "query_to_xmlschema",
    "table_to_xml",
    "table_to_xml_and_xmlschema",
    "table_to_xmlschema",
    "cursor_to_xml",
    "schema_to_xml",
    "database_to_xml",
    "dblink",
    "pg_read_file",
    "pg_read_binary_file",
    "lo_import",
    "lo_export",
    "load_file",
];

/// `query_as!(Row, scope, "SQL", args..)`.
struct Input {
    row: Type,
    scope: RustExpr,
    sql: LitStr,
    args: Vec<RustExpr>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let row: Type = input.parse()?;
        input.parse::<T![,]>()?;
        let scope: RustExpr = input.parse()?;
        input.parse::<T![,]>()?;
        let sql: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "the SQL must be a string literal: `query_as!(Row, &scope, \"SELECT .. FROM {Model} ..\", args..)`",
            )
        })?;
        let args = if input.is_empty() {
            Vec::new()
        } else {
            input.parse::<T![,]>()?;
            Punctuated::<RustExpr, T![,]>::parse_terminated(input)?
                .into_iter()
                .collect()
        };
        Ok(Input {
            row,
            scope,
            sql,
            args,
        })
    }
}

/// A part of the statement, in text order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// SQL text, as written.
    Text(String),
    /// The `index`th `{Model}`; `aliased` when the SQL gives it an alias.
    Model { index: usize, aliased: bool },
    /// A `?` parameter.
    Param,
}

/// A statement that passed every check.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) pieces: Vec<Piece>,
    /// The path written in each `{..}`, in text order.
    pub(crate) models: Vec<String>,
    /// The number of `?` parameters.
    pub(crate) params: usize,
}

/// Expands `query_as!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input: Input = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let span = input.sql.span();
    let checked = match check(&input.sql.value()) {
        Ok(checked) => checked,
        Err(message) => return syn::Error::new(span, message).to_compile_error(),
    };
    if checked.params != input.args.len() {
        let message = format!(
            "this SQL has {} `?` parameter(s) but {} value(s) follow it: give one Rust value per `?`, in order",
            checked.params,
            input.args.len()
        );
        return syn::Error::new(span, message).to_compile_error();
    }
    let mut models = Vec::with_capacity(checked.models.len());
    for path in &checked.models {
        let path: syn::Path = match syn::parse_str(path) {
            Ok(path) => path,
            Err(_) => {
                let message = format!(
                    "`{{{path}}}` is not a type path: write the model's type in braces, e.g. `{{Invoice}}`"
                );
                return syn::Error::new(span, message).to_compile_error();
            }
        };
        let path = respan(quote!(#path), span);
        models.push(quote_spanned! {span=>
            ::tenant_core::__private::raw_model::<#path, _>(__tenant_scope)
        });
    }
    let pieces = checked.pieces.iter().map(|piece| match piece {
        Piece::Text(text) => quote!(::tenant_core::__private::RawPiece::Text(#text)),
        Piece::Model { index, aliased } => {
            quote!(::tenant_core::__private::RawPiece::Model { index: #index, aliased: #aliased })
        }
        Piece::Param => quote!(::tenant_core::__private::RawPiece::Param),
    });
    let args = input.args.iter().map(|arg| {
        quote_spanned! {syn::spanned::Spanned::span(arg)=>
            {
                #[allow(unused_imports)]
                use ::tenant_core::__private::RawParam as _;
                (&(#arg)).raw_value()
            }
        }
    });
    let row = &input.row;
    let scope = &input.scope;
    quote! {
        {
            let __tenant_scope: &::tenant_core::TenantScope<_> = #scope;
            const __TENANT_PIECES: &[::tenant_core::__private::RawPiece] = &[#(#pieces),*];
            ::tenant_core::RawQuery::<#row>::__new(
                __tenant_scope,
                __TENANT_PIECES,
                ::std::vec![#(#models),*],
                ::std::vec![#(#args),*],
            )
        }
    }
}

/// `tokens` with every span set to `span` (the SQL literal's: the model
/// paths come from inside it).
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// Byte offset of a tokenizer location in `sql` (lines and columns count
/// characters from 1).
fn offsets(sql: &str) -> impl Fn(Location) -> usize + '_ {
    move |loc: Location| {
        let (mut line, mut col) = (1u64, 1u64);
        for (i, ch) in sql.char_indices() {
            if line == loc.line && col == loc.column {
                return i;
            }
            if ch == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        sql.len()
    }
}

/// Splits `sql` into pieces: text, `{Model}` slots and `?` parameters.
fn split(sql: &str) -> Result<(Vec<Piece>, Vec<String>), String> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| format!("this SQL does not read as SQL: {e}"))?;
    let at = offsets(sql);
    let starts: Vec<usize> = tokens.iter().map(|t| at(t.span.start)).collect();
    let end_of = |i: usize| starts.get(i + 1).copied().unwrap_or(sql.len());
    let mut pieces: Vec<Piece> = Vec::new();
    let mut models = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::LBrace => {
                // `{` path `}`, the path's words joined by `::`.
                let mut j = i + 1;
                let mut path = String::new();
                let mut expect_word = true;
                loop {
                    match tokens.get(j).map(|t| &t.token) {
                        Some(Token::Whitespace(_)) => {}
                        Some(Token::Word(w)) if expect_word && w.quote_style.is_none() => {
                            path.push_str(&w.value);
                            expect_word = false;
                        }
                        Some(Token::DoubleColon) if !expect_word => {
                            path.push_str("::");
                            expect_word = true;
                        }
                        Some(Token::RBrace) if !expect_word => break,
                        _ => {
                            return Err(format!(
                                "`{{` at `{}` does not name a model: braces hold a model type only, e.g. `FROM {{Invoice}} i`",
                                snippet(sql, starts[i])
                            ));
                        }
                    }
                    j += 1;
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Model {
                    index: models.len(),
                    aliased: false,
                });
                models.push(path);
                i = j + 1;
                continue;
            }
            Token::RBrace => {
                return Err(format!(
                    "`}}` at `{}` closes no model name: braces hold a model type only, e.g. `FROM {{Invoice}} i`",
                    snippet(sql, starts[i])
                ));
            }
            Token::Placeholder(p) if p == "?" => {
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Param);
            }
            Token::Placeholder(p) => {
                return Err(format!(
                    "`{p}` is not a parameter here: write each parameter as `?` (numbered per backend by the runtime) and pass its value after the SQL"
                ));
            }
            Token::Word(w) if w.value.to_ascii_lowercase().starts_with("__tenant") => {
                return Err(format!(
                    "`{}` is reserved (names starting with `__tenant` belong to tenant-core): rename it",
                    w.value
                ));
            }
            _ => text.push_str(&sql[starts[i]..end_of(i)]),
        }
        i += 1;
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok((pieces, models))
}

/// A few characters of `sql` from byte `at`, for messages.
fn snippet(sql: &str, at: usize) -> String {
    sql[at..].chars().take(24).collect()
}

/// The statement text a dialect is checked on: slots as reserved
/// identifiers, parameters as `?` or `$n`.
fn render(pieces: &[Piece], numbered: bool) -> String {
    let mut out = String::new();
    let (mut slot, mut param) = (0, 0);
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Model { .. } => {
                out.push_str(&format!("{SLOT}{slot}"));
                slot += 1;
            }
            Piece::Param => {
                param += 1;
                if numbered {
                    out.push_str(&format!("${param}"));
                } else {
                    out.push('?');
                }
            }
        }
    }
    out
}

/// Checks `sql` and splits it into pieces; `Err` holds the message.
pub(crate) fn check(sql: &str) -> Result<Checked, String> {
    let (mut pieces, models) = split(sql)?;
    let params = pieces.iter().filter(|p| **p == Piece::Param).count();
    let dialects: [(&str, &dyn Dialect, bool); 4] = [
        ("", &GenericDialect {}, false),
        ("PostgreSQL", &PostgreSqlDialect {}, true),
        ("SQLite", &SQLiteDialect {}, true),
        ("MySQL", &MySqlDialect {}, false),
    ];
    let mut aliases = Vec::new();
    for (name, dialect, numbered) in dialects {
        let text = render(&pieces, numbered);
        let seen = check_dialect(dialect, &text, models.len(), params).map_err(|e| {
            if name.is_empty() {
                e
            } else {
                format!("as {name} reads it: {e}")
            }
        })?;
        if name.is_empty() {
            aliases = seen;
        }
    }
    for piece in &mut pieces {
        if let Piece::Model { index, aliased } = piece {
            *aliased = aliases[*index];
        }
    }
    Ok(Checked {
        pieces,
        models,
        params,
    })
}

/// Parses `text` with `dialect` and walks it; returns, per slot, whether it
/// has an alias.
fn check_dialect(
    dialect: &dyn Dialect,
    text: &str,
    slots: usize,
    params: usize,
) -> Result<Vec<bool>, String> {
    let statements =
        Parser::parse_sql(dialect, text).map_err(|e| format!("this SQL does not parse: {e}"))?;
    let statement = match statements.as_slice() {
        [one] => one,
        [] => return Err("this SQL holds no statement: write one SELECT query".to_owned()),
        _ => {
            return Err(format!(
                "this SQL holds {} statements: write exactly one query per `query_as!`",
                statements.len()
            ));
        }
    };
    if !matches!(statement, Statement::Query(_)) {
        return Err(not_a_query(statement));
    }
    let mut walk = Walk {
        frames: Vec::new(),
        slots: BTreeMap::new(),
        params: 0,
        statements: 0,
    };
    if let ControlFlow::Break(message) = statement.visit(&mut walk) {
        return Err(message);
    }
    let mut aliased = vec![false; slots];
    for (index, flag) in aliased.iter_mut().enumerate() {
        match walk.slots.get(&index).map(Vec::as_slice) {
            Some([one]) => *flag = *one,
            _ => {
                return Err(
                    "each `{Model}` stands for a table: put it where a table goes (FROM or JOIN) and refer to its columns through an alias, e.g. `FROM {Invoice} i .. i.amount_cents`"
                        .to_owned(),
                );
            }
        }
    }
    if walk.params != params {
        return Err(
            "a `?` of this SQL is not read as a parameter (inside an operator such as PostgreSQL's jsonb `?`): write the operator's function form instead (`jsonb_exists(..)`)"
                .to_owned(),
        );
    }
    Ok(aliased)
}

/// The message for a statement that is not a query.
fn not_a_query(statement: &Statement) -> String {
    let kind = match statement {
        Statement::Insert(_) => "an INSERT",
        Statement::Update(_) => "an UPDATE",
        Statement::Delete(_) => "a DELETE",
        Statement::Merge(_) => "a MERGE",
        _ => "not a query",
    };
    format!(
        "this SQL is {kind}: `query_as!` runs SELECT and WITH queries only; write through the builders (`Model::insert(&scope, ..)`, `Model::update(&scope)`, `Model::delete(&scope)`), which keep the tenant column"
    )
}

/// The names a query's `WITH` defines, and how many of them the query
/// being walked may read.
struct Frame {
    query: *const Query,
    names: Vec<sqlparser::ast::Ident>,
    bodies: Vec<*const Query>,
    recursive: bool,
    /// Names `..visible` are in scope; all of them outside the CTE bodies.
    visible: usize,
}

/// The visitor: scopes of CTE names, uses of each slot (with whether each
/// has an alias), the parameters.
struct Walk {
    frames: Vec<Frame>,
    slots: BTreeMap<usize, Vec<bool>>,
    params: usize,
    statements: usize,
}

impl Walk {
    /// Whether `name` is a CTE in scope, spelled as it was defined.
    fn is_cte(&self, name: &sqlparser::ast::Ident) -> bool {
        self.frames.iter().any(|f| {
            let visible = if f.recursive {
                f.names.len()
            } else {
                f.visible
            };
            f.names[..visible]
                .iter()
                .any(|n| n.value == name.value && n.quote_style == name.quote_style)
        })
    }
}

/// A direct table name's message.
fn direct_table(name: &str) -> String {
    format!(
        "`{name}` names a table directly: name a tenant table through its model in braces, e.g. `FROM {{Invoice}} i`, so it reads only the scope's rows (or define `{name}` as a CTE of this statement, spelled the same)"
    )
}

/// Refuses `SELECT .. INTO` and the `TABLE name` form in a set expression.
fn check_set_expr(expr: &SetExpr) -> Result<(), String> {
    match expr {
        SetExpr::SetOperation { left, right, .. } => {
            check_set_expr(left)?;
            check_set_expr(right)
        }
        SetExpr::Table(table) => Err(direct_table(
            table
                .table_name
                .as_ref()
                .map_or("TABLE", |t| t.value.as_str()),
        )),
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
            Err(write_in_query())
        }
        _ => Ok(()),
    }
}

fn write_in_query() -> String {
    "this query writes (INSERT/UPDATE/DELETE/MERGE inside it): `query_as!` reads only; write through the builders (`Model::insert(&scope, ..)`, `Model::update(&scope)`, `Model::delete(&scope)`)".to_owned()
}

impl Visitor for Walk {
    type Break = String;

    fn pre_visit_statement(&mut self, _: &Statement) -> ControlFlow<String> {
        self.statements += 1;
        if self.statements > 1 {
            return ControlFlow::Break(write_in_query());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if let Err(message) = check_set_expr(&query.body) {
            return ControlFlow::Break(message);
        }
        // A CTE body of the enclosing query sees the CTEs before it (all
        // of them in a `WITH RECURSIVE`).
        if let Some(parent) = self.frames.last_mut()
            && let Some(j) = parent.bodies.iter().position(|b| std::ptr::eq(*b, query))
        {
            parent.visible = j;
        }
        let (names, bodies, recursive) = match &query.with {
            Some(with) => (
                with.cte_tables
                    .iter()
                    .map(|c| c.alias.name.clone())
                    .collect(),
                with.cte_tables
                    .iter()
                    .map(|c| &*c.query as *const Query)
                    .collect::<Vec<_>>(),
                with.recursive,
            ),
            None => (Vec::new(), Vec::new(), false),
        };
        let visible = names.len();
        self.frames.push(Frame {
            query,
            names,
            bodies,
            recursive,
            visible,
        });
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if let Some(frame) = self.frames.pop() {
            debug_assert!(std::ptr::eq(frame.query, query));
        }
        if let Some(parent) = self.frames.last_mut() {
            parent.visible = parent.names.len();
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<String> {
        if select.into.is_some() {
            return ControlFlow::Break(
                "`SELECT .. INTO` creates a table: `query_as!` reads only".to_owned(),
            );
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_directives,
                inheritance,
            } => {
                if args.is_some() {
                    return ControlFlow::Break(format!(
                        "`{name}(..)` is a table function: it can read rows around the tenant filter; read tenant tables through `{{Model}}`"
                    ));
                }
                let single = match name.0.as_slice() {
                    [ObjectNamePart::Identifier(ident)] => ident,
                    _ => return ControlFlow::Break(direct_table(&name.to_string())),
                };
                if single.quote_style.is_none()
                    && let Some(index) = single.value.strip_prefix(SLOT)
                    && let Ok(index) = index.parse::<usize>()
                {
                    let plain = with_hints.is_empty()
                        && version.is_none()
                        && !with_ordinality
                        && partitions.is_empty()
                        && json_path.is_none()
                        && sample.is_none()
                        && index_directives.is_empty()
                        && inheritance.is_none();
                    if !plain {
                        return ControlFlow::Break(
                            "a `{Model}` takes an alias only (no hints, partitions, sampling or ONLY): it stands for a subquery".to_owned(),
                        );
                    }
                    self.slots.entry(index).or_default().push(alias.is_some());
                    return ControlFlow::Continue(());
                }
                if self.is_cte(single) {
                    return ControlFlow::Continue(());
                }
                ControlFlow::Break(direct_table(&name.to_string()))
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => {
                ControlFlow::Continue(())
            }
            other => ControlFlow::Break(format!(
                "`{other}` is not a table this macro can check: FROM and JOIN take a `{{Model}}`, a CTE of the statement, a subquery or a parenthesized join"
            )),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        if let Expr::Function(function) = expr
            && let Some(ObjectNamePart::Identifier(last)) = function.name.0.last()
        {
            let lower = last.value.to_ascii_lowercase();
            if REFUSED_FUNCTIONS.contains(&lower.as_str()) || lower.starts_with("dblink") {
                return ControlFlow::Break(format!(
                    "`{}` reads tables or settings by name, around the tenant filter: it is refused in `query_as!`",
                    last.value
                ));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<String> {
        if let Value::Placeholder(_) = value.value {
            self.params += 1;
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(sql: &str) -> String {
        match check(sql) {
            Ok(c) => panic!("accepted: {sql}: {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_models_ctes_subqueries_and_unions() {
        for sql in [
            "SELECT i.id FROM {Invoice} i JOIN {Customer} c ON c.id = i.customer_id WHERE i.amount_cents > ?",
            "WITH big AS (SELECT * FROM {Invoice} WHERE amount_cents > ?) SELECT count(*) FROM big",
            "WITH a AS (SELECT id FROM {Invoice}), b AS (SELECT id FROM a) SELECT * FROM b",
            "SELECT id FROM {Invoice} UNION ALL SELECT id FROM {Payment}",
            "SELECT id FROM {Invoice} i WHERE EXISTS (SELECT 1 FROM {Payment} p WHERE p.invoice_id = i.id)",
            "SELECT id FROM {Invoice} WHERE id IN (SELECT invoice_id FROM {Payment})",
            "SELECT * FROM (SELECT id FROM {Invoice}) AS s",
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3) SELECT x FROM n",
            "SELECT 'a {b} ?' AS s, \"it's\" FROM {models::Invoice}",
        ] {
            check(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn pieces_keep_text_and_number_slots() {
        let c =
            check("SELECT x FROM {Invoice} i, {Plan} WHERE x = ? AND y = '?'").expect("accepted");
        assert_eq!(c.models, ["Invoice", "Plan"]);
        assert_eq!(c.params, 1);
        assert_eq!(
            c.pieces,
            [
                Piece::Text("SELECT x FROM ".into()),
                Piece::Model {
                    index: 0,
                    aliased: true
                },
                Piece::Text(" i, ".into()),
                Piece::Model {
                    index: 1,
                    aliased: false
                },
                Piece::Text(" WHERE x = ".into()),
                Piece::Param,
                Piece::Text(" AND y = '?'".into()),
            ]
        );
    }

    #[test]
    fn refuses_direct_tables_in_every_position() {
        for sql in [
            "SELECT * FROM invoices",
            "SELECT * FROM \"invoices\"",
            "SELECT * FROM public.invoices",
            "SELECT * FROM {Invoice} i WHERE i.id IN (SELECT invoice_id FROM payments)",
            "SELECT * FROM {Invoice} i WHERE EXISTS (SELECT 1 FROM payments)",
            "WITH x AS (SELECT * FROM invoices) SELECT * FROM x",
            "SELECT id FROM {Invoice} UNION SELECT id FROM invoices",
            "SELECT * FROM {Invoice} i, LATERAL (SELECT * FROM payments p WHERE p.invoice_id = i.id) q",
            "SELECT * FROM {Invoice} i JOIN customers c ON true",
            // A CTE's name outside its scope, or read by itself without RECURSIVE.
            "WITH invoices AS (SELECT * FROM invoices) SELECT * FROM invoices",
            "SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) a, x",
            "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a",
            // Spelled differently from its definition.
            "WITH recent AS (SELECT 1) SELECT * FROM \"recent\"",
            "SELECT 1 UNION TABLE invoices",
        ] {
            let e = err(sql);
            assert!(e.contains("names a table directly"), "{sql}: {e}");
        }
    }

    #[test]
    fn a_table_that_only_one_backend_reads_as_code_is_refused() {
        // Standard SQL reads one string literal (`''` is a quote); MySQL
        // reads `'\''` as a string, then a UNION over `invoices`.
        let sql = "SELECT id FROM {Invoice} WHERE customer_email = '\\'' UNION SELECT id FROM invoices -- '";
        let e = err(sql);
        assert!(e.contains("names a table directly"), "{e}");
    }

    #[test]
    fn refuses_writes_statements_functions_and_misplaced_slots() {
        for (sql, says) in [
            ("UPDATE invoices SET amount_cents = 0", "is an UPDATE"),
            ("DELETE FROM invoices", "is a DELETE"),
            ("INSERT INTO invoices (id) VALUES (1)", "is an INSERT"),
            ("SELECT 1; SELECT 2", "2 statements"),
            (
                "WITH d AS (DELETE FROM invoices RETURNING id) SELECT * FROM d",
                "writes",
            ),
            ("SELECT * FROM generate_series(1, 3)", "table function"),
            (
                "SELECT query_to_xml('select * from invoices', true, true, '')",
                "refused",
            ),
            ("SELECT set_config('app.tenant_id', 'b', true)", "refused"),
            ("SELECT {Invoice}.id FROM {Invoice}", "stands for a table"),
            (
                "SELECT * FROM {Invoice} WHERE id = $1",
                "write each parameter as `?`",
            ),
            ("SELECT * FROM {Invoice i}", "does not name a model"),
            ("SELECT __tenant_model_0.id FROM {Invoice}", "reserved"),
            ("SELECT * INTO copy FROM {Invoice}", "INTO"),
        ] {
            let e = err(sql);
            assert!(e.contains(says), "{sql}: {e}");
        }
    }
}
