//! Many-to-many through a join model: `Article` ↔ `Label` through
//! `ArticleLabel`, which references both. "The labels of article 1" and
//! "the articles labelled `urgent`" are each one statement — a scoped
//! subquery over the join model as the operand of `is_in` — and every level
//! carries its own tenant predicate. Both tenants hold identical ids on
//! every table, so a level that forgot its tenant would bring in the other
//! tenant's rows. On SQLite, PostgreSQL (plain and row-level security, as a
//! non-owner role) and MariaDB.

use tenant_core::prelude::*;
use tenant_tests::Guards;
use tenant_tests::suites::scope;

/// An article of a tenant.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "m2m_articles")]
pub struct Article {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub title: String,
}

/// A label of a tenant.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "m2m_labels")]
pub struct Label {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub name: String,
}

/// The join model: one label on one article.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "m2m_article_labels")]
pub struct ArticleLabel {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = Article)]
    pub article_id: i64,
    #[tenant(references = Label)]
    pub label_id: i64,
}

const SQLITE: &str = "
CREATE TABLE m2m_articles (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, title TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE m2m_labels (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE m2m_article_labels (id INTEGER NOT NULL, tenant_id TEXT NOT NULL,
    article_id INTEGER NOT NULL, label_id INTEGER NOT NULL, PRIMARY KEY (tenant_id, id));";

const POSTGRES: &str = "
CREATE TABLE m2m_articles (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, title TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE m2m_labels (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE m2m_article_labels (id BIGINT NOT NULL, tenant_id TEXT NOT NULL,
    article_id BIGINT NOT NULL, label_id BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));";

const MYSQL: &str = "
CREATE TABLE m2m_articles (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    title VARCHAR(255) NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE m2m_labels (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name VARCHAR(255) NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE m2m_article_labels (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    article_id BIGINT NOT NULL, label_id BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));";

async fn every_db() -> (Guards, Vec<(&'static str, TenantDb)>) {
    let policies = tenant_core::rls::policy_sql::<Article>()
        + &tenant_core::rls::policy_sql::<Label>()
        + &tenant_core::rls::policy_sql::<ArticleLabel>();
    tenant_tests::every_backend(SQLITE, POSTGRES, &policies, MYSQL).await
}

/// Both tenants: articles 1 and 2, labels 1 `urgent`, 2 `draft`, 3
/// `legal`. Acme labels article 1 `urgent` and `draft`, article 2 `legal`;
/// globex labels article 1 `legal` and article 2 `urgent` — the other way
/// round, so any level that lost its tenant gives a different answer.
async fn seed(db: &TenantDb) {
    for tenant in ["acme", "globex"] {
        let s = scope(tenant);
        for (id, title) in [(1, "first"), (2, "second")] {
            Article::insert(
                &s,
                NewArticle {
                    id,
                    title: format!("{tenant} {title}"),
                },
            )
            .execute(db)
            .await
            .expect("article");
        }
        for (id, name) in [(1, "urgent"), (2, "draft"), (3, "legal")] {
            Label::insert(
                &s,
                NewLabel {
                    id,
                    name: name.into(),
                },
            )
            .execute(db)
            .await
            .expect("label");
        }
    }
    let links: [(&str, &[(i64, i64)]); 2] = [
        ("acme", &[(1, 1), (1, 2), (2, 3)]),
        ("globex", &[(1, 3), (2, 1)]),
    ];
    for (tenant, pairs) in links {
        let rows = pairs
            .iter()
            .enumerate()
            .map(|(i, &(article_id, label_id))| NewArticleLabel {
                id: i as i64 + 1,
                article_id,
                label_id,
            });
        ArticleLabel::insert_many(&scope(tenant), rows)
            .execute(db)
            .await
            .expect("links");
    }
}

#[tokio::test]
async fn many_to_many_through_a_join_model_stays_in_the_tenant() {
    let (_guards, dbs) = every_db().await;
    let acme = scope("acme");
    let globex = scope("globex");
    for (backend, db) in &dbs {
        seed(db).await;

        // The labels of acme's article 1: one statement, two levels.
        let labels: Vec<String> = Label::query(&acme)
            .filter(
                Label::ID.is_in(
                    ArticleLabel::query(&acme)
                        .filter(ArticleLabel::ARTICLE_ID.eq(1))
                        .column(ArticleLabel::LABEL_ID),
                ),
            )
            .order_by(Label::ID.asc())
            .fetch_all(db)
            .await
            .expect("labels")
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(labels, ["urgent", "draft"], "{backend}");

        // The articles labelled `urgent`: three levels.
        let urgent = |s: &TenantScope| {
            Article::query(s).filter(
                Article::ID.is_in(
                    ArticleLabel::query(s)
                        .filter(
                            ArticleLabel::LABEL_ID.is_in(
                                Label::query(s)
                                    .filter(Label::NAME.eq("urgent"))
                                    .column(Label::ID),
                            ),
                        )
                        .column(ArticleLabel::ARTICLE_ID),
                ),
            )
        };
        let titles: Vec<String> = urgent(&acme)
            .fetch_all(db)
            .await
            .expect("articles")
            .into_iter()
            .map(|a| a.title)
            .collect();
        assert_eq!(titles, ["acme first"], "{backend}");
        let titles: Vec<String> = urgent(&globex)
            .fetch_all(db)
            .await
            .expect("articles")
            .into_iter()
            .map(|a| a.title)
            .collect();
        assert_eq!(titles, ["globex second"], "{backend}");

        // A level scoped to another tenant is refused, not mixed in.
        let mixed = Label::query(&acme)
            .filter(
                Label::ID.is_in(
                    ArticleLabel::query(&globex)
                        .filter(ArticleLabel::ARTICLE_ID.eq(1))
                        .column(ArticleLabel::LABEL_ID),
                ),
            )
            .fetch_all(db)
            .await;
        assert!(
            matches!(mixed, Err(Error::SubqueryScopeMismatch { .. })),
            "{backend}: {mixed:?}"
        );

        // The join model's own rows join either side, in one statement.
        let pairs: Vec<(ArticleLabel, Article)> = ArticleLabel::query(&acme)
            .inner_join::<Article>()
            .order_by(ArticleLabel::ID.asc())
            .fetch_all(db)
            .await
            .expect("join");
        let titles: Vec<&str> = pairs.iter().map(|(_, a)| a.title.as_str()).collect();
        assert_eq!(
            titles,
            ["acme first", "acme first", "acme second"],
            "{backend}"
        );

        // Linking acme's article to a label only globex has is refused.
        let foreign = ArticleLabel::insert(
            &acme,
            NewArticleLabel {
                id: 9,
                article_id: 1,
                label_id: 4,
            },
        )
        .execute(db)
        .await;
        assert!(
            matches!(foreign, Err(Error::ReferenceNotFound { .. })),
            "{backend}: {foreign:?}"
        );
    }
}
