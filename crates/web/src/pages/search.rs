//! The search page behind the navigation's search box (issue #17): results grouped by kind, each
//! with its matching passage highlighted (the template escapes every part), filters and pages.

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Query};
use axum::response::Response;
use axum::routing::get;
use loopdesk_domain::page::Page;
use loopdesk_domain::search::Fragment;
use loopdesk_service::search::{KINDS, SearchInput};
use serde::Deserialize;

use super::{Chrome, OrPage, PageError, SignedIn, query_without_page, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/search", get(search))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<u32>,
}

struct Hit {
    href: String,
    title: String,
    comment: bool,
    snippet: Vec<Fragment>,
    at: String,
}

struct Group {
    kind: &'static str,
    label: String,
    hits: Vec<Hit>,
    total: String,
    /// More than shown: a link to this kind alone.
    more: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    fq: String,
    fkind: String,
    ffrom: String,
    fto: String,
    kinds: Vec<(String, String)>,
    groups: Vec<Group>,
    /// Why the query was refused, if it was.
    error: String,
    searched: bool,
    /// Paging when one kind is shown.
    paged: bool,
    page: u32,
    pages: u32,
    total: String,
    query: String,
}

/// Results per kind when all kinds are shown together.
const PER_GROUP: u32 = 10;

fn href(kind: &str, id: i64) -> String {
    match kind {
        "case" => format!("/cases/{id}"),
        "customer" => format!("/customers/{id}"),
        _ => String::new(),
    }
}

async fn search(
    s: SignedIn,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let t = s.tr();
    let c = s.chrome("search");
    let nonempty = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    let fkind = nonempty(&q.kind).filter(|k| KINDS.contains(&k.as_str()));
    let from = match nonempty(&q.from) {
        Some(v) => Some(super::cases::day_start(&s, "from", &v, 0)?),
        None => None,
    };
    let to = match nonempty(&q.to) {
        Some(v) => Some(super::cases::day_start(&s, "to", &v, 1)?),
        None => None,
    };
    let text = nonempty(&q.q).unwrap_or_default();
    let kinds: Vec<(String, String)> =
        KINDS.iter().map(|k| (k.to_string(), t.get(&format!("search.kind.{k}")).to_owned())).collect();
    let mut groups = Vec::new();
    let mut error = String::new();
    let (mut page, mut pages, mut total) = (1, 1, String::new());
    if !text.is_empty() {
        let wanted: Vec<&str> = match &fkind {
            Some(k) => KINDS.iter().copied().filter(|x| x == k).collect(),
            None => KINDS.to_vec(),
        };
        for kind in wanted {
            let p = if fkind.is_some() {
                Page::parse(q.page, None).page(&s)?
            } else {
                Page::parse(Some(1), Some(PER_GROUP)).page(&s)?
            };
            let input = SearchInput { q: text.clone(), kind: Some(kind.into()), from, to, ..Default::default() };
            let found = match s.st.svc.search(&s.actor, &input, p).await {
                Ok(f) => f,
                Err(e) => {
                    error = s.tr().error(&e);
                    break;
                }
            };
            if found.items.is_empty() {
                continue;
            }
            let shown = if found.total_is_lower_bound { format!("{}+", found.total) } else { found.total.to_string() };
            if fkind.is_some() {
                page = found.page;
                pages = found.pages();
                total = shown.clone();
            }
            groups.push(Group {
                kind,
                label: t.get(&format!("search.kind.{kind}")).to_owned(),
                more: fkind.is_none() && found.total > i64::from(PER_GROUP),
                total: shown,
                hits: found
                    .items
                    .into_iter()
                    .map(|i| Hit {
                        href: href(i.kind, i.id),
                        title: i.title,
                        comment: i.source == "comment",
                        snippet: i.snippet,
                        at: c.time(&i.at),
                    })
                    .collect(),
            });
        }
    }
    Ok(render(&SearchPage {
        c,
        searched: !text.is_empty(),
        fq: text,
        paged: fkind.is_some(),
        fkind: fkind.unwrap_or_default(),
        ffrom: q.from.unwrap_or_default(),
        fto: q.to.unwrap_or_default(),
        kinds,
        groups,
        error,
        page,
        pages,
        total,
        query: query_without_page(&uri),
    }))
}
