//! Customer files, contacts, assets, contracts, communications, products, import and export.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::customer::format_cny;
use loopdesk_domain::import::{RowError, Sheet};
use loopdesk_domain::page::Page;
use loopdesk_service::customers::{
    AssetInput, CommunicationInput, ContactInput, ContractInput, CustomerInput, ImportOutcome, ProductInput,
};
use loopdesk_service::tabular::{self, Format};
use loopdesk_store::customers::{Asset, Communication, Contact, Contract, Customer, CustomerFilter, Product};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::dto::PageDto;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorDetail};
use crate::extract::{ApiActor, JsonBody};

#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// organisation or person
    pub kind: String,
    pub category: String,
    pub is_new: bool,
    pub region: String,
    pub address: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub tags: Vec<String>,
    pub owner_id: Option<i64>,
    pub notes: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Customer> for CustomerDto {
    fn from(c: Customer) -> Self {
        CustomerDto {
            id: c.id,
            code: c.code,
            name: c.name,
            kind: c.kind,
            category: c.category,
            is_new: c.is_new,
            region: c.region,
            address: c.address,
            phones: c.phones.0,
            emails: c.emails.0,
            tags: c.tags.0,
            owner_id: c.owner_id,
            notes: c.notes,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    /// Left out: generated as C000123.
    pub code: Option<String>,
    pub name: String,
    /// organisation (default) or person
    pub kind: Option<String>,
    /// end_user (default), distributor, contractor, owner, tenant, internal, other
    pub category: Option<String>,
    pub is_new: Option<bool>,
    pub region: Option<String>,
    pub address: Option<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Username of the responsible staff member.
    pub owner: Option<String>,
    pub notes: Option<String>,
}

impl From<CustomerBody> for CustomerInput {
    fn from(b: CustomerBody) -> Self {
        CustomerInput {
            code: b.code,
            name: b.name,
            kind: b.kind,
            category: b.category,
            is_new: b.is_new,
            region: b.region,
            address: b.address,
            phones: b.phones,
            emails: b.emails,
            tags: b.tags,
            owner: b.owner,
            notes: b.notes,
        }
    }
}

/// Register a customer. Same code, or same name and phone, is refused as a duplicate (409).
#[utoipa::path(post, path = "/customers", tag = "customers", request_body = CustomerBody,
    responses((status = 201, body = CustomerDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_customer(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<CustomerBody>,
) -> ApiResult<(StatusCode, Json<CustomerDto>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_customer(&a.actor, &b.into()).await?.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Matches code, name, phone and contact names (Chinese works).
    pub q: Option<String>,
    pub region: Option<String>,
    pub category: Option<String>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// Search and list customers.
#[utoipa::path(get, path = "/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = PageDto<CustomerDto>), (status = 422, body = ErrorBody)))]
pub async fn list_customers(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> ApiResult<Json<PageDto<CustomerDto>>> {
    let page = Page::parse(q.page, q.per_page)?;
    let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let f = CustomerFilter {
        q: nonempty(q.q),
        region: nonempty(q.region),
        category: nonempty(q.category),
        ..Default::default()
    };
    Ok(Json(PageDto::from_paged(st.svc.customers(&a.actor, &f, page).await?, Into::into)))
}

/// One customer.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerDto), (status = 404, body = ErrorBody)))]
pub async fn get_customer(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<CustomerDto>> {
    Ok(Json(st.svc.customer(&a.actor, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatchBody {
    /// The version you read; a stale one answers 409 and changes nothing.
    pub version: i64,
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub category: Option<String>,
    pub is_new: Option<bool>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub phones: Option<Vec<String>>,
    pub emails: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    /// Username; empty string clears it.
    pub owner: Option<String>,
    pub notes: Option<String>,
}

/// Change a customer; fields left out keep their value.
#[utoipa::path(patch, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = CustomerPatchBody,
    responses((status = 200, body = CustomerDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_customer(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<CustomerPatchBody>,
) -> ApiResult<Json<CustomerDto>> {
    let cur = st.svc.customer(&a.actor, id).await?;
    let input = CustomerInput {
        code: Some(b.code.unwrap_or(cur.code)),
        name: b.name.unwrap_or(cur.name),
        kind: Some(b.kind.unwrap_or(cur.kind)),
        category: Some(b.category.unwrap_or(cur.category)),
        is_new: Some(b.is_new.unwrap_or(cur.is_new)),
        region: Some(b.region.unwrap_or(cur.region)),
        address: Some(b.address.unwrap_or(cur.address)),
        phones: b.phones.unwrap_or(cur.phones.0),
        emails: b.emails.unwrap_or(cur.emails.0),
        tags: b.tags.unwrap_or(cur.tags.0),
        owner: b.owner,
        notes: Some(b.notes.unwrap_or(cur.notes)),
    };
    Ok(Json(st.svc.update_customer(&a.actor, id, b.version, &input).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct CommunicationDto {
    pub id: i64,
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub channel: String,
    pub direction: String,
    pub stage: String,
    pub subject: String,
    pub content: String,
    pub staff_id: Option<i64>,
    pub follow_up: bool,
    pub follow_up_due: Option<NaiveDate>,
    pub follow_up_done_at: Option<DateTime<Utc>>,
    pub case_id: Option<i64>,
    pub version: i64,
}

impl From<Communication> for CommunicationDto {
    fn from(m: Communication) -> Self {
        CommunicationDto {
            id: m.id,
            customer_id: m.customer_id,
            contact_id: m.contact_id,
            occurred_at: m.occurred_at,
            channel: m.channel,
            direction: m.direction,
            stage: m.stage,
            subject: m.subject,
            content: m.content,
            staff_id: m.staff_id,
            follow_up: m.follow_up,
            follow_up_due: m.follow_up_due,
            follow_up_done_at: m.follow_up_done_at,
            case_id: m.case_id,
            version: m.version,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// The customer's communication register, newest first.
#[utoipa::path(get, path = "/customers/{id}/communications", tag = "customers", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = PageDto<CommunicationDto>), (status = 404, body = ErrorBody)))]
pub async fn list_communications(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<PageDto<CommunicationDto>>> {
    let page = Page::parse(q.page, q.per_page)?;
    Ok(Json(PageDto::from_paged(st.svc.communications(&a.actor, id, page).await?, Into::into)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunicationBody {
    pub contact_id: Option<i64>,
    /// Default: now.
    pub occurred_at: Option<DateTime<Utc>>,
    /// phone, visit, email, fax, letter, chat, web_form, meeting, trade_fair
    pub channel: String,
    /// inbound or outbound
    pub direction: String,
    /// pre_sale, in_sale, after_sale
    pub stage: String,
    pub subject: String,
    pub content: Option<String>,
    pub follow_up: Option<bool>,
    /// YYYY-MM-DD; required when follow_up is true.
    pub follow_up_due: Option<String>,
    pub case_id: Option<i64>,
}

/// Record a contact with the customer (与顾客沟通登记).
#[utoipa::path(post, path = "/customers/{id}/communications", tag = "customers", params(("id" = i64, Path)), request_body = CommunicationBody,
    responses((status = 201, body = CommunicationDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_communication(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<CommunicationBody>,
) -> ApiResult<(StatusCode, Json<CommunicationDto>)> {
    let i = CommunicationInput {
        contact_id: b.contact_id,
        occurred_at: b.occurred_at,
        channel: b.channel,
        direction: b.direction,
        stage: b.stage,
        subject: b.subject,
        content: b.content,
        follow_up: b.follow_up,
        follow_up_due: b.follow_up_due,
        case_id: b.case_id,
    };
    Ok((StatusCode::CREATED, Json(st.svc.add_communication(&a.actor, id, &i).await?.into())))
}

#[derive(Serialize, ToSchema)]
pub struct ContactDto {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub title: String,
    pub phones: Vec<String>,
    pub email: String,
    pub is_primary: bool,
    pub version: i64,
}

impl From<Contact> for ContactDto {
    fn from(k: Contact) -> Self {
        ContactDto {
            id: k.id,
            customer_id: k.customer_id,
            name: k.name,
            title: k.title,
            phones: k.phones.0,
            email: k.email,
            is_primary: k.is_primary,
            version: k.version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    pub name: String,
    pub title: Option<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub primary: Option<bool>,
}

/// Add a contact person.
#[utoipa::path(post, path = "/customers/{id}/contacts", tag = "customers", params(("id" = i64, Path)), request_body = ContactBody,
    responses((status = 201, body = ContactDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_contact(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ContactBody>,
) -> ApiResult<(StatusCode, Json<ContactDto>)> {
    let i = ContactInput { name: b.name, title: b.title, phones: b.phones, email: b.email, primary: b.primary };
    Ok((StatusCode::CREATED, Json(st.svc.add_contact(&a.actor, id, &i).await?.into())))
}

#[derive(Serialize, ToSchema)]
pub struct AssetDto {
    pub id: i64,
    pub customer_id: i64,
    pub product_id: i64,
    pub serial: String,
    pub ship_date: Option<NaiveDate>,
    pub warranty_end: Option<NaiveDate>,
    pub version: i64,
}

impl From<Asset> for AssetDto {
    fn from(x: Asset) -> Self {
        AssetDto {
            id: x.id,
            customer_id: x.customer_id,
            product_id: x.product_id,
            serial: x.serial,
            ship_date: x.ship_date,
            warranty_end: x.warranty_end,
            version: x.version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetBody {
    pub product_code: String,
    /// Serial or lot number.
    pub serial: String,
    pub ship_date: Option<String>,
    /// Left out: ship date + the product's warranty months.
    pub warranty_end: Option<String>,
}

/// Register a delivered product (serial or lot) with the customer.
#[utoipa::path(post, path = "/customers/{id}/assets", tag = "customers", params(("id" = i64, Path)), request_body = AssetBody,
    responses((status = 201, body = AssetDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_asset(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<AssetBody>,
) -> ApiResult<(StatusCode, Json<AssetDto>)> {
    let i = AssetInput {
        product_code: b.product_code,
        serial: b.serial,
        ship_date: b.ship_date,
        warranty_end: b.warranty_end,
    };
    Ok((StatusCode::CREATED, Json(st.svc.add_asset(&a.actor, id, &i).await?.into())))
}

#[derive(Serialize, ToSchema)]
pub struct ContractDto {
    pub id: i64,
    pub number: String,
    pub customer_id: i64,
    pub signed_on: NaiveDate,
    /// Exact decimal yuan, e.g. "2000000.00".
    pub value: String,
    pub completed_on: Option<NaiveDate>,
    pub status: String,
    pub version: i64,
}

impl From<Contract> for ContractDto {
    fn from(k: Contract) -> Self {
        ContractDto {
            id: k.id,
            number: k.number,
            customer_id: k.customer_id,
            signed_on: k.signed_on,
            value: format_cny(k.value_fen),
            completed_on: k.completed_on,
            status: k.status,
            version: k.version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractBody {
    pub number: String,
    /// YYYY-MM-DD
    pub signed_on: String,
    /// Yuan as a string with at most two decimals.
    pub value: Option<String>,
    pub completed_on: Option<String>,
    /// draft, active (default), completed, cancelled
    pub status: Option<String>,
}

/// Add an order or contract.
#[utoipa::path(post, path = "/customers/{id}/contracts", tag = "customers", params(("id" = i64, Path)), request_body = ContractBody,
    responses((status = 201, body = ContractDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_contract(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ContractBody>,
) -> ApiResult<(StatusCode, Json<ContractDto>)> {
    let i = ContractInput {
        number: b.number,
        signed_on: b.signed_on,
        value: b.value,
        completed_on: b.completed_on,
        status: b.status,
    };
    Ok((StatusCode::CREATED, Json(st.svc.add_contract(&a.actor, id, &i).await?.into())))
}

#[derive(Serialize, ToSchema)]
pub struct ProductDto {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub model: String,
    pub warranty_months: i32,
    pub version: i64,
}

impl From<Product> for ProductDto {
    fn from(p: Product) -> Self {
        ProductDto {
            id: p.id,
            code: p.code,
            name: p.name,
            model: p.model,
            warranty_months: p.warranty_months,
            version: p.version,
        }
    }
}

/// The product catalogue.
#[utoipa::path(get, path = "/products", tag = "customers", responses((status = 200, body = Vec<ProductDto>)))]
pub async fn list_products(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<ProductDto>>> {
    Ok(Json(st.svc.products(&a.actor).await?.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    pub code: String,
    pub name: String,
    /// Model or specification (型号/规格).
    pub model: Option<String>,
    /// Default 12.
    pub warranty_months: Option<i32>,
}

/// Add a product.
#[utoipa::path(post, path = "/products", tag = "customers", request_body = ProductBody,
    responses((status = 201, body = ProductDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_product(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<ProductBody>,
) -> ApiResult<(StatusCode, Json<ProductDto>)> {
    let i = ProductInput { code: b.code, name: b.name, model: b.model, warranty_months: b.warranty_months };
    Ok((StatusCode::CREATED, Json(st.svc.create_product(&a.actor, &i).await?.into())))
}

#[derive(Serialize, ToSchema)]
pub struct ImportedDto {
    pub rows: usize,
}

#[derive(Serialize, ToSchema)]
pub struct RowErrorDto {
    /// Row as the spreadsheet numbers it (the header is row 1).
    pub row: usize,
    pub column: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportRejectedDto {
    pub error: ErrorDetail,
    /// Download the report at /api/v1/imports/{report_id}/report.csv. Only with rejected rows
    /// (code `import_rejected`); a bad `kind` or file is a plain error.
    #[schema(required = false)]
    pub report_id: i64,
    /// Only with rejected rows.
    #[schema(required = false)]
    pub errors: Vec<RowErrorDto>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// customers (default), contacts, assets or contracts
    pub kind: Option<String>,
}

/// Import a CSV or XLSX file (multipart field `file`). All rows or none: a file with any bad row
/// imports nothing and answers 422 with every bad row.
#[utoipa::path(post, path = "/customers/import", tag = "customers", params(ImportParams),
    request_body(content_type = "multipart/form-data", description = "field `file`: the CSV or XLSX file"),
    responses((status = 200, body = ImportedDto), (status = 422, body = ImportRejectedDto), (status = 400, body = ErrorBody)))]
pub async fn import(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ImportParams>,
    mut mp: Multipart,
) -> ApiResult<Response> {
    let sheet = Sheet::parse(q.kind.as_deref().unwrap_or("customers"))?;
    let mut file: Option<(String, Bytes)> = None;
    while let Some(field) = mp.next_field().await.map_err(|e| {
        ApiError::bad_request(
            Some("file".into()),
            loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
        )
    })? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload.csv").to_owned();
            let bytes = field.bytes().await.map_err(|e| {
                ApiError::bad_request(
                    Some("file".into()),
                    loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
                )
            })?;
            file = Some((name, bytes));
        }
    }
    let (name, bytes) = file.ok_or_else(|| ApiError::invalid("file", "errors.send_file_multipart_field_file"))?;
    let rows = tabular::read(&name, &bytes)?;
    Ok(match st.svc.import(&a.actor, sheet, &name, &rows, |_, _| {}).await? {
        ImportOutcome::Imported { rows } => (StatusCode::OK, Json(ImportedDto { rows })).into_response(),
        ImportOutcome::Rejected { report_id, errors } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ImportRejectedDto {
                error: ErrorDetail {
                    code: "import_rejected".into(),
                    message: format!("{} problem(s) found; nothing was imported", errors.len()),
                    field: Some("file".into()),
                },
                report_id,
                errors: errors
                    .into_iter()
                    .map(|e| RowErrorDto { row: e.row, column: e.column, reason: e.reason })
                    .collect(),
            }),
        )
            .into_response(),
    })
}

/// The report as CSV rows (row, column, reason), header in the given language.
pub fn report_csv(errors: &[RowError], chinese: bool) -> Result<Vec<u8>, loopdesk_service::ServiceError> {
    let mut rows = vec![if chinese {
        vec!["行号".to_owned(), "列".into(), "原因".into()]
    } else {
        vec!["Row".to_owned(), "Column".into(), "Reason".into()]
    }];
    rows.extend(errors.iter().map(|e| vec![e.row.to_string(), e.column.clone(), e.reason.clone()]));
    tabular::write_csv(&rows)
}

/// Download the per-row error report of a rejected import.
#[utoipa::path(get, path = "/imports/{id}/report.csv", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv"), (status = 404, body = ErrorBody)))]
pub async fn import_report(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Response> {
    let (_, _, errors) = st.svc.import_report(&a.actor, id).await?;
    let body = report_csv(&errors, a.user.locale != "en")?;
    Ok(download(body, "text/csv; charset=utf-8", &format!("import-report-{id}.csv")))
}

pub fn download(body: Vec<u8>, content_type: &'static str, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// customers (default), contacts, assets or contracts
    pub kind: Option<String>,
    /// csv (default) or xlsx
    pub format: Option<String>,
    /// zh-CN (default) or en headers; both import back.
    pub lang: Option<String>,
}

/// Export a ledger with the import's columns, so a round trip is lossless.
#[utoipa::path(get, path = "/customers/export", tag = "customers", params(ExportParams),
    responses((status = 200, description = "the file"), (status = 422, body = ErrorBody)))]
pub async fn export(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let sheet = Sheet::parse(q.kind.as_deref().unwrap_or("customers"))?;
    let format = Format::parse(q.format.as_deref().unwrap_or("csv"))?;
    let chinese = q.lang.as_deref() != Some("en");
    Ok(export_response(&st, &a.actor, sheet, format, chinese).await?)
}

pub async fn export_response(
    st: &AppState,
    actor: &loopdesk_domain::access::Actor,
    sheet: Sheet,
    format: Format,
    chinese: bool,
) -> Result<Response, loopdesk_service::ServiceError> {
    let rows = st.svc.export(actor, sheet, chinese).await?;
    let stamp = Utc::now().format("%Y%m%d");
    Ok(match format {
        Format::Csv => {
            download(tabular::write_csv(&rows)?, "text/csv; charset=utf-8", &format!("{}-{stamp}.csv", sheet.code()))
        }
        Format::Xlsx => download(
            tabular::write_xlsx(sheet.code(), &rows)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("{}-{stamp}.xlsx", sheet.code()),
        ),
    })
}
