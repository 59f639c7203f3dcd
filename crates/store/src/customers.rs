//! Customers, contacts, products, assets, contracts, communications, counters and import reports.

use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::page::{Page, Paged};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};
use crate::org::updated;

/// A list of strings kept as JSON text (the same on both engines).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StrList(pub Vec<String>);

impl TryFrom<String> for StrList {
    type Error = serde_json::Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&s).map(StrList)
    }
}

impl StrList {
    pub fn json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }
}

/// Takes the next value of a gap-free counter inside the caller's transaction.
pub async fn next_counter(c: &mut Conn<'_>, name: &str, period: &str) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar(
        "INSERT INTO counters (name, period, value) VALUES ($1, $2, 1)
         ON CONFLICT (name, period) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .bind(name)
    .bind(period)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Customer {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub category: String,
    pub is_new: bool,
    pub region: String,
    pub address: String,
    #[sqlx(try_from = "String")]
    pub phones: StrList,
    #[sqlx(try_from = "String")]
    pub emails: StrList,
    #[sqlx(try_from = "String")]
    pub tags: StrList,
    pub owner_id: Option<i64>,
    pub notes: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CUSTOMER_COLS: &str = "id, code, name, kind, category, is_new, region, address, phones, emails, tags, owner_id, notes, version, created_at, updated_at";

/// Everything a customer row holds apart from identity and bookkeeping.
#[derive(Debug, Clone)]
pub struct CustomerFields {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub category: String,
    pub is_new: bool,
    pub region: String,
    pub address: String,
    pub phones: StrList,
    pub emails: StrList,
    pub tags: StrList,
    pub owner_id: Option<i64>,
    pub notes: String,
    /// Normalised name for the duplicate check.
    pub name_key: String,
    pub search_text: String,
}

pub async fn insert_customer(c: &mut Conn<'_>, f: &CustomerFields) -> StoreResult<Customer> {
    let now = Utc::now();
    let row: Customer = on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO customers (code, name, name_key, kind, category, is_new, region, address, phones, emails, tags, owner_id, notes, search_text, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15) RETURNING {CUSTOMER_COLS}"
    ))
    .bind(&f.code)
    .bind(&f.name)
    .bind(&f.name_key)
    .bind(&f.kind)
    .bind(&f.category)
    .bind(f.is_new)
    .bind(&f.region)
    .bind(&f.address)
    .bind(f.phones.json())
    .bind(f.emails.json())
    .bind(f.tags.json())
    .bind(f.owner_id)
    .bind(&f.notes)
    .bind(&f.search_text)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))?;
    crate::search::put(c, &crate::search::customer_doc(&row, &f.search_text)).await?;
    Ok(row)
}

pub async fn update_customer(c: &mut Conn<'_>, id: i64, version: i64, f: &CustomerFields) -> StoreResult<Customer> {
    let row: Option<Customer> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE customers SET code = $1, name = $2, name_key = $3, kind = $4, category = $5, is_new = $6, region = $7,
         address = $8, phones = $9, emails = $10, tags = $11, owner_id = $12, notes = $13, search_text = $14,
         version = version + 1, updated_at = $15 WHERE id = $16 AND version = $17 RETURNING {CUSTOMER_COLS}"
    ))
    .bind(&f.code)
    .bind(&f.name)
    .bind(&f.name_key)
    .bind(&f.kind)
    .bind(&f.category)
    .bind(f.is_new)
    .bind(&f.region)
    .bind(&f.address)
    .bind(f.phones.json())
    .bind(f.emails.json())
    .bind(f.tags.json())
    .bind(f.owner_id)
    .bind(&f.notes)
    .bind(&f.search_text)
    .bind(Utc::now())
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    let row = updated(c, "customers", id, row).await?;
    crate::search::put(c, &crate::search::customer_doc(&row, &f.search_text)).await?;
    Ok(row)
}

/// Refreshes the search text after contacts change (contact names are searchable).
pub async fn set_customer_search_text(c: &mut Conn<'_>, id: i64, text: &str) -> StoreResult<()> {
    on!(c, e => sqlx::query("UPDATE customers SET search_text = $1 WHERE id = $2")
        .bind(text)
        .bind(id)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))?;
    let k = customer(c, id).await?;
    crate::search::put(c, &crate::search::customer_doc(&k, text)).await
}

/// The text the customer list searches, for rebuilding the customer's search document.
pub async fn customer_search_text(c: &mut Conn<'_>, id: i64) -> StoreResult<String> {
    on!(c, e => sqlx::query_scalar("SELECT search_text FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn customer(c: &mut Conn<'_>, id: i64) -> StoreResult<Customer> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn customer_by_code(c: &mut Conn<'_>, code: &str) -> StoreResult<Customer> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CUSTOMER_COLS} FROM customers WHERE code = $1"))
        .bind(code)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Customers that could be duplicates of a new one: same code or same normalised name.
pub async fn duplicate_candidates(c: &mut Conn<'_>, code: Option<&str>, name_key: &str) -> StoreResult<Vec<Customer>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {CUSTOMER_COLS} FROM customers WHERE name_key = $1 OR code = $2 ORDER BY id LIMIT 50"
    ))
    .bind(name_key)
    .bind(code)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Matches code, name, phones and contact names anywhere (works for Chinese text).
    pub q: Option<String>,
    pub region: Option<String>,
    pub category: Option<String>,
    pub owner_id: Option<i64>,
    pub is_new: Option<bool>,
}

const CUSTOMER_WHERE: &str = "($1 IS NULL OR search_text LIKE $1) AND ($2 IS NULL OR region = $2)
     AND ($3 IS NULL OR category = $3) AND ($4 IS NULL OR owner_id = $4) AND ($5 IS NULL OR is_new = $5)";

pub async fn customers(c: &mut Conn<'_>, f: &CustomerFilter, page: Page) -> StoreResult<Paged<Customer>> {
    let q = f.q.as_ref().map(|q| format!("%{}%", q.trim().to_lowercase().replace(['%', '_'], "")));
    let total: i64 = on!(c, e => sqlx::query_scalar(sql!("SELECT COUNT(*) FROM customers WHERE {CUSTOMER_WHERE}"))
        .bind(&q)
        .bind(&f.region)
        .bind(&f.category)
        .bind(f.owner_id)
        .bind(f.is_new)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    let items: Vec<Customer> = on!(c, e => sqlx::query_as(sql!(
        "SELECT {CUSTOMER_COLS} FROM customers WHERE {CUSTOMER_WHERE} ORDER BY code LIMIT $6 OFFSET $7"
    ))
    .bind(&q)
    .bind(&f.region)
    .bind(&f.category)
    .bind(f.owner_id)
    .bind(f.is_new)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(Paged { items, total, page: page.page, per_page: page.per_page, total_is_lower_bound: false })
}

/// The distinct regions in use, for filter menus.
pub async fn regions(c: &mut Conn<'_>) -> StoreResult<Vec<String>> {
    on!(c, e => sqlx::query_scalar("SELECT DISTINCT region FROM customers WHERE region <> '' ORDER BY region LIMIT 500")
        .fetch_all(e)
        .await
        .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Contact {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub title: String,
    #[sqlx(try_from = "String")]
    pub phones: StrList,
    pub email: String,
    pub is_primary: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CONTACT_COLS: &str = "id, customer_id, name, title, phones, email, is_primary, version, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct ContactFields {
    pub customer_id: i64,
    pub name: String,
    pub title: String,
    pub phones: StrList,
    pub email: String,
    pub is_primary: bool,
}

pub async fn insert_contact(c: &mut Conn<'_>, f: &ContactFields) -> StoreResult<Contact> {
    if f.is_primary {
        clear_primary(c, f.customer_id).await?;
    }
    let now = Utc::now();
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO contacts (customer_id, name, title, phones, email, is_primary, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING {CONTACT_COLS}"
    ))
    .bind(f.customer_id)
    .bind(&f.name)
    .bind(&f.title)
    .bind(f.phones.json())
    .bind(&f.email)
    .bind(f.is_primary)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

async fn clear_primary(c: &mut Conn<'_>, customer_id: i64) -> StoreResult<()> {
    on!(c, e => sqlx::query("UPDATE contacts SET is_primary = FALSE, version = version + 1 WHERE customer_id = $1 AND is_primary")
        .bind(customer_id)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))
}

pub async fn contacts(c: &mut Conn<'_>, customer_id: i64) -> StoreResult<Vec<Contact>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {CONTACT_COLS} FROM contacts WHERE customer_id = $1 ORDER BY is_primary DESC, id"
    ))
    .bind(customer_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Product {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub model: String,
    pub warranty_months: i32,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const PRODUCT_COLS: &str = "id, code, name, model, warranty_months, version, created_at, updated_at";

pub async fn insert_product(
    c: &mut Conn<'_>,
    code: &str,
    name: &str,
    model: &str,
    warranty_months: i32,
) -> StoreResult<Product> {
    let now = Utc::now();
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO products (code, name, model, warranty_months, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING {PRODUCT_COLS}"
    ))
    .bind(code)
    .bind(name)
    .bind(model)
    .bind(warranty_months)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn products(c: &mut Conn<'_>) -> StoreResult<Vec<Product>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {PRODUCT_COLS} FROM products ORDER BY code LIMIT 5000"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn product_by_code(c: &mut Conn<'_>, code: &str) -> StoreResult<Product> {
    on!(c, e => sqlx::query_as(sql!("SELECT {PRODUCT_COLS} FROM products WHERE code = $1"))
        .bind(code)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn product(c: &mut Conn<'_>, id: i64) -> StoreResult<Product> {
    on!(c, e => sqlx::query_as(sql!("SELECT {PRODUCT_COLS} FROM products WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Asset {
    pub id: i64,
    pub customer_id: i64,
    pub product_id: i64,
    pub serial: String,
    pub ship_date: Option<NaiveDate>,
    pub warranty_end: Option<NaiveDate>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ASSET_COLS: &str =
    "id, customer_id, product_id, serial, ship_date, warranty_end, version, created_at, updated_at";

pub async fn insert_asset(
    c: &mut Conn<'_>,
    customer_id: i64,
    product_id: i64,
    serial: &str,
    ship_date: Option<NaiveDate>,
    warranty_end: Option<NaiveDate>,
) -> StoreResult<Asset> {
    let now = Utc::now();
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO assets (customer_id, product_id, serial, ship_date, warranty_end, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING {ASSET_COLS}"
    ))
    .bind(customer_id)
    .bind(product_id)
    .bind(serial)
    .bind(ship_date)
    .bind(warranty_end)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn assets(c: &mut Conn<'_>, customer_id: i64) -> StoreResult<Vec<Asset>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {ASSET_COLS} FROM assets WHERE customer_id = $1 ORDER BY id"))
        .bind(customer_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Contract {
    pub id: i64,
    pub number: String,
    pub customer_id: i64,
    pub signed_on: NaiveDate,
    pub value_fen: i64,
    pub completed_on: Option<NaiveDate>,
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CONTRACT_COLS: &str =
    "id, number, customer_id, signed_on, value_fen, completed_on, status, version, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct ContractFields {
    pub number: String,
    pub customer_id: i64,
    pub signed_on: NaiveDate,
    pub value_fen: i64,
    pub completed_on: Option<NaiveDate>,
    pub status: String,
}

pub async fn insert_contract(c: &mut Conn<'_>, f: &ContractFields) -> StoreResult<Contract> {
    let now = Utc::now();
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO contracts (number, customer_id, signed_on, value_fen, completed_on, status, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING {CONTRACT_COLS}"
    ))
    .bind(&f.number)
    .bind(f.customer_id)
    .bind(f.signed_on)
    .bind(f.value_fen)
    .bind(f.completed_on)
    .bind(&f.status)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn contracts(c: &mut Conn<'_>, customer_id: i64) -> StoreResult<Vec<Contract>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CONTRACT_COLS} FROM contracts WHERE customer_id = $1 ORDER BY signed_on DESC, id"))
        .bind(customer_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Communication {
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COMM_COLS: &str =
    "id, customer_id, contact_id, occurred_at, channel, direction, stage, subject, content, staff_id,
    follow_up, follow_up_due, follow_up_done_at, case_id, version, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct CommunicationFields {
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
    pub case_id: Option<i64>,
}

pub async fn insert_communication(c: &mut Conn<'_>, f: &CommunicationFields) -> StoreResult<Communication> {
    let now = Utc::now();
    let row: Communication = on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO communications (customer_id, contact_id, occurred_at, channel, direction, stage, subject, content, staff_id,
         follow_up, follow_up_due, case_id, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13) RETURNING {COMM_COLS}"
    ))
    .bind(f.customer_id)
    .bind(f.contact_id)
    .bind(f.occurred_at)
    .bind(&f.channel)
    .bind(&f.direction)
    .bind(&f.stage)
    .bind(&f.subject)
    .bind(&f.content)
    .bind(f.staff_id)
    .bind(f.follow_up)
    .bind(f.follow_up_due)
    .bind(f.case_id)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))?;
    let d = crate::search::communication_doc(c, &row).await?;
    crate::search::put(c, &d).await?;
    Ok(row)
}

pub async fn communication(c: &mut Conn<'_>, id: i64) -> StoreResult<Communication> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COMM_COLS} FROM communications WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn communications(c: &mut Conn<'_>, customer_id: i64, page: Page) -> StoreResult<Paged<Communication>> {
    let total: i64 = on!(c, e => sqlx::query_scalar("SELECT COUNT(*) FROM communications WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    let items = on!(c, e => sqlx::query_as(sql!(
        "SELECT {COMM_COLS} FROM communications WHERE customer_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(customer_id)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(Paged { items, total, page: page.page, per_page: page.per_page, total_is_lower_bound: false })
}

/// Follow-ups still open for a staff member, earliest due first.
pub async fn open_follow_ups(c: &mut Conn<'_>, staff_id: i64) -> StoreResult<Vec<Communication>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {COMM_COLS} FROM communications WHERE staff_id = $1 AND follow_up AND follow_up_done_at IS NULL
         ORDER BY follow_up_due, id LIMIT 200"
    ))
    .bind(staff_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

pub async fn close_follow_up(c: &mut Conn<'_>, id: i64, version: i64, at: DateTime<Utc>) -> StoreResult<Communication> {
    let row: Option<Communication> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE communications SET follow_up_done_at = $1, version = version + 1, updated_at = $1
         WHERE id = $2 AND version = $3 RETURNING {COMM_COLS}"
    ))
    .bind(at)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "communications", id, row).await
}

pub async fn insert_import_report(
    c: &mut Conn<'_>,
    kind: &str,
    file_name: &str,
    created_by: Option<i64>,
    errors_json: &str,
) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar(
        "INSERT INTO import_reports (kind, file_name, created_by, created_at, errors) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(kind)
    .bind(file_name)
    .bind(created_by)
    .bind(Utc::now())
    .bind(errors_json)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// (kind, file name, creator, errors JSON)
pub async fn import_report(c: &mut Conn<'_>, id: i64) -> StoreResult<(String, String, Option<i64>, String)> {
    on!(c, e => sqlx::query_as("SELECT kind, file_name, created_by, errors FROM import_reports WHERE id = $1")
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// All rows of a customer-file list for export, in code order, in pages of `limit`.
pub async fn customers_after(c: &mut Conn<'_>, after_code: &str, limit: i64) -> StoreResult<Vec<Customer>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CUSTOMER_COLS} FROM customers WHERE code > $1 ORDER BY code LIMIT $2"))
        .bind(after_code)
        .bind(limit)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// Whether a unique key is taken, checked before inserting so a bad import row does not abort
/// the PostgreSQL transaction the good rows are in.
pub async fn contract_number_taken(c: &mut Conn<'_>, number: &str) -> StoreResult<bool> {
    let n: i64 = on!(c, e => sqlx::query_scalar("SELECT COUNT(*) FROM contracts WHERE number = $1")
        .bind(number)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    Ok(n > 0)
}

pub async fn asset_taken(c: &mut Conn<'_>, product_id: i64, serial: &str) -> StoreResult<bool> {
    let n: i64 = on!(c, e => sqlx::query_scalar("SELECT COUNT(*) FROM assets WHERE product_id = $1 AND serial = $2")
        .bind(product_id)
        .bind(serial)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    Ok(n > 0)
}

/// Reserves `n` consecutive counter values in one statement; returns the last one.
pub async fn reserve_counter(c: &mut Conn<'_>, name: &str, period: &str, n: i64) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar(
        "INSERT INTO counters (name, period, value) VALUES ($1, $2, $3)
         ON CONFLICT (name, period) DO UPDATE SET value = counters.value + $3 RETURNING value",
    )
    .bind(name)
    .bind(period)
    .bind(n)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// (id, code, name, name_key, phones) of every customer: what a bulk duplicate check needs.
pub async fn dedupe_index(c: &mut Conn<'_>) -> StoreResult<Vec<(i64, String, String, String, StrList)>> {
    let rows: Vec<(i64, String, String, String, String)> = on!(c, e => sqlx::query_as("SELECT id, code, name, name_key, phones FROM customers")
            .fetch_all(e)
            .await
            .map_err(map_err))?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name, key, phones)| (id, code, name, key, StrList::try_from(phones).unwrap_or_default()))
        .collect())
}

/// Inserts many customers with few statements; returns them in input order.
pub async fn insert_customers(c: &mut Conn<'_>, rows: &[CustomerFields]) -> StoreResult<Vec<Customer>> {
    const COLS: usize = 15;
    let now = Utc::now();
    let mut out = Vec::with_capacity(rows.len());
    let per = c.rows_per_insert(COLS);
    for chunk in rows.chunks(per) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p: Vec<String> = (1..=COLS).map(|k| format!("${}", i * COLS + k)).collect();
                format!("({}, 1, {}, {})", p[..14].join(", "), p[14], p[14])
            })
            .collect();
        let sql = format!(
            "INSERT INTO customers (code, name, name_key, kind, category, is_new, region, address, phones, emails, tags, owner_id, notes, search_text, version, created_at, updated_at)
             VALUES {} RETURNING {CUSTOMER_COLS}",
            values.join(", ")
        );
        let inserted: Vec<Customer> = on!(c, e => {
            let mut q = sqlx::query_as::<_, Customer>(sqlx::AssertSqlSafe(sql.as_str()));
            for f in chunk {
                q = q
                    .bind(&f.code)
                    .bind(&f.name)
                    .bind(&f.name_key)
                    .bind(&f.kind)
                    .bind(&f.category)
                    .bind(f.is_new)
                    .bind(&f.region)
                    .bind(&f.address)
                    .bind(f.phones.json())
                    .bind(f.emails.json())
                    .bind(f.tags.json())
                    .bind(f.owner_id)
                    .bind(&f.notes)
                    .bind(&f.search_text)
                    .bind(now);
            }
            q.fetch_all(e).await.map_err(map_err)
        })?;
        // RETURNING order is not promised by SQL: match rows back by their unique code.
        let mut by_code: std::collections::HashMap<String, Customer> =
            inserted.into_iter().map(|k| (k.code.clone(), k)).collect();
        for f in chunk {
            out.push(by_code.remove(&f.code).ok_or(crate::StoreError::NotFound)?);
        }
    }
    let docs = out.iter().zip(rows).map(|(k, f)| crate::search::customer_doc(k, &f.search_text)).collect();
    crate::search::put_many(c, docs).await?;
    Ok(out)
}
