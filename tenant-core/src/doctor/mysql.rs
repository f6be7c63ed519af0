//! The MySQL / MariaDB doctor. There is no row-level security: the builders'
//! tenant predicate is the only layer, so the doctor checks what the
//! database does to keep that predicate exact and tenants apart — the
//! tenant column, the keys, the serving user's grants and the `sql_mode`.

use sqlx::mysql::{MySql, MySqlPool, MySqlRow};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Row};

use super::{GlobalVerdict, Report, join_quoted, push_global_verdict, tenant_columns};
use crate::Error;
use crate::backend::Backend;
use crate::rls::ModelInfo;
use crate::sql::quoted;
use crate::verify::binary_collation;

/// An identifier quoted for MySQL (backticks).
fn quote(identifier: &str) -> String {
    quoted(Backend::MySql, identifier)
}

/// `names` quoted for MySQL, comma-separated.
fn join(names: &[String]) -> String {
    join_quoted(Backend::MySql, names)
}

/// Whether two column (or table) names are the same to MySQL, which
/// compares column names without regard to case.
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Inspects the MySQL or MariaDB database behind `pool` (its current
/// database, `DATABASE()`), as the user `pool` connects as, against
/// `models`.
///
/// MySQL has no row-level security: the query builders' tenant predicate
/// is the only thing between tenants, so the doctor checks what keeps that
/// predicate exact and what could get around it.
///
/// The serving user (subject ``user `app`@`%` ``), from `SHOW GRANTS` for
/// `CURRENT_USER`, including the grants of every role granted to it, on
/// the server, the current database or a tenant table:
///
/// - `user_not_super`: no `SUPER` (it can turn strict mode off globally,
///   kill sessions, write to a read-only server);
/// - `user_no_all_privileges`: no `ALL PRIVILEGES` on `*.*`, the database
///   or a tenant table;
/// - `user_no_drop`: no `DROP` (`DROP TABLE` and `TRUNCATE` remove every
///   tenant's rows at once);
/// - `user_no_alter`: no `ALTER` (it can undo every table check below);
/// - `user_no_grant_option`: no `GRANT OPTION` (it can hand its privileges
///   on);
/// - `user_no_file`: no `FILE` (`SELECT .. INTO OUTFILE`, `LOAD_FILE`).
///
/// The connection (subject `session`): `sql_mode_strict`, the session's
/// `sql_mode` includes `STRICT_TRANS_TABLES` or `STRICT_ALL_TABLES`.
/// Without it MySQL stores an over-long tenant id truncated (possibly into
/// another tenant's id) and an out-of-range increment clamped, with only a
/// warning. The check runs on a connection of `pool`, so a mode set in the
/// pool's `after_connect` is what it sees.
///
/// Every tenant model's table (`table_exists`, `tenant_column_exists`):
///
/// - `tenant_not_null`: the tenant column is `NOT NULL`;
/// - `tenant_column_type`: its type is the model's key type (`VARCHAR`/
///   `CHAR`/`TEXT` for `TenantId`, `BIGINT` for `i64`, `INT` for `i32`,
///   `BINARY(16)` for `uuid::Uuid`): MySQL converts on comparison, so the
///   text ids `'07'` and `'7e0'` both match a numeric `7`;
/// - `tenant_collation_binary`: it compares exactly (`binary` or a `_bin`
///   collation, or a binary type): with a `_ci` collation the scope
///   `'acme'` also matches `'Acme'` and `'ACME'`;
/// - `tenant_index`: an index leads with the tenant column;
/// - `primary_key_leads_with_tenant`, `unique_leads_with_tenant`: the
///   primary key and every `UNIQUE` key lead with the tenant column. A key
///   without it is unique across tenants: one tenant's insert fails on
///   another's row, and `INSERT .. ON DUPLICATE KEY UPDATE` or `REPLACE`
///   updates or deletes it. One that has it further back makes a tenant's
///   scans and their InnoDB next-key locks run through other tenants' rows;
/// - `foreign_keys_include_tenant`: every foreign key to a tenant table
///   pairs the tenant columns of both tables (`FOREIGN KEY (tenant_id,
///   customer_id) REFERENCES customers (tenant, id)`), so a row can never
///   point at another tenant's row.
///
/// Every global model's table (`table_exists`,
/// `global_table_is_tenant_table`): it is not also a tenant model's table,
/// and has no column named like a tenant model's tenant column.
///
/// Each failure's detail says why it matters and ends with the SQL that
/// fixes it (`Fix: ALTER TABLE ..`, `Fix: REVOKE ..`).
///
/// All of it runs on one connection of `pool`. On MariaDB, reading the
/// grants of a role takes `SET ROLE`: when the user has roles, that
/// connection is closed afterwards instead of going back to the pool.
///
/// ```no_run
/// # async fn run() -> Result<(), tenant_core::Error> {
/// use tenant_core::prelude::*;
/// use tenant_core::rls::ModelInfo;
///
/// #[derive(TenantModel)]
/// #[tenant(table = "invoices")]
/// struct Invoice {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
/// }
///
/// // Connect as the application serves: the same user, the same options.
/// let pool = sqlx::MySqlPool::connect("mysql://app@127.0.0.1:3306/shop").await?;
/// let report = tenant_core::doctor::diagnose_mysql(&pool, &[ModelInfo::of::<Invoice>()]).await?;
/// print!("{report}");
/// if !report.passed() {
///     std::process::exit(1);
/// }
/// # Ok(()) }
/// ```
pub async fn diagnose_mysql(pool: &MySqlPool, models: &[ModelInfo]) -> Result<Report, Error> {
    let mut conn = pool.acquire().await?;
    let mut report = Report::default();
    let (account, database, version, session_mode, global_mode): (
        String,
        Option<String>,
        String,
        String,
        String,
    ) = sqlx::query_as(
        "SELECT CAST(CURRENT_USER() AS CHAR), CAST(DATABASE() AS CHAR), CAST(VERSION() AS CHAR),
                CAST(@@SESSION.sql_mode AS CHAR), CAST(@@GLOBAL.sql_mode AS CHAR)",
    )
    .fetch_one(&mut *conn)
    .await?;
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let tenant_models: Vec<&ModelInfo> = models
        .iter()
        .filter(|m| m.tenant_column.is_some())
        .collect();
    let tenant_tables: Vec<&str> = tenant_models.iter().map(|m| m.table).collect();

    let user = match account.rsplit_once('@') {
        Some((name, host)) => format!("{}@{}", quote(name), quote(host)),
        None => quote(&account),
    };
    let lines = grant_lines(&mut conn, mariadb).await?;
    let grants: Vec<GrantLine> = lines.iter().filter_map(|l| parse_grant(l)).collect();
    user_checks(
        &mut report,
        &user,
        &grants,
        database.as_deref(),
        &tenant_tables,
    );
    sql_mode_check(&mut report, &session_mode, &global_mode);

    let Some(database) = database else {
        for model in models {
            report.push(
                &format!("table {}", quote(model.table)),
                "table_exists",
                false,
                "cannot be looked up: the connection has no current database. Fix: name the database in the URL (mysql://user@host/database).".into(),
            );
        }
        return Ok(report);
    };
    let foreign_keys = ForeignKey::load_all(&mut conn).await?;
    let context = Context {
        tenant_models: &tenant_models,
        database: &database,
        foreign_keys: &foreign_keys,
    };
    for model in &tenant_models {
        let table = Table::load(&mut conn, model.table, &foreign_keys).await?;
        check_tenant_table(&mut conn, &mut report, model, table.as_ref(), &context).await?;
    }
    check_global_models(
        &mut conn,
        &mut report,
        models,
        &tenant_models,
        &foreign_keys,
    )
    .await?;
    Ok(report)
}

/// The text of every `GRANT` the serving user holds: its own, and those of
/// each role granted to it (which it can take on with `SET ROLE`).
async fn grant_lines(
    conn: &mut PoolConnection<MySql>,
    mariadb: bool,
) -> Result<Vec<String>, Error> {
    let mut lines = show_grants(conn, "SHOW GRANTS FOR CURRENT_USER".to_owned()).await?;
    let roles: Vec<String> = lines
        .iter()
        .filter_map(|l| match parse_grant(l) {
            Some(GrantLine::Roles { roles, .. }) => Some(roles),
            _ => None,
        })
        .flatten()
        .collect();
    if roles.is_empty() {
        return Ok(lines);
    }
    if mariadb {
        // MariaDB shows a role's grants (and those of the roles granted to
        // it) to its holder only while the role is set. Switching roles
        // changes the session: this connection is closed, not returned.
        conn.close_on_drop();
        for role in &roles {
            let name = unquote(role);
            sqlx::raw_sql(AssertSqlSafe(format!("SET ROLE {}", quote(&name))))
                .execute(&mut **conn)
                .await?;
            lines.extend(show_grants(conn, "SHOW GRANTS FOR CURRENT_ROLE".to_owned()).await?);
        }
        sqlx::raw_sql("SET ROLE NONE").execute(&mut **conn).await?;
    } else {
        // MySQL 8 merges the privileges of the named roles into the
        // user's grants.
        lines.extend(
            show_grants(
                conn,
                format!("SHOW GRANTS FOR CURRENT_USER() USING {}", roles.join(", ")),
            )
            .await?,
        );
    }
    lines.sort_unstable();
    lines.dedup();
    Ok(lines)
}

/// Runs a `SHOW GRANTS` statement (text protocol) and returns its lines.
async fn show_grants(conn: &mut PoolConnection<MySql>, sql: String) -> Result<Vec<String>, Error> {
    let rows: Vec<MySqlRow> = sqlx::raw_sql(AssertSqlSafe(sql))
        .fetch_all(&mut **conn)
        .await?;
    rows.iter()
        .map(|row| {
            row.try_get::<String, _>(0)
                .or_else(|_| {
                    row.try_get::<Vec<u8>, _>(0)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                })
                .map_err(Error::from)
        })
        .collect()
}

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    /// `*.*`.
    Global,
    /// `db.*`; the name is a `LIKE` pattern (`_`, `%`, `\_`).
    Schema(String),
    /// `db.table`.
    Table(String, String),
    /// A routine, a proxy grant: nothing the doctor judges.
    Other,
}

/// One line of `SHOW GRANTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GrantLine {
    /// `GRANT <privileges> ON <target> TO <grantee> [WITH GRANT OPTION]`.
    Privileges {
        /// Upper case, column lists removed; `ALL PRIVILEGES` is `ALL`.
        privileges: Vec<String>,
        level: Level,
        /// The target as shown (valid SQL).
        on: String,
        /// The grantee as shown (valid SQL).
        to: String,
        grant_option: bool,
    },
    /// `GRANT <role>[, ..] TO <grantee>`.
    Roles {
        /// The roles as shown (`` `r` `` on MariaDB, `` `r`@`%` `` on MySQL).
        roles: Vec<String>,
    },
}

/// Splits `text` into words at whitespace and, when `comma` is set, at
/// commas, outside quotes, backticks and parentheses. A comma is not kept.
fn words(text: &str, comma: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote_char: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote_char {
            current.push(c);
            if c == q {
                if chars.peek() == Some(&q) {
                    // A doubled quote stands for itself.
                    current.push(q);
                    chars.next();
                } else {
                    quote_char = None;
                }
            } else if c == '\\'
                && q != '`'
                && let Some(next) = chars.next()
            {
                current.push(next);
            }
            continue;
        }
        match c {
            '`' | '\'' | '"' => {
                quote_char = Some(c);
                current.push(c);
            }
            '(' => {
                depth += 1;
                current.push(c);
            }
            ')' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            c if depth == 0 && (c.is_whitespace() || (comma && c == ',')) => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Parses one line of `SHOW GRANTS`; `None` for other lines (`SET DEFAULT
/// ROLE`, MySQL's partial `REVOKE`s, which only narrow).
fn parse_grant(line: &str) -> Option<GrantLine> {
    let tokens = words(line, false);
    if !tokens.first()?.eq_ignore_ascii_case("GRANT") {
        return None;
    }
    let is = |i: usize, word: &str| tokens.get(i).is_some_and(|t| t.eq_ignore_ascii_case(word));
    let to = (1..tokens.len()).find(|&i| is(i, "TO"))?;
    let on = (1..to).find(|&i| is(i, "ON"));
    let grantee = tokens.get(to + 1)?.trim_end_matches(',').to_owned();
    let Some(on) = on else {
        let roles = words(&tokens[1..to].join(" "), true);
        return Some(GrantLine::Roles { roles });
    };
    let privileges = privilege_names(&tokens[1..on].join(" "));
    let target = tokens[on + 1..to].join(" ");
    let level = parse_level(&target, &privileges);
    let rest: Vec<String> = tokens[to + 2..]
        .iter()
        .map(|t| t.to_ascii_uppercase())
        .collect();
    let grant_option = rest
        .windows(3)
        .any(|w| w[0] == "WITH" && w[1] == "GRANT" && w[2] == "OPTION");
    Some(GrantLine::Privileges {
        privileges,
        level,
        on: target,
        to: grantee,
        grant_option,
    })
}

/// The privilege names of a `GRANT` list, upper case, without column lists;
/// `ALL [PRIVILEGES]` is `ALL`.
fn privilege_names(list: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut quote_char: Option<char> = None;
    for c in list.chars() {
        if let Some(q) = quote_char {
            if c == q {
                quote_char = None;
            }
            continue;
        }
        match c {
            '`' | '\'' | '"' if depth > 0 => quote_char = Some(c),
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => names.push(std::mem::take(&mut current)),
            c if depth == 0 => current.push(c),
            _ => {}
        }
    }
    names.push(current);
    names
        .into_iter()
        .map(|n| {
            let n = n.split_whitespace().collect::<Vec<_>>().join(" ");
            let n = n.to_ascii_uppercase();
            if n == "ALL PRIVILEGES" {
                "ALL".to_owned()
            } else {
                n
            }
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// Where `target` (as `SHOW GRANTS` prints it) applies.
fn parse_level(target: &str, privileges: &[String]) -> Level {
    let first = target
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    if matches!(first.as_str(), "PROCEDURE" | "FUNCTION" | "PACKAGE")
        || privileges.iter().any(|p| p == "PROXY")
    {
        return Level::Other;
    }
    let parts = split_dot(target.trim());
    match parts.as_slice() {
        [db, table] if db == "*" && table == "*" => Level::Global,
        [db, table] if table == "*" => Level::Schema(unquote(db)),
        [db, table] => Level::Table(unquote(db), unquote(table)),
        _ => Level::Other,
    }
}

/// Splits `db.table` at the dot outside backticks and quotes.
fn split_dot(target: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote_char: Option<char> = None;
    for c in target.chars() {
        match quote_char {
            Some(q) if c == q => quote_char = None,
            Some(_) => {}
            None if c == '.' => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            None if matches!(c, '`' | '\'' | '"') => quote_char = Some(c),
            None => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

/// An identifier without its quotes (`` `a``b` `` is ``a`b``).
fn unquote(identifier: &str) -> String {
    let s = identifier.trim();
    for q in ['`', '\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            let inner = &s[1..s.len() - 1];
            return inner.replace(&format!("{q}{q}"), &q.to_string());
        }
    }
    s.to_owned()
}

/// Whether `name` matches the `LIKE` pattern of a database-level grant
/// (`%`, `_`, and `\` escaping either).
fn like_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('_', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                n.first() == rest.first() && go(&rest[1..], &n[1..])
            }
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// Whether two accounts as SQL (`` `app`@`%` ``, `'app'@'%'`) are the same.
fn same_account(a: &str, b: &str) -> bool {
    let bare = |s: &str| s.replace(['`', '\'', '"'], "");
    bare(a) == bare(b)
}

/// Whether a grant at `level` reaches the tenant data: the whole server,
/// the current database, or a tenant table of it.
fn reaches(level: &Level, database: Option<&str>, tenant_tables: &[&str]) -> bool {
    match (level, database) {
        (Level::Global, _) => true,
        (Level::Schema(pattern), Some(db)) => like_match(pattern, db),
        (Level::Table(db_name, table), Some(db)) => {
            db_name == db && tenant_tables.iter().any(|t| same(t, table))
        }
        _ => false,
    }
}

/// One privilege held, where, and by whom (the user or one of its roles).
struct Held<'a> {
    on: &'a str,
    to: &'a str,
    /// It comes with `ALL PRIVILEGES`.
    all: bool,
}

/// The user checks, from the parsed grants.
fn user_checks(
    report: &mut Report,
    user: &str,
    grants: &[GrantLine],
    database: Option<&str>,
    tenant_tables: &[&str],
) {
    let subject = format!("user {user}");
    // (check, privilege, global only, why)
    let checks: [(&'static str, &str, bool, &str); 4] = [
        (
            "user_not_super",
            "SUPER",
            true,
            "it can change the global sql_mode (strict mode off for every connection), kill other sessions and write to a read-only server; MySQL skips init_connect for it",
        ),
        (
            "user_no_drop",
            "DROP",
            false,
            "DROP TABLE, and TRUNCATE TABLE (which needs DROP), remove every tenant's rows at once, with no tenant predicate in the way",
        ),
        (
            "user_no_alter",
            "ALTER",
            false,
            "ALTER TABLE can undo what the table checks ensure: make the tenant column nullable or case-insensitive, take it out of a key or a foreign key",
        ),
        (
            "user_no_file",
            "FILE",
            true,
            "SELECT .. INTO OUTFILE writes every tenant's rows to a server file, and LOAD DATA INFILE and LOAD_FILE() read the server's files",
        ),
    ];
    let reaching: Vec<(&Level, &[String], &str, &str, bool)> = grants
        .iter()
        .filter_map(|g| match g {
            GrantLine::Privileges {
                privileges,
                level,
                on,
                to,
                grant_option,
            } if reaches(level, database, tenant_tables) => Some((
                level,
                privileges.as_slice(),
                on.as_str(),
                to.as_str(),
                *grant_option,
            )),
            _ => None,
        })
        .collect();
    let describe = |held: &[Held<'_>], privilege: &str| -> (String, String) {
        let places = held
            .iter()
            .map(|h| {
                let how = if h.all { " (with ALL PRIVILEGES)" } else { "" };
                if same_account(h.to, user) {
                    format!("on {}{how}", h.on)
                } else {
                    format!("on {}{how} through role {}", h.on, h.to)
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let fix = held
            .iter()
            .map(|h| format!("REVOKE {privilege} ON {} FROM {};", h.on, h.to))
            .collect::<Vec<_>>()
            .join(" ");
        (places, fix)
    };

    // ALL PRIVILEGES, reported first: the other checks name it as their
    // source too.
    let all: Vec<Held<'_>> = reaching
        .iter()
        .filter(|(_, privileges, ..)| privileges.iter().any(|p| p == "ALL"))
        .map(|(_, _, on, to, _)| Held { on, to, all: false })
        .collect();
    report.push(
        &subject,
        "user_no_all_privileges",
        all.is_empty(),
        if all.is_empty() {
            "has no ALL PRIVILEGES on the server, this database or a tenant table".into()
        } else {
            let (places, fix) = describe(&all, "ALL PRIVILEGES");
            let regrant = match database {
                Some(db) => format!(" GRANT SELECT, INSERT, UPDATE, DELETE ON {}.* TO {user};", quote(db)),
                None => String::new(),
            };
            format!(
                "has ALL PRIVILEGES {places}: DROP, ALTER, CREATE, TRIGGER, CREATE VIEW and more — it can rewrite the schema tenant isolation rests on and add triggers or views that move rows between tenants. Serve with SELECT, INSERT, UPDATE and DELETE only. Fix: {fix}{regrant}"
            )
        },
    );
    for (check, privilege, global_only, why) in checks {
        let held: Vec<Held<'_>> = reaching
            .iter()
            .filter(|(level, ..)| !global_only || **level == Level::Global)
            .filter_map(|(_, privileges, on, to, _)| {
                if privileges.iter().any(|p| p == privilege) {
                    Some(Held { on, to, all: false })
                } else if privileges.iter().any(|p| p == "ALL") {
                    Some(Held { on, to, all: true })
                } else {
                    None
                }
            })
            .collect();
        report.push(
            &subject,
            check,
            held.is_empty(),
            if held.is_empty() {
                format!("has no {privilege} privilege")
            } else {
                let (places, fix) = describe(&held, privilege);
                format!("has {privilege} {places}: {why}. Fix: {fix}")
            },
        );
    }
    let held: Vec<Held<'_>> = reaching
        .iter()
        .filter(|(.., grant_option)| *grant_option)
        .map(|(_, _, on, to, _)| Held { on, to, all: false })
        .collect();
    report.push(
        &subject,
        "user_no_grant_option",
        held.is_empty(),
        if held.is_empty() {
            "has no GRANT OPTION".into()
        } else {
            let (places, fix) = describe(&held, "GRANT OPTION");
            format!(
                "has GRANT OPTION {places}: it can hand its privileges to any other account, out of this report's sight. Fix: {fix}"
            )
        },
    );
}

/// `sql_mode_strict` on subject `session`.
fn sql_mode_check(report: &mut Report, session: &str, global: &str) {
    let strict = |mode: &str| -> Vec<&'static str> {
        ["STRICT_TRANS_TABLES", "STRICT_ALL_TABLES"]
            .into_iter()
            .filter(|s| mode.split(',').any(|m| m.trim().eq_ignore_ascii_case(s)))
            .collect()
    };
    let on = strict(session);
    let detail = if on.is_empty() {
        let set_session = "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES');";
        let fix = if strict(global).is_empty() {
            format!(
                "SET GLOBAL sql_mode = CONCAT_WS(',', NULLIF(@@GLOBAL.sql_mode, ''), 'STRICT_ALL_TABLES'); (and sql_mode in the server's configuration), or {set_session} on every connection (the pool's after_connect)"
            )
        } else {
            format!(
                "{set_session} on every connection (the pool's after_connect), or remove what clears it: the global sql_mode '{global}' is strict, so this pool's connections turn it off themselves (after_connect, init_connect)"
            )
        };
        format!(
            "sql_mode '{session}' has neither STRICT_TRANS_TABLES nor STRICT_ALL_TABLES: MySQL then stores an over-long value truncated and an out-of-range number clamped, with only a warning — a tenant id longer than the tenant column is cut to a shorter one, possibly another tenant's, and an increment past a column's range is silently capped. Fix: {fix}"
        )
    } else {
        format!("sql_mode includes {}", on.join(" and "))
    };
    report.push("session", "sql_mode_strict", !on.is_empty(), detail);
}

/// A column of a table, from `information_schema.COLUMNS`.
struct LiveColumn {
    name: String,
    nullable: bool,
    /// `varchar(64)`, as `COLUMN_TYPE` gives it.
    column_type: String,
    charset: Option<String>,
    collation: Option<String>,
    auto_increment: bool,
}

impl LiveColumn {
    /// Column `column` of table `table` of the current database.
    async fn load(
        conn: &mut PoolConnection<MySql>,
        table: &str,
        column: &str,
    ) -> Result<Option<LiveColumn>, Error> {
        Ok(Self::query(conn, table, Some(column)).await?.pop())
    }

    /// The columns of `table` (only `column`, if given), in order.
    async fn query(
        conn: &mut PoolConnection<MySql>,
        table: &str,
        column: Option<&str>,
    ) -> Result<Vec<LiveColumn>, Error> {
        type ColumnRow = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<ColumnRow> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_TYPE AS CHAR),
                    CAST(CHARACTER_SET_NAME AS CHAR), CAST(COLLATION_NAME AS CHAR), CAST(EXTRA AS CHAR)
             FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND (? IS NULL OR COLUMN_NAME = ?)
             ORDER BY ORDINAL_POSITION",
        )
        .bind(table)
        .bind(column)
        .bind(column)
        .fetch_all(&mut **conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(name, nullable, column_type, charset, collation, extra)| LiveColumn {
                    name,
                    nullable: nullable != "NO",
                    column_type,
                    charset,
                    collation,
                    auto_increment: extra.to_ascii_lowercase().contains("auto_increment"),
                },
            )
            .collect())
    }

    /// Whether it compares exactly: no collation (a binary or non-text
    /// type), `binary` or a `_bin` collation.
    fn exact(&self) -> bool {
        self.collation.as_deref().is_none_or(binary_collation)
    }

    /// Its definition for `MODIFY`: its type, its character set with its
    /// own collation or (`binary`) the character set's binary one, and
    /// `NOT NULL` or `NULL`. (MODIFY restates the whole column: a DEFAULT
    /// or COMMENT it has must be added back.)
    fn definition(&self, binary: bool, not_null: bool) -> String {
        let charset = match (&self.charset, &self.collation) {
            (Some(cs), Some(collation)) => {
                let collation = if !binary || self.exact() {
                    collation.clone()
                } else if cs.eq_ignore_ascii_case("binary") {
                    "binary".to_owned()
                } else {
                    format!("{cs}_bin")
                };
                format!(" CHARACTER SET {cs} COLLATE {collation}")
            }
            _ => String::new(),
        };
        let null = if not_null { "NOT NULL" } else { "NULL" };
        format!("{}{charset} {null}", self.column_type)
    }
}

/// An index of a table, from `information_schema.STATISTICS`.
struct Index {
    name: String,
    unique: bool,
    /// `(column, prefix length)`; a functional key part has no column.
    parts: Vec<(Option<String>, Option<i64>)>,
}

impl Index {
    fn is_primary(&self) -> bool {
        self.name == "PRIMARY"
    }

    /// Whether the first key part is the whole of `column`.
    fn leads_with(&self, column: &str) -> bool {
        matches!(self.parts.first(), Some((Some(c), None)) if same(c, column))
    }

    /// Whether some key part is the whole of `column`.
    fn includes(&self, column: &str) -> bool {
        self.parts
            .iter()
            .any(|(c, prefix)| prefix.is_none() && c.as_deref().is_some_and(|c| same(c, column)))
    }

    /// The key parts as SQL: `` `a`, `b`(10) ``.
    fn parts_sql<'a>(parts: impl Iterator<Item = &'a (Option<String>, Option<i64>)>) -> String {
        parts
            .map(|(c, prefix)| {
                let c = c
                    .as_deref()
                    .map_or_else(|| "(expression)".to_owned(), quote);
                match prefix {
                    Some(n) => format!("{c}({n})"),
                    None => c,
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The key parts as SQL.
    fn columns_sql(&self) -> String {
        Self::parts_sql(self.parts.iter())
    }

    /// The key parts with `column` moved (or added) to the front.
    fn led_by_sql(&self, column: &str) -> String {
        let rest = Self::parts_sql(
            self.parts
                .iter()
                .filter(|(c, _)| !c.as_deref().is_some_and(|c| same(c, column))),
        );
        if rest.is_empty() {
            quote(column)
        } else {
            format!("{}, {rest}", quote(column))
        }
    }
}

/// A foreign key between two tables of the current database.
#[derive(Clone)]
struct ForeignKey {
    name: String,
    table: String,
    columns: Vec<String>,
    referenced_table: String,
    referenced_columns: Vec<String>,
    on_update: String,
    on_delete: String,
}

impl ForeignKey {
    /// Every foreign key of the current database to a table of it.
    async fn load_all(conn: &mut PoolConnection<MySql>) -> Result<Vec<ForeignKey>, Error> {
        type KeyRow = (String, String, String, String, String, String, String);
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT CAST(k.CONSTRAINT_NAME AS CHAR), CAST(k.TABLE_NAME AS CHAR),
                    CAST(k.COLUMN_NAME AS CHAR), CAST(k.REFERENCED_TABLE_NAME AS CHAR),
                    CAST(k.REFERENCED_COLUMN_NAME AS CHAR),
                    CAST(r.UPDATE_RULE AS CHAR), CAST(r.DELETE_RULE AS CHAR)
             FROM information_schema.KEY_COLUMN_USAGE k
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
              AND r.TABLE_NAME = k.TABLE_NAME
             WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_SCHEMA = DATABASE()
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        )
        .fetch_all(&mut **conn)
        .await?;
        let mut keys: Vec<ForeignKey> = Vec::new();
        for (constraint, table, column, referenced_table, referenced, on_update, on_delete) in rows
        {
            match keys.last_mut() {
                Some(last) if last.name == constraint && last.table == table => {
                    last.columns.push(column);
                    last.referenced_columns.push(referenced);
                }
                _ => keys.push(ForeignKey {
                    name: constraint,
                    table,
                    columns: vec![column],
                    referenced_table,
                    referenced_columns: vec![referenced],
                    on_update,
                    on_delete,
                }),
            }
        }
        Ok(keys)
    }

    /// `ALTER TABLE .. DROP FOREIGN KEY ..;`
    fn drop_sql(&self) -> String {
        format!(
            "ALTER TABLE {} DROP FOREIGN KEY {};",
            quote(&self.table),
            quote(&self.name)
        )
    }

    /// `ALTER TABLE .. ADD CONSTRAINT ..;` re-creating this key over
    /// `columns` and `referenced` (its own, or a corrected pair), with its
    /// referential actions.
    fn add_sql(&self, columns: &[String], referenced: &[String]) -> String {
        let mut actions = String::new();
        for (event, rule) in [("DELETE", &self.on_delete), ("UPDATE", &self.on_update)] {
            if !matches!(rule.to_ascii_uppercase().as_str(), "RESTRICT" | "NO ACTION") {
                actions.push_str(&format!(" ON {event} {rule}"));
            }
        }
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){actions};",
            quote(&self.table),
            quote(&self.name),
            join(columns),
            quote(&self.referenced_table),
            join(referenced),
        )
    }

    /// The `(table, column)` pairs it ties together.
    fn pairs(&self) -> impl Iterator<Item = ((&str, &str), (&str, &str))> {
        self.columns
            .iter()
            .zip(&self.referenced_columns)
            .map(|(c, r)| {
                (
                    (self.table.as_str(), c.as_str()),
                    (self.referenced_table.as_str(), r.as_str()),
                )
            })
    }
}

/// Whether two `(table, column)` are the same column.
fn same_column(a: (&str, &str), b: (&str, &str)) -> bool {
    same(a.0, b.0) && same(a.1, b.1)
}

/// What the table checks need besides the table itself.
struct Context<'a> {
    tenant_models: &'a [&'a ModelInfo],
    database: &'a str,
    foreign_keys: &'a [ForeignKey],
}

/// A table of the current database as the doctor needs it.
struct Table {
    columns: Vec<LiveColumn>,
    indexes: Vec<Index>,
    foreign_keys: Vec<ForeignKey>,
}

impl Table {
    /// Table `name` of the current database; `None` when it does not exist.
    async fn load(
        conn: &mut PoolConnection<MySql>,
        name: &str,
        foreign_keys: &[ForeignKey],
    ) -> Result<Option<Table>, Error> {
        let columns = LiveColumn::query(conn, name, None).await?;
        if columns.is_empty() {
            return Ok(None);
        }
        type IndexRow = (String, i64, Option<String>, Option<i64>);
        let rows: Vec<IndexRow> = sqlx::query_as(
            "SELECT CAST(INDEX_NAME AS CHAR), CAST(NON_UNIQUE AS SIGNED), CAST(COLUMN_NAME AS CHAR),
                    CAST(SUB_PART AS SIGNED)
             FROM information_schema.STATISTICS
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
             ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX",
        )
        .bind(name)
        .fetch_all(&mut **conn)
        .await?;
        let mut indexes: Vec<Index> = Vec::new();
        for (index, non_unique, column, prefix) in rows {
            match indexes.last_mut() {
                Some(last) if last.name == index => last.parts.push((column, prefix)),
                _ => indexes.push(Index {
                    name: index,
                    unique: non_unique == 0,
                    parts: vec![(column, prefix)],
                }),
            }
        }
        let foreign_keys = foreign_keys
            .iter()
            .filter(|k| same(&k.table, name))
            .cloned()
            .collect();
        Ok(Some(Table {
            columns,
            indexes,
            foreign_keys,
        }))
    }

    /// `, ADD KEY (`id`)` when rewriting index `rewritten` would leave the
    /// table's AUTO_INCREMENT column leading no index (InnoDB requires one).
    fn keep_auto_increment_key(&self, rewritten: &Index) -> String {
        let Some(auto) = self.columns.iter().find(|c| c.auto_increment) else {
            return String::new();
        };
        let elsewhere = self
            .indexes
            .iter()
            .any(|i| i.name != rewritten.name && i.leads_with(&auto.name));
        if rewritten.leads_with(&auto.name) && !elsewhere {
            format!(", ADD KEY ({})", quote(&auto.name))
        } else {
            String::new()
        }
    }
}

/// The checks of one tenant model's table.
async fn check_tenant_table(
    conn: &mut PoolConnection<MySql>,
    report: &mut Report,
    model: &ModelInfo,
    table: Option<&Table>,
    context: &Context<'_>,
) -> Result<(), Error> {
    let column = model.tenant_column.unwrap_or_default();
    let name = quote(model.table);
    let col = quote(column);
    let subject = format!("table {name} (tenant column {col})");
    let Some(table) = table else {
        report.push(
            &subject,
            "table_exists",
            false,
            format!(
                "does not exist in database {}. Fix: create it (run the migrations).",
                quote(context.database)
            ),
        );
        return Ok(());
    };
    let Some(live) = table.columns.iter().find(|c| same(&c.name, column)) else {
        report.push(
            &subject,
            "tenant_column_exists",
            false,
            format!("has no column {col}. Fix: add it (run the migrations)."),
        );
        return Ok(());
    };

    report.push(
        &subject,
        "tenant_not_null",
        !live.nullable,
        if live.nullable {
            format!(
                "{col} allows NULL: a row without a tenant belongs to no tenant, no scope can reach or delete it, and a NULL written by raw SQL goes unnoticed. Fix: ALTER TABLE {name} MODIFY {col} {};",
                live.definition(false, true)
            )
        } else {
            format!("{col} is NOT NULL")
        },
    );
    let (fits, expected) = key_type_fits(model.tenant_key_type, &live.column_type);
    report.push(
        &subject,
        "tenant_column_type",
        fits,
        if fits {
            format!("{col} is {}, the key type's column type", live.column_type)
        } else {
            format!(
                "{col} is {} but the model's tenant key needs {expected}: MySQL converts on comparison, so \
                 the text ids '07' and '7e0' both match a numeric 7 (count, update and delete reach \
                 another tenant's rows), and a wider or narrower column stores another tenant's key. \
                 Fix: ALTER TABLE {name} MODIFY {col} {expected} NOT NULL; or give the field the \
                 column's key type.",
                live.column_type
            )
        },
    );
    let exact = live.exact();
    let detail = match &live.collation {
        None => format!("{col} is {}: compared byte by byte", live.column_type),
        Some(collation) if exact => format!("{col} has the exact collation {collation}"),
        Some(collation) => format!(
            "{col} has collation {collation}, which does not compare exactly: the scope 'acme' also matches rows of 'Acme' or 'ACME' (and accents or trailing spaces may be ignored), so one tenant reads and writes another's rows. Fix: {}",
            collation_fix(conn, model.table, live, context.foreign_keys).await?
        ),
    };
    report.push(&subject, "tenant_collation_binary", exact, detail);

    let leading = table.indexes.iter().any(|i| i.leads_with(column));
    report.push(
        &subject,
        "tenant_index",
        leading,
        if leading {
            format!("an index leads with {col}")
        } else {
            format!("no index leads with {col}: every tenant-scoped statement scans, and locks, other tenants' rows. Fix: ALTER TABLE {name} ADD INDEX ({col});")
        },
    );

    let key_problem = |index: &Index| -> Option<String> {
        if index.leads_with(column) {
            return None;
        }
        let what = if index.is_primary() {
            "the primary key".to_owned()
        } else {
            format!("unique key {}", quote(&index.name))
        };
        let why = if index.includes(column) {
            format!(
                "does not lead with {col}: InnoDB orders and locks rows by it, so a tenant's scans and their next-key locks run through other tenants' rows, and one tenant's transaction blocks another's"
            )
        } else {
            format!(
                "does not include {col}: it is unique across tenants, so one tenant's insert fails on another tenant's row (revealing that it exists), and INSERT .. ON DUPLICATE KEY UPDATE or REPLACE with that key updates or deletes the other tenant's row"
            )
        };
        let keep = table.keep_auto_increment_key(index);
        let fix = if index.is_primary() {
            format!(
                "ALTER TABLE {name} DROP PRIMARY KEY, ADD PRIMARY KEY ({}){keep};",
                index.led_by_sql(column)
            )
        } else {
            format!(
                "ALTER TABLE {name} DROP INDEX {0}, ADD UNIQUE KEY {0} ({1}){keep};",
                quote(&index.name),
                index.led_by_sql(column)
            )
        };
        Some(format!(
            "{what} ({}) {why}. Fix: {fix}",
            index.columns_sql()
        ))
    };
    let primary = table.indexes.iter().find(|i| i.is_primary());
    let problem = primary.and_then(key_problem);
    report.push(
        &subject,
        "primary_key_leads_with_tenant",
        problem.is_none(),
        match (primary, problem) {
            (_, Some(problem)) => problem,
            (Some(primary), None) => format!(
                "the primary key ({}) leads with {col}",
                primary.columns_sql()
            ),
            (None, None) => "has no primary key (its unique keys are checked below)".to_owned(),
        },
    );
    let problems: Vec<String> = table
        .indexes
        .iter()
        .filter(|i| i.unique && !i.is_primary())
        .filter_map(key_problem)
        .collect();
    report.push(
        &subject,
        "unique_leads_with_tenant",
        problems.is_empty(),
        if problems.is_empty() {
            format!("every unique key leads with {col}")
        } else {
            problems.join(" ")
        },
    );

    let mut bad = Vec::new();
    for fk in &table.foreign_keys {
        let Some(parent) = context
            .tenant_models
            .iter()
            .find(|m| same(m.table, &fk.referenced_table))
        else {
            continue;
        };
        let parent_column = parent.tenant_column.unwrap_or_default();
        let paired = fk
            .columns
            .iter()
            .zip(&fk.referenced_columns)
            .any(|(c, r)| same(c, column) && same(r, parent_column));
        if paired {
            continue;
        }
        let (mut local, mut remote) = (vec![column.to_owned()], vec![parent_column.to_owned()]);
        for (c, r) in fk.columns.iter().zip(&fk.referenced_columns) {
            if !same(c, column) && !same(r, parent_column) {
                local.push(c.clone());
                remote.push(r.clone());
            }
        }
        // MySQL named the index it made for the key after the key: re-created
        // over other columns, the key would make another index of that
        // name. Drop the old one with the key, unless another key uses it.
        let mut drop = fk.drop_sql();
        let own_index = table.indexes.iter().find(|i| {
            i.name == fk.name
                && i.parts.len() == fk.columns.len()
                && i.parts
                    .iter()
                    .zip(&fk.columns)
                    .all(|((c, _), f)| c.as_deref().is_some_and(|c| same(c, f)))
        });
        let needed_elsewhere = |index: &Index| {
            table.foreign_keys.iter().any(|other| {
                other.name != fk.name
                    && other.columns.len() <= index.parts.len()
                    && other
                        .columns
                        .iter()
                        .zip(&index.parts)
                        .all(|(f, (c, _))| c.as_deref().is_some_and(|c| same(c, f)))
            })
        };
        if let Some(index) = own_index.filter(|i| !needed_elsewhere(i)) {
            drop.pop();
            drop.push_str(&format!(", DROP INDEX {};", quote(&index.name)));
        }
        let fk_name = quote(&fk.name);
        let parent_table = quote(&fk.referenced_table);
        bad.push(format!(
            "foreign key {fk_name} ({}) references {parent_table} ({}) without pairing {col} with {}: a row can point at another tenant's row, and a cascade from one tenant reaches another's rows. Fix: {} {} ({parent_table} needs a key on ({}), such as its primary key)",
            join(&fk.columns),
            join(&fk.referenced_columns),
            quote(parent_column),
            drop,
            fk.add_sql(&local, &remote),
            join(&remote),
        ));
    }
    report.push(
        &subject,
        "foreign_keys_include_tenant",
        bad.is_empty(),
        if bad.is_empty() {
            format!("foreign keys to tenant tables pair {col} with the parent's tenant column")
        } else {
            bad.join(" ")
        },
    );
    Ok(())
}

/// The SQL that gives the tenant column `live` of `table` a binary
/// collation. MySQL refuses to change the collation of a column a foreign
/// key uses, and both ends of a foreign key must share one: every foreign
/// key tying the column to others (transitively: a chain of composite keys
/// through the tenant columns) is dropped, each column it ties is changed,
/// and the keys are re-created.
async fn collation_fix(
    conn: &mut PoolConnection<MySql>,
    table: &str,
    live: &LiveColumn,
    foreign_keys: &[ForeignKey],
) -> Result<String, Error> {
    let mut tied: Vec<(String, String)> = vec![(table.to_owned(), live.name.clone())];
    let mut keys: Vec<&ForeignKey> = Vec::new();
    let mut grew = true;
    while grew {
        grew = false;
        for key in foreign_keys {
            for (a, b) in key.pairs() {
                let has = |c: (&str, &str)| tied.iter().any(|t| same_column((&t.0, &t.1), c));
                let (has_a, has_b) = (has(a), has(b));
                if !(has_a || has_b) {
                    continue;
                }
                for (end, present) in [(a, has_a), (b, has_b)] {
                    if !present {
                        tied.push((end.0.to_owned(), end.1.to_owned()));
                        grew = true;
                    }
                }
                if !keys
                    .iter()
                    .any(|k| same(&k.table, &key.table) && k.name == key.name)
                {
                    keys.push(key);
                    grew = true;
                }
            }
        }
    }
    let mut sql: Vec<String> = keys.iter().map(|k| k.drop_sql()).collect();
    for (t, c) in &tied {
        let definition = if same_column((t, c), (table, &live.name)) {
            live.definition(true, !live.nullable)
        } else {
            match LiveColumn::load(conn, t, c).await? {
                Some(other) => other.definition(true, !other.nullable),
                None => continue,
            }
        };
        sql.push(format!(
            "ALTER TABLE {} MODIFY {} {definition};",
            quote(t),
            quote(c)
        ));
    }
    sql.extend(
        keys.iter()
            .map(|k| k.add_sql(&k.columns, &k.referenced_columns)),
    );
    Ok(sql.join(" "))
}

/// A `#[tenant(global)]` model reads and rewrites every row of its table
/// with no scope: the table must not hold tenant data.
async fn check_global_models(
    conn: &mut PoolConnection<MySql>,
    report: &mut Report,
    models: &[ModelInfo],
    tenant_models: &[&ModelInfo],
    foreign_keys: &[ForeignKey],
) -> Result<(), Error> {
    let tenant_columns = tenant_columns(tenant_models);
    for model in models.iter().filter(|m| m.tenant_column.is_none()) {
        let name = quote(model.table);
        let subject = format!("table {name} (global)");
        let Some(table) = Table::load(conn, model.table, foreign_keys).await? else {
            report.push(
                &subject,
                "table_exists",
                false,
                "does not exist in the current database. Fix: create it (run the migrations)."
                    .into(),
            );
            continue;
        };
        let live_key: Vec<&str> = table
            .indexes
            .iter()
            .filter(|i| i.is_primary())
            .flat_map(|i| i.parts.iter().filter_map(|(c, _)| c.as_deref()))
            .collect();
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| c.name.clone())
            .filter(|c| tenant_columns.iter().any(|t| same(t, c)))
            .filter(|c| !model.holds_tenant_ids_on_purpose(c, &live_key, same))
            .collect();
        let also_tenant = tenant_models.iter().find(|m| same(m.table, model.table));
        let mut problems = Vec::new();
        let mut undo = Vec::new();
        if let Some(tenant) = also_tenant {
            problems.push(format!(
                "it is also the table of a tenant model (tenant column {})",
                quote(tenant.tenant_column.unwrap_or_default())
            ));
        }
        if !columns.is_empty() {
            problems.push(format!(
                "it has column {}, named like a tenant column",
                join(&columns)
            ));
            undo.push(format!("rename {}", join(&columns)));
        }
        push_global_verdict(
            report,
            &subject,
            Backend::MySql,
            &GlobalVerdict {
                problems,
                undo,
                also_tenant: also_tenant.is_some(),
                columns: &columns,
                clean: "no tenant column",
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_privilege_grants() {
        let g = parse_grant(
            "GRANT SELECT, INSERT, UPDATE (`a`, `b`), DELETE ON `shop\\_db`.* TO `app`@`%`",
        );
        assert_eq!(
            g,
            Some(GrantLine::Privileges {
                privileges: vec![
                    "SELECT".into(),
                    "INSERT".into(),
                    "UPDATE".into(),
                    "DELETE".into()
                ],
                level: Level::Schema("shop\\_db".into()),
                on: "`shop\\_db`.*".into(),
                to: "`app`@`%`".into(),
                grant_option: false,
            })
        );
        let g = parse_grant("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION");
        assert!(matches!(
            g,
            Some(GrantLine::Privileges { ref privileges, level: Level::Global, grant_option: true, .. })
                if privileges == &["ALL"]
        ));
        let g = parse_grant(
            "GRANT CREATE TEMPORARY TABLES, ALTER ON `db`.`t``x` TO 'u'@'h' IDENTIFIED BY PASSWORD '*AB'",
        );
        assert!(matches!(
            g,
            Some(GrantLine::Privileges { ref privileges, level: Level::Table(ref d, ref t), grant_option: false, .. })
                if privileges == &["CREATE TEMPORARY TABLES", "ALTER"] && d == "db" && t == "t`x"
        ));
        let g = parse_grant("GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION");
        assert!(matches!(
            g,
            Some(GrantLine::Privileges {
                level: Level::Other,
                ..
            })
        ));
        let g = parse_grant("GRANT EXECUTE ON PROCEDURE `db`.`p` TO `u`@`%`");
        assert!(matches!(
            g,
            Some(GrantLine::Privileges {
                level: Level::Other,
                ..
            })
        ));
    }

    #[test]
    fn parses_role_grants() {
        assert_eq!(
            parse_grant("GRANT `reader`, `writer` TO `app`@`%` WITH ADMIN OPTION"),
            Some(GrantLine::Roles {
                roles: vec!["`reader`".into(), "`writer`".into()],
            })
        );
        assert_eq!(
            parse_grant("GRANT `r`@`%` TO `u`@`%`"),
            Some(GrantLine::Roles {
                roles: vec!["`r`@`%`".into()],
            })
        );
        assert_eq!(parse_grant("SET DEFAULT ROLE `r` FOR `u`@`%`"), None);
    }

    #[test]
    fn matches_database_patterns() {
        assert!(like_match("shop", "shop"));
        assert!(!like_match("shop", "shops"));
        assert!(like_match("shop_db", "shopXdb"));
        assert!(!like_match("shop\\_db", "shopXdb"));
        assert!(like_match("shop\\_db", "shop_db"));
        assert!(like_match("shop%", "shop_2"));
        assert!(like_match("%", "anything"));
    }

    #[test]
    fn only_grants_reaching_the_tenant_data_count() {
        let tables = ["invoices"];
        assert!(reaches(&Level::Global, Some("shop"), &tables));
        assert!(reaches(&Level::Schema("sh%".into()), Some("shop"), &tables));
        assert!(!reaches(
            &Level::Schema("other".into()),
            Some("shop"),
            &tables
        ));
        assert!(reaches(
            &Level::Table("shop".into(), "Invoices".into()),
            Some("shop"),
            &tables
        ));
        assert!(!reaches(
            &Level::Table("shop".into(), "plans".into()),
            Some("shop"),
            &tables
        ));
        assert!(!reaches(&Level::Other, Some("shop"), &tables));
    }
}

/// Whether a MySQL column type (`COLUMN_TYPE`, e.g. `varchar(63)`,
/// `bigint(20)`) holds keys of the model's key type (by its PostgreSQL
/// name: `text`, `bigint`, `integer`, `uuid`) without conversion, and the
/// type it should have.
fn key_type_fits(key_type: &str, column_type: &str) -> (bool, &'static str) {
    let ty = column_type.to_ascii_lowercase();
    let base = ty.split(['(', ' ']).next().unwrap_or_default();
    let unsigned = ty.contains("unsigned");
    match key_type {
        "bigint" => (base == "bigint" && !unsigned, "BIGINT"),
        "integer" => (base == "int" && !unsigned, "INT"),
        "uuid" => (ty == "binary(16)", "BINARY(16)"),
        _ => (
            matches!(
                base,
                "varchar" | "char" | "text" | "tinytext" | "mediumtext" | "longtext"
            ),
            "VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        ),
    }
}

#[cfg(test)]
mod key_type_tests {
    use super::key_type_fits;

    #[test]
    fn each_key_type_needs_its_column_type() {
        assert!(key_type_fits("text", "varchar(63)").0);
        assert!(!key_type_fits("text", "bigint(20)").0);
        assert!(!key_type_fits("text", "double").0);
        assert!(key_type_fits("bigint", "bigint(20)").0);
        assert!(!key_type_fits("bigint", "bigint(20) unsigned").0);
        assert!(!key_type_fits("bigint", "double").0);
        assert!(!key_type_fits("bigint", "int(11)").0);
        assert!(key_type_fits("integer", "int(11)").0);
        assert!(key_type_fits("uuid", "binary(16)").0);
        assert!(!key_type_fits("uuid", "char(36)").0);
    }
}
