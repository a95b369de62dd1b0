//! The server's public HTTP API as typed calls. `token`: OAuth token, reused until expiry and
//! cached on disk; `retry`: every call retries transient failures with exponential backoff,
//! honouring `Retry-After`; `problem`: problem+json answers as typed errors; `calls`: types,
//! binaries and pool records; `download`: streamed, resumable, verified downloads; `trust`:
//! signatures and provenance of a binary.

mod audit;
mod calls;
mod download;
mod problem;
mod retention;
mod retry;
mod token;
mod trust;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use fwrepo_schemas::{PoolRecord, Problem};
use reqwest::Response;
use sha2::Digest;

use crate::config::Connection;
use crate::error::{Error, Result};
pub use audit::AuditQuery;
pub use problem::error_from;
use token::CachedToken;

pub struct Api {
    http: reqwest::Client,
    conn: Connection,
    token: Mutex<Option<CachedToken>>,
    token_file: Option<PathBuf>,
    /// First backoff delay; doubles per attempt.
    base_delay: Duration,
}

/// Outcome of a pool create: made, or the (type,name,version) exists already.
pub enum Created {
    New(PoolRecord),
    AlreadyExists(Problem),
}

/// Query parameters of `GET pool` / `GET pool/types/{type}`.
#[derive(Debug, Clone, Default)]
pub struct PoolQuery {
    pub fw_type: Option<i64>,
    pub tags: Vec<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub version_req: Option<String>,
    pub latest: bool,
    pub commit: Option<String>,
    pub sort: Option<String>,
}

impl Api {
    pub fn new(conn: Connection, token_dir: Option<&Path>) -> Result<Api> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("fwrepo/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            // Downloads may be sent to the blob store (a presigned URL). reqwest drops the
            // Authorization header when a redirect leaves the host and port; the store
            // needs no Referer naming our URLs either.
            .redirect(reqwest::redirect::Policy::limited(5))
            .referer(false)
            .build()
            .map_err(|e| Error::Network(format!("building HTTP client: {e}")))?;
        let token_file = token_dir.map(|dir| {
            let key = sha2::Sha256::digest(format!(
                "{}\0{}\0{}",
                conn.url, conn.client_id, conn.client_secret
            ));
            dir.join(format!("{}.json", &hex::encode(key)[..32]))
        });
        let base_delay = std::env::var("FWREPO_RETRY_BASE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_millis(500));
        Ok(Api {
            http,
            conn,
            token: Mutex::new(None),
            token_file,
            base_delay,
        })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn partner_url(&self, path: &str) -> String {
        format!(
            "{}/v1/ota/partners/{}/{path}",
            self.conn.url, self.conn.partner
        )
    }

    async fn json_ok<T: serde::de::DeserializeOwned>(response: Response, what: &str) -> Result<T> {
        if !response.status().is_success() {
            return Err(error_from(response, what).await);
        }
        response
            .json()
            .await
            .map_err(|e| Error::Network(format!("{what}: unreadable answer: {e}")))
    }
}
