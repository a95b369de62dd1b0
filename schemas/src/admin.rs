//! The admin API of a partner (scope `admin`): OAuth clients and people's accounts, under
//! `/v1/ota/partners/{partnerId}/admin`. Secrets appear once, in a creation answer; never a
//! hash or secret in a listing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Body of `POST .../admin/clients`. The answer is [`crate::ClientCredentials`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCreate {
    /// `ota:read`, `ota:write` and/or `admin` (admin implies write, write implies read).
    pub scopes: Vec<String>,
    /// What the client is for (at most 2000 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a person may do: `viewer` reads (`ota:read`), `maintainer` also writes
/// (`ota:write`), `admin` also manages types, clients and users (`admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Viewer,
    Maintainer,
    Admin,
}

/// Body of `POST .../admin/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    /// 1-64 characters of A-Z a-z 0-9 . _ -; unique across all partners.
    pub username: String,
    pub role: UserRole,
    /// 12-1024 characters, not the username. Stored only as an Argon2id hash.
    pub password: String,
}

/// Body of `PATCH .../admin/users/{username}`; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    /// `true` disables the user and ends its sessions at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<UserRole>,
}

/// A person's account (never its password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    pub username: String,
    pub partner_id: String,
    pub role: UserRole,
    pub disabled: bool,
    /// Milliseconds since the Unix epoch.
    pub created_timestamp: u64,
}
