//! Checksum-first publish (issue 10 item 4): an upload stating the digest of bytes the partner
//! already holds is answered before its body is read (curl with `Expect: 100-continue` sends
//! none of it), the lookup by digest respects partner isolation, and the CLI's publish of a
//! rebuilt binary uploads nothing. A republish to the S3 store (the 3-node Garage cluster)
//! sends no body either.

use std::path::Path;
use std::process::Command;

use fwrepo_e2e::{
    blob_files, expect_problem, sha256_hex, validate, wait_for_blob_count, Ota, S3Store, TestServer,
};
use serde_json::{json, Value};

/// A file of `len` pseudo-random bytes (seeded), and its SHA-256.
fn big_file(dir: &Path, name: &str, len: usize, seed: u32) -> (std::path::PathBuf, String) {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, sha256_hex(&bytes))
}

/// What curl did with one upload.
struct Sent {
    status: u16,
    body: String,
    /// Bytes of the request body curl sent (`%{size_upload}`).
    size_upload: u64,
}

/// `curl --data-binary @file` to `POST binaries` with `Expect: 100-continue` and the stated
/// digest, as a CI script would.
fn curl_upload(ota: &Ota, file: &Path, sha256: &str) -> Sent {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body");
    let output = Command::new("curl")
        .args(["-sS", "-X", "POST", "-o"])
        .arg(&body_file)
        .args(["-w", "%{http_code} %{size_upload}"])
        .args(["-H", &format!("Authorization: Bearer {}", ota.token)])
        .args(["-H", "Content-Type: application/octet-stream"])
        .args(["-H", "Expect: 100-continue"])
        .args(["-H", &format!("X-Checksum-Sha256: {sha256}")])
        // Far longer than the server needs to decide, so a body sent means one asked for.
        .args(["--expect100-timeout", "30"])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("{}/binaries", ota.base))
        .output()
        .expect("run curl");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = String::from_utf8(output.stdout).unwrap();
    let (status, size_upload) = written.trim().split_once(' ').unwrap();
    Sent {
        status: status.parse().unwrap(),
        body: std::fs::read_to_string(&body_file).unwrap_or_default(),
        size_upload: size_upload.parse::<f64>().unwrap() as u64,
    }
}

async fn lookup(ota: &Ota, sha256: &str) -> reqwest::Response {
    ota.get(&format!("/binaries/sha256/{sha256}"))
        .send()
        .await
        .unwrap()
}

const BIG: usize = 24 * 1024 * 1024;

#[tokio::test]
async fn held_bytes_are_answered_before_the_body_is_sent() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, sha) = big_file(dir.path(), "app.bin", BIG, 1);

    // Not held yet: curl is told to continue and sends every byte.
    let first = curl_upload(&ota, &file, &sha);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.size_upload, BIG as u64);
    let uploaded = server.counter("fwrepo_upload_bytes_total").await;
    assert_eq!(uploaded, BIG as u64);

    // Held (a pending upload): the same answer, and not one byte of the body sent.
    let again = curl_upload(&ota, &file, &sha);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.size_upload, 0, "the body was not sent");
    let answer: Value = serde_json::from_str(&again.body).unwrap();
    validate("StringValue", &answer);
    assert_eq!(answer, serde_json::from_str::<Value>(&first.body).unwrap());
    assert_eq!(server.counter("fwrepo_upload_bytes_total").await, uploaded);
    assert_eq!(
        server.counter("fwrepo_upload_bodies_skipped_total").await,
        1
    );

    // Held in the repository: the same again, and the move after it still answers the URL.
    let url = ota.move_to_repository(&sha).await;
    let third = curl_upload(&ota, &file, &sha);
    assert_eq!((third.status, third.size_upload), (200, 0));
    assert_eq!(ota.move_to_repository(&sha).await, url);
    assert_eq!(
        server.counter("fwrepo_upload_bodies_skipped_total").await,
        2
    );
    assert_eq!(blob_files(&server.data_path()).len(), 1);

    // A stated length that is not the blob's is not taken on trust: the body is read.
    let response = ota
        .raw_upload()
        .header("x-checksum-sha256", &sha)
        .header("expect", "100-continue")
        .body(b"short".to_vec())
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "digest-mismatch").await;
}

#[tokio::test]
async fn a_skipped_body_refreshes_the_pending_upload_as_a_full_upload_would() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .args([
            "--pending-upload-ttl-secs",
            "10",
            "--sweep-interval-secs",
            "1",
            "--sweep-grace-secs",
            "1",
        ])
        .start();
    let ota = Ota::new(&server, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, sha) = big_file(dir.path(), "app.bin", 2 * 1024 * 1024, 2);
    let first = curl_upload(&ota, &file, &sha);
    assert_eq!(first.status, 200);
    // Uploaded at the same moment and never refreshed: its sweep shows the first expiry passed.
    let control = ota
        .upload(b"uploaded beside it, never refreshed".to_vec())
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let refresh = curl_upload(&ota, &file, &sha);
    assert_eq!((refresh.status, refresh.size_upload), (200, 0));
    wait_for_blob_count(&server.data_path(), 1).await;
    assert_eq!(
        fwrepo_e2e::blob_names(&server.data_path()),
        vec![sha.clone()],
        "the control upload expired and was swept; the refreshed one was not"
    );
    let gone = ota
        .post("/binaries/moveToRepository")
        .json(&json!({"value": control}))
        .send()
        .await
        .unwrap();
    expect_problem(gone, 404, "not-found").await;
    // The refreshed hold outlived its first expiry: the move succeeds.
    ota.move_to_repository(&sha).await;
}

#[tokio::test]
async fn lookup_by_digest_is_partner_isolated() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("globex", &["ota:read", "ota:write", "admin"])
        .client("acme", &["ota:read"])
        .start();
    let acme = Ota::new(&server, 0).await;
    let globex = Ota::new(&server, 1).await;
    let reader = Ota::new(&server, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, sha) = big_file(dir.path(), "radio.bin", 3 * 1024 * 1024, 3);
    let bytes = std::fs::read(&file).unwrap();

    expect_problem(lookup(&acme, &sha).await, 404, "not-found").await;
    acme.upload(bytes.clone()).await;
    let pending: Value = lookup(&acme, &sha).await.json().await.unwrap();
    validate("BinaryStatus", &pending);
    assert_eq!(
        pending,
        json!({"sha256": sha, "length": bytes.len(), "inRepository": false})
    );
    let url = acme.move_to_repository(&sha).await;
    let moved = lookup(&reader, &sha).await;
    assert_eq!(moved.status(), 200, "read scope may look");
    let moved: Value = moved.json().await.unwrap();
    validate("BinaryStatus", &moved);
    assert_eq!(moved["inRepository"], true);
    assert_eq!(moved["url"], url.as_str());
    let head = acme
        .http
        .head(format!("{}/binaries/sha256/{sha}", acme.base))
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.unwrap().is_empty());
    expect_problem(lookup(&acme, "not-a-digest").await, 404, "not-found").await;

    // Globex does not learn that acme holds these bytes, nor get them without sending them.
    expect_problem(lookup(&globex, &sha).await, 404, "not-found").await;
    let forged = globex
        .raw_upload()
        .header("x-checksum-sha256", &sha)
        .header("expect", "100-continue")
        .body(b"not those bytes".to_vec())
        .send()
        .await
        .unwrap();
    expect_problem(forged, 400, "digest-mismatch").await;
    expect_problem(lookup(&globex, &sha).await, 404, "not-found").await;
    let sent = curl_upload(&globex, &file, &sha);
    assert_eq!(sent.status, 200);
    assert_eq!(
        sent.size_upload,
        bytes.len() as u64,
        "globex had to send the body"
    );
    let held: Value = lookup(&globex, &sha).await.json().await.unwrap();
    assert_eq!(held["inRepository"], false);
    expect_problem(
        server_url_lookup(&globex, "acme", &sha).await,
        404,
        "not-found",
    )
    .await;
}

/// Globex's token on acme's lookup URL.
async fn server_url_lookup(ota: &Ota, partner: &str, sha256: &str) -> reqwest::Response {
    let base = ota.base.rsplit_once('/').unwrap().0;
    ota.http
        .get(format!("{base}/{partner}/binaries/sha256/{sha256}"))
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_damaged_blob_is_not_known_and_a_full_upload_repairs_it() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, sha) = big_file(dir.path(), "app.bin", 2 * 1024 * 1024, 4);
    assert_eq!(curl_upload(&ota, &file, &sha).status, 200);
    ota.move_to_repository(&sha).await;
    let stored = server
        .data_path()
        .join("blobs/sha256")
        .join(&sha[0..2])
        .join(&sha[2..4])
        .join(&sha);
    std::fs::remove_file(&stored).unwrap();
    expect_problem(lookup(&ota, &sha).await, 404, "not-found").await;
    let repaired = curl_upload(&ota, &file, &sha);
    assert_eq!(repaired.status, 200);
    assert_eq!(repaired.size_upload, 2 * 1024 * 1024, "the body was read");
    assert_eq!(sha256_hex(&std::fs::read(&stored).unwrap()), sha);
    assert_eq!(lookup(&ota, &sha).await.status(), 200);
}

/// The same on the S3 store (the 3-node Garage cluster): the server asks the store whether
/// the bytes are whole (a HEAD of the object), and the republish sends no body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_bytes_on_garage_are_not_sent_again() {
    let cluster = fwrepo_garage::GarageCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .s3(S3Store::of(&cluster))
        .start();
    let ota = Ota::new(&server, 0).await;
    let (file, sha) = big_file(dir.path(), "app.bin", 12 * 1024 * 1024, 6);
    let first = tokio::task::block_in_place(|| curl_upload(&ota, &file, &sha));
    assert_eq!((first.status, first.size_upload), (200, 12 * 1024 * 1024));
    ota.move_to_repository(&sha).await;
    let again = tokio::task::block_in_place(|| curl_upload(&ota, &file, &sha));
    assert_eq!(
        (again.status, again.size_upload),
        (200, 0),
        "{}",
        again.body
    );
    let lookup: Value = lookup(&ota, &sha).await.json().await.unwrap();
    assert_eq!(lookup["inRepository"], true);
    let blobs = cluster
        .object_keys()
        .await
        .into_iter()
        .filter(|key| key.contains(&sha))
        .count();
    assert_eq!(blobs, 1, "one object for the blob");
}

/// The CLI's publish of a rebuilt binary (same bytes, a new version) sends no body: the
/// server receives no upload bytes and the record is made.
#[tokio::test]
async fn cli_publish_of_a_rebuilt_binary_uploads_nothing() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, sha) = big_file(dir.path(), "app.bin", 8 * 1024 * 1024, 5);
    let publish = |version: &str| {
        let output = server
            .fwrepo(0, dir.path(), &dir.path().join("cache"))
            .args([
                "publish",
                "--type",
                "101",
                "--name",
                "app",
                "--version",
                version,
                "--json",
            ])
            .arg(&file)
            .output()
            .expect("run fwrepo");
        assert!(
            output.status.success(),
            "publish {version}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
        (outcome, String::from_utf8_lossy(&output.stderr).to_string())
    };
    let (first, _) = publish("1.0.0");
    assert_eq!(first["record"]["sha256"], sha.as_str());
    let received = server.counter("fwrepo_upload_bytes_total").await;
    assert_eq!(received, 8 * 1024 * 1024);
    let (rebuilt, notes) = publish("1.0.1");
    assert_eq!(rebuilt["status"], "published");
    assert_eq!(rebuilt["record"]["version"], "1.0.1");
    assert_eq!(rebuilt["record"]["sha256"], sha.as_str());
    assert_eq!(rebuilt["record"]["url"], first["record"]["url"]);
    assert!(notes.contains("nothing uploaded"), "{notes}");
    assert_eq!(
        server.counter("fwrepo_upload_bytes_total").await,
        received,
        "the rebuilt binary was not uploaded again"
    );
    let requests = server.metrics().await;
    let uploads = requests
        .lines()
        .filter(|l| {
            l.starts_with("fwrepo_http_requests_total")
                && l.contains("route=\"/v1/ota/partners/{partnerId}/binaries\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum::<f64>();
    assert_eq!(uploads, 1.0, "one POST binaries in two publishes");
}
