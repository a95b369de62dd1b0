//! Many POSTs of bodies built beforehand, over plain HTTP/1.1 keep-alive connections (hyper's
//! client connection: no pool, no redirects, no per-request header maps beyond the four
//! sent). The load generator shares the machine with the server it measures; a general
//! client's per-request work took as much CPU as the server's own handling of a request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

/// Where the bodies go: the server's address, and the path and token of every request.
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub bearer: String,
}

impl Target {
    /// The target of `path` under an API base URL such as `http://127.0.0.1:8080/v1/...`.
    pub fn new(base: &str, path: &str, token: &str) -> anyhow::Result<Target> {
        let url = reqwest::Url::parse(base).with_context(|| format!("{base} is not a URL"))?;
        anyhow::ensure!(url.scheme() == "http", "the load needs an http:// URL");
        let addr = *url
            .socket_addrs(|| None)?
            .first()
            .with_context(|| format!("{base} names no address"))?;
        Ok(Target {
            addr,
            path: format!("{}{path}", url.path().trim_end_matches('/')),
            bearer: format!("Bearer {token}"),
        })
    }
}

/// POSTs every record body to the partner's pool on `connections` connections; answers how
/// many were created, and the time they all took.
pub async fn create_records(
    api: &crate::client::Api,
    bodies: Vec<Bytes>,
    connections: usize,
) -> anyhow::Result<(u64, Duration)> {
    let target = Target::new(&api.base, "/pool", &api.token)?;
    post_all(target, bodies, connections, StatusCode::CREATED).await
}

/// POSTs every body (JSON) on `connections` connections, each with one request in flight;
/// answers how many were answered `expect`, and the time they all took.
pub async fn post_all(
    target: Target,
    bodies: Vec<Bytes>,
    connections: usize,
    expect: StatusCode,
) -> anyhow::Result<(u64, Duration)> {
    let target = Arc::new(target);
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let (target, bodies, next) = (target.clone(), bodies.clone(), next.clone());
        senders.spawn(async move { post_some(&target, &bodies, &next, expect).await });
    }
    let mut answered = 0;
    while let Some(outcome) = senders.join_next().await {
        answered += outcome??;
    }
    Ok((answered, started.elapsed()))
}

/// One connection's share: takes the next body until none is left.
async fn post_some(
    target: &Target,
    bodies: &[Bytes],
    next: &AtomicUsize,
    expect: StatusCode,
) -> anyhow::Result<u64> {
    let stream = tokio::net::TcpStream::connect(target.addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let host = target.addr.to_string();
    let mut answered = 0;
    while let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) {
        sender.ready().await?;
        let request = Request::post(target.path.as_str())
            .header(HOST, host.as_str())
            .header(AUTHORIZATION, target.bearer.as_str())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        // Read to the end, so the connection is ready for the next request.
        response.into_body().collect().await?;
        if status == expect {
            answered += 1;
        }
    }
    Ok(answered)
}
