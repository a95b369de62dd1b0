//! Sending with retries: transport errors and 408/429/502/503/504 are retried with
//! exponential backoff, honouring `Retry-After`; a rejected bearer token is refreshed once.

use std::time::Duration;

use reqwest::{header, RequestBuilder, Response, StatusCode};

use super::problem::describe_reqwest;
use super::Api;
use crate::error::{Error, Result};

/// Longest `Retry-After` we honour; a server asking for more is treated as down.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

pub(super) fn transient_status(status: StatusCode) -> bool {
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

impl Api {
    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        self.base_delay * 2u32.saturating_pow(attempt.min(6))
    }

    /// Sends the request `make` builds (again per attempt), retrying transport errors and
    /// 408/429/502/503/504. With `auth`, attaches a bearer token and refreshes it once on 401.
    pub(super) async fn retrying<F>(
        &self,
        what: &str,
        auth: Option<()>,
        make: F,
    ) -> Result<Response>
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

    pub(super) async fn authed<F>(&self, what: &str, make: F) -> Result<Response>
    where
        F: Fn() -> Result<RequestBuilder>,
    {
        self.retrying(what, Some(()), |_| make()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Connection;

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
