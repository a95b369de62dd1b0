//! The bearer token: fetched with the client credentials, reused while it has a minute left,
//! and cached on disk (mode 0600) so that successive CLI runs share it.

use std::time::{SystemTime, UNIX_EPOCH};

use fwrepo_schemas::TokenResponse;
use serde::{Deserialize, Serialize};

use super::{error_from, Api};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CachedToken {
    access_token: String,
    /// Unix seconds after which the token is not used.
    expires_at: u64,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Api {
    fn load_token(&self) -> Option<String> {
        let now = now_unix();
        let mut guard = self.token.lock().expect("token lock");
        if let Some(t) = guard.as_ref().filter(|t| t.expires_at > now) {
            return Some(t.access_token.clone());
        }
        let file = self.token_file.as_ref()?;
        let cached: CachedToken = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
        if cached.expires_at > now {
            let token = cached.access_token.clone();
            *guard = Some(cached);
            Some(token)
        } else {
            None
        }
    }

    fn store_token(&self, token: CachedToken) {
        if let Some(file) = &self.token_file {
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let tmp = file.with_extension("tmp");
            if let Ok(bytes) = serde_json::to_vec(&token) {
                let written = {
                    let mut options = std::fs::OpenOptions::new();
                    options.write(true).create(true).truncate(true);
                    #[cfg(unix)]
                    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                    options
                        .open(&tmp)
                        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
                };
                if written.is_ok() {
                    let _ = std::fs::rename(&tmp, file);
                }
            }
        }
        *self.token.lock().expect("token lock") = Some(token);
    }

    pub(super) fn forget_token(&self) {
        *self.token.lock().expect("token lock") = None;
        if let Some(file) = &self.token_file {
            let _ = std::fs::remove_file(file);
        }
    }

    /// A bearer token: the cached one while it has a minute left, else a new one.
    pub async fn token(&self) -> Result<String> {
        if let Some(token) = self.load_token() {
            return Ok(token);
        }
        let url = format!("{}/oauth/token", self.conn.url);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.conn.client_id.as_str()),
            ("client_secret", self.conn.client_secret.as_str()),
        ];
        let response = self
            .retrying("token request", None, |_| {
                Ok(self.http.post(&url).form(&form))
            })
            .await?;
        if !response.status().is_success() {
            return Err(error_from(response, "token request").await);
        }
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|e| Error::Network(format!("token response unreadable: {e}")))?;
        let lifetime = body.expires_in.saturating_sub(60).max(1);
        self.store_token(CachedToken {
            access_token: body.access_token.clone(),
            expires_at: now_unix() + lifetime,
        });
        Ok(body.access_token)
    }
}
