//! The text limits of request bodies and query parameters, written into the OpenAPI document from
//! the constants the service checks input against (`loopdesk_service::limits`), so the document
//! says what the server enforces and cannot drift from it (issue #13 item 15).

use loopdesk_service::limits::{calendars as cal, cases as k, customers as c, outbox as o, surveys as s};
use utoipa::openapi::schema::{ArrayItems, Object, Schema};
use utoipa::openapi::{OpenApi, RefOr};

/// Text holding no control character other than whitespace. Fields read as one line of text
/// (names, subjects, numbers) refuse every control character that trimming does not remove, so a
/// text outside this pattern is always refused.
pub(crate) const NO_CONTROL: &str = r"^[^\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F]*$";

/// What a text field accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text {
    pub min: usize,
    pub max: Option<usize>,
    /// One line of text: control characters are refused (see [`NO_CONTROL`]).
    pub plain: bool,
}

/// A required one-line text (`required_text`: not blank, no control character).
const fn name(max: usize) -> Text {
    Text { min: 1, max: Some(max), plain: true }
}
/// An optional one-line text (may be empty).
const fn line(max: usize) -> Text {
    Text { min: 0, max: Some(max), plain: true }
}
/// Free text (several lines) of at most `max` characters.
const fn free(max: usize) -> Text {
    Text { min: 0, max: Some(max), plain: false }
}
/// Free text that may not be blank.
const fn required_free(max: Option<usize>) -> Text {
    Text { min: 1, max, plain: false }
}

/// (component schema, property, what it accepts). For an array property the limit is each item's.
pub(crate) const BODIES: &[(&str, &str, Text)] = &[
    ("CustomerBody", "code", line(c::CODE)),
    ("CustomerBody", "name", name(c::NAME)),
    ("CustomerBody", "region", line(c::REGION)),
    ("CustomerBody", "address", line(c::ADDRESS)),
    ("CustomerBody", "tags", free(c::TAG)),
    ("CustomerBody", "notes", free(c::NOTES)),
    ("CustomerPatchBody", "code", line(c::CODE)),
    ("CustomerPatchBody", "name", name(c::NAME)),
    ("CustomerPatchBody", "region", line(c::REGION)),
    ("CustomerPatchBody", "address", line(c::ADDRESS)),
    ("CustomerPatchBody", "tags", free(c::TAG)),
    ("CustomerPatchBody", "notes", free(c::NOTES)),
    ("ContactBody", "name", name(c::CONTACT_NAME)),
    ("ContactBody", "title", line(c::CONTACT_TITLE)),
    ("AssetBody", "serial", name(c::SERIAL)),
    ("ContractBody", "number", name(c::CONTRACT_NUMBER)),
    ("CommunicationBody", "subject", name(c::COMMUNICATION_SUBJECT)),
    ("CommunicationBody", "content", free(c::COMMUNICATION_CONTENT)),
    ("ProductBody", "code", name(c::CODE)),
    ("ProductBody", "name", name(c::PRODUCT_NAME)),
    ("ProductBody", "model", line(c::PRODUCT_MODEL)),
    ("CampaignBody", "name", name(s::CAMPAIGN_NAME)),
    ("ClassifyBody", "category", name(s::ANSWER_CATEGORY)),
    ("CalendarBody", "name", name(cal::NAME)),
    ("TaskBody", "question", name(k::TASK_QUESTION)),
    ("AnswerBody", "answer", name(k::TASK_ANSWER)),
    ("MeetingBody", "attendees", name(k::MEETING_ATTENDEES)),
    ("MeetingBody", "minutes", required_free(None)),
    ("ActionBody", "description", name(k::ACTION_DESCRIPTION)),
    ("CommentBody", "body", required_free(Some(k::COMMENT))),
];

/// (component schema, property, minimum, maximum) of integers.
pub(crate) const RANGES: &[(&str, &str, i64, i64)] =
    &[("ProductBody", "warranty_months", 0, c::WARRANTY_MONTHS_MAX as i64)];

/// (path, query parameter, what it accepts).
pub(crate) const QUERIES: &[(&str, &str, Text)] = &[("/api/v1/outbox", "recipient", free(o::RECIPIENT_FILTER))];

fn apply(o: &mut Object, t: Text) {
    o.max_length = t.max.or(o.max_length);
    if t.min > 0 {
        o.min_length = Some(t.min);
    }
    if t.plain {
        o.pattern = Some(NO_CONTROL.to_owned());
    }
}

/// The string schemas a property stands for: itself, an array's items, or a nullable variant.
fn apply_schema(schema: &mut RefOr<Schema>, t: Text) -> bool {
    match schema {
        RefOr::T(Schema::Object(o)) => {
            apply(o, t);
            true
        }
        RefOr::T(Schema::Array(a)) => match &mut a.items {
            ArrayItems::RefOrSchema(items) => apply_schema(items, t),
            _ => false,
        },
        RefOr::T(Schema::OneOf(one)) => {
            // Every alternative gets the limit; found if any of them has the field.
            let mut found = false;
            for i in &mut one.items {
                found |= apply_schema(i, t);
            }
            found
        }
        _ => false,
    }
}

fn property<'a>(doc: &'a mut OpenApi, schema: &str, field: &str) -> &'a mut RefOr<Schema> {
    let component = doc.components.as_mut().and_then(|c| c.schemas.get_mut(schema));
    match component {
        Some(RefOr::T(Schema::Object(o))) => match o.properties.get_mut(field) {
            Some(p) => p,
            None => panic!("limits: {schema} has no property {field}"),
        },
        _ => panic!("limits: no schema {schema}"),
    }
}

/// Writes every limit of the tables above into the document. A table naming a schema, property
/// or parameter the document lacks is a programming error caught by the OpenAPI tests.
pub(super) fn document_limits(mut doc: OpenApi) -> OpenApi {
    for &(schema, field, t) in BODIES {
        let p = property(&mut doc, schema, field);
        assert!(apply_schema(p, t), "limits: {schema}.{field} is not a string");
    }
    for &(schema, field, min, max) in RANGES {
        match property(&mut doc, schema, field) {
            RefOr::T(Schema::Object(o)) => {
                o.minimum = Some(min.into());
                o.maximum = Some(max.into());
            }
            _ => panic!("limits: {schema}.{field} is not a number"),
        }
    }
    for &(path, name, t) in QUERIES {
        let op = doc.paths.paths.get_mut(path).and_then(|item| item.get.as_mut());
        let params = op.and_then(|op| op.parameters.as_mut());
        let param = params.and_then(|ps| {
            ps.iter_mut().find_map(|p| match p {
                RefOr::T(p) if p.name == name => Some(p),
                _ => None,
            })
        });
        match param.and_then(|p| p.schema.as_mut()) {
            Some(s) => assert!(apply_schema(s, t), "limits: {path} {name} is not a string"),
            None => panic!("limits: {path} has no query parameter {name}"),
        }
    }
    doc
}
