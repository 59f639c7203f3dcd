//! Full-text search over cases, customers and communications (issue #17), scoped to the reader
//! exactly as the records are, and the rebuild of the index.

use chrono::{DateTime, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission, Scope};
use loopdesk_domain::page::{Page, Paged};
use loopdesk_domain::search::{self as tok, Fragment, Query};
use loopdesk_store::search::{self as ss, Doc, SearchFilter, kind};
use loopdesk_store::{cases as ks, customers as cs};
use serde::Serialize;

use crate::{Service, ServiceResult};

/// What a search result can be, as the API names it.
pub const KINDS: [&str; 4] = ["case", "customer", "communication", "article"];

/// A search box's text and the filters beside it.
#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    pub q: String,
    /// One of [`KINDS`]; none: every kind the reader may read.
    pub kind: Option<String>,
    pub case_type: Option<String>,
    pub state: Option<String>,
    pub department_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchItem {
    /// `case`, `customer`, `communication` or `article`.
    pub kind: &'static str,
    /// The id of the record to open (for a comment on a case: the case).
    pub id: i64,
    /// Where in the record the match is: `case`, `comment`, `customer`, `communication`.
    pub source: &'static str,
    pub title: String,
    /// The matching passage, the matching parts marked (text is not escaped yet).
    pub snippet: Vec<Fragment>,
    pub at: DateTime<Utc>,
}

/// How much text around a match a snippet shows.
const SNIPPET_CHARS: usize = 80;

/// The scope the reader's search runs in: a case's documents follow the case list's rule
/// (`domain::scope`, through `crate::scope::list_filter`), other documents the reader's
/// department subtree.
async fn reader_scope(c: &mut loopdesk_store::Conn<'_>, actor: &Actor, f: &mut SearchFilter) -> ServiceResult<()> {
    f.case_scope = Some(crate::scope::list_filter(c, actor).await?);
    f.article_visibilities =
        Some(loopdesk_domain::scope::article_visibilities(actor).iter().map(|v| v.code()).collect());
    if let Scope::Departments(ids) = &actor.scope {
        f.within = Some(ids.clone());
        f.scope_user = actor.user_id;
    }
    Ok(())
}

/// The document kinds behind an API kind, among those the reader may read.
fn doc_kinds(actor: &Actor, wanted: Option<&str>) -> Vec<&'static str> {
    let mut out = Vec::new();
    let want = |k: &str| wanted.is_none_or(|w| w == k);
    if actor.can(Permission::ReadCases) && want("case") {
        out.extend([kind::CASE, kind::CASE_EVENT]);
    }
    if actor.can(Permission::ReadCustomers) && want("customer") {
        out.push(kind::CUSTOMER);
    }
    if actor.can(Permission::ReadCustomers) && want("communication") {
        out.push(kind::COMMUNICATION);
    }
    if want("article") {
        out.push(kind::KB_ARTICLE);
    }
    out
}

fn item(h: ss::Hit, q: &Query) -> SearchItem {
    let (kind, id, source) = match h.kind.as_str() {
        kind::CASE => ("case", h.entity_id, "case"),
        kind::CASE_EVENT => ("case", h.case_id.unwrap_or(h.entity_id), "comment"),
        kind::CUSTOMER => ("customer", h.entity_id, "customer"),
        kind::KB_ARTICLE => ("article", h.entity_id, "article"),
        _ => ("communication", h.entity_id, "communication"),
    };
    let mut snippet = tok::snippet(&h.body, q, SNIPPET_CHARS);
    if !snippet.iter().any(|f| f.hit) {
        let in_title = tok::snippet(&h.title, q, SNIPPET_CHARS);
        if in_title.iter().any(|f| f.hit) || h.body.is_empty() {
            snippet = in_title;
        }
    }
    SearchItem { kind, id, source, snippet, title: h.title, at: h.at }
}

impl Service {
    /// Searches every record the actor may read.
    /// A customer on the portal searches the published articles shown there.
    pub async fn search(&self, actor: &Actor, input: &SearchInput, page: Page) -> ServiceResult<Paged<SearchItem>> {
        if actor.kind != loopdesk_domain::access::ActorKind::Portal {
            actor.require(Permission::SignIn)?;
        }
        let q = tok::parse_query(&input.q)?;
        if let Some(k) = &input.kind
            && !KINDS.contains(&k.as_str())
        {
            return Err(DomainError::Invalid {
                field: "kind".into(),
                reason: loopdesk_domain::reason!("errors.unknown_kind_known", k, kinds = KINDS.join(", ")),
            }
            .into());
        }
        let mut f = SearchFilter {
            kinds: doc_kinds(actor, input.kind.as_deref()),
            case_type: input.case_type.clone(),
            state: input.state.clone(),
            department_id: input.department_id,
            from: input.from,
            to: input.to,
            ..SearchFilter::default()
        };
        let mut h = self.store.read().await?;
        reader_scope(&mut h.conn(), actor, &mut f).await?;
        let found = ss::search(&mut h.conn(), &q, &f, page).await?;
        Ok(Paged {
            items: found.items.into_iter().map(|x| item(x, &q)).collect(),
            total: found.total,
            page: found.page,
            per_page: found.per_page,
            total_is_lower_bound: found.total_is_lower_bound,
        })
    }

    /// Rebuilds the index: every case, comment, customer and communication is tokenised again
    /// (documents already written by the current tokeniser are rewritten too), a batch per
    /// transaction. `progress(done, total)` is called after each batch. Returns documents written.
    pub async fn reindex(&self, actor: &Actor, mut progress: impl FnMut(u64, u64)) -> ServiceResult<u64> {
        actor.require(Permission::ManageSettings)?;
        const BATCH: i64 = 500;
        let total = {
            let mut h = self.store.read().await?;
            let c = &mut h.conn();
            let (cases, events, customers, comms) = ss::source_counts(c).await?;
            u64::try_from(cases + events + customers + comms).unwrap_or(0)
        };
        let mut done = 0u64;
        for source in [kind::CASE, kind::CASE_EVENT, kind::CUSTOMER, kind::COMMUNICATION] {
            let mut after = 0i64;
            loop {
                let mut tx = self.store.begin().await?;
                let ids = ss::source_ids(&mut tx.conn(), source, after, BATCH).await?;
                let Some(&last) = ids.last() else { break };
                let mut docs = Vec::with_capacity(ids.len());
                for id in &ids {
                    let c = &mut tx.conn();
                    let d = match source {
                        kind::CASE => Doc::of_case(&ks::case(c, *id).await?),
                        kind::CASE_EVENT => {
                            let (case_id, body, at) = ss::event_text(c, *id).await?;
                            let k = ks::case(c, case_id).await?;
                            Doc {
                                kind: kind::CASE_EVENT,
                                entity_id: *id,
                                title: format!("{} {}", k.number, k.subject),
                                body,
                                at,
                                ..Doc::default()
                            }
                            .scoped_by(&k)
                        }
                        kind::CUSTOMER => {
                            let k = cs::customer(c, *id).await?;
                            let text = cs::customer_search_text(c, *id).await?;
                            ss::customer_doc(&k, &text)
                        }
                        _ => {
                            let m = cs::communication(c, *id).await?;
                            ss::communication_doc(c, &m).await?
                        }
                    };
                    docs.push(d);
                }
                ss::put_many(&mut tx.conn(), docs).await?;
                tx.commit().await?;
                done += ids.len() as u64;
                progress(done, total.max(done));
                after = last;
            }
        }
        Ok(done)
    }
}
