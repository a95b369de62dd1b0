//! OAuth 2.0 client credentials: issuing bearer tokens to registered clients and resolving
//! a bearer token to the partner and scopes it acts for. Partner isolation is decided here:
//! a request for another partner's path is answered as if the path did not exist.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::{ClientRecord, Scope, TokenRecord};
use crate::meta::{now_ms, MetaError, MetaStore};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable token: missing, malformed, unknown, expired, or its client revoked.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// The client id or secret is wrong, or the client is revoked.
    #[error("client authentication failed")]
    InvalidClient,
    /// The token is valid but lacks the scope this operation needs.
    #[error("this operation needs the '{0}' scope")]
    MissingScope(&'static str),
    /// The token belongs to another partner (shown to the client as not found).
    #[error("not found")]
    OtherPartner,
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// Who a request acts for.
#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: String,
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
}

/// An issued token: shown once to the client, stored only as a hash.
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: Duration,
    pub scopes: Vec<Scope>,
}

pub struct Authenticator {
    meta: Arc<MetaStore>,
    token_lifetime: Duration,
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// 32 random bytes, URL-safe base64: used for client secrets and access tokens.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two hashes without an early exit.
fn same_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Authenticator {
    pub fn new(meta: Arc<MetaStore>, token_lifetime: Duration) -> Self {
        Authenticator {
            meta,
            token_lifetime,
        }
    }

    /// Registers a client; answers the record and its secret (shown once).
    pub fn create_client(
        &self,
        partner: &str,
        scopes: Vec<Scope>,
    ) -> Result<(ClientRecord, String), AuthError> {
        let mut id_bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut id_bytes);
        let secret = random_secret();
        let client = ClientRecord {
            client_id: format!("fwc_{}", hex::encode(id_bytes)),
            secret_sha256: sha256(&secret),
            partner: partner.to_string(),
            scopes,
            created_ms: now_ms(),
            revoked: false,
        };
        self.meta.create_client(&client)?;
        Ok((client, secret))
    }

    /// The client-credentials grant: checks the client and issues a token for all its scopes.
    pub fn issue_token(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<IssuedToken, AuthError> {
        let client = self
            .meta
            .client(client_id)?
            .ok_or(AuthError::InvalidClient)?;
        if client.revoked || !same_hash(&client.secret_sha256, &sha256(client_secret)) {
            return Err(AuthError::InvalidClient);
        }
        let access_token = random_secret();
        let record = TokenRecord {
            client_id: client.client_id,
            partner: client.partner,
            scopes: client.scopes.clone(),
            expires_ms: now_ms().saturating_add(self.token_lifetime.as_millis() as u64),
        };
        self.meta.put_token(&sha256(&access_token), &record)?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.token_lifetime,
            scopes: client.scopes,
        })
    }

    /// Resolves a bearer token.
    pub fn authenticate(&self, bearer: &str) -> Result<Principal, AuthError> {
        let token = self
            .meta
            .token(&sha256(bearer))?
            .ok_or(AuthError::Unauthenticated)?;
        if token.expires_ms <= now_ms() {
            return Err(AuthError::Unauthenticated);
        }
        match self.meta.client(&token.client_id)? {
            Some(client) if !client.revoked => {}
            _ => return Err(AuthError::Unauthenticated),
        }
        Ok(Principal {
            client_id: token.client_id,
            partner: token.partner,
            scopes: token.scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator(lifetime: Duration) -> (tempfile::TempDir, Authenticator) {
        let dir = tempfile::tempdir().unwrap();
        let meta = Arc::new(MetaStore::open(&dir.path().join("db"), false).unwrap());
        (dir, Authenticator::new(meta, lifetime))
    }

    #[test]
    fn token_round_trip_and_isolation() {
        let (_dir, auth) = authenticator(Duration::from_secs(60));
        let (client, secret) = auth.create_client("acme", vec![Scope::Read]).unwrap();
        assert!(matches!(
            auth.issue_token(&client.client_id, "wrong"),
            Err(AuthError::InvalidClient)
        ));
        let token = auth.issue_token(&client.client_id, &secret).unwrap();
        let principal = auth.authenticate(&token.access_token).unwrap();
        assert!(principal.authorize("acme", Scope::Read).is_ok());
        assert!(matches!(
            principal.authorize("acme", Scope::Write),
            Err(AuthError::MissingScope(_))
        ));
        assert!(matches!(
            principal.authorize("other", Scope::Read),
            Err(AuthError::OtherPartner)
        ));
        assert!(matches!(
            auth.authenticate("garbage"),
            Err(AuthError::Unauthenticated)
        ));
        auth.meta.revoke_client(&client.client_id).unwrap();
        assert!(matches!(
            auth.authenticate(&token.access_token),
            Err(AuthError::Unauthenticated)
        ));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let (_dir, auth) = authenticator(Duration::from_millis(0));
        let (client, secret) = auth.create_client("acme", vec![Scope::Admin]).unwrap();
        let token = auth.issue_token(&client.client_id, &secret).unwrap();
        assert!(matches!(
            auth.authenticate(&token.access_token),
            Err(AuthError::Unauthenticated)
        ));
    }
}
