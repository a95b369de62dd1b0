//! RFC 9457 problem details: the one error body shape of the whole API.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An error answer (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// Stable URI naming the kind of error; clients match on this, never on `detail`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Human explanation of this occurrence.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// OAuth 2.0 error code (RFC 6749 §5.2), present on `/oauth/token` errors only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// On `in-use` (409) answers to a delete: what uses the record, at most 100 entries.
    #[serde(rename = "usedBy", default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<RecordUse>>,
    /// On `in-use` answers to a delete: how many uses there are in all.
    #[serde(
        rename = "usedByTotal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub used_by_total: Option<u64>,
}

/// One use of a record that keeps it from being deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordUse {
    /// `device-target`, `collection-target`, `device-current`, `device-type-association`,
    /// `push`, `ddi-action` or `collection-image`.
    pub kind: String,
    /// The device, collection, image or action id.
    pub id: String,
    /// The collection (devices, images) or device type (associations) or device (DDI
    /// actions) the id belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Media type of [`Problem`] bodies.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
