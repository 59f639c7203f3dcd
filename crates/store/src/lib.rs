//! Loopdesk persistence: one concrete [`Store`] over native sqlx pools for SQLite and PostgreSQL.
//!
//! Architecture invariant: no business rules here. Functions read and write rows; the service
//! layer decides what may be written and owns the transaction. SQL is shared between the engines
//! wherever the dialects agree; the places that differ are marked `ENGINE:`.

mod conn;
mod error;

pub mod audit;
pub mod auth;
pub mod bulk;
pub mod calendars;
pub mod canned;
pub mod cases;
pub mod customers;
pub mod destinations;
pub mod due_items;
pub mod escalation;
pub mod followup;
pub mod kb;
pub mod org;
pub mod outbox;
pub mod scope;
pub mod search;
pub mod service_orders;
pub mod spare_parts;
pub mod surveys;
pub mod throttle;

pub use conn::{Conn, DEFAULT_MIN_FREE_BYTES, Engine, ReadHandle, Savepoint, Store, StoreOptions, Tx};
pub use error::{StoreError, StoreResult};
