//! OAuth 2.0 client-credentials token answer (RFC 6749 §5.1) and the admin CLI's client record.

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

/// What `fwrepo-server client create --json` prints. The secret is shown once, never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub partner_id: String,
    pub scopes: Vec<String>,
}

/// One line of `fwrepo-server client list --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClientSummary {
    pub client_id: String,
    pub partner_id: String,
    pub scopes: Vec<String>,
    pub created_timestamp: u64,
    pub revoked: bool,
}
