//! Uploads (octet-stream and multipart), digests, dedup, limits, moves, downloads with Range,
//! and the sweep of uploads never moved to the repository.

use base64::Engine;
use fwrepo_e2e::{
    blob_files, blob_names, expect_problem, sha256_hex, temp_files, validate, wait_for_blob_count,
    Ota, TestServer,
};
use serde_json::{json, Value};

fn multipart(parts: Vec<reqwest::multipart::Part>) -> reqwest::multipart::Form {
    parts
        .into_iter()
        .enumerate()
        .fold(reqwest::multipart::Form::new(), |form, (i, part)| {
            form.part(format!("file{i}"), part)
        })
}

fn file_part(bytes: &[u8], name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string())
}

#[tokio::test]
async fn identical_uploads_are_stored_once() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let first = ota.upload(bytes.clone()).await;
    assert_eq!(first, sha256_hex(&bytes));
    let form = multipart(vec![file_part(&bytes, "app.bin")]);
    let response = ota.post("/binaries").multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["value"], first.as_str());
    let files = blob_files(&server.data_path());
    assert_eq!(
        files,
        vec![(first.clone(), first.clone())],
        "one file, named by and hashing to its SHA-256"
    );
    assert_eq!(temp_files(&server.data_path()), 0);
}

#[tokio::test]
async fn multipart_forms_need_exactly_one_file() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let with_field = reqwest::multipart::Form::new()
        .text("description", "hello")
        .part("image", file_part(b"abc", "a.bin"));
    let response = ota
        .post("/binaries")
        .multipart(with_field)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "plain fields beside the file are ignored"
    );

    let none = reqwest::multipart::Form::new().text("description", "no file");
    expect_problem(
        ota.post("/binaries").multipart(none).send().await.unwrap(),
        400,
        "invalid-body",
    )
    .await;
    let two = multipart(vec![file_part(b"one", "1.bin"), file_part(b"two", "2.bin")]);
    expect_problem(
        ota.post("/binaries").multipart(two).send().await.unwrap(),
        400,
        "invalid-body",
    )
    .await;
    let no_boundary = ota
        .post("/binaries")
        .header("content-type", "multipart/form-data")
        .body("garbage")
        .send()
        .await
        .unwrap();
    expect_problem(no_boundary, 400, "invalid-body").await;
    let wrong_type = ota
        .post("/binaries")
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    expect_problem(wrong_type, 415, "unsupported-media-type").await;
    let names = blob_names(&server.data_path());
    assert_eq!(
        names,
        vec![sha256_hex(b"abc")],
        "rejected forms keep nothing"
    );
    assert_eq!(temp_files(&server.data_path()), 0);
}

#[tokio::test]
async fn stated_digests_are_checked() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let body = b"firmware".to_vec();
    let right = sha256_hex(&body);
    let wrong = sha256_hex(b"something else");

    let ok = ota
        .raw_upload()
        .header("x-checksum-sha256", &right)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let other = b"other firmware".to_vec();
    let mismatch = ota
        .raw_upload()
        .header("x-checksum-sha256", &wrong)
        .body(other.clone())
        .send()
        .await
        .unwrap();
    expect_problem(mismatch, 400, "digest-mismatch").await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&wrong).unwrap());
    let content_digest = ota
        .raw_upload()
        .header("content-digest", format!("sha-256=:{b64}:"))
        .body(other.clone())
        .send()
        .await
        .unwrap();
    expect_problem(content_digest, 400, "digest-mismatch").await;
    let form = reqwest::multipart::Form::new().part("file", file_part(&other, "x.bin"));
    let multipart = ota
        .post("/binaries")
        .header("x-checksum-sha256", &wrong)
        .multipart(form)
        .send()
        .await
        .unwrap();
    expect_problem(multipart, 400, "digest-mismatch").await;
    let malformed = ota
        .raw_upload()
        .header("x-checksum-sha256", "nothex")
        .body(other)
        .send()
        .await
        .unwrap();
    expect_problem(malformed, 400, "validation-failed").await;

    let names = blob_names(&server.data_path());
    assert_eq!(names, vec![right], "a mismatching upload keeps nothing");
    assert_eq!(temp_files(&server.data_path()), 0);
    let move_rejected = ota
        .post("/binaries/moveToRepository")
        .json(&json!({"value": sha256_hex(b"other firmware")}))
        .send()
        .await
        .unwrap();
    expect_problem(move_rejected, 404, "not-found").await;
}

#[tokio::test]
async fn oversize_bodies_are_refused() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .arg("--max-upload-bytes")
        .arg("1024")
        .start();
    let ota = Ota::new(&server, 0).await;
    let big = vec![7u8; 200_000];
    let declared = ota.raw_upload().body(big.clone()).send().await.unwrap();
    expect_problem(declared, 413, "payload-too-large").await;
    // Without a Content-Length (chunked), the limit is enforced while streaming.
    let stream = futures_util::stream::iter(
        big.chunks(4096)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = ota
        .raw_upload()
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    expect_problem(chunked, 413, "payload-too-large").await;
    assert!(blob_files(&server.data_path()).is_empty());
    assert_eq!(temp_files(&server.data_path()), 0);
    let json_body = format!(
        "{{\"name\": \"{}\", \"type\": 101}}",
        "x".repeat(1024 * 1024 + 1024)
    );
    let huge_json = ota
        .post("/types")
        .header("content-type", "application/json")
        .body(json_body)
        .send()
        .await
        .unwrap();
    expect_problem(huge_json, 413, "payload-too-large").await;
}

#[tokio::test]
async fn downloads_support_range_etag_and_digests() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let bytes: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let sha = ota.upload(bytes.clone()).await;
    let url = ota.move_to_repository(&sha).await;
    assert_eq!(url, format!("{}/repository/sha256/{sha}", ota.base));
    assert_eq!(
        ota.move_to_repository(&sha).await,
        url,
        "a retried move answers the same URL"
    );
    let bad = ota
        .post("/binaries/moveToRepository")
        .json(&json!({"value": "zz"}))
        .send()
        .await
        .unwrap();
    expect_problem(bad, 400, "validation-failed").await;

    let client = fwrepo_e2e::http();
    let full = client
        .get(&url)
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), 200);
    let headers = full.headers().clone();
    assert_eq!(headers["etag"], format!("\"{sha}\"").as_str());
    assert_eq!(headers["content-length"], "1000000");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(headers["x-checksum-sha256"], sha.as_str());
    let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&sha).unwrap());
    assert_eq!(headers["repr-digest"], format!("sha-256=:{b64}:").as_str());
    assert_eq!(full.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let head = client
        .head(&url)
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            head.status().as_u16(),
            head.headers()["content-length"].to_str().unwrap()
        ),
        (200, "1000000")
    );

    let part = client
        .get(&url)
        .bearer_auth(&ota.token)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 100-199/1000000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    let tail = client
        .get(&url)
        .bearer_auth(&ota.token)
        .header("range", "bytes=999990-")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &bytes[999_990..]);
    let suffix = client
        .get(&url)
        .bearer_auth(&ota.token)
        .header("range", "bytes=-5")
        .send()
        .await
        .unwrap();
    assert_eq!(suffix.bytes().await.unwrap().as_ref(), &bytes[999_995..]);

    let beyond = client
        .get(&url)
        .bearer_auth(&ota.token)
        .header("range", "bytes=2000000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.headers()["content-range"], "bytes */1000000");
    expect_problem(beyond, 416, "range-not-satisfiable").await;
    let stale = client
        .get(&url)
        .bearer_auth(&ota.token)
        .header("range", "bytes=0-1")
        .header("if-range", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        200,
        "If-Range with another ETag gets the whole body"
    );
    let cached = client
        .get(&url)
        .bearer_auth(&ota.token)
        .header("if-none-match", format!("\"{sha}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    let unknown = url.replace(&sha, &sha256_hex(b"nope"));
    expect_problem(
        client
            .get(&unknown)
            .bearer_auth(&ota.token)
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
    expect_problem(client.get(&url).send().await.unwrap(), 401, "unauthorized").await;
}

#[tokio::test]
async fn unmoved_uploads_expire_and_are_swept() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .args([
            "--pending-upload-ttl-secs",
            "1",
            "--sweep-interval-secs",
            "1",
            "--sweep-grace-secs",
            "1",
        ])
        .start();
    let ota = Ota::new(&server, 0).await;
    let kept = ota.upload(b"moved in time".to_vec()).await;
    ota.move_to_repository(&kept).await;
    let dropped = ota.upload(b"forgotten".to_vec()).await;
    wait_for_blob_count(&server.data_path(), 1).await;
    let names = blob_names(&server.data_path());
    assert_eq!(
        names,
        vec![kept],
        "the unmoved upload's blob is deleted, the moved one stays"
    );
    let late = ota
        .post("/binaries/moveToRepository")
        .json(&json!({"value": dropped}))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(late, 404, "not-found").await;
    assert!(problem["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn same_bytes_across_partners_are_isolated_but_stored_once() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("globex", &["ota:read", "ota:write", "admin"])
        .start();
    let acme = Ota::new(&server, 0).await;
    let globex = Ota::new(&server, 1).await;
    let sha = acme.upload(b"common radio stack".to_vec()).await;
    let acme_url = acme.move_to_repository(&sha).await;
    // Globex cannot move or download acme's upload without uploading the bytes itself.
    let steal = globex
        .post("/binaries/moveToRepository")
        .json(&json!({"value": sha}))
        .send()
        .await
        .unwrap();
    expect_problem(steal, 404, "not-found").await;
    let globex_url = acme_url.replace("/acme/", "/globex/");
    expect_problem(
        fwrepo_e2e::http()
            .get(&globex_url)
            .bearer_auth(&globex.token)
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
    assert_eq!(globex.upload(b"common radio stack".to_vec()).await, sha);
    assert_eq!(globex.move_to_repository(&sha).await, globex_url);
    assert_eq!(
        blob_files(&server.data_path()).len(),
        1,
        "one blob for both partners"
    );
    let record = globex
        .post("/types")
        .json(&json!({"name": "t", "type": 101}))
        .send()
        .await
        .unwrap();
    assert_eq!(record.status(), 201);
    let body: Value = globex
        .post("/pool")
        .json(&json!({"name": "r", "type": 101, "version": "1", "url": globex_url}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    validate("PoolRecord", &body);
}

#[tokio::test]
async fn blob_files_no_record_knows_are_swept_after_a_restart() {
    let mut server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .args(["--sweep-interval-secs", "1", "--sweep-grace-secs", "1"])
        .start();
    let ota = Ota::new(&server, 0).await;
    let held = ota.upload(b"held by a pending upload".to_vec()).await;
    server.kill9();
    // What a crash between linking a blob and recording its hold leaves behind.
    let orphan = b"linked, never recorded";
    let hex = sha256_hex(orphan);
    let dir = server
        .data_path()
        .join("blobs/sha256")
        .join(&hex[0..2])
        .join(&hex[2..4]);
    std::fs::create_dir_all(&dir).unwrap();
    // A fresh file: the sweep reads no file times (an upload takes its hold under the blob's
    // lock, so a blob no record knows is garbage at once).
    std::fs::write(dir.join(&hex), orphan).unwrap();
    server.restart();
    wait_for_blob_count(&server.data_path(), 1).await;
    let names = blob_names(&server.data_path());
    assert_eq!(
        names,
        vec![held],
        "the orphan is deleted, the held blob stays"
    );
}

/// Issue 11 item 2: a `Range` header that does not parse is ignored (RFC 9110 §14.2: the
/// whole body, 200), not a 416; a weak `If-None-Match` validator matches (weak comparison).
#[tokio::test]
async fn malformed_range_is_ignored_and_weak_etags_match() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let sha = ota.upload(bytes.clone()).await;
    let url = ota.move_to_repository(&sha).await;
    let get = || ota.http.get(&url).bearer_auth(&ota.token);
    for garbage in ["garbage", "bytes=", "bytes=x-y", "lines=0-5", "bytes=5-1"] {
        let response = get().header("range", garbage).send().await.unwrap();
        assert_eq!(response.status(), 200, "Range: {garbage}");
        assert_eq!(response.headers()["content-length"], "100000");
        assert!(response.headers().get("content-range").is_none());
        assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    let beyond = get().header("range", "bytes=200000-").send().await.unwrap();
    expect_problem(beyond, 416, "range-not-satisfiable").await;

    for validator in [
        format!("W/\"{sha}\""),
        format!("\"other\", W/\"{sha}\""),
        "*".to_string(),
    ] {
        let response = get()
            .header("if-none-match", &validator)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "If-None-Match: {validator}");
    }
    let other = get()
        .header("if-none-match", "W/\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}
