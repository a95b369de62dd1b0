//! The fwrepo API contract: every JSON body the server accepts or answers, as serde types.
//! Server and build plugin both depend on this crate; neither defines wire types of its own.
//! The JSON Schemas in `schemas/json/` and the components of `schemas/openapi.yaml` are
//! generated from these types (see [`generate`]); a test fails when the committed files drift.

pub mod admin;
pub mod afero;
pub mod audit;
pub mod ddi;
pub mod generate;
pub mod oauth;
pub mod page;
pub mod problem;
pub mod retention;
pub mod span;
pub mod trust;

pub use admin::*;
pub use afero::*;
pub use audit::*;
pub use ddi::*;
pub use oauth::*;
pub use page::*;
pub use problem::*;
pub use retention::*;
pub use span::*;
pub use trust::*;

/// The OpenAPI document served at `/openapi.yaml`, exactly as committed.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// Largest page a list endpoint answers; larger `size` values are a 400.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Page size when the request names none.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
