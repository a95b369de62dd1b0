//! OAuth clients and issued tokens. Only SHA-256 hashes of secrets and tokens are stored.

use rocksdb::WriteBatch;

use super::expiry::SWEEP_BATCH;
use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::{ClientRecord, TokenRecord};

impl MetaStore {
    pub fn create_client(&self, client: &ClientRecord) -> MetaResult<()> {
        let guard = self.lock();
        let key = client_key(&client.client_id);
        if self.exists(CF_CLIENTS, &key)? {
            return Err(MetaError::Conflict(format!(
                "client {} already exists",
                client.client_id
            )));
        }
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_CLIENTS, &key, client);
        super::audit::note_created(format!("admin/clients/{}", client.client_id));
        self.commit(guard, batch)
    }

    pub fn client(&self, client_id: &str) -> MetaResult<Option<ClientRecord>> {
        self.get(CF_CLIENTS, &client_key(client_id))
    }

    pub fn list_clients(&self) -> MetaResult<Vec<ClientRecord>> {
        self.scan_values(CF_CLIENTS, &[])
    }

    /// One partner's clients. A filtered scan: clients are few (one per CI system or
    /// service), and keys by client id keep the client-credentials grant a point read.
    pub fn list_partner_clients(&self, partner: &str) -> MetaResult<Vec<ClientRecord>> {
        let mut clients = self.list_clients()?;
        clients.retain(|c| c.partner == partner);
        Ok(clients)
    }

    /// Marks a client revoked; its tokens stop working at once (authentication checks it).
    pub fn revoke_client(&self, client_id: &str) -> MetaResult<()> {
        let guard = self.lock();
        let key = client_key(client_id);
        let mut client: ClientRecord = self
            .get(CF_CLIENTS, &key)?
            .ok_or(MetaError::NotFound("client"))?;
        client.revoked = true;
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_CLIENTS, &key, &client);
        self.commit(guard, batch)
    }

    /// Stores a token with its expiry index entry (tokens are never changed, only purged).
    pub fn put_token(&self, token_sha256: &[u8; 32], token: &TokenRecord) -> MetaResult<()> {
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_TOKENS, &token_key(token_sha256), token);
        batch.put_cf(
            self.cf(CF_TOKENS_BY_EXPIRY),
            token_by_expiry(token.expires_ms, token_sha256),
            [],
        );
        self.commit_alone(batch)
    }

    pub fn token(&self, token_sha256: &[u8; 32]) -> MetaResult<Option<TokenRecord>> {
        self.get(CF_TOKENS, &token_key(token_sha256))
    }

    /// Deletes expired tokens; answers how many. Reads the expiry index from its start, so
    /// live tokens are never visited.
    pub fn purge_expired_tokens(&self, now_ms: u64) -> MetaResult<usize> {
        let mut purged = 0;
        loop {
            let due = self.due_entries(CF_TOKENS_BY_EXPIRY, now_ms, SWEEP_BATCH)?;
            let mut batch = WriteBatch::default();
            for (key, _) in &due {
                let hash = trailing_session_hash(key).ok_or(MetaError::Corrupt {
                    cf: CF_TOKENS_BY_EXPIRY,
                    reason: "malformed key".into(),
                })?;
                self.delete(&mut batch, CF_TOKENS_BY_EXPIRY, key);
                self.delete(&mut batch, CF_TOKENS, &token_key(&hash));
            }
            self.commit_alone(batch)?;
            purged += due.len();
            if due.len() < SWEEP_BATCH {
                return Ok(purged);
            }
        }
    }
}
