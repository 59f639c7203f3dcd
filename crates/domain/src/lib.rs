//! Loopdesk's business rules as plain functions over plain data.
//!
//! Architecture invariant: this crate does no I/O. It knows nothing of HTTP, SQL, files or clocks
//! other than values passed in, so every rule here is unit-testable in isolation.

pub mod access;
pub mod audit;
pub mod calendar;
pub mod capa;
pub mod case;
pub mod case_record;
pub mod customer;
pub mod diff;
pub mod error;
pub mod followup;
#[cfg(test)]
mod fuzz;
pub mod import;
pub mod input;
pub mod kb;
pub mod locale;
pub mod notify;
pub mod org;
pub mod page;
pub mod process;
pub mod sanbao;
pub mod scope;
pub mod search;
pub mod service_order;
pub mod sla;
pub mod spare_parts;
pub mod survey;

pub use error::DomainError;
