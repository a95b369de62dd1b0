//! The server's public HTTP API as typed calls: OAuth token (reused until expiry, cached on
//! disk), binaries upload/move, pool records, streamed and resumable downloads. Every call
//! retries transient failures with exponential backoff, honouring `Retry-After`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use fwrepo_schemas::{
    FirmwareType, FirmwareTypeCreate, Page, PoolRecord, PoolRecordCreate, Problem, StringValue,
    TokenResponse,
};
use reqwest::{header, RequestBuilder, Response, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tokio::io::AsyncWriteExt;

use crate::config::Connection;
use crate::error::{Error, Result};
use crate::ops::progress::Progress;

/// Longest `Retry-After` we honour; a server asking for more is treated as down.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedToken {
    access_token: String,
    /// Unix seconds after which the token is not used.
    expires_at: u64,
}

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

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504)
}

/// `Retry-After`: delta-seconds (an HTTP date is treated as "soon").
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    match value.trim().parse::<u64>() {
        Ok(secs) => Some(Duration::from_secs(secs)),
        Err(_) => Some(Duration::from_secs(1)),
    }
}

/// Reads a problem+json body (or makes one from a bare status) into an [`Error`].
pub async fn error_from(response: Response, what: &str) -> Error {
    let status = response.status();
    let problem = read_problem(response).await;
    problem_error(status, problem, what)
}

async fn read_problem(response: Response) -> Problem {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str::<Problem>(&text).unwrap_or_else(|_| Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("error").into(),
        status: status.as_u16(),
        detail: text.chars().take(300).collect(),
        instance: None,
        error: None,
        error_description: None,
    })
}

fn problem_error(status: StatusCode, problem: Problem, what: &str) -> Error {
    let kind = problem.kind.rsplit('/').next().unwrap_or("").to_string();
    let detail = if problem.detail.is_empty() {
        problem.title.clone()
    } else {
        problem.detail.clone()
    };
    let detail = format!("{what}: {detail}");
    match status.as_u16() {
        401 | 403 => Error::Auth {
            status: status.as_u16(),
            detail,
        },
        404 => Error::NotFound(detail),
        400 if kind == "digest-mismatch" => Error::Verify {
            what: what.to_string(),
            expected: "the declared digest".into(),
            actual: problem.detail,
        },
        s if s >= 500 => Error::Network(format!("server error {s}: {detail}")),
        408 | 429 => Error::Network(format!(
            "server still busy ({}) after all retries: {detail}",
            status.as_u16()
        )),
        s => Error::Rejected {
            status: s,
            kind,
            detail,
        },
    }
}

impl Api {
    pub fn new(conn: Connection, token_dir: Option<&Path>) -> Result<Api> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("fwrepo/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
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

    fn backoff(&self, attempt: u32) -> Duration {
        self.base_delay * 2u32.saturating_pow(attempt.min(6))
    }

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

    fn forget_token(&self) {
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

    /// Sends the request `make` builds (again per attempt), retrying transport errors and
    /// 408/429/502/503/504. With `auth`, attaches a bearer token and refreshes it once on 401.
    async fn retrying<F>(&self, what: &str, auth: Option<()>, make: F) -> Result<Response>
    where
        F: Fn(Option<&str>) -> Result<RequestBuilder>,
    {
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            let token = match auth {
                Some(()) => Some(Box::pin(self.token()).await?),
                None => None,
            };
            let request = make(token.as_deref())?;
            let request = match &token {
                Some(t) => request.bearer_auth(t),
                None => request,
            };
            let delay = match request.send().await {
                Ok(response)
                    if response.status() == StatusCode::UNAUTHORIZED
                        && auth.is_some()
                        && !refreshed =>
                {
                    // A cached token the server no longer accepts (restart, revocation): refetch once.
                    refreshed = true;
                    self.forget_token();
                    continue;
                }
                Ok(response)
                    if transient_status(response.status()) && attempt < self.conn.retries =>
                {
                    let wait = retry_after(&response).unwrap_or_else(|| self.backoff(attempt));
                    if wait > MAX_RETRY_AFTER {
                        return Ok(response);
                    }
                    eprintln!(
                        "fwrepo: {what}: server answered {}, retrying in {:.1} s",
                        response.status(),
                        wait.as_secs_f64()
                    );
                    wait
                }
                Ok(response) => return Ok(response),
                Err(e) if attempt < self.conn.retries && !e.is_builder() => {
                    let wait = self.backoff(attempt);
                    eprintln!(
                        "fwrepo: {what}: {}, retrying in {:.1} s",
                        describe_reqwest(&e),
                        wait.as_secs_f64()
                    );
                    wait
                }
                Err(e) => return Err(Error::Network(format!("{what}: {}", describe_reqwest(&e)))),
            };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn authed<F>(&self, what: &str, make: F) -> Result<Response>
    where
        F: Fn() -> Result<RequestBuilder>,
    {
        self.retrying(what, Some(()), |_| make()).await
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

    pub async fn get_type(&self, fw_type: i64) -> Result<Option<FirmwareType>> {
        let url = self.partner_url(&format!("types/{fw_type}"));
        let response = self
            .authed("get firmware type", || Ok(self.http.get(&url)))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::json_ok(response, "get firmware type").await.map(Some)
    }

    /// Creates a firmware type; an existing one (409) is fine.
    pub async fn create_type(&self, body: &FirmwareTypeCreate) -> Result<()> {
        let url = self.partner_url("types");
        let response = self
            .authed("create firmware type", || {
                Ok(self.http.post(&url).json(body))
            })
            .await?;
        if response.status().is_success() || response.status() == StatusCode::CONFLICT {
            Ok(())
        } else {
            Err(error_from(response, "create firmware type").await)
        }
    }

    /// Streams a file to `POST binaries` declaring its digest; answers the server's SHA-256.
    pub async fn upload(
        &self,
        path: &Path,
        sha256: &str,
        len: u64,
        progress: &Progress,
    ) -> Result<String> {
        let url = self.partner_url("binaries");
        let response = self
            .authed("upload", || {
                let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                progress.set_position(0);
                let counter = progress.counter();
                let stream = tokio_util::io::ReaderStream::with_capacity(
                    tokio::fs::File::from_std(file),
                    64 * 1024,
                )
                .inspect(move |chunk| {
                    if let (Ok(bytes), Some(bar)) = (chunk, &counter) {
                        bar.inc(bytes.len() as u64)
                    }
                });
                Ok(self
                    .http
                    .post(&url)
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_LENGTH, len)
                    .header("X-Checksum-Sha256", sha256)
                    .body(reqwest::Body::wrap_stream(stream)))
            })
            .await?;
        let answer: StringValue = Self::json_ok(response, "upload").await?;
        if answer.value != sha256 {
            return Err(Error::Verify {
                what: "upload".into(),
                expected: sha256.into(),
                actual: answer.value,
            });
        }
        Ok(answer.value)
    }

    pub async fn move_to_repository(&self, sha256: &str) -> Result<String> {
        let url = self.partner_url("binaries/moveToRepository");
        let body = StringValue {
            value: sha256.to_string(),
        };
        let response = self
            .authed("moveToRepository", || Ok(self.http.post(&url).json(&body)))
            .await?;
        Ok(Self::json_ok::<StringValue>(response, "moveToRepository")
            .await?
            .value)
    }

    pub async fn create_pool(&self, body: &PoolRecordCreate) -> Result<Created> {
        let url = self.partner_url("pool");
        let response = self
            .authed("create pool record", || Ok(self.http.post(&url).json(body)))
            .await?;
        if response.status() == StatusCode::CONFLICT {
            return Ok(Created::AlreadyExists(read_problem(response).await));
        }
        Self::json_ok(response, "create pool record")
            .await
            .map(Created::New)
    }

    /// One page of pool records.
    pub async fn pool_page(
        &self,
        query: &PoolQuery,
        page: u32,
        size: u32,
    ) -> Result<Page<PoolRecord>> {
        let url = match query.fw_type {
            Some(t) => self.partner_url(&format!("pool/types/{t}")),
            None => self.partner_url("pool"),
        };
        let mut params: Vec<(&str, String)> =
            vec![("page", page.to_string()), ("size", size.to_string())];
        if !query.tags.is_empty() {
            params.push(("tags", query.tags.join(",")));
        }
        for (key, value) in [
            ("name", &query.name),
            ("version", &query.version),
            ("versionReq", &query.version_req),
            ("commit", &query.commit),
            ("sort", &query.sort),
        ] {
            if let Some(v) = value {
                params.push((key, v.clone()));
            }
        }
        if query.latest {
            params.push(("latest", "true".into()));
        }
        let response = self
            .authed("list pool", || Ok(self.http.get(&url).query(&params)))
            .await?;
        Self::json_ok(response, "list pool").await
    }

    /// Every record matching `query`, up to `limit`, paging through the server's pages.
    pub async fn pool_all(
        &self,
        query: &PoolQuery,
        page_size: u32,
        limit: Option<usize>,
    ) -> Result<Vec<PoolRecord>> {
        let mut out = Vec::new();
        let mut page = 0;
        loop {
            let answer = self.pool_page(query, page, page_size).await?;
            let last = answer.content.is_empty() || u64::from(page) + 1 >= answer.total_pages;
            out.extend(answer.content);
            if let Some(limit) = limit {
                if out.len() >= limit {
                    out.truncate(limit);
                    return Ok(out);
                }
            }
            if last {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// Downloads `url` into `part`, resuming from its current length with `Range`, and checks
    /// the result against `sha256`. A mismatch deletes the part file. Answers the byte offset
    /// the download resumed from.
    pub async fn download(
        &self,
        url: &str,
        part: &Path,
        sha256: &str,
        len: u64,
        progress: &Progress,
    ) -> Result<u64> {
        // Record URLs are the server's own (it validates them on create), so they get the token
        // even when FWREPO_URL names the server differently; reqwest drops it on a redirect to
        // another host (an object store).
        let send_token = url.starts_with("http://") || url.starts_with("https://");
        let mut resumed_from = None;
        let mut attempt = 0u32;
        loop {
            let offset = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
            if offset > len {
                std::fs::remove_file(part).map_err(|e| Error::io(part, e))?;
                continue;
            }
            resumed_from.get_or_insert(offset);
            if offset == len && len > 0 {
                break;
            }
            let make = || {
                let mut request = self.http.get(url);
                if offset > 0 {
                    request = request.header(header::RANGE, format!("bytes={offset}-"));
                }
                Ok(request)
            };
            let response = if send_token {
                self.authed("download", make).await?
            } else {
                self.retrying("download", None, |_| make()).await?
            };
            let status = response.status();
            let append = match status {
                StatusCode::PARTIAL_CONTENT => true,
                StatusCode::OK => false,
                StatusCode::RANGE_NOT_SATISFIABLE => {
                    std::fs::remove_file(part).map_err(|e| Error::io(part, e))?;
                    continue;
                }
                _ => return Err(error_from(response, "download").await),
            };
            if !append {
                resumed_from = Some(0);
            } else if offset > 0 && attempt == 0 {
                progress.note(&format!("resuming download at byte {offset} of {len}"));
            }
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(part)
                .await
                .map_err(|e| Error::io(part, e))?;
            progress.set_position(if append { offset } else { 0 });
            let mut stream = response.bytes_stream();
            let mut failed = None;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) => {
                        file.write_all(&bytes)
                            .await
                            .map_err(|e| Error::io(part, e))?;
                        progress.inc(bytes.len() as u64);
                    }
                    Err(e) => {
                        failed = Some(describe_reqwest(&e));
                        break;
                    }
                }
            }
            file.flush().await.map_err(|e| Error::io(part, e))?;
            file.sync_all().await.map_err(|e| Error::io(part, e))?;
            drop(file);
            match failed {
                None => break,
                Some(e) if attempt < self.conn.retries => {
                    let wait = self.backoff(attempt);
                    progress.note(&format!(
                        "download interrupted ({e}), resuming in {:.1} s",
                        wait.as_secs_f64()
                    ));
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Some(e) => return Err(Error::Network(format!("download: {e}"))),
            }
        }
        let (actual, _) = crate::ops::digest::sha256_file(part)?;
        if actual != sha256 {
            let _ = std::fs::remove_file(part);
            return Err(Error::Verify {
                what: format!("download of {url}"),
                expected: sha256.into(),
                actual,
            });
        }
        Ok(resumed_from.unwrap_or(0))
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        let p = |kind: &str, status: u16| Problem {
            kind: format!("https://fwrepo.dev/problems/{kind}"),
            title: "t".into(),
            status,
            detail: "d".into(),
            instance: None,
            error: None,
            error_description: None,
        };
        assert!(matches!(
            problem_error(StatusCode::UNAUTHORIZED, p("unauthorized", 401), "x"),
            Error::Auth { .. }
        ));
        assert!(matches!(
            problem_error(StatusCode::FORBIDDEN, p("forbidden", 403), "x"),
            Error::Auth { .. }
        ));
        assert!(matches!(
            problem_error(StatusCode::NOT_FOUND, p("not-found", 404), "x"),
            Error::NotFound(_)
        ));
        assert!(matches!(
            problem_error(StatusCode::BAD_REQUEST, p("digest-mismatch", 400), "x"),
            Error::Verify { .. }
        ));
        assert!(matches!(
            problem_error(StatusCode::BAD_REQUEST, p("validation-failed", 400), "x"),
            Error::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            problem_error(StatusCode::INTERNAL_SERVER_ERROR, p("internal", 500), "x"),
            Error::Network(_)
        ));
        assert!(
            transient_status(StatusCode::SERVICE_UNAVAILABLE)
                && !transient_status(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn busy_after_retries_is_network() {
        let p = Problem {
            kind: "about:blank".into(),
            title: "t".into(),
            status: 429,
            detail: "d".into(),
            instance: None,
            error: None,
            error_description: None,
        };
        assert!(matches!(
            problem_error(StatusCode::TOO_MANY_REQUESTS, p, "x"),
            Error::Network(_)
        ));
    }

    /// A one-shot HTTP server answering each connection with the next canned response.
    async fn canned(
        responses: Vec<&'static str>,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let mut seen = Vec::new();
            for response in responses {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap();
                seen.push(
                    String::from_utf8_lossy(&buf[..n])
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string(),
                );
                socket.write_all(response.as_bytes()).await.unwrap();
                socket.shutdown().await.ok();
            }
            seen
        });
        (url, handle)
    }

    fn api(url: String, retries: u32) -> Api {
        let conn = Connection {
            url,
            partner: "acme".into(),
            client_id: "id".into(),
            client_secret: "secret".into(),
            retries,
        };
        let mut api = Api::new(conn, None).unwrap();
        api.base_delay = Duration::from_millis(10);
        api
    }

    const BUSY: &str = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    const TOKEN: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 81\r\nConnection: close\r\n\r\n{\"access_token\":\"tok\",\"token_type\":\"Bearer\",\"expires_in\":3600,\"scope\":\"ota:read\"}";

    #[tokio::test]
    async fn retries_honour_retry_after_then_succeed_and_tokens_are_reused() {
        let (url, server) = canned(vec![BUSY, BUSY, TOKEN]).await;
        let api = api(url, 3);
        assert_eq!(api.token().await.unwrap(), "tok");
        // Reused: no fourth connection is made (the canned server would not answer one).
        assert_eq!(api.token().await.unwrap(), "tok");
        assert_eq!(server.await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn giving_up_is_a_network_error() {
        let (url, _server) = canned(vec![BUSY, BUSY]).await;
        let api = api(url, 1);
        assert!(matches!(api.token().await, Err(Error::Network(_))));
    }
}
