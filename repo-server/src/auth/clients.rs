//! OAuth 2.0 client credentials: registering, listing and revoking a partner's clients,
//! issuing bearer tokens, and resolving a bearer token to its principal.

use std::time::Duration;

use rand::RngCore;

use super::{random_secret, same_hash, sha256, Actor, AuthError, Authenticator, Principal};
use crate::domain::{validate_description, validate_id, ClientRecord, Scope, TokenRecord};
use crate::meta::{audit, now_ms};

/// An issued token: shown once to the client, stored only as a hash.
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: Duration,
    pub scopes: Vec<Scope>,
}

impl Authenticator {
    /// Registers a client; answers the record and its secret (shown once).
    pub fn create_client(
        &self,
        partner: &str,
        scopes: Vec<Scope>,
    ) -> Result<(ClientRecord, String), AuthError> {
        self.create_described_client(partner, scopes, None)
    }

    /// Registers a client with a description of what it is for.
    pub fn create_described_client(
        &self,
        partner: &str,
        mut scopes: Vec<Scope>,
        description: Option<String>,
    ) -> Result<(ClientRecord, String), AuthError> {
        validate_id("partnerId", partner)?;
        validate_description(description.as_deref())?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(AuthError::Invalid(
                "a client needs at least one scope".into(),
            ));
        }
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
            description,
        };
        self.meta.create_client(&client)?;
        Ok((client, secret))
    }

    /// A partner's clients, in client-id order (never their secrets: only hashes are kept).
    pub fn list_clients(&self, partner: &str) -> Result<Vec<ClientRecord>, AuthError> {
        Ok(self.meta.list_partner_clients(partner)?)
    }

    /// Revokes a partner's client: its tokens stop working at the next request.
    pub fn revoke_client(&self, partner: &str, client_id: &str) -> Result<(), AuthError> {
        match self.meta.client(client_id)? {
            Some(client) if client.partner == partner => {
                self.meta.revoke_client(client_id)?;
                self.tokens.clear();
                Ok(())
            }
            _ => Err(AuthError::NotFound("client")),
        }
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
        audit::attribute(&client.partner, format!("client:{}", client.client_id));
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

    /// Resolves a bearer token (from the token cache when it was resolved moments ago).
    pub fn authenticate(&self, bearer: &str) -> Result<Principal, AuthError> {
        let hash = sha256(bearer);
        let now = now_ms();
        if let Some(principal) = self.tokens.get(&hash, now) {
            audit::attribute(&principal.partner, principal.actor_id());
            return Ok(principal);
        }
        let token = self.meta.token(&hash)?.ok_or(AuthError::Unauthenticated)?;
        if token.expires_ms <= now {
            return Err(AuthError::Unauthenticated);
        }
        match self.meta.client(&token.client_id)? {
            Some(client) if !client.revoked => {}
            _ => return Err(AuthError::Unauthenticated),
        }
        let principal = Principal {
            actor: Actor::Client(token.client_id),
            partner: token.partner,
            scopes: token.scopes,
        };
        self.tokens.put(hash, principal.clone(), token.expires_ms);
        audit::attribute(&principal.partner, principal.actor_id());
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{test_authenticator, SessionConfig};

    fn authenticator(lifetime: Duration) -> (tempfile::TempDir, Authenticator) {
        test_authenticator(lifetime, SessionConfig::default())
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
        assert_eq!(principal.actor, Actor::Client(client.client_id.clone()));
        assert_eq!(principal.actor_id(), format!("client:{}", client.client_id));
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
        auth.revoke_client("acme", &client.client_id).unwrap();
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

    #[test]
    fn clients_are_listed_and_revoked_only_within_their_partner() {
        let (_dir, auth) = authenticator(Duration::from_secs(60));
        let (mine, secret) = auth
            .create_described_client("acme", vec![Scope::Write, Scope::Write], Some("CI".into()))
            .unwrap();
        auth.create_client("other", vec![Scope::Read]).unwrap();
        let listed = auth.list_clients("acme").unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].scopes, [Scope::Write]);
        assert_eq!(listed[0].description.as_deref(), Some("CI"));
        assert!(matches!(
            auth.revoke_client("other", &mine.client_id),
            Err(AuthError::NotFound("client"))
        ));
        assert!(matches!(
            auth.revoke_client("acme", "fwc_missing"),
            Err(AuthError::NotFound("client"))
        ));
        assert!(auth.issue_token(&mine.client_id, &secret).is_ok());
        assert!(matches!(
            auth.create_client("acme", vec![]),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn a_token_resolved_moments_ago_is_not_read_again() {
        let (_dir, auth) = authenticator(Duration::from_secs(60));
        let (client, secret) = auth.create_client("acme", vec![Scope::Read]).unwrap();
        let token = auth.issue_token(&client.client_id, &secret).unwrap();
        let (first, principal) =
            crate::meta::pool::tests::work_done(|| auth.authenticate(&token.access_token).unwrap());
        let (again, cached) =
            crate::meta::pool::tests::work_done(|| auth.authenticate(&token.access_token).unwrap());
        assert!(first > 0, "the first resolution reads the token");
        assert_eq!(again, 0, "the second comes from the cache");
        assert_eq!(cached.actor_id(), principal.actor_id());
        assert_eq!(cached.partner, "acme");
    }

    #[test]
    fn revoking_a_client_stops_its_cached_tokens_at_once() {
        let (_dir, auth) = authenticator(Duration::from_secs(60));
        let (client, secret) = auth.create_client("acme", vec![Scope::Read]).unwrap();
        let token = auth.issue_token(&client.client_id, &secret).unwrap();
        auth.authenticate(&token.access_token).unwrap();
        auth.revoke_client("acme", &client.client_id).unwrap();
        assert!(matches!(
            auth.authenticate(&token.access_token),
            Err(AuthError::Unauthenticated)
        ));
    }
}
