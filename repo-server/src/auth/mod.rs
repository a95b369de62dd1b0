//! Who a request acts for: OAuth clients (machines) and people (users with browser
//! sessions), and the partner/scope check every handler makes. Partner isolation is decided
//! here: another partner's resources are answered as if they did not exist.

mod clients;
mod passwords;
mod sessions;
mod throttle;
mod token_cache;
mod users;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use clients::IssuedToken;
pub use sessions::{NewSession, SessionConfig, UserSession, SESSION_COOKIE};
pub use throttle::{ThrottleLimit, IP_LIMIT, USERNAME_LIMIT};
pub use users::UserChange;

use crate::domain::{DomainError, Scope};
use crate::meta::{MetaError, MetaStore};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable credential: missing, malformed, unknown, expired, or its client revoked
    /// (tokens), or its user disabled (sessions).
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// The client id or secret is wrong, or the client is revoked.
    #[error("client authentication failed")]
    InvalidClient,
    /// Unknown username, wrong password or disabled user: one answer for all three.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// Too many failed sign-ins for this username or from this address.
    #[error("too many failed sign-in attempts; try again in {} s", retry_after.as_secs().max(1))]
    TooManyAttempts { retry_after: Duration },
    /// The token is valid but lacks the scope this operation needs.
    #[error("this operation needs the '{0}' scope")]
    MissingScope(&'static str),
    /// The token belongs to another partner (shown to the client as not found).
    #[error("not found")]
    OtherPartner,
    /// A client or user that does not exist, or belongs to another partner.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Bad input (username, password, scopes, description).
    #[error("{0}")]
    Invalid(String),
    /// The username is taken.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Meta(MetaError),
}

impl From<MetaError> for AuthError {
    fn from(error: MetaError) -> Self {
        match error {
            MetaError::NotFound(what) => AuthError::NotFound(what),
            MetaError::Conflict(detail) => AuthError::Conflict(detail),
            other => AuthError::Meta(other),
        }
    }
}

impl From<DomainError> for AuthError {
    fn from(error: DomainError) -> Self {
        AuthError::Invalid(error.to_string())
    }
}

/// Who acts: a machine with a client's token or a person signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Client(String),
    User(String),
}

/// Who a request acts for.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub partner: String,
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Allows the request when it is for this principal's own partner and the scope is held.
    pub fn authorize(&self, partner: &str, needed: Scope) -> Result<(), AuthError> {
        if self.partner != partner {
            return Err(AuthError::OtherPartner);
        }
        if !Scope::grants(&self.scopes, needed) {
            return Err(AuthError::MissingScope(needed.as_str()));
        }
        Ok(())
    }

    /// `client:<id>` or `user:<name>`, for logs.
    pub fn actor_id(&self) -> String {
        match &self.actor {
            Actor::Client(id) => format!("client:{id}"),
            Actor::User(name) => format!("user:{name}"),
        }
    }
}

pub struct Authenticator {
    meta: Arc<MetaStore>,
    token_lifetime: Duration,
    sessions: SessionConfig,
    throttle: throttle::LoginThrottle,
    hashing: passwords::HashGate,
    /// Verified against when the username is unknown, so timing does not tell which exist.
    dummy_phc: OnceLock<String>,
    tokens: token_cache::TokenCache,
}

impl Authenticator {
    pub fn new(meta: Arc<MetaStore>, token_lifetime: Duration, sessions: SessionConfig) -> Self {
        Authenticator {
            meta,
            token_lifetime,
            sessions,
            throttle: throttle::LoginThrottle::default(),
            hashing: passwords::HashGate::default(),
            dummy_phc: OnceLock::new(),
            tokens: token_cache::TokenCache::default(),
        }
    }

    pub fn session_config(&self) -> &SessionConfig {
        &self.sessions
    }
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// 32 random bytes, URL-safe base64: client secrets, access tokens, session cookies.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two hashes without an early exit.
fn same_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
pub(crate) fn test_authenticator(
    token_lifetime: Duration,
    sessions: SessionConfig,
) -> (tempfile::TempDir, Authenticator) {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(MetaStore::open(&dir.path().join("db"), false).unwrap());
    (dir, Authenticator::new(meta, token_lifetime, sessions))
}
