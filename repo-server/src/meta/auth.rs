//! OAuth clients and issued tokens. Only SHA-256 hashes of secrets and tokens are stored.

use rocksdb::WriteBatch;

use super::keys::*;
use super::{codec, MetaError, MetaResult, MetaStore};
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

    pub fn put_token(&self, token_sha256: &[u8; 32], token: &TokenRecord) -> MetaResult<()> {
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_TOKENS, &token_key(token_sha256), token);
        self.commit_alone(batch)
    }

    pub fn token(&self, token_sha256: &[u8; 32]) -> MetaResult<Option<TokenRecord>> {
        self.get(CF_TOKENS, &token_key(token_sha256))
    }

    /// Deletes expired tokens; answers how many.
    pub fn purge_expired_tokens(&self, now_ms: u64) -> MetaResult<usize> {
        let mut batch = WriteBatch::default();
        let mut purged = 0;
        for item in self.scan_prefix(CF_TOKENS, &[]) {
            let (key, value) = item?;
            let token: TokenRecord = codec::decode(CF_TOKENS, &value)?;
            if token.expires_ms <= now_ms {
                self.delete(&mut batch, CF_TOKENS, &key);
                purged += 1;
            }
        }
        self.commit_alone(batch)?;
        Ok(purged)
    }
}
