//! The customer portal's logic shared by its JSON API and its pages: submitting a case without an
//! account and following it with the number plus the tracking code.

use std::collections::BTreeMap;

use loopdesk_domain::DomainError;
use loopdesk_domain::access::Actor;
use loopdesk_domain::locale::Locale;
use loopdesk_service::ServiceError;
use loopdesk_service::cases::{CaseInput, Created};

use crate::AppState;
use crate::api::cases::{PublicCaseDto, PublicStepDto};

/// What a customer types into the public form.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub case_type: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub company: String,
    pub product_code: String,
    pub model: String,
    pub serial: String,
    pub subject: String,
    pub description: String,
    pub locale: Option<String>,
}

/// Case types a customer may open (the employee channel is internal).
pub const PUBLIC_TYPES: [&str; 6] = ["complaint", "inquiry", "suggestion", "service_request", "return", "praise"];

fn portal_actor() -> Actor {
    Actor::portal()
}

pub async fn submit(st: &AppState, addr: &str, s: Submission) -> Result<Created, ServiceError> {
    if !PUBLIC_TYPES.contains(&s.case_type.trim()) {
        return Err(DomainError::invalid(
            "type",
            loopdesk_domain::reason!("errors.must_one_7", public_types = PUBLIC_TYPES.join(", ")),
        )
        .into());
    }
    let name = loopdesk_domain::org::required_text("name", &s.name, 100)?;
    if s.phone.trim().is_empty() && s.email.trim().is_empty() {
        return Err(DomainError::invalid("phone", "errors.give_phone_number_e_mail").into());
    }
    if !s.email.trim().is_empty() {
        loopdesk_domain::customer::parse_emails("email", &s.email)?;
    }
    if !s.phone.trim().is_empty() {
        loopdesk_domain::customer::parse_phones("phone", &s.phone)?;
    }
    st.svc.portal_throttle("submit", addr).await?;
    let contact = if s.company.trim().is_empty() { name } else { format!("{name}（{}）", s.company.trim()) };
    let nonempty = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let input = CaseInput {
        case_type: s.case_type.trim().into(),
        contact_name: Some(contact),
        contact_phone: nonempty(&s.phone),
        contact_email: nonempty(&s.email),
        channel: Some("portal".into()),
        product_code: nonempty(&s.product_code),
        model: nonempty(&s.model),
        serial: nonempty(&s.serial),
        subject: s.subject,
        description: s.description,
        locale: s.locale,
        ..Default::default()
    };
    st.svc.create_case(&portal_actor(), &input).await
}

/// Throttles failed look-ups so numbers cannot be paired with guessed codes at speed.
async fn guarded<T>(st: &AppState, addr: &str, r: Result<T, ServiceError>) -> Result<T, ServiceError> {
    if let Err(ServiceError::Domain(DomainError::NotFound { .. })) = &r {
        st.svc.portal_throttle("lookup", addr).await?;
    }
    r
}

/// The customer's evidence upload, throttled like the other look-ups.
pub async fn evidence(
    st: &AppState,
    addr: &str,
    number: &str,
    code: &str,
    file_name: &str,
    data: &[u8],
) -> Result<(), ServiceError> {
    guarded(st, addr, st.svc.add_portal_evidence(number, code, file_name, data).await).await.map(|_| ())
}

pub async fn status(st: &AppState, addr: &str, number: &str, code: &str) -> Result<PublicCaseDto, ServiceError> {
    let (k, events, def) = guarded(st, addr, st.svc.public_case(number, code).await).await?;
    let zh = Locale::parse(&k.locale) != Some(Locale::En);
    let name = |code: &str| {
        def.state(code).map(|s| if zh { s.zh.clone() } else { s.en.clone() }).unwrap_or_else(|| code.to_owned())
    };
    let steps = events
        .iter()
        .map(|e| PublicStepDto {
            at: e.at,
            state: if e.to_state.is_empty() { String::new() } else { name(&e.to_state) },
            text: e.body.clone(),
        })
        .collect();
    let actions = def.from_state(&k.state).filter(|t| t.customer).map(|t| t.code.clone()).collect();
    Ok(PublicCaseDto {
        number: k.number,
        subject: k.subject,
        state: name(&k.state),
        state_code: k.state.clone(),
        received_at: k.received_at,
        closed: k.closed_at.is_some(),
        steps,
        actions,
    })
}

pub async fn act(
    st: &AppState,
    addr: &str,
    number: &str,
    code: &str,
    action: &str,
    fields: &BTreeMap<String, String>,
) -> Result<(), ServiceError> {
    guarded(st, addr, st.svc.public_action(number, code, action, fields).await).await.map(|_| ())
}
