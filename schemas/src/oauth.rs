//! OAuth 2.0 client-credentials token answer (RFC 6749 §5.1) and the client records the
//! admin CLI and the admin API answer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Answer of `POST /oauth/token`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// Space-separated scopes granted.
    pub scope: String,
}

/// What `fwrepo-server client create --json` prints and `POST .../admin/clients` answers.
/// The secret is shown once, never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub partner_id: String,
    pub scopes: Vec<String>,
}

/// One client of `fwrepo-server client list --json` and `GET .../admin/clients`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClientSummary {
    pub client_id: String,
    pub partner_id: String,
    pub scopes: Vec<String>,
    pub created_timestamp: u64,
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
