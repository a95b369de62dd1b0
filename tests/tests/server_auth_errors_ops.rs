//! OAuth tokens, the auth matrix (no token, expired, wrong partner, missing scope), error
//! bodies for bad input, and the operations endpoints.

use base64::Engine;
use fwrepo_e2e::{expect_problem, http, validate, Ota, TestServer};
use serde_json::{json, Value};

fn all_scopes() -> &'static [&'static str] {
    &["ota:read", "ota:write", "admin"]
}

#[tokio::test]
async fn token_endpoint() {
    let server = TestServer::start();
    let client = server.client(0).clone();
    let url = format!("{}/oauth/token", server.url);
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", client.client_id, client.client_secret));
    let response = http()
        .post(&url)
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let token: Value = response.json().await.unwrap();
    validate("TokenResponse", &token);
    assert_eq!(
        (token["token_type"].as_str(), token["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    assert_eq!(token["scope"], "ota:read ota:write admin");

    let wrong = http()
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    let problem = expect_problem(wrong, 401, "invalid-client").await;
    assert_eq!(problem["error"], "invalid_client");
    let grant = http()
        .post(&url)
        .form(&[("grant_type", "password"), ("client_id", &client.client_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(grant, 400, "unsupported-grant-type").await["error"],
        "unsupported_grant_type"
    );
    let json_body = http()
        .post(&url)
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    expect_problem(json_body, 415, "unsupported-media-type").await;
}

#[tokio::test]
async fn auth_matrix() {
    let server = TestServer::builder()
        .client("acme", all_scopes())
        .client("acme", &["ota:read"])
        .client("acme", &["ota:write"])
        .client("globex", all_scopes())
        .start();
    let admin = Ota::new(&server, 0).await;
    let reader = Ota::new(&server, 1).await;
    let writer = Ota::new(&server, 2).await;
    let stranger = Ota::new(&server, 3).await;
    admin.create_type(101).await;
    let record = admin.publish(101, "app", "1.0.0", &[], b"x".to_vec()).await;
    let acme = server.partner_url("acme");

    // No token, a garbage token: 401 with a Bearer challenge.
    let none = http().get(format!("{acme}/pool")).send().await.unwrap();
    assert!(none.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    expect_problem(none, 401, "unauthorized").await;
    let garbage = http()
        .get(format!("{acme}/pool"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    expect_problem(garbage, 401, "unauthorized").await;

    // Another partner's token: every acme path looks absent, reads and writes alike.
    for path in [
        "/pool",
        "/types",
        "/tags",
        "/types/101",
        "/pool/types/101/versionNumbers/1/associations",
    ] {
        let response = http()
            .get(format!("{acme}{path}"))
            .bearer_auth(&stranger.token)
            .send()
            .await
            .unwrap();
        expect_problem(response, 404, "not-found").await;
    }
    let cross_write = http()
        .post(format!("{acme}/types"))
        .bearer_auth(&stranger.token)
        .json(&json!({"name": "x", "type": 102}))
        .send()
        .await
        .unwrap();
    expect_problem(cross_write, 404, "not-found").await;
    let cross_download = http()
        .get(record["url"].as_str().unwrap())
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    expect_problem(cross_download, 404, "not-found").await;

    // Read-only: reads pass, writes are 403.
    assert_eq!(reader.get("/pool").send().await.unwrap().status(), 200);
    let upload = reader.raw_upload().body("x").send().await.unwrap();
    expect_problem(upload, 403, "forbidden").await;
    let pool = reader
        .post("/pool")
        .json(&json!({"name": "a", "type": 101, "version": "2", "url": record["url"]}))
        .send()
        .await
        .unwrap();
    expect_problem(pool, 403, "forbidden").await;
    // Write without admin: can publish, cannot manage firmware types.
    assert_eq!(writer.upload(b"w".to_vec()).await.len(), 64);
    let types = writer
        .post("/types")
        .json(&json!({"name": "x", "type": 102}))
        .send()
        .await
        .unwrap();
    expect_problem(types, 403, "forbidden").await;
    assert_eq!(
        writer.get("/types").send().await.unwrap().status(),
        200,
        "write implies read"
    );
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    let mut server = TestServer::builder()
        .client("acme", all_scopes())
        .client("acme", all_scopes())
        .args(["--token-lifetime-secs", "1"])
        .start();
    let ota = Ota::new(&server, 0).await;
    assert_eq!(ota.get("/pool").send().await.unwrap().status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    expect_problem(ota.get("/pool").send().await.unwrap(), 401, "unauthorized").await;

    // Revocation is an offline admin command: stop, revoke, start.
    let revoked = server.client(1).clone();
    server.kill9();
    let status = std::process::Command::new(fwrepo_e2e::bin("fwrepo-server"))
        .args(["client", "revoke", "--data-dir"])
        .arg(server.data_path())
        .arg(&revoked.client_id)
        .status()
        .unwrap();
    assert!(status.success());
    let listed = std::process::Command::new(fwrepo_e2e::bin("fwrepo-server"))
        .args(["client", "list", "--json", "--data-dir"])
        .arg(server.data_path())
        .output()
        .unwrap();
    let clients: Value = serde_json::from_slice(&listed.stdout).unwrap();
    for client in clients.as_array().unwrap() {
        validate("ClientSummary", client);
        assert!(
            client.get("client_secret").is_none(),
            "secrets are never listed"
        );
    }
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&revoked.client_secret));
    server.restart();
    let refused = http()
        .post(format!("{}/oauth/token", server.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &revoked.client_id),
            ("client_secret", &revoked.client_secret),
        ])
        .send()
        .await
        .unwrap();
    expect_problem(refused, 401, "invalid-client").await;
}

#[tokio::test]
async fn bad_input_gets_problem_details() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let malformed = ota
        .post("/types")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    expect_problem(malformed, 400, "invalid-body").await;
    let typo = ota
        .post("/types")
        .json(&json!({"name": "x", "type": 101, "descripton": "typo"}))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(typo, 400, "invalid-body").await;
    assert!(problem["detail"].as_str().unwrap().contains("descripton"));
    let wrong_type = ota
        .post("/types")
        .json(&json!({"name": "x", "type": "101"}))
        .send()
        .await
        .unwrap();
    expect_problem(wrong_type, 400, "invalid-body").await;
    let no_content_type = ota.post("/types").body("{}").send().await.unwrap();
    expect_problem(no_content_type, 415, "unsupported-media-type").await;
    let invalid_utf8 = ota
        .post("/types")
        .header("content-type", "application/json")
        .body(vec![b'"', 0xff, 0xfe, b'"'])
        .send()
        .await
        .unwrap();
    expect_problem(invalid_utf8, 400, "invalid-body").await;
    for name in ["", "a\u{0007}b", &"n".repeat(201)] {
        let response = ota
            .post("/types")
            .json(&json!({"name": name, "type": 101}))
            .send()
            .await
            .unwrap();
        expect_problem(response, 400, "validation-failed").await;
    }
    ota.create_type(101).await;
    let sha = ota.upload(b"x".to_vec()).await;
    let url = ota.move_to_repository(&sha).await;
    let too_many_tags: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    let response = ota
        .post("/pool")
        .json(&json!({"name": "a", "type": 101, "version": "1", "url": url, "tags": too_many_tags}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "validation-failed").await;
    let response = ota
        .post("/pool")
        .json(&json!({"name": "a", "type": 101, "version": "1", "url": url, "tags": ["a,b"]}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "validation-failed").await;
    let overflow = ota
        .get("/pool/types/101/versionNumbers/99999999999999999999999/associations")
        .send()
        .await
        .unwrap();
    expect_problem(overflow, 400, "validation-failed").await;
    let empty: Value = ota.get_json("/pool").await;
    assert_eq!(
        empty["totalElements"], 0,
        "nothing half-written by rejected requests"
    );

    expect_problem(
        http()
            .get(format!("{}/nowhere", server.url))
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
    expect_problem(
        http()
            .delete(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap(),
        405,
        "method-not-allowed",
    )
    .await;
}

#[tokio::test]
async fn operations_endpoints_and_graceful_shutdown() {
    let mut server = TestServer::start();
    let health: Value = http()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    validate("Health", &health);
    let ota = Ota::new(&server, 0).await;
    ota.upload(b"counted".to_vec()).await;
    let metrics = server.metrics().await;
    assert!(metrics.contains("fwrepo_http_requests_total"), "{metrics}");
    assert!(metrics.contains("fwrepo_upload_bytes_total"));
    let served = http()
        .get(format!("{}/openapi.yaml", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let committed =
        std::fs::read_to_string(fwrepo_e2e::workspace_root().join("schemas/openapi.yaml")).unwrap();
    assert_eq!(served, committed);
    let request_id = http()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert!(request_id.headers().contains_key("x-request-id"));
    access_log_and_metrics_labels(&server).await;
    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM stops the server cleanly: {status}"
    );
}

/// Every request gets an access-log line in its span (request id, status), and the request
/// metrics keep a bounded label set: a made-up method counts as `other`.
async fn access_log_and_metrics_labels(server: &TestServer) {
    let missing = http()
        .get(format!("{}/no/such/page", server.url))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("request_id=\"trace-me-42\""))
        .unwrap_or_else(|| panic!("no access-log line for the request: {log}"));
    assert!(
        line.contains("INFO") && line.contains("status=404") && line.contains("latency_us="),
        "{line}"
    );
    let brew = reqwest::Method::from_bytes(b"BREW").unwrap();
    let answer = http()
        .request(brew, format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 405);
    let metrics = server.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("fwrepo_http_requests_total")
                && l.contains("method=\"other\"")
                && l.contains("route=\"/healthz\"")),
        "{metrics}"
    );
    assert!(
        !metrics.contains("BREW"),
        "a client's method never becomes a label"
    );
}

/// Issue 11 item 13: SIGTERM while an upload is still streaming in. The server stops
/// accepting new connections, yet the request in flight completes (200, the right digest,
/// the blob stored) before the process exits cleanly.
#[tokio::test]
async fn graceful_shutdown_finishes_an_upload_in_flight() {
    let mut server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let (chunks, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((Ok::<_, std::io::Error>(chunk), receiver))
    });
    let upload = tokio::spawn(
        ota.raw_upload()
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    let chunk: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 249) as u8).collect();
    let mut sent = Vec::new();
    for _ in 0..4 {
        chunks.send(chunk.clone()).await.unwrap();
        sent.extend_from_slice(&chunk);
    }
    // The upload has reached the blob store: its temp file exists.
    let data = server.data_path();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fwrepo_e2e::temp_files(&data) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    // Shutdown has begun once new connections are refused.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", server.port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server still accepts connections after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!upload.is_finished(), "the upload is still in flight");
    for _ in 0..4 {
        chunks.send(chunk.clone()).await.unwrap();
        sent.extend_from_slice(&chunk);
    }
    drop(chunks);
    let response = upload.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["value"], fwrepo_e2e::sha256_hex(&sent).as_str());
    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM stops the server cleanly: {status}"
    );
    assert!(fwrepo_e2e::blob_names(&data).contains(&fwrepo_e2e::sha256_hex(&sent)));
}

/// Issue 11 item 13: `--listen 127.0.0.1:0` binds a port the kernel picks and announces it
/// on stdout; the default public URL (hence every repository URL) names that port.
#[tokio::test]
async fn listen_on_port_zero_announces_the_bound_address() {
    let server = TestServer::start();
    assert_ne!(server.port, 0);
    let ota = Ota::new(&server, 0).await;
    let sha = ota.upload(b"where am I".to_vec()).await;
    let url = ota.move_to_repository(&sha).await;
    assert!(
        url.starts_with(&format!("http://127.0.0.1:{}/", server.port)),
        "{url}"
    );
    let health = http()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// Memory figures an operator reads to tell a leak from a cache filling: what the allocator
/// (jemalloc, which also serves RocksDB's C++ allocations) has handed out and keeps resident,
/// beside RocksDB's memtables.
#[tokio::test]
async fn metrics_report_the_allocator_and_rocksdb_memory() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.upload(b"some bytes to index".to_vec()).await;
    // The gauges are refreshed every 5 s, the first time at start-up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(12);
    let (allocated, resident, memtables) = loop {
        let figures = (
            server.counter("fwrepo_allocator_allocated_bytes").await,
            server.counter("fwrepo_allocator_resident_bytes").await,
            server.counter("fwrepo_rocksdb_memtable_bytes").await,
        );
        if figures.0 > 0 && figures.2 > 0 || std::time::Instant::now() > deadline {
            break figures;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        memtables > 0,
        "no memtable figure: {}",
        server.metrics().await
    );
    assert!(
        allocated >= memtables,
        "allocated {allocated} B must include RocksDB's memtables ({memtables} B)"
    );
    assert!(
        resident >= allocated,
        "resident {resident} < allocated {allocated}"
    );
}
