//! The JSON API under `/api/v1`, described by the OpenAPI document at `/api/openapi.json`.

mod audit;
mod auth;
mod calendars;
pub(crate) mod case_record;
pub(crate) mod cases;
pub(crate) mod customers;
mod dto;
mod errors;
mod escalation;
mod followup;
mod limits;
mod org;
mod outbox;
mod reports;
mod scope;
mod search;
mod service;
mod surveys;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(title = "Loopdesk API", description = "Closed-loop customer care. Authenticate with `POST /api/v1/auth/token`, then send `Authorization: Bearer <token>`."),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The API routes and their OpenAPI description, built from the same handler annotations.
pub fn routes() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(auth::create_token))
        .routes(routes!(auth::me))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(org::list_users, org::create_user))
        .routes(routes!(org::get_user, org::patch_user))
        .routes(routes!(org::list_departments, org::create_department))
        .routes(routes!(org::get_department, org::patch_department, org::delete_department))
        .routes(routes!(scope::list_handling))
        .routes(routes!(scope::put_handled_types))
        .routes(routes!(audit::list_events))
        .routes(routes!(audit::verify))
        .routes(routes!(calendars::list_calendars))
        .routes(routes!(calendars::get_calendar, calendars::put_calendar))
        .routes(routes!(calendars::due))
        .routes(routes!(calendars::elapsed))
        .routes(routes!(calendars::load_official))
        .routes(routes!(calendars::notice))
        .routes(routes!(calendars::export_csv, calendars::import_csv))
        .routes(routes!(calendars::export_ics, calendars::import_ics))
        .routes(routes!(customers::list_customers, customers::create_customer))
        .routes(routes!(customers::get_customer, customers::patch_customer))
        .routes(routes!(customers::list_communications, customers::create_communication))
        .routes(routes!(customers::create_contact))
        .routes(routes!(customers::create_asset))
        .routes(routes!(customers::create_contract))
        .routes(routes!(customers::list_products, customers::create_product))
        .routes(routes!(customers::import))
        .routes(routes!(customers::import_report))
        .routes(routes!(customers::export))
        .routes(routes!(cases::list_cases, cases::create_case))
        .routes(routes!(cases::get_case, case_record::patch_case))
        .routes(routes!(case_record::reissue_tracking_code))
        .routes(routes!(case_record::export_cases))
        .routes(routes!(cases::transition))
        .routes(routes!(cases::history))
        .routes(routes!(cases::reportability))
        .routes(routes!(cases::merge))
        .routes(routes!(cases::list_tasks, cases::add_task))
        .routes(routes!(cases::answer_task))
        .routes(routes!(cases::review_task))
        .routes(routes!(cases::review_responsibility))
        .routes(routes!(cases::list_meetings, cases::record_meeting))
        .routes(routes!(cases::complete_action))
        .routes(routes!(cases::list_links, cases::add_link))
        .routes(routes!(cases::split))
        .routes(routes!(cases::list_categories, cases::add_category))
        .routes(routes!(cases::comment))
        .routes(routes!(cases::list_attachments, cases::attach))
        .routes(routes!(cases::download_attachment))
        .routes(routes!(cases::list_definitions))
        .routes(routes!(cases::put_definition))
        .routes(routes!(cases::put_kind_definition))
        .routes(routes!(cases::public_create))
        .routes(routes!(cases::public_status))
        .routes(routes!(cases::public_act))
        .routes(routes!(surveys::ahp))
        .routes(routes!(surveys::list_templates, surveys::create_template))
        .routes(routes!(surveys::get_template))
        .routes(routes!(surveys::list_plans, surveys::create_plan))
        .routes(routes!(surveys::list_campaigns, surveys::create_campaign))
        .routes(routes!(surveys::results))
        .routes(routes!(surveys::close))
        .routes(routes!(surveys::remind))
        .routes(routes!(surveys::export))
        .routes(routes!(surveys::put_kpis))
        .routes(routes!(surveys::classify))
        .routes(routes!(surveys::corrective_actions))
        .routes(routes!(reports::case_report))
        .routes(routes!(escalation::get_policies, escalation::put_policies))
        .routes(routes!(escalation::inbox))
        .routes(routes!(escalation::mark_read))
        .routes(routes!(escalation::mark_all_read))
        .routes(routes!(escalation::sla_report))
        .routes(routes!(outbox::list_outbox))
        .routes(routes!(outbox::get_outbox))
        .routes(routes!(outbox::retry_outbox))
        .routes(routes!(outbox::cancel_outbox))
        .routes(routes!(surveys::get_plan))
        .routes(routes!(surveys::period_results))
        .routes(routes!(surveys::period_export))
        .routes(routes!(surveys::list_kpis))
        .routes(routes!(surveys::period_corrective_action))
        .routes(routes!(search::search))
        .routes(routes!(followup::list_visits))
        .routes(routes!(followup::get_visit))
        .routes(routes!(followup::record_outcome))
        .routes(routes!(followup::assign))
        .routes(routes!(service::evaluate))
        .routes(routes!(service::list_orders, service::create_order))
        .routes(routes!(service::get_order))
        .routes(routes!(service::step))
        .routes(routes!(service::add_line))
        .routes(routes!(service::list_resends, service::create_resend))
        .routes(routes!(service::decide_resend))
        .routes(routes!(service::ship_resend))
        .routes(routes!(service::ledger, service::append_ledger))
        .routes(routes!(service::cost_facts))
        .routes(routes!(service::put_policy));
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1).split_for_parts();
    (
        router.layer(axum::middleware::from_fn(errors::json_errors)),
        limits::document_limits(errors::document_common_errors(doc)),
    )
}

/// Query-string parameters whose errors name the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        // PostgreSQL text cannot hold the NUL character: refuse it here, naming the parameter,
        // rather than fail in the database.
        if let Some((k, _)) = form_urlencoded_parse(q).find(|(_, v)| v.contains('\0')) {
            return Err(ApiError::invalid(k.into_owned(), "errors.must_not_contain_nul_character_2"));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(q));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.into_inner().to_string();
            let field = crate::extract::field_of(&path, &msg);
            ApiError::invalid(
                field.unwrap_or_else(|| "query".into()),
                loopdesk_domain::reason!("errors.bad_value", e = msg),
            )
        })
    }
}

fn form_urlencoded_parse(q: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(q.as_bytes())
}

#[cfg(test)]
mod openapi_tests;
