//! The server with its blobs on a real 3-node Garage cluster (`[store] kind = "s3"`): publish,
//! query and pull through the `fwrepo` CLI, Span images, one object for the same bytes, a
//! storage node killed mid-run, the whole store unreachable and back.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fwrepo_e2e::{bin, expect_problem, http, sha256_hex, Ota, S3Store, TestServer};
use fwrepo_garage::GarageCluster;
use serde_json::{json, Value};
use span_common::Span;

mod span_common;

async fn start_cluster() -> GarageCluster {
    tokio::task::spawn_blocking(GarageCluster::start)
        .await
        .unwrap()
}

fn server_on(cluster: &GarageCluster, args: &[&str]) -> TestServer {
    let mut builder = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .s3(S3Store::of(cluster));
    for arg in args {
        builder = builder.arg(*arg);
    }
    builder.start()
}

/// Bytes that differ per seed and do not compress.
fn pattern(seed: u32, length: usize) -> Vec<u8> {
    (0..length as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 ^ seed as u8)
        .collect()
}

/// The keys of stored blobs (`sha256/<hex>`) and of anything else in the bucket.
async fn bucket(cluster: &GarageCluster) -> (Vec<String>, Vec<String>) {
    cluster
        .object_keys()
        .await
        .into_iter()
        .partition(|key| key.starts_with("sha256/"))
}

/// `fwrepo` run in `dir` with the server's first client.
fn fwrepo(server: &TestServer, cache: &Path, dir: &Path, args: &[&str]) -> Output {
    server
        .fwrepo(0, dir, cache)
        .env_remove("FWREPO_TYPE")
        .args(args)
        .output()
        .expect("run fwrepo")
}

fn fwrepo_json(server: &TestServer, cache: &Path, dir: &Path, args: &[&str]) -> Value {
    let out = fwrepo(server, cache, dir, args);
    assert!(
        out.status.success(),
        "fwrepo {args:?}: {}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    serde_json::from_slice(&out.stdout).expect("fwrepo prints JSON")
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}");
}

/// A git checkout with one commit, as the CLI's publish reads one.
fn source_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("main.c"), "int main(void) { return 0; }\n").unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    dir
}

/// Uploads and moves to the repository; answers the sha256 and the repository URL.
async fn store_blob(ota: &Ota, bytes: Vec<u8>) -> (String, String) {
    let sha = ota.upload(bytes).await;
    let url = ota.move_to_repository(&sha).await;
    (sha, url)
}

fn fsck(server: &TestServer) -> Value {
    let out = Command::new(bin("fwrepo-server"))
        .args(["fsck", "--json", "--data-dir"])
        .arg(server.data_path())
        .args(server.store_args())
        .output()
        .expect("run fsck");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "fsck printed no report: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_publish_query_pull_span_images_and_dedup_on_garage() {
    let cluster = start_cluster().await;
    // A temporary key a crashed server left: the sweeper's first round removes it (checked
    // with the bucket's keys at the end).
    put_raw(&cluster, "tmp/left-by-a-crash", b"half an upload").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let server = server_on(&cluster, &["--stale-temp-secs", "1"]);
    let ota = Ota::new(&server, 0).await;
    ota.create_type(41).await;
    let (cache, work, src) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        source_repo(),
    );

    // Larger than one part (8 MiB): the body streams through a multipart upload.
    let image = pattern(1, 9 * 1024 * 1024 + 3);
    let file = work.path().join("fw.bin");
    std::fs::write(&file, &image).unwrap();
    let published = fwrepo_json(
        &server,
        cache.path(),
        work.path(),
        &[
            "publish",
            file.to_str().unwrap(),
            "--type",
            "41",
            "--name",
            "fw",
            "--version",
            "1.0.0",
            "--source-dir",
            src.path().to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(published["status"], "published");
    let sha = sha256_hex(&image);
    assert_eq!(published["record"]["sha256"], sha.as_str());

    let found = fwrepo_json(
        &server,
        cache.path(),
        work.path(),
        &["query", "--json", "--type", "41", "--tag", "branch:main"],
    );
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["sha256"], sha.as_str());

    let pulled_to = work.path().join("pulled.bin");
    let pulled = fwrepo_json(
        &server,
        cache.path(),
        work.path(),
        &[
            "pull",
            "--type",
            "41",
            "--tag",
            "branch:main",
            "-o",
            pulled_to.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(pulled["cached"], false, "downloaded from the server");
    assert!(std::fs::read(&pulled_to).unwrap() == image, "pulled bytes");

    // Span: an image uploaded as a form, downloaded whole and by range.
    let span = Span::new(&server, 0).await;
    let collection = span.collection("device").await;
    let span_bytes = pattern(2, 300_000);
    let uploaded = span
        .upload(&collection, &span_bytes, "zephyr.signed.bin")
        .await;
    let span_image = span
        .json(
            span.patch(&format!(
                "/collections/{collection}/firmware/{}",
                uploaded["imageId"].as_str().unwrap()
            ))
            .json(&json!({"version": "1.0"})),
            200,
            "CollectionImage",
        )
        .await;
    let span_url = span_image["url"].as_str().unwrap();
    assert_eq!(
        span.download(span_url, None).await,
        (200, span_bytes.clone())
    );
    let (status, part) = span.download(span_url, Some("bytes=250000-")).await;
    assert_eq!(status, 206);
    assert!(part == span_bytes[250_000..]);

    // The same bytes again, through the partner API and as a second Span image: one object.
    assert_eq!(ota.upload(image.clone()).await, sha);
    let (again, _) = store_blob(&ota, span_bytes.clone()).await;
    assert_eq!(again, sha256_hex(&span_bytes));
    let (blobs, others) = bucket(&cluster).await;
    let mut expected = vec![format!("sha256/{sha}"), format!("sha256/{again}")];
    expected.sort();
    let mut blobs = blobs;
    blobs.sort();
    assert_eq!(blobs, expected, "each content stored once");
    assert!(others.is_empty(), "no temporary key is left: {others:?}");
}

/// Puts an object behind the server's back (a crashed server's leftovers).
async fn put_raw(cluster: &GarageCluster, key: &str, bytes: &'static [u8]) {
    use object_store::ObjectStoreExt;
    cluster
        .s3_client()
        .put(&key.into(), bytes.into())
        .await
        .expect("put a key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_node_killed_mid_run_loses_nothing_acknowledged() {
    let mut cluster = start_cluster().await;
    let mut server = server_on(&cluster, &[]);
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    // Uploads run on their own while a node dies under them.
    let (done_sender, mut done) = tokio::sync::mpsc::unbounded_channel();
    let writer = Ota {
        base: ota.base.clone(),
        token: ota.token.clone(),
        http: http(),
    };
    let uploads = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        for i in 0..16u32 {
            // Every fourth body takes the multipart path.
            let length = if i % 4 == 1 { 9 << 20 } else { 200_000 };
            let bytes = pattern(100 + i, length);
            let (sha, url) = store_blob(&writer, bytes.clone()).await;
            assert_eq!(sha, sha256_hex(&bytes));
            acknowledged.push((sha, url));
            done_sender.send(i).unwrap();
        }
        acknowledged
    });
    for _ in 0..3 {
        done.recv().await.unwrap();
    }
    cluster.kill_node(2);
    let killed_at = Instant::now();
    let acknowledged = uploads
        .await
        .expect("every upload succeeds with a node down");
    eprintln!(
        "16 uploads acknowledged; {:?} of them with node 2 dead",
        killed_at.elapsed()
    );
    for (sha, url) in &acknowledged {
        let (status, bytes) = span.download(url, None).await;
        assert_eq!(status, 200, "{sha} downloads with a node down");
        assert_eq!(&sha256_hex(&bytes), sha, "{sha} comes back whole");
    }
    let (blobs, others) = bucket(&cluster).await;
    assert_eq!(blobs.len(), 16);
    assert!(others.is_empty(), "{others:?}");

    let _cluster = tokio::task::spawn_blocking(move || {
        cluster.restart_node(2);
        cluster
    })
    .await
    .unwrap();
    assert!(server.terminate().success());
    let report = fsck(&server);
    assert_eq!(report["clean"], true, "{report}");
    assert_eq!(report["blob_files"], 16, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_503_with_retry_after_and_the_server_recovers() {
    let mut cluster = start_cluster().await;
    // Proxied downloads: the server itself reads the store.
    let server = server_on(&cluster, &["--downloads", "proxy"]);
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    let stored = pattern(7, 100_000);
    let (_, url) = store_blob(&ota, stored.clone()).await;

    cluster = tokio::task::spawn_blocking(move || {
        cluster.stop_all();
        cluster
    })
    .await
    .unwrap();
    let refused = pattern(8, 50_000);
    let started = Instant::now();
    let response = ota.raw_upload().body(refused.clone()).send().await.unwrap();
    let retry_after = response.headers().get("retry-after").cloned();
    expect_problem(response, 503, "unavailable").await;
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(15), "answered in {waited:?}");
    let retry_after: u64 = retry_after
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let response = ota
        .http
        .get(&url)
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    expect_problem(response, 503, "unavailable").await;
    let health = http()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the server stays up");

    let cluster = Arc::new(
        tokio::task::spawn_blocking(move || {
            cluster.start_all();
            cluster
        })
        .await
        .unwrap(),
    );
    // The refused upload left no record: moving it to the repository finds nothing.
    let moved = ota
        .post("/binaries/moveToRepository")
        .json(&json!({"value": sha256_hex(&refused)}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 404);
    assert_eq!(span.download(&url, None).await, (200, stored));
    let (_, again) = store_blob(&ota, refused.clone()).await;
    assert_eq!(span.download(&again, None).await, (200, refused));
    let (blobs, others) = bucket(&cluster).await;
    assert_eq!(blobs.len(), 2);
    assert!(others.is_empty(), "{others:?}");
}
