//! The firmware model and its rules, free of HTTP and of storage: what a valid firmware type,
//! name, tag, digest or page request is, and the records the metadata layer persists.

pub mod accounts;
pub mod audit;
pub mod conflict;
pub mod ddi;
pub mod digest;
pub mod query;
pub mod records;
pub mod retention;
pub mod rules;
pub mod span;
pub mod trust;
pub mod usage;
pub mod version_range;

pub use accounts::*;
pub use conflict::ConflictKind;
pub use digest::Sha256Digest;
pub use query::{version_order, PageRequest, PoolQuery, SortDirection, SortField};
pub use records::*;
pub use rules::*;
pub use span::*;

/// A rule of the model was broken; each variant's text is the message the client sees.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("firmware type {0} is out of range: platform types are 1-100, MCU types 101-200")]
    TypeOutOfRange(i64),
    #[error(
        "firmware type 4 (DEVICE_DESCRIPTION) exists only under a device type, never in the pool"
    )]
    DeviceDescriptionInPool,
    #[error("{field} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("invalid paging: {0}")]
    InvalidPaging(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
}

impl DomainError {
    pub fn field(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}
