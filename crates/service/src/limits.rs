//! The text limits the service enforces, in one place (issue #13 item 15). The use cases check
//! input against these constants and the web layer's OpenAPI builder reads the same constants
//! (`web::api::limits`), so the document and the server cannot drift apart.
//!
//! Lengths are counted in Unicode scalar values (what JSON Schema's `maxLength` counts) on the text
//! as sent, before trimming: a text padded past the limit is refused even when trimming would bring
//! it under.

/// Customer files and everything hanging from them.
pub mod customers {
    pub const NAME: usize = 200;
    /// Customer and product codes (1–32 letters, digits, `-`, `_`, `.`).
    pub const CODE: usize = 32;
    pub const REGION: usize = 100;
    pub const ADDRESS: usize = 300;
    pub const TAG: usize = 40;
    pub const NOTES: usize = 4000;
    pub const CONTACT_NAME: usize = 100;
    pub const CONTACT_TITLE: usize = 100;
    pub const SERIAL: usize = 100;
    pub const CONTRACT_NUMBER: usize = 64;
    pub const COMMUNICATION_SUBJECT: usize = 200;
    pub const COMMUNICATION_CONTENT: usize = 20_000;
    pub const PRODUCT_NAME: usize = 200;
    pub const PRODUCT_MODEL: usize = 100;
    pub const WARRANTY_MONTHS_MAX: i32 = 240;
}

/// Survey campaigns and answers.
pub mod surveys {
    pub const PLAN_NAME: usize = 200;
    pub const CAMPAIGN_NAME: usize = 200;
    pub const ANSWER_CATEGORY: usize = 64;
    pub const ANSWER_TEXT: usize = 4000;
}

/// Business calendars.
pub mod calendars {
    pub const NAME: usize = 100;
}

/// Department tasks, meetings and comments of a case.
pub mod cases {
    pub const TASK_QUESTION: usize = 4000;
    pub const TASK_ANSWER: usize = 8000;
    pub const MEETING_ATTENDEES: usize = 2000;
    pub const ACTION_DESCRIPTION: usize = 2000;
    pub const COMMENT: usize = 20_000;
}

/// Filters of the outbox list.
pub mod outbox {
    pub const RECIPIENT_FILTER: usize = crate::notify::RECIPIENT_FILTER_MAX;
}

/// `DomainError` when `text` (as sent, before trimming) is longer than `max` characters.
pub fn check_len(field: &str, text: &str, max: usize) -> Result<(), loopdesk_domain::DomainError> {
    if text.chars().count() > max {
        Err(loopdesk_domain::DomainError::invalid(field, format!("demo.err.too_long|max={max}")))
    } else {
        Ok(())
    }
}
