//! The audit log of a partner (scope `admin`), `GET /v1/ota/partners/{partnerId}/audit`:
//! who changed what, when, from where, and how it ended. Never a secret or token.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a logged request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// The change was committed, together with this entry.
    Applied,
    /// Refused (a 4xx answer): nothing changed.
    Refused,
    /// A server error (5xx): nothing changed.
    Failed,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditEntry {
    /// `<timestamp>-<sequence>`; entries are listed newest first in this order.
    pub id: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The same instant, RFC 3339 in UTC.
    pub time: String,
    /// `client:<id>`, `user:<name>`, `device:<controllerId>`, `gateway:<tokenId>` or
    /// `server:<task>` for changes the server makes on its own (e.g. retention runs).
    pub actor: String,
    /// `METHOD /route/{template}`, or the server task's operation.
    pub operation: String,
    /// The path acted on, with the record ids (never the query string).
    pub target: String,
    /// The client's address and port; absent for the server's own changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// The `X-Request-Id` of the answer, to find the request in the server log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The record the request created, named like its path under the partner
    /// (`pool/types/3/versionNumbers/17`, `collections/12/devices/d1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub outcome: AuditOutcome,
    /// The answer's status, when it was known at the time of writing (always for `refused`
    /// and `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; absent when the log is exhausted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
