//! The knowledge base (issue #17): categories, articles, their immutable revisions and the links
//! from cases to the articles they used. Products and tags are JSON arrays of text.

use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::page::{Page, Paged};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreError, StoreResult, map_err};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CategoryRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

pub async fn categories(c: &mut Conn<'_>) -> StoreResult<Vec<CategoryRow>> {
    on!(c, e => sqlx::query_as("SELECT id, parent_id, code, name_zh, name_en FROM kb_categories ORDER BY code")
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn insert_category(
    c: &mut Conn<'_>,
    parent_id: Option<i64>,
    code: &str,
    name_zh: &str,
    name_en: &str,
    now: DateTime<Utc>,
) -> StoreResult<CategoryRow> {
    on!(c, e => sqlx::query_as(
        "INSERT INTO kb_categories (parent_id, code, name_zh, name_en, created_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, parent_id, code, name_zh, name_en",
    )
    .bind(parent_id)
    .bind(code)
    .bind(name_zh)
    .bind(name_en)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// An article with what its revisions and links say about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ArticleRow {
    pub id: i64,
    pub kind: String,
    pub visibility: String,
    pub category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub source_case_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// The newest revision's number, title and state.
    pub latest_revision: i64,
    pub title: String,
    pub latest_state: String,
    /// The published revision, if one is.
    pub published_revision: Option<i64>,
    /// Cases that linked the article, and of them those that marked it helpful.
    pub used_count: i64,
    pub helpful_count: i64,
}

const ARTICLE_SELECT: &str = "SELECT a.id, a.kind, a.visibility, a.category_id, a.department_id, a.source_case_id,
    a.created_by, a.created_at, a.updated_at, a.version, r.revision AS latest_revision, r.title, r.state AS latest_state,
    (SELECT p.revision FROM kb_revisions p WHERE p.article_id = a.id AND p.state = 'published') AS published_revision,
    (SELECT COUNT(*) FROM case_kb_links l WHERE l.article_id = a.id) AS used_count,
    (SELECT COUNT(*) FROM case_kb_links l WHERE l.article_id = a.id AND l.helpful) AS helpful_count
    FROM kb_articles a JOIN kb_revisions r ON r.article_id = a.id
      AND r.revision = (SELECT MAX(x.revision) FROM kb_revisions x WHERE x.article_id = a.id)";

/// A new article's own fields.
#[derive(Debug, Clone, Default)]
pub struct NewArticle {
    pub kind: String,
    pub visibility: String,
    pub category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub source_case_id: Option<i64>,
    pub created_by: Option<i64>,
}

pub async fn insert_article(c: &mut Conn<'_>, a: &NewArticle, now: DateTime<Utc>) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar(
        "INSERT INTO kb_articles (kind, visibility, category_id, department_id, source_case_id, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&a.kind)
    .bind(&a.visibility)
    .bind(a.category_id)
    .bind(a.department_id)
    .bind(a.source_case_id)
    .bind(a.created_by)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Changes an article's visibility and category, if its version is still `version`.
pub async fn update_article(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    visibility: &str,
    category_id: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let n = on!(c, e => sqlx::query(
        "UPDATE kb_articles SET visibility = $1, category_id = $2, updated_at = $3, version = version + 1
         WHERE id = $4 AND version = $5",
    )
    .bind(visibility)
    .bind(category_id)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(crate::org::stale_or_missing(c, "kb_articles", id).await);
    }
    Ok(())
}

/// Marks an article changed (a revision was added or moved).
pub async fn touch_article(c: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
    on!(c, e => sqlx::query("UPDATE kb_articles SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))
}

pub async fn article(c: &mut Conn<'_>, id: i64) -> StoreResult<ArticleRow> {
    on!(c, e => sqlx::query_as(sql!("{ARTICLE_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// What the article list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    /// Only articles with a published revision of these visibilities (readers without access
    /// to drafts); `None`: every article.
    pub published_in: Option<Vec<&'static str>>,
    pub kind: Option<String>,
    pub category_id: Option<i64>,
    /// Articles whose newest revision is in this state.
    pub latest_state: Option<String>,
    /// Ids of the articles matching a text search (from the index); `Some(empty)` finds none.
    pub ids: Option<Vec<i64>>,
    /// Articles with a published revision due for review before this date.
    pub review_due_before: Option<NaiveDate>,
}

pub async fn articles(c: &mut Conn<'_>, f: &ArticleFilter, page: Page) -> StoreResult<Paged<ArticleRow>> {
    let mut cond: Vec<String> = vec!["TRUE".into()];
    let mut texts: Vec<String> = Vec::new();
    let arg = |v: String, texts: &mut Vec<String>| {
        texts.push(v);
        format!("${}", texts.len())
    };
    if let Some(vs) = &f.published_in {
        // Visibility codes are the domain's constants ([a-z_]).
        let list: Vec<String> = vs.iter().map(|v| format!("'{v}'")).collect();
        cond.push(if list.is_empty() {
            "FALSE".into()
        } else {
            format!(
                "a.visibility IN ({}) AND EXISTS (SELECT 1 FROM kb_revisions p WHERE p.article_id = a.id AND p.state = 'published')",
                list.join(",")
            )
        });
    }
    if let Some(k) = &f.kind {
        let p = arg(k.clone(), &mut texts);
        cond.push(format!("a.kind = {p}"));
    }
    if let Some(s) = &f.latest_state {
        let p = arg(s.clone(), &mut texts);
        cond.push(format!("r.state = {p}"));
    }
    if let Some(id) = f.category_id {
        cond.push(format!("a.category_id = {id}"));
    }
    if let Some(d) = f.review_due_before {
        let p = arg(d.format("%Y-%m-%d").to_string(), &mut texts);
        // ENGINE: a date compared with text; PostgreSQL needs the cast.
        let p = match c {
            Conn::Sqlite(_) => p,
            Conn::Postgres(_) => format!("CAST({p} AS DATE)"),
        };
        cond.push(format!(
            "EXISTS (SELECT 1 FROM kb_revisions p WHERE p.article_id = a.id AND p.state = 'published' AND p.review_due < {p})"
        ));
    }
    if let Some(ids) = &f.ids {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        cond.push(if list.is_empty() { "FALSE".into() } else { format!("a.id IN ({})", list.join(",")) });
    }
    let w = cond.join(" AND ");
    macro_rules! binds {
        ($q:expr) => {{
            let mut q = $q;
            for t in &texts {
                q = q.bind(t.as_str());
            }
            q
        }};
    }
    let total: i64 = on!(c, e => binds!(sqlx::query_scalar(sql!(
        "SELECT COUNT(*) FROM kb_articles a JOIN kb_revisions r ON r.article_id = a.id
           AND r.revision = (SELECT MAX(x.revision) FROM kb_revisions x WHERE x.article_id = a.id) WHERE {w}"
    )))
    .fetch_one(e)
    .await
    .map_err(map_err))?;
    let (limit, offset) = (page.limit(), page.offset());
    let items: Vec<ArticleRow> = on!(c, e => binds!(sqlx::query_as(sql!(
        "{ARTICLE_SELECT} WHERE {w} ORDER BY a.updated_at DESC, a.id DESC LIMIT {limit} OFFSET {offset}"
    )))
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(Paged { items, total, page: page.page, per_page: page.per_page, total_is_lower_bound: false })
}

/// One revision; its text never changes once inserted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RevisionRow {
    pub id: i64,
    pub article_id: i64,
    pub revision: i64,
    pub state: String,
    pub title: String,
    pub problem: String,
    pub cause: String,
    pub solution: String,
    pub body: String,
    /// JSON array.
    pub products: String,
    /// JSON array.
    pub tags: String,
    pub review_due: Option<NaiveDate>,
    pub change_note: String,
    pub author_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub submitted_by: Option<i64>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub approved_by: Option<i64>,
    pub approved_role: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl RevisionRow {
    pub fn product_list(&self) -> Vec<String> {
        serde_json::from_str(&self.products).unwrap_or_default()
    }
    pub fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

const REVISION_COLS: &str = "id, article_id, revision, state, title, problem, cause, solution, body, products, tags,
    review_due, change_note, author_id, created_at, submitted_by, submitted_at, approved_by, approved_role, approved_at,
    archived_at";

/// A new revision's text.
#[derive(Debug, Clone, Default)]
pub struct NewRevision<'a> {
    pub title: &'a str,
    pub problem: &'a str,
    pub cause: &'a str,
    pub solution: &'a str,
    pub body: &'a str,
    pub products: &'a [String],
    pub tags: &'a [String],
    pub review_due: Option<NaiveDate>,
    pub change_note: &'a str,
    pub author_id: Option<i64>,
}

/// Adds the next revision of an article, as a draft.
pub async fn insert_revision(
    c: &mut Conn<'_>,
    article_id: i64,
    r: &NewRevision<'_>,
    now: DateTime<Utc>,
) -> StoreResult<RevisionRow> {
    let last: Option<i64> = on!(c, e => sqlx::query_scalar("SELECT MAX(revision) FROM kb_revisions WHERE article_id = $1")
            .bind(article_id)
            .fetch_one(e)
            .await
            .map_err(map_err))?;
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO kb_revisions (article_id, revision, state, title, problem, cause, solution, body, products, tags,
           review_due, change_note, author_id, created_at)
         VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {REVISION_COLS}"
    ))
    .bind(article_id)
    .bind(last.unwrap_or(0) + 1)
    .bind(r.title)
    .bind(r.problem)
    .bind(r.cause)
    .bind(r.solution)
    .bind(r.body)
    .bind(json(r.products))
    .bind(json(r.tags))
    .bind(r.review_due)
    .bind(r.change_note)
    .bind(r.author_id)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Every revision of an article, newest first.
pub async fn revisions(c: &mut Conn<'_>, article_id: i64) -> StoreResult<Vec<RevisionRow>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {REVISION_COLS} FROM kb_revisions WHERE article_id = $1 ORDER BY revision DESC"
    ))
    .bind(article_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

pub async fn revision(c: &mut Conn<'_>, article_id: i64, revision: i64) -> StoreResult<RevisionRow> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {REVISION_COLS} FROM kb_revisions WHERE article_id = $1 AND revision = $2"
    ))
    .bind(article_id)
    .bind(revision)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Who moved a revision, and when.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub user_id: Option<i64>,
    /// The approving role, when the move is an approval.
    pub role: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Moves a revision from one state to another: only its state and the names and times of the
/// move are written. `Stale` when it is no longer in `from`.
pub async fn move_revision(c: &mut Conn<'_>, id: i64, m: Move<'_>) -> StoreResult<()> {
    let n = match m.to {
        "in_review" => on!(c, e => sqlx::query(
            "UPDATE kb_revisions SET state = $1, submitted_by = $2, submitted_at = $3 WHERE id = $4 AND state = $5",
        )
        .bind(m.to)
        .bind(m.user_id)
        .bind(m.at)
        .bind(id)
        .bind(m.from)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|r| r.rows_affected()))?,
        "published" => on!(c, e => sqlx::query(
            "UPDATE kb_revisions SET state = $1, approved_by = $2, approved_at = $3, approved_role = $4
             WHERE id = $5 AND state = $6",
        )
        .bind(m.to)
        .bind(m.user_id)
        .bind(m.at)
        .bind(m.role)
        .bind(id)
        .bind(m.from)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|r| r.rows_affected()))?,
        "archived" => on!(c, e => sqlx::query(
            "UPDATE kb_revisions SET state = $1, archived_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(m.to)
        .bind(m.at)
        .bind(id)
        .bind(m.from)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|r| r.rows_affected()))?,
        // Back to draft: the submission is forgotten, the text kept.
        _ => on!(c, e => sqlx::query(
            "UPDATE kb_revisions SET state = $1, submitted_by = NULL, submitted_at = NULL WHERE id = $2 AND state = $3",
        )
        .bind(m.to)
        .bind(id)
        .bind(m.from)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|r| r.rows_affected()))?,
    };
    if n == 0 { Err(StoreError::Stale) } else { Ok(()) }
}

/// Links an article to a case (again: updates the revision used and the helpful mark).
pub async fn link_case(
    c: &mut Conn<'_>,
    case_id: i64,
    article_id: i64,
    revision: i64,
    helpful: bool,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on!(c, e => sqlx::query(
        "INSERT INTO case_kb_links (case_id, article_id, revision, helpful, linked_by, linked_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (case_id, article_id) DO UPDATE SET revision = excluded.revision, helpful = excluded.helpful,
           linked_by = excluded.linked_by, linked_at = excluded.linked_at",
    )
    .bind(case_id)
    .bind(article_id)
    .bind(revision)
    .bind(helpful)
    .bind(by)
    .bind(now)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))
}

/// An article a case used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CaseLink {
    pub article_id: i64,
    pub revision: i64,
    pub title: String,
    pub helpful: bool,
    pub linked_at: DateTime<Utc>,
}

pub async fn case_links(c: &mut Conn<'_>, case_id: i64) -> StoreResult<Vec<CaseLink>> {
    on!(c, e => sqlx::query_as(
        "SELECT l.article_id, l.revision, r.title, l.helpful, l.linked_at FROM case_kb_links l
         JOIN kb_revisions r ON r.article_id = l.article_id AND r.revision = l.revision
         WHERE l.case_id = $1 ORDER BY l.linked_at, l.article_id",
    )
    .bind(case_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}
