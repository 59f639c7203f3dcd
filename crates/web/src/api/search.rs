//! Full-text search over everything the reader may read (issue #17).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use loopdesk_domain::page::Page;
use loopdesk_service::search::{SearchInput, SearchItem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::dto::PageDto;
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiActor;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// What to look for: any Chinese text of two or more characters is found wherever it occurs,
    /// one character as the start of a word; Latin words whole, the last one by its start;
    /// digits (phone numbers) anywhere in a number. Words separated by spaces must all occur.
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
    /// `case`, `customer`, `communication` or `article`; all kinds when absent.
    pub kind: Option<String>,
    /// Case type (cases and their comments).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub case_type: Option<String>,
    /// Case state.
    pub state: Option<String>,
    /// Lead department id.
    pub department: Option<i64>,
    /// Dated at or after (RFC 3339): a case's receipt, a communication's time.
    pub from: Option<DateTime<Utc>>,
    /// Dated before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// A part of a snippet; `hit` parts matched the query.
#[derive(Serialize, ToSchema)]
pub struct FragmentDto {
    pub text: String,
    pub hit: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SearchItemDto {
    /// `case`, `customer`, `communication` or `article`.
    pub kind: String,
    /// The record's id (for a match in a case's comment: the case).
    pub id: i64,
    /// Where the match is: `case`, `comment`, `customer`, `communication`, `article`.
    pub source: String,
    pub title: String,
    /// The matching passage as plain text.
    pub snippet: String,
    /// The same passage in parts, the matching ones marked.
    pub fragments: Vec<FragmentDto>,
    pub at: DateTime<Utc>,
}

impl From<SearchItem> for SearchItemDto {
    fn from(i: SearchItem) -> Self {
        SearchItemDto {
            kind: i.kind.into(),
            id: i.id,
            source: i.source.into(),
            title: i.title,
            snippet: i.snippet.iter().map(|f| f.text.as_str()).collect(),
            fragments: i.snippet.into_iter().map(|f| FragmentDto { text: f.text, hit: f.hit }).collect(),
            at: i.at,
        }
    }
}

/// Search cases (with their comments and replies), customers and communications within your
/// scope: a confidential case type you may not read is never found, not even counted. Newest
/// first; `total` counts up to 1,000 past the page, beyond that it is a lower bound.
#[utoipa::path(get, path = "/search", tag = "search", params(SearchQuery),
    responses((status = 200, body = PageDto<SearchItemDto>), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<PageDto<SearchItemDto>>> {
    let page = Page::parse(q.page, q.per_page)?;
    let input = SearchInput {
        q: q.q,
        kind: q.kind.filter(|s| !s.is_empty()),
        case_type: q.case_type.filter(|s| !s.is_empty()),
        state: q.state.filter(|s| !s.is_empty()),
        department_id: q.department,
        from: q.from,
        to: q.to,
    };
    Ok(Json(PageDto::from_paged(st.svc.search(&a.actor, &input, page).await?, Into::into)))
}
