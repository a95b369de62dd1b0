//! Downloads from the object store (issue 10 item 3) on the real 3-node Garage cluster: once
//! fwrepo has authorised the caller, a large blob's GET is a `307` to a presigned Garage URL;
//! the CLI's pull follows it without its bearer token, verifies the digest and resumes with
//! `Range`; the Span and DDI download URLs redirect the same way; small blobs, HEAD and the
//! `proxy` policy stay on fwrepo. Garage is reached through a recording TCP relay, so the test
//! sees every header a client sent to the store.

mod ddi_common;
mod span_common;

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use fwrepo_e2e::{sha256_hex, Ota, TestServer};
use fwrepo_garage::GarageCluster;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// A TCP relay in front of Garage that keeps every byte clients send through it, one buffer
/// per connection (downloads send only request heads, so these are their headers).
struct Relay {
    url: String,
    sent: Arc<Mutex<Vec<Arc<Mutex<Vec<u8>>>>>>,
}

impl Relay {
    async fn start(upstream: &str) -> Relay {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sent: Arc<Mutex<Vec<Arc<Mutex<Vec<u8>>>>>> = Arc::default();
        let record = Arc::clone(&sent);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
                record.lock().unwrap().push(Arc::clone(&buffer));
                tokio::spawn(relay(client, server, buffer));
            }
        });
        Relay { url, sent }
    }

    /// The request heads of presigned GETs (those naming `X-Amz-Signature`), lowercased, in
    /// the order of their connections (a GET has no body: heads follow one another).
    fn presigned_requests(&self) -> Vec<String> {
        let sent = self.sent.lock().unwrap();
        sent.iter()
            .flat_map(|b| {
                let text = String::from_utf8_lossy(&b.lock().unwrap()).to_ascii_lowercase();
                text.split("\r\n\r\n")
                    .filter(|head| head.starts_with("get ") && head.contains("x-amz-signature="))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    buffer: Arc<Mutex<Vec<u8>>>,
) {
    use tokio::io::AsyncReadExt;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upward = async move {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match client_read.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    {
                        let mut kept = buffer.lock().unwrap();
                        // Heads are what matter; an upload's body is not kept whole.
                        if kept.len() < 64 * 1024 {
                            kept.extend_from_slice(&chunk[..n]);
                        }
                    }
                    if server_write.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        server_write.shutdown().await.ok();
    };
    let downward = async move {
        tokio::io::copy(&mut server_read, &mut client_write)
            .await
            .ok();
        client_write.shutdown().await.ok();
    };
    tokio::join!(upward, downward);
}

/// fwrepo on the Garage cluster (through `relay`), with `extra` flags.
fn s3_server(cluster: &GarageCluster, relay: &Relay, keys: &Path, extra: &[&str]) -> TestServer {
    let mut builder = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .args(["--store", "s3", "--s3-endpoint", &relay.url])
        .args([
            "--s3-bucket",
            cluster.bucket(),
            "--s3-region",
            cluster.region(),
        ])
        .arg("--s3-credentials-file")
        .arg(keys.display().to_string())
        .args([
            "--s3-prefix",
            &format!("redirects-{}/", fwrepo_e2e::free_port()),
        ]);
    for flag in extra {
        builder = builder.arg(*flag);
    }
    builder.start()
}

fn credentials(cluster: &GarageCluster, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("s3.toml");
    std::fs::write(
        &path,
        format!(
            "access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
            cluster.access_key_id(),
            cluster.secret_access_key()
        ),
    )
    .unwrap();
    path
}

/// The `fwrepo` CLI with the server's credentials, run off the async runtime; must succeed.
async fn fwrepo(server: &TestServer, dir: &Path, cache: &Path, args: &[&str]) -> Output {
    let mut command = server.fwrepo(0, dir, cache);
    command.args(args);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "fwrepo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `fwrepo pull` of the newest `app` of type 101 into `out`; answers its JSON outcome.
async fn pull(server: &TestServer, dir: &Path, cache: &Path, out: &Path) -> Value {
    let out = out.to_str().unwrap();
    let args = [
        "pull", "--type", "101", "--name", "app", "-o", out, "--json",
    ];
    serde_json::from_slice(&fwrepo(server, dir, cache, &args).await.stdout).unwrap()
}

fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// A client that does not follow redirects, to look at the 307 itself.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_follow_the_redirect_to_garage_without_the_token_and_resume() {
    let cluster = GarageCluster::start();
    let relay = Relay::start(&cluster.s3_endpoint()).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = credentials(&cluster, dir.path());
    // The default policy on s3 is redirect, from 1 MiB.
    let server = s3_server(&cluster, &relay, &keys, &[]);
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    let bytes = pseudo_random(3 * 1024 * 1024 + 17, 1);
    let sha = sha256_hex(&bytes);
    let file = dir.path().join("app.bin");
    std::fs::write(&file, &bytes).unwrap();
    let cache = dir.path().join("cache");
    let published = fwrepo(
        &server,
        dir.path(),
        &cache,
        &[
            "publish",
            "--type",
            "101",
            "--name",
            "app",
            "--version",
            "1.0.0",
            "--json",
            file.to_str().unwrap(),
        ],
    )
    .await;
    let record: Value = serde_json::from_slice(&published.stdout).unwrap();
    let url = record["record"]["url"].as_str().unwrap().to_string();

    // The 307 itself: to the store (through the relay), presigned, not cacheable.
    let answer = no_redirects()
        .get(&url)
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 307);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&relay.url), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert_eq!(answer.headers()["cache-control"], "no-store");
    // Unauthorised callers never get the URL.
    assert_eq!(no_redirects().get(&url).send().await.unwrap().status(), 401);
    // HEAD stays on fwrepo (a presigned URL is for GET only).
    let head = no_redirects()
        .head(&url)
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        bytes.len().to_string().as_str()
    );

    // The CLI's pull: redirected, verified, no token at the store.
    let before = relay.presigned_requests().len();
    let out = dir.path().join("pulled.bin");
    let pulled = pull(&server, dir.path(), &cache.join("fresh"), &out).await;
    assert_eq!(pulled["cached"], false);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let presigned = relay.presigned_requests();
    assert_eq!(
        presigned.len(),
        before + 1,
        "the pull fetched from the store"
    );
    let from_cli = presigned.last().unwrap();
    assert!(from_cli.contains("user-agent: fwrepo/"), "{from_cli}");
    assert!(
        !from_cli.contains("authorization:"),
        "token sent to the store: {from_cli}"
    );
    assert!(!from_cli.contains("referer:"), "{from_cli}");
    assert!(server.counter("fwrepo_download_redirects_total").await >= 2);
    assert_eq!(
        server.counter("fwrepo_download_bytes_total").await,
        0,
        "no byte went through fwrepo"
    );

    // Resume after a cut: half the bytes in the cache's partial file, the rest by Range.
    let resume_cache = cache.join("resume");
    std::fs::create_dir_all(resume_cache.join("partial")).unwrap();
    let half = bytes.len() / 2;
    std::fs::write(
        resume_cache.join("partial").join(format!("{sha}.part")),
        &bytes[..half],
    )
    .unwrap();
    let resumed_out = dir.path().join("resumed.bin");
    let resumed = pull(&server, dir.path(), &resume_cache, &resumed_out).await;
    assert_eq!(resumed["resumed_from"], half as u64);
    assert_eq!(std::fs::read(&resumed_out).unwrap(), bytes);
    let ranged = relay.presigned_requests();
    let last = ranged.last().unwrap();
    assert!(last.contains(&format!("range: bytes={half}-")), "{last}");
    assert!(!last.contains("authorization:"), "{last}");

    // A corrupted partial file is caught by the digest check, not trusted.
    let bad_cache = cache.join("bad");
    std::fs::create_dir_all(bad_cache.join("partial")).unwrap();
    std::fs::write(
        bad_cache.join("partial").join(format!("{sha}.part")),
        vec![0u8; half],
    )
    .unwrap();
    let bad = server
        .fwrepo(0, dir.path(), &bad_cache)
        .args(["pull", "--type", "101", "--name", "app", "-o"])
        .arg(dir.path().join("bad.bin"))
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // A small blob is proxied: one round trip is cheaper than two.
    let small = ota.upload(b"a small config blob".to_vec()).await;
    let small_url = ota.move_to_repository(&small).await;
    let answer = no_redirects()
        .get(&small_url)
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.bytes().await.unwrap().as_ref(),
        b"a small config blob"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_and_ddi_downloads_redirect_and_the_proxy_policy_does_not() {
    let cluster = GarageCluster::start();
    let relay = Relay::start(&cluster.s3_endpoint()).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = credentials(&cluster, dir.path());
    let server = s3_server(&cluster, &relay, &keys, &["--redirect-min-bytes", "65536"]);
    let span = span_common::Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let image_bytes = pseudo_random(300_000, 2);
    let image = span.upload(&c, &image_bytes, "update.swu").await;
    let id = image["imageId"].as_str().unwrap().to_string();

    // Span: the image download is a 307 for the token holder; reqwest follows it with Range.
    let download = format!("{}/collections/{c}/firmware/{id}/download", server.url);
    let answer = no_redirects()
        .get(&download)
        .header("x-api-token", &span.token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 307);
    let followed = fwrepo_e2e::http()
        .get(&download)
        .header("x-api-token", &span.token)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), 206);
    assert_eq!(
        followed.bytes().await.unwrap().as_ref(),
        &image_bytes[1000..2000]
    );

    // DDI: the artifact download of a deployment redirects; the device's token stays home.
    span.device(
        &c,
        json!({"deviceId": "d1", "firmware": {"targetFirmwareId": id}}),
    )
    .await;
    let token = span
        .json(
            span.post(&format!("/collections/{c}/devices/d1/targetToken")),
            201,
            "DdiToken",
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let ddi = ddi_common::Ddi::target(&server.url, "acme", &token);
    let base = ddi.poll("d1").await;
    let deployment = ddi
        .get_json(
            ddi_common::link(&base, "deploymentBase").unwrap(),
            "DdiDeploymentBase",
        )
        .await;
    let file_url = deployment["deployment"]["chunks"][0]["artifacts"][0]["_links"]["download-http"]
        ["href"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = no_redirects()
        .get(&file_url)
        .header("authorization", format!("TargetToken {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 307);
    let before = relay.presigned_requests().len();
    let (status, body) = ddi.download(&file_url, None).await;
    assert_eq!(status, 200);
    assert_eq!(body, image_bytes);
    let presigned = relay.presigned_requests();
    assert_eq!(presigned.len(), before + 1);
    assert!(!presigned.last().unwrap().contains("authorization:"));
    assert_eq!(server.counter("fwrepo_download_bytes_total").await, 0);

    // The proxy policy on the same store: the bytes come through fwrepo, with Range.
    drop(server);
    let proxied = s3_server(&cluster, &relay, &keys, &["--downloads", "proxy"]);
    let ota = Ota::new(&proxied, 0).await;
    let big = pseudo_random(2 * 1024 * 1024, 3);
    let sha = ota.upload(big.clone()).await;
    let url = ota.move_to_repository(&sha).await;
    let answer = no_redirects()
        .get(&url)
        .bearer_auth(&ota.token)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 206);
    assert_eq!(answer.bytes().await.unwrap().as_ref(), &big[10..20]);
    assert_eq!(proxied.counter("fwrepo_download_redirects_total").await, 0);
}
