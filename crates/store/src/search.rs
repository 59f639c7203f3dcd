//! The full-text index (issue #17): `search_docs` rows written in the same transaction as the
//! record they index, and the search over them.
//!
//! ENGINE: the tokens (from `loopdesk_domain::search`) go to an FTS5 table `search_fts` (rowid =
//! the document's id, tokens joined by spaces) on SQLite, and to `tsvector` columns built from a
//! literal on PostgreSQL; queries are an FTS5 MATCH expression or `tsquery` literals. Both see the
//! same tokens, so both find the same documents.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use loopdesk_domain::page::{Page, Paged};
use loopdesk_domain::search::{self as tok, DocTokens, Query, TOKENIZER_VERSION};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Conn;
use crate::bulk::{Inserts, ts};
use crate::cases::Case;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};

/// What kind of record a document indexes.
pub mod kind {
    pub const CASE: &str = "case";
    /// A comment or reply on a case's timeline.
    pub const CASE_EVENT: &str = "case_event";
    pub const CUSTOMER: &str = "customer";
    pub const COMMUNICATION: &str = "communication";
    pub const KB_ARTICLE: &str = "kb_article";
    pub const CANNED_REPLY: &str = "canned_reply";
    pub const ALL: [&str; 6] = [CASE, CASE_EVENT, CUSTOMER, COMMUNICATION, KB_ARTICLE, CANNED_REPLY];
}

/// A document to index.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    pub kind: &'static str,
    pub entity_id: i64,
    /// The case whose scope the document follows.
    pub case_id: Option<i64>,
    pub department_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub confidential: bool,
    pub case_type: String,
    pub state: String,
    pub title: String,
    /// Searched together with the title; also the source of snippets.
    pub body: String,
    /// The record's own date (a case's receipt), for date filters.
    pub at: DateTime<Utc>,
}

impl Doc {
    /// A case's own document: number, subject, description, contact, product.
    pub fn of_case(k: &Case) -> Doc {
        let body = [
            k.subject.as_str(),
            &k.description,
            &k.contact_name,
            &k.contact_phone,
            &k.contact_email,
            &k.product_code,
            &k.model,
            &k.serial,
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
        Doc {
            kind: kind::CASE,
            entity_id: k.id,
            case_id: Some(k.id),
            title: format!("{} {}", k.number, k.subject),
            body,
            at: k.received_at,
            ..Doc::default()
        }
        .scoped_by(k)
    }

    /// Takes the scope and filter fields of the case it belongs to.
    pub fn scoped_by(mut self, k: &Case) -> Doc {
        self.case_id = Some(k.id);
        self.department_id = k.lead_department_id;
        self.owner_id = k.owner_id;
        self.confidential = k.confidential;
        self.case_type = k.case_type.clone();
        self.state = k.state.clone();
        self
    }

    /// A comment's title is its case's, which the case's own document already searches.
    fn tokens(&self) -> DocTokens {
        if self.kind == kind::CASE_EVENT {
            tok::document(&self.body)
        } else {
            tok::document(&format!("{}\n{}", self.title, self.body))
        }
    }
}

/// ENGINE: FTS5 input, tokens joined by spaces.
fn joined(tokens: &[String]) -> String {
    tokens.join(" ")
}

fn quote_pg(token: &str) -> String {
    format!("'{}'", token.replace('\\', "\\\\").replace('\'', "''"))
}

/// ENGINE: a PostgreSQL `tsvector` literal, the position of a token being its index + 1
/// (PostgreSQL keeps positions up to 16,383 and 256 of them per lexeme).
pub fn tsvector(tokens: &[String], positions: bool) -> String {
    let mut at: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in tokens.iter().enumerate() {
        let p = at.entry(t.as_str()).or_default();
        if p.len() < 256 && i < 16_383 {
            p.push(i + 1);
        }
    }
    let mut out = String::new();
    for (t, ps) in at {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&quote_pg(t));
        if positions && !ps.is_empty() {
            out.push(':');
            out.push_str(&ps.iter().map(usize::to_string).collect::<Vec<_>>().join(","));
        }
    }
    out
}

/// ENGINE: the FTS5 MATCH expression of a query.
pub fn fts5_query(q: &Query) -> String {
    let phrase = |pieces: &[String], prefix: bool| {
        let inner = pieces.iter().map(|p| p.replace('"', "\"\"")).collect::<Vec<_>>().join(" ");
        format!("\"{inner}\"{}", if prefix { "*" } else { "" })
    };
    q.terms
        .iter()
        .map(|t| {
            let g = format!("grams : {}", phrase(&t.pieces, t.prefix_last));
            match &t.digits {
                Some(d) => format!("({g} OR tails : {})", phrase(std::slice::from_ref(d), true)),
                None => format!("({g})"),
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// ENGINE: per term, the `tsquery` literal over `grams` and, for digits, the one over `tails`.
pub fn tsqueries(q: &Query) -> Vec<(String, Option<String>)> {
    q.terms
        .iter()
        .map(|t| {
            let n = t.pieces.len();
            let g = t
                .pieces
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{}{}", quote_pg(p), if i + 1 == n && t.prefix_last { ":*" } else { "" }))
                .collect::<Vec<_>>()
                .join(" <-> ");
            (g, t.digits.as_ref().map(|d| format!("{}:*", quote_pg(d))))
        })
        .collect()
}

const DOC_COLS: [(&str, &str); 14] = [
    ("id", "bigint"),
    ("kind", "text"),
    ("entity_id", "bigint"),
    ("case_id", "bigint"),
    ("department_id", "bigint"),
    ("owner_id", "bigint"),
    ("confidential", "boolean"),
    ("case_type", "text"),
    ("state", "text"),
    ("title", "text"),
    ("body", "text"),
    ("at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("tokenizer_version", "bigint"),
];
const PG_DOC_COLS: [(&str, &str); 16] = [
    ("id", "bigint"),
    ("kind", "text"),
    ("entity_id", "bigint"),
    ("case_id", "bigint"),
    ("department_id", "bigint"),
    ("owner_id", "bigint"),
    ("confidential", "boolean"),
    ("case_type", "text"),
    ("state", "text"),
    ("title", "text"),
    ("body", "text"),
    ("at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("tokenizer_version", "bigint"),
    ("grams", "tsvector"),
    ("tails", "tsvector"),
];
const FTS_COLS: [(&str, &str); 3] = [("rowid", "bigint"), ("grams", "text"), ("tails", "text")];

/// Adds new documents (with ids taken by the caller) to a bulk insert: the intake group commit
/// and the demo generator index in the transaction that writes the cases.
pub(crate) fn add_bulk(ins: &mut Inserts, docs: &[(i64, Doc)], now: DateTime<Utc>) {
    let mut pg = Vec::with_capacity(docs.len());
    let mut lite = Vec::with_capacity(docs.len());
    let mut fts = Vec::with_capacity(docs.len());
    for (id, d) in docs {
        let t = d.tokens();
        let base = json!([
            id,
            d.kind,
            d.entity_id,
            d.case_id,
            d.department_id,
            d.owner_id,
            d.confidential,
            d.case_type,
            d.state,
            d.title,
            d.body,
            ts(d.at),
            ts(now),
            TOKENIZER_VERSION
        ]);
        if let Value::Array(mut row) = base {
            lite.push(Value::Array(row.clone()));
            row.push(Value::String(tsvector(&t.grams, true)));
            row.push(Value::String(tsvector(&t.tails, false)));
            pg.push(Value::Array(row));
        }
        fts.push(json!([id, joined(&t.grams), joined(&t.tails)]));
    }
    ins.add_postgres("search_docs", &PG_DOC_COLS, pg, "");
    ins.add_sqlite("search_docs", &DOC_COLS, lite, "");
    ins.add_sqlite("search_fts", &FTS_COLS, fts, "");
}

/// Writes (or rewrites) one document in the caller's transaction.
pub async fn put(c: &mut Conn<'_>, d: &Doc) -> StoreResult<()> {
    let t = d.tokens();
    let now = Utc::now();
    match c {
        Conn::Sqlite(e) => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO search_docs (kind, entity_id, case_id, department_id, owner_id, confidential, case_type, state,
                 title, body, at, updated_at, tokenizer_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (kind, entity_id) DO UPDATE SET case_id = excluded.case_id, department_id = excluded.department_id,
                 owner_id = excluded.owner_id, confidential = excluded.confidential, case_type = excluded.case_type,
                 state = excluded.state, title = excluded.title, body = excluded.body, at = excluded.at,
                 updated_at = excluded.updated_at, tokenizer_version = excluded.tokenizer_version
                 RETURNING id",
            )
            .bind(d.kind)
            .bind(d.entity_id)
            .bind(d.case_id)
            .bind(d.department_id)
            .bind(d.owner_id)
            .bind(d.confidential)
            .bind(&d.case_type)
            .bind(&d.state)
            .bind(&d.title)
            .bind(&d.body)
            .bind(d.at)
            .bind(now)
            .bind(TOKENIZER_VERSION)
            .fetch_one(&mut **e)
            .await
            .map_err(map_err)?;
            sqlx::query("INSERT OR REPLACE INTO search_fts (rowid, grams, tails) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(joined(&t.grams))
                .bind(joined(&t.tails))
                .execute(&mut **e)
                .await
                .map_err(map_err)?;
        }
        Conn::Postgres(e) => {
            sqlx::query(
                "INSERT INTO search_docs (kind, entity_id, case_id, department_id, owner_id, confidential, case_type, state,
                 title, body, at, updated_at, tokenizer_version, grams, tails)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::tsvector, $15::tsvector)
                 ON CONFLICT (kind, entity_id) DO UPDATE SET case_id = excluded.case_id, department_id = excluded.department_id,
                 owner_id = excluded.owner_id, confidential = excluded.confidential, case_type = excluded.case_type,
                 state = excluded.state, title = excluded.title, body = excluded.body, at = excluded.at,
                 updated_at = excluded.updated_at, tokenizer_version = excluded.tokenizer_version,
                 grams = excluded.grams, tails = excluded.tails",
            )
            .bind(d.kind)
            .bind(d.entity_id)
            .bind(d.case_id)
            .bind(d.department_id)
            .bind(d.owner_id)
            .bind(d.confidential)
            .bind(&d.case_type)
            .bind(&d.state)
            .bind(&d.title)
            .bind(&d.body)
            .bind(d.at)
            .bind(now)
            .bind(TOKENIZER_VERSION)
            .bind(tsvector(&t.grams, true))
            .bind(tsvector(&t.tails, false))
            .execute(&mut **e)
            .await
            .map_err(map_err)?;
        }
    }
    Ok(())
}

/// Writes many new documents with few statements (an import, a rebuild), in the caller's
/// transaction; documents already indexed are rewritten one by one.
pub async fn put_many(c: &mut Conn<'_>, docs: Vec<Doc>) -> StoreResult<()> {
    let mut fresh = Vec::new();
    for d in docs {
        let exists: Option<i64> = on!(c, e => sqlx::query_scalar("SELECT id FROM search_docs WHERE kind = $1 AND entity_id = $2")
            .bind(d.kind)
            .bind(d.entity_id)
            .fetch_optional(e)
            .await
            .map_err(map_err))?;
        if exists.is_some() {
            put(c, &d).await?;
        } else {
            fresh.push(d);
        }
    }
    let ids = crate::bulk::reserve_ids(c, "search_docs", fresh.len()).await?;
    let mut ins = Inserts::default();
    add_bulk(&mut ins, &ids.into_iter().zip(fresh).collect::<Vec<_>>(), Utc::now());
    ins.run(c).await
}

/// A customer's document: code, name, address, notes and what the customer list searches
/// (phones, contact names, region).
pub fn customer_doc(k: &crate::customers::Customer, search_text: &str) -> Doc {
    Doc {
        kind: kind::CUSTOMER,
        entity_id: k.id,
        title: format!("{} {}", k.code, k.name),
        body: [k.address.as_str(), &k.notes, &k.emails.0.join(" "), search_text]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("\n"),
        at: k.created_at,
        ..Doc::default()
    }
}

/// A communication's document; one about a case follows the case's scope.
pub async fn communication_doc(c: &mut Conn<'_>, m: &crate::customers::Communication) -> StoreResult<Doc> {
    let d = Doc {
        kind: kind::COMMUNICATION,
        entity_id: m.id,
        title: m.subject.clone(),
        body: m.content.clone(),
        at: m.occurred_at,
        ..Doc::default()
    };
    Ok(match m.case_id {
        Some(id) => d.scoped_by(&crate::cases::case(c, id).await?),
        None => d,
    })
}

/// Gives every document of a case the case's current scope and filter fields.
pub async fn set_case_scope(c: &mut Conn<'_>, k: &Case) -> StoreResult<()> {
    on!(c, e => sqlx::query(
        "UPDATE search_docs SET department_id = $1, owner_id = $2, confidential = $3, case_type = $4, state = $5
         WHERE case_id = $6",
    )
    .bind(k.lead_department_id)
    .bind(k.owner_id)
    .bind(k.confidential)
    .bind(&k.case_type)
    .bind(&k.state)
    .bind(k.id)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))
}

/// Who is reading, and what they narrowed the search to.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Document kinds to search (constants of [`kind`]); empty finds nothing.
    pub kinds: Vec<&'static str>,
    /// Who may see a case's documents: the case list's own condition
    /// (`domain::scope::list_scope`), asked of the case each document belongs to.
    pub case_scope: Option<loopdesk_domain::scope::ListScope>,
    /// Department scoping of documents that belong to no case: these departments, documents
    /// owned by `scope_user`, or of no department.
    pub within: Option<Vec<i64>>,
    pub scope_user: Option<i64>,
    pub case_type: Option<String>,
    pub state: Option<String>,
    pub department_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Knowledge-base articles of these visibilities only (`domain::scope::article_visibilities`;
    /// an article's document keeps its visibility in `state`); `None`: no article is found.
    pub article_visibilities: Option<Vec<&'static str>>,
}

/// A document found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Hit {
    pub id: i64,
    pub kind: String,
    pub entity_id: i64,
    pub case_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Time(DateTime<Utc>),
}

/// The filter's conditions on `d` (search_docs), numbering parameters from `first`.
fn doc_where<'a>(f: &'a SearchFilter, first: usize) -> (String, Vec<Arg<'a>>) {
    let mut cond: Vec<String> = Vec::new();
    let mut args = Vec::new();
    let kinds: Vec<String> = f.kinds.iter().filter(|k| kind::ALL.contains(k)).map(|k| format!("'{k}'")).collect();
    cond.push(if kinds.is_empty() { "FALSE".into() } else { format!("d.kind IN ({})", kinds.join(",")) });
    macro_rules! filter {
        ($v:expr, $template:expr, $arg:expr) => {
            if let Some(v) = $v {
                args.push($arg(v));
                cond.push($template.replace('?', &format!("${}", first + args.len() - 1)));
            }
        };
    }
    filter!(f.case_type.as_deref(), "d.case_type = ?", Arg::Text);
    filter!(f.state.as_deref(), "d.state = ?", Arg::Text);
    filter!(f.department_id, "d.department_id = ?", Arg::Int);
    filter!(f.from, "d.at >= ?", Arg::Time);
    filter!(f.to, "d.at < ?", Arg::Time);
    match &f.article_visibilities {
        // Visibility codes are the domain's constants ([a-z_]).
        Some(vs) if !vs.is_empty() => cond.push(format!(
            "(d.kind <> '{}' OR d.state IN ({}))",
            kind::KB_ARTICLE,
            vs.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(",")
        )),
        _ => cond.push(format!("d.kind <> '{}'", kind::KB_ARTICLE)),
    }
    match &f.case_scope {
        Some(s) => {
            // The same condition as the case list, over the case the document belongs to (its
            // unqualified columns are the subquery's `cases`).
            let inner = crate::scope::list_condition(s);
            if !inner.is_empty() {
                cond.push(format!(
                    "(d.case_id IS NULL OR EXISTS (SELECT 1 FROM cases WHERE cases.id = d.case_id AND {}))",
                    inner.join(" AND ")
                ));
            }
        }
        // No scope given: no case's documents.
        None => cond.push("d.case_id IS NULL AND NOT d.confidential".into()),
    }
    if let Some(ids) = &f.within {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let mine = f.scope_user.map(|u| format!(" OR d.owner_id = {u}")).unwrap_or_default();
        cond.push(if list.is_empty() {
            format!("(d.case_id IS NOT NULL OR d.department_id IS NULL{mine})")
        } else {
            format!(
                "(d.case_id IS NOT NULL OR d.department_id IS NULL OR d.department_id IN ({}){mine})",
                list.join(",")
            )
        });
    }
    (cond.join(" AND "), args)
}

/// The match condition on `d` and its text arguments, numbered from `$first`.
fn match_cond(c: &Conn<'_>, q: &Query, first: usize) -> (String, String, Vec<String>) {
    match c {
        // ENGINE: FTS5 joins its table; PostgreSQL tests the tsvector columns of the row.
        Conn::Sqlite(_) => (
            "JOIN search_fts ON search_fts.rowid = d.id".into(),
            format!("search_fts MATCH ${first}"),
            vec![fts5_query(q)],
        ),
        Conn::Postgres(_) => {
            let mut args = Vec::new();
            let mut conds = Vec::new();
            for (g, t) in tsqueries(q) {
                args.push(g);
                let gi = first + args.len() - 1;
                match t {
                    Some(t) => {
                        args.push(t);
                        let ti = first + args.len() - 1;
                        conds.push(format!("(d.grams @@ ${gi}::tsquery OR d.tails @@ ${ti}::tsquery)"));
                    }
                    None => conds.push(format!("d.grams @@ ${gi}::tsquery")),
                }
            }
            (String::new(), conds.join(" AND "), args)
        }
    }
}

/// Searches count matches up to this many past the page shown; beyond it `total` is a lower
/// bound (`total_is_lower_bound`). Counting every match of a common word is what made search
/// slow (issue #17: 10,000 past the page cost more than the page itself).
pub const SEARCH_COUNT_AHEAD: i64 = 1_000;

/// The FROM clause and ordering of a search. ENGINE: on SQLite the FTS5 table drives the join
/// (`CROSS JOIN` keeps it outermost) in descending rowid order, which FTS5 delivers without
/// sorting, so `LIMIT` stops the scan after the page; joining it the other way round made SQLite
/// sort every match first. On PostgreSQL the planner chooses between the GIN index (rare words)
/// and walking the primary key backwards until the page is full (common words).
fn search_from(c: &Conn<'_>) -> (&'static str, &'static str) {
    match c {
        Conn::Sqlite(_) => ("search_fts CROSS JOIN search_docs d ON d.id = search_fts.rowid", "search_fts.rowid DESC"),
        Conn::Postgres(_) => ("search_docs d", "d.id DESC"),
    }
}

/// Documents matching `q` within the filter, newest indexed first; the total counted up to
/// [`SEARCH_COUNT_AHEAD`] past the page.
pub async fn search(c: &mut Conn<'_>, q: &Query, f: &SearchFilter, page: Page) -> StoreResult<Paged<Hit>> {
    let (_, m, margs) = match_cond(c, q, 1);
    let (w, args) = doc_where(f, margs.len() + 1);
    let (from, order) = search_from(c);
    macro_rules! binds {
        ($q:expr) => {{
            let mut q = $q;
            for a in &margs {
                q = q.bind(a.as_str());
            }
            for a in &args {
                q = match a {
                    Arg::Text(v) => q.bind(*v),
                    Arg::Int(v) => q.bind(*v),
                    Arg::Time(v) => q.bind(*v),
                };
            }
            q
        }};
    }
    let (limit, offset) = (page.limit(), page.offset());
    let items: Vec<Hit> = on!(c, e => binds!(sqlx::query_as(sql!(
        "SELECT d.id, d.kind, d.entity_id, d.case_id, d.title, d.body, d.at FROM {from}
         WHERE {m} AND {w} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    )))
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    let cap = offset + limit + SEARCH_COUNT_AHEAD;
    // A short page is the whole answer: no count needed.
    let total = if (items.len() as i64) < limit && (offset == 0 || !items.is_empty()) {
        offset + items.len() as i64
    } else {
        on!(c, e => binds!(sqlx::query_scalar(sql!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {from} WHERE {m} AND {w} LIMIT {cap}) AS matching"
        )))
        .fetch_one(e)
        .await
        .map_err(map_err))?
    };
    Ok(Paged { items, total, page: page.page, per_page: page.per_page, total_is_lower_bound: total >= cap })
}

/// Ids of the cases with a document (the case, a comment, a communication) matching `q`, for the
/// case list's `q`: a subquery and its arguments, parameters numbered from `first`.
pub fn case_ids_matching(c: &Conn<'_>, q: &Query, first: usize) -> (String, Vec<String>) {
    let (join, m, args) = match_cond(c, q, first);
    (format!("SELECT d.case_id FROM search_docs d {join} WHERE {m} AND d.case_id IS NOT NULL"), args)
}

/// Ids of the records of one kind whose document matches `q`, newest first, at most `limit`.
pub async fn entity_ids_matching(c: &mut Conn<'_>, q: &Query, of_kind: &str, limit: i64) -> StoreResult<Vec<i64>> {
    let (_, m, args) = match_cond(c, q, 2);
    let (from, order) = search_from(c);
    on!(c, e => {
        let mut query = sqlx::query_scalar(sql!(
            "SELECT d.entity_id FROM {from} WHERE {m} AND d.kind = $1 ORDER BY {order} LIMIT {limit}"
        ))
        .bind(of_kind);
        for a in &args {
            query = query.bind(a.as_str());
        }
        query.fetch_all(e).await.map_err(map_err)
    })
}

/// Removes a record's document (an article withdrawn, a canned reply switched off).
pub async fn remove(c: &mut Conn<'_>, of_kind: &str, entity_id: i64) -> StoreResult<()> {
    let id: Option<i64> = on!(c, e => sqlx::query_scalar("SELECT id FROM search_docs WHERE kind = $1 AND entity_id = $2")
        .bind(of_kind)
        .bind(entity_id)
        .fetch_optional(e)
        .await
        .map_err(map_err))?;
    let Some(id) = id else { return Ok(()) };
    if let Conn::Sqlite(e) = c {
        // ENGINE: the contentless FTS5 table forgets a row by its rowid.
        sqlx::query("DELETE FROM search_fts WHERE rowid = $1").bind(id).execute(&mut **e).await.map_err(map_err)?;
    }
    on!(c, e => sqlx::query("DELETE FROM search_docs WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))
}

/// Documents written by an older tokeniser, a page at a time: (kind, entity id).
pub async fn stale_docs(c: &mut Conn<'_>, after_id: i64, limit: i64) -> StoreResult<Vec<(i64, String, i64)>> {
    on!(c, e => sqlx::query_as(
        "SELECT id, kind, entity_id FROM search_docs WHERE id > $1 AND tokenizer_version <> $2 ORDER BY id LIMIT $3",
    )
    .bind(after_id)
    .bind(TOKENIZER_VERSION)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// How many documents there are, and how many were written by an older tokeniser.
pub async fn counts(c: &mut Conn<'_>) -> StoreResult<(i64, i64)> {
    on!(c, e => sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN tokenizer_version <> $1 THEN 1 ELSE 0 END), 0) FROM search_docs",
    )
    .bind(TOKENIZER_VERSION)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// How many records of each indexed source there are: cases, comments and replies (events
/// with text), customers, communications.
pub async fn source_counts(c: &mut Conn<'_>) -> StoreResult<(i64, i64, i64, i64)> {
    on!(c, e => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM cases), (SELECT COUNT(*) FROM case_events WHERE body <> ''),
         (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM communications)",
    )
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Ids of the records of one source (a [`kind`]) after `after_id`, in order, at most `limit`.
pub async fn source_ids(c: &mut Conn<'_>, source: &str, after_id: i64, limit: i64) -> StoreResult<Vec<i64>> {
    let q = match source {
        kind::CASE => "SELECT id FROM cases WHERE id > $1 ORDER BY id LIMIT $2",
        kind::CASE_EVENT => "SELECT id FROM case_events WHERE id > $1 AND body <> '' ORDER BY id LIMIT $2",
        kind::CUSTOMER => "SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2",
        kind::COMMUNICATION => "SELECT id FROM communications WHERE id > $1 ORDER BY id LIMIT $2",
        _ => return Ok(vec![]),
    };
    on!(c, e => sqlx::query_scalar(q).bind(after_id).bind(limit).fetch_all(e).await.map_err(map_err))
}

/// A timeline entry's case, text and time.
pub async fn event_text(c: &mut Conn<'_>, id: i64) -> StoreResult<(i64, String, DateTime<Utc>)> {
    on!(c, e => sqlx::query_as("SELECT case_id, body, at FROM case_events WHERE id = $1")
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}
