//! The after-sales knowledge base (售后服务知识库, issue #17 items 6–8 and 10): articles whose
//! revisions are controlled documents (`domain::kb`), written from scratch or from a case,
//! linked from the cases that used them, indexed for search while published and found by
//! customers on the portal when their visibility allows.

use chrono::NaiveDate;
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::kb::{self as dk, ArticleKind, RevisionAction, RevisionState, RevisionText, Visibility};
use loopdesk_domain::page::{Page, Paged};
use loopdesk_domain::scope::{article_drafts_readable, article_readable, article_visibilities};
use loopdesk_domain::search as tok;
use loopdesk_store::kb::{self as sk, ArticleFilter, ArticleRow, CaseLink, CategoryRow, NewArticle, RevisionRow};
use loopdesk_store::search::{self as ss, Doc, kind};
use loopdesk_store::{Conn, cases as ks};
use serde::Serialize;

use crate::error::StoreResultExt;
use crate::scope::{handled, readable};
use crate::{Service, ServiceResult};

/// A new article: its own fields and the text of its first revision.
#[derive(Debug, Clone, Default)]
pub struct ArticleInput {
    pub kind: String,
    pub visibility: String,
    pub category_id: Option<i64>,
    pub source_case_id: Option<i64>,
    pub text: RevisionText,
    pub review_due: Option<NaiveDate>,
    pub change_note: String,
}

/// An article with every revision the reader may see, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleDetail {
    pub article: ArticleRow,
    pub revisions: Vec<RevisionRow>,
}

/// How a field changed between two revisions.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDiff {
    pub field: &'static str,
    pub lines: Vec<dk::diff::DiffLine>,
}

fn not_found() -> DomainError {
    DomainError::NotFound { entity: "article" }
}

fn text_of(r: &RevisionRow) -> RevisionText {
    RevisionText {
        title: r.title.clone(),
        problem: r.problem.clone(),
        cause: r.cause.clone(),
        solution: r.solution.clone(),
        body: r.body.clone(),
        products: r.product_list(),
        tags: r.tag_list(),
    }
}

/// The search document of a published revision: the article's visibility in `state`, its kind
/// in `case_type`, no department (every member of staff reads published articles).
fn article_doc(a: &ArticleRow, r: &RevisionRow) -> Doc {
    Doc {
        kind: kind::KB_ARTICLE,
        entity_id: a.id,
        title: r.title.clone(),
        body: text_of(r).searchable(),
        state: a.visibility.clone(),
        case_type: a.kind.clone(),
        at: r.approved_at.unwrap_or(r.created_at),
        ..Doc::default()
    }
}

async fn category_exists(c: &mut Conn<'_>, id: Option<i64>) -> ServiceResult<()> {
    if let Some(id) = id
        && !sk::categories(c).await?.iter().any(|k| k.id == id)
    {
        return Err(DomainError::invalid("category_id", "kb.err.category").into());
    }
    Ok(())
}

/// Reads an article for the actor: hidden ones are not found.
async fn readable_article(c: &mut Conn<'_>, actor: &Actor, id: i64) -> ServiceResult<ArticleRow> {
    let a = sk::article(c, id).await.entity("article")?;
    let vis = Visibility::parse(&a.visibility)?;
    if article_drafts_readable(actor) || (a.published_revision.is_some() && article_readable(actor, vis)) {
        Ok(a)
    } else {
        Err(not_found().into())
    }
}

fn optional_text(field: &str, s: &str, max: usize) -> ServiceResult<String> {
    let s = s.trim();
    if s.chars().count() > max {
        return Err(DomainError::invalid(field, format!("kb.err.too_long|max={max}")).into());
    }
    Ok(s.to_owned())
}

fn require_author(actor: &Actor) -> ServiceResult<()> {
    if dk::may_author(actor) { Ok(()) } else { Err(DomainError::forbidden("kb.err.author").into()) }
}

impl Service {
    /// The category tree, flat (each row names its parent).
    pub async fn kb_categories(&self, actor: &Actor) -> ServiceResult<Vec<CategoryRow>> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        Ok(sk::categories(&mut h.conn()).await?)
    }

    /// Adds a category under `parent_id` (none: at the top).
    pub async fn create_kb_category(
        &self,
        actor: &Actor,
        parent_id: Option<i64>,
        code: &str,
        name_zh: &str,
        name_en: &str,
    ) -> ServiceResult<CategoryRow> {
        actor.require(Permission::ApproveActions)?;
        let code = dk::check_category_code(code)?;
        let name_zh = loopdesk_domain::org::required_text("name_zh", name_zh, 100)?;
        let name_en = loopdesk_domain::org::required_text("name_en", name_en, 100)?;
        let mut tx = self.store.begin().await?;
        category_exists(&mut tx.conn(), parent_id)
            .await
            .map_err(|_| DomainError::invalid("parent_id", "kb.err.category"))?;
        let row = sk::insert_category(&mut tx.conn(), parent_id, &code, &name_zh, &name_en, self.now()).await.map_err(
            |e| match e {
                loopdesk_store::StoreError::Conflict { .. } => crate::ServiceError::from(DomainError::Conflict {
                    reason: "kb.err.category_taken".into(),
                    field: Some("code"),
                }),
                e => e.into(),
            },
        )?;
        tx.audit(actor, AuditAction::Create, "kb_category", row.id, None::<&()>, Some(&row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Writes a new article and its first revision, a draft.
    pub async fn create_article(&self, actor: &Actor, input: &ArticleInput) -> ServiceResult<ArticleDetail> {
        actor.require(Permission::SignIn)?;
        require_author(actor)?;
        let kind = ArticleKind::parse(&input.kind)?;
        let visibility = Visibility::parse(&input.visibility)?;
        let text = input.text.clone().check(kind)?;
        let change_note = optional_text("change_note", &input.change_note, 500)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        category_exists(&mut tx.conn(), input.category_id).await?;
        if let Some(case_id) = input.source_case_id {
            let k = ks::case(&mut tx.conn(), case_id)
                .await
                .map_err(|_| DomainError::invalid("source_case_id", "kb.err.case"))?;
            readable(&mut tx.conn(), actor, &k)
                .await
                .map_err(|_| DomainError::invalid("source_case_id", "kb.err.case"))?;
        }
        let new = NewArticle {
            kind: kind.code().into(),
            visibility: visibility.code().into(),
            category_id: input.category_id,
            department_id: actor.department_id,
            source_case_id: input.source_case_id,
            created_by: actor.user_id,
        };
        let id = sk::insert_article(&mut tx.conn(), &new, now).await?;
        let rev = insert_revision(&mut tx.conn(), id, &text, input.review_due, &change_note, actor, now).await?;
        let article = sk::article(&mut tx.conn(), id).await?;
        tx.audit(actor, AuditAction::Create, "kb_article", id, None::<&()>, Some(&(&article, &rev))).await?;
        tx.commit().await?;
        Ok(ArticleDetail { article, revisions: vec![rev] })
    }

    /// Adds the next revision (a draft) to an article; the revisions before it stay as they are.
    /// Refused while another revision is a draft or in review.
    pub async fn revise_article(
        &self,
        actor: &Actor,
        id: i64,
        text: &RevisionText,
        review_due: Option<NaiveDate>,
        change_note: &str,
    ) -> ServiceResult<RevisionRow> {
        actor.require(Permission::SignIn)?;
        require_author(actor)?;
        let change_note = optional_text("change_note", change_note, 500)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let a = sk::article(&mut tx.conn(), id).await.entity("article")?;
        let text = text.clone().check(ArticleKind::parse(&a.kind)?)?;
        if matches!(a.latest_state.as_str(), "draft" | "in_review") {
            return Err(DomainError::Conflict { reason: "kb.err.open_revision".into(), field: Some("revision") }.into());
        }
        let rev = insert_revision(&mut tx.conn(), id, &text, review_due, &change_note, actor, now).await?;
        sk::touch_article(&mut tx.conn(), id, now).await?;
        tx.audit(actor, AuditAction::Create, "kb_revision", rev.id, None::<&()>, Some(&rev)).await?;
        tx.commit().await?;
        Ok(rev)
    }

    /// Changes an article's visibility and category (its published text is indexed again).
    pub async fn update_article(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        visibility: &str,
        category_id: Option<i64>,
    ) -> ServiceResult<ArticleRow> {
        actor.require(Permission::SignIn)?;
        require_author(actor)?;
        let vis = Visibility::parse(visibility)?;
        let mut tx = self.store.begin().await?;
        category_exists(&mut tx.conn(), category_id).await?;
        let before = sk::article(&mut tx.conn(), id).await.entity("article")?;
        sk::update_article(&mut tx.conn(), id, version, vis.code(), category_id, self.now()).await.entity("article")?;
        let after = sk::article(&mut tx.conn(), id).await?;
        if let Some(p) = after.published_revision {
            let r = sk::revision(&mut tx.conn(), id, p).await?;
            ss::put(&mut tx.conn(), &article_doc(&after, &r)).await?;
        }
        tx.audit(actor, AuditAction::Update, "kb_article", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Moves a revision through document control: submit for review, return to draft, approve
    /// (publish: the approver's name, role and time are kept, the revision published before is
    /// archived, the index now finds the new text) or archive (a published revision leaves the
    /// index). An author does not approve their own revision.
    pub async fn move_article_revision(
        &self,
        actor: &Actor,
        id: i64,
        revision: i64,
        action: &str,
    ) -> ServiceResult<RevisionRow> {
        actor.require(Permission::SignIn)?;
        let action = RevisionAction::parse(action)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let a = sk::article(&mut tx.conn(), id).await.entity("article")?;
        let kind = ArticleKind::parse(&a.kind)?;
        let before = sk::revision(&mut tx.conn(), id, revision).await.entity("revision")?;
        let from = RevisionState::parse(&before.state)?;
        let to = dk::next_state(from, action)?;
        let role = if action == RevisionAction::Approve {
            let role = dk::approving_role(actor, kind).ok_or_else(|| {
                DomainError::forbidden(if kind == ArticleKind::EmergencyPlan {
                    "kb.err.gm_approves"
                } else {
                    "kb.err.approver"
                })
            })?;
            if before.author_id.is_some() && before.author_id == actor.user_id {
                return Err(DomainError::forbidden("kb.err.own_revision").into());
            }
            Some(role)
        } else {
            require_author(actor)?;
            None
        };
        if to == RevisionState::Published
            && let Some(old) = a.published_revision
        {
            let old = sk::revision(&mut tx.conn(), id, old).await?;
            let m = sk::Move { from: "published", to: "archived", user_id: actor.user_id, role: None, at: now };
            sk::move_revision(&mut tx.conn(), old.id, m).await.entity("revision")?;
        }
        let m = sk::Move {
            from: from.code(),
            to: to.code(),
            user_id: actor.user_id,
            role: role.map(|r| r.code()),
            at: now,
        };
        sk::move_revision(&mut tx.conn(), before.id, m).await.entity("revision")?;
        sk::touch_article(&mut tx.conn(), id, now).await?;
        let after = sk::revision(&mut tx.conn(), id, revision).await?;
        match to {
            RevisionState::Published => ss::put(&mut tx.conn(), &article_doc(&a, &after)).await?,
            RevisionState::Archived if from == RevisionState::Published => {
                ss::remove(&mut tx.conn(), kind::KB_ARTICLE, id).await?
            }
            _ => {}
        }
        tx.audit(actor, AuditAction::Update, "kb_revision", after.id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// An article and the revisions the reader may see: staff see every revision; others only
    /// the published one of an article whose visibility they read.
    pub async fn article(&self, actor: &Actor, id: i64) -> ServiceResult<ArticleDetail> {
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        let article = readable_article(c, actor, id).await?;
        let mut revisions = sk::revisions(c, id).await?;
        if !article_drafts_readable(actor) {
            revisions.retain(|r| r.state == "published");
        }
        Ok(ArticleDetail { article, revisions })
    }

    /// The differences, field by field, from revision `from` to revision `to` of an article.
    pub async fn article_diff(&self, actor: &Actor, id: i64, from: i64, to: i64) -> ServiceResult<Vec<FieldDiff>> {
        if !article_drafts_readable(actor) {
            return Err(not_found().into());
        }
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        sk::article(c, id).await.entity("article")?;
        let a = sk::revision(c, id, from).await.map_err(|_| DomainError::invalid("from", "kb.err.revision"))?;
        let b = sk::revision(c, id, to).await.map_err(|_| DomainError::invalid("to", "kb.err.revision"))?;
        let (ta, tb) = (text_of(&a), text_of(&b));
        let fields: [(&'static str, String, String); 7] = [
            ("title", ta.title, tb.title),
            ("problem", ta.problem, tb.problem),
            ("cause", ta.cause, tb.cause),
            ("solution", ta.solution, tb.solution),
            ("body", ta.body, tb.body),
            ("products", ta.products.join("\n"), tb.products.join("\n")),
            ("tags", ta.tags.join("\n"), tb.tags.join("\n")),
        ];
        Ok(fields
            .into_iter()
            .map(|(field, x, y)| FieldDiff { field, lines: dk::diff::lines(&x, &y) })
            .filter(|d| dk::diff::changed(&d.lines))
            .collect())
    }

    /// Articles the reader may read, newest changed first; `q` searches the published text
    /// through the index (the first 1,000 matches).
    pub async fn articles(
        &self,
        actor: &Actor,
        q: &str,
        mut filter: ArticleFilter,
        page: Page,
    ) -> ServiceResult<Paged<ArticleRow>> {
        if let Some(k) = &filter.kind {
            ArticleKind::parse(k)?;
        }
        if let Some(s) = &filter.latest_state {
            RevisionState::parse(s)?;
        }
        if !article_drafts_readable(actor) {
            filter.published_in = Some(article_visibilities(actor).iter().map(|v| v.code()).collect());
            filter.latest_state = None;
        }
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        if !q.trim().is_empty() {
            let query = tok::parse_query(q)?;
            filter.ids = Some(ss::entity_ids_matching(c, &query, kind::KB_ARTICLE, 1_000).await?);
        }
        Ok(sk::articles(c, &filter, page).await?)
    }

    /// What a new article written from a case starts with: the case's subject and description
    /// as the problem, its cause and resolution as they were recorded.
    pub async fn article_from_case(&self, actor: &Actor, case_id: i64) -> ServiceResult<RevisionText> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        let k = ks::case(c, case_id).await.entity("case")?;
        readable(c, actor, &k).await?;
        let fields: serde_json::Value = serde_json::from_str(&k.fields).unwrap_or_default();
        let field = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| fields.get(*n).and_then(|v| v.as_str()))
                .find(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .unwrap_or_default()
        };
        let cause = {
            let f = field(&["cause", "root_cause"]);
            if f.is_empty() { k.responsibility_note.clone() } else { f }
        };
        Ok(RevisionText {
            title: k.subject.clone(),
            problem: [k.subject.as_str(), k.description.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("\n"),
            cause,
            solution: field(&["resolution", "disposition", "reply", "decision"]),
            body: String::new(),
            products: [k.product_code.clone(), k.model.clone()].into_iter().filter(|s| !s.is_empty()).collect(),
            tags: vec![],
        })
    }

    /// Records that a case used a published article (again: updates whether it helped).
    pub async fn link_article(
        &self,
        actor: &Actor,
        case_id: i64,
        article_id: i64,
        helpful: bool,
    ) -> ServiceResult<CaseLink> {
        actor.require(Permission::WriteCases)?;
        let mut tx = self.store.begin().await?;
        let k = ks::case(&mut tx.conn(), case_id).await.entity("case")?;
        handled(&mut tx.conn(), actor, &k).await?;
        let a = readable_article(&mut tx.conn(), actor, article_id)
            .await
            .map_err(|_| DomainError::invalid("article_id", "kb.err.article"))?;
        let Some(rev) = a.published_revision else {
            return Err(DomainError::invalid("article_id", "kb.err.unpublished").into());
        };
        sk::link_case(&mut tx.conn(), case_id, article_id, rev, helpful, actor.user_id, self.now()).await?;
        let link = sk::case_links(&mut tx.conn(), case_id)
            .await?
            .into_iter()
            .find(|l| l.article_id == article_id)
            .ok_or_else(not_found)?;
        tx.audit(actor, AuditAction::Update, "case", case_id, None::<&()>, Some(&link)).await?;
        tx.commit().await?;
        Ok(link)
    }

    /// The articles a case used.
    pub async fn case_articles(&self, actor: &Actor, case_id: i64) -> ServiceResult<Vec<CaseLink>> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        let k = ks::case(c, case_id).await.entity("case")?;
        readable(c, actor, &k).await?;
        Ok(sk::case_links(c, case_id).await?)
    }
}

async fn insert_revision(
    c: &mut Conn<'_>,
    article_id: i64,
    t: &RevisionText,
    review_due: Option<NaiveDate>,
    change_note: &str,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<RevisionRow> {
    let r = sk::NewRevision {
        title: &t.title,
        problem: &t.problem,
        cause: &t.cause,
        solution: &t.solution,
        body: &t.body,
        products: &t.products,
        tags: &t.tags,
        review_due,
        change_note,
        author_id: actor.user_id,
    };
    Ok(sk::insert_revision(c, article_id, &r, now).await?)
}
