//! Span FOTA collections and their firmware images: the commands of the Span document run
//! with curl, uniqueness of sha256 and version, deletes guarded by targets, images made from
//! pool records, one blob for identical bytes, downloads with Range, partner isolation.

mod span_common;

use fwrepo_e2e::{
    blob_files, expect_problem, sha256_hex, validate, wait_for_blob_count, Ota, TestServer,
};
use serde_json::{json, Value};
use span_common::{bytes, curl, Span};

#[tokio::test]
async fn span_document_commands_with_curl() {
    let server = TestServer::start();
    let token = server.token().await;
    let auth = format!("-HX-API-Token:{token}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("build/zephyr")).unwrap();
    let image_bytes = bytes(1, 144_564);
    std::fs::write(
        dir.path().join("build/zephyr/zephyr.signed.bin"),
        &image_bytes,
    )
    .unwrap();
    let api = &server.url;

    // A collection (Span's document assumes one exists; this is how it is made here).
    let (status, collection) = curl(
        dir.path(),
        &[&auth, "-XPOST", "-d{}", &format!("{api}/collections")],
    );
    assert_eq!(status, 201, "{collection}");
    validate("Collection", &collection);
    let c = collection["collectionId"].as_str().unwrap().to_string();
    assert_eq!(collection["tags"], json!({}));

    // "Management scope"
    let (status, body) = curl(
        dir.path(),
        &[
            &auth,
            "-XPATCH",
            r#"-d{"firmware":{"management": "device"}}"#,
            &format!("{api}/collections/{c}"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    validate("Collection", &body);
    assert_eq!(body["collectionId"], c.as_str());
    assert_eq!(body["firmware"]["management"], "device");

    // "Uploading a new image"
    let (status, image) = curl(
        dir.path(),
        &[
            &auth,
            "-F",
            "image=@build/zephyr/zephyr.signed.bin",
            &format!("{api}/collections/{c}/firmware"),
        ],
    );
    assert_eq!(status, 201, "{image}");
    validate("CollectionImage", &image);
    assert_eq!(image["filename"], "zephyr.signed.bin");
    assert_eq!(image["sha256"], sha256_hex(&image_bytes).as_str());
    assert_eq!(image["length"], 144_564);
    assert_eq!(image["collectionId"], c.as_str());
    assert_eq!(image["tags"], json!({}));
    let random_version = image["version"].as_str().unwrap();
    assert_eq!(random_version.len(), 64, "a random string until set");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let created = image["created"].as_u64().unwrap();
    assert!(
        created <= now_ms && now_ms - created < 60_000,
        "created is ms since the epoch"
    );
    let id = image["imageId"].as_str().unwrap().to_string();

    // "This must be set afterwards"
    let (status, patched) = curl(
        dir.path(),
        &[
            "-XPATCH",
            r#"-d{"version":"1.0"}"#,
            &auth,
            &format!("{api}/collections/{c}/firmware/{id}"),
        ],
    );
    assert_eq!(status, 200, "{patched}");
    validate("CollectionImage", &patched);
    assert_eq!(patched["version"], "1.0");
    assert_eq!(patched["imageId"], id.as_str());
    assert_eq!(patched["sha256"], image["sha256"]);

    // "The firmware image collection"
    let (status, list) = curl(
        dir.path(),
        &[&auth, &format!("{api}/collections/{c}/firmware")],
    );
    assert_eq!(status, 200);
    validate("CollectionImageList", &list);
    assert_eq!(list["images"].as_array().unwrap().len(), 1);
    assert_eq!(list["images"][0], patched);

    // "Upgrading a device": in collection scope the collection's target applies.
    let (status, _) = curl(
        dir.path(),
        &[
            &auth,
            "-XPATCH",
            r#"-d{"firmware":{"management": "collection"}}"#,
            &format!("{api}/collections/{c}"),
        ],
    );
    assert_eq!(status, 200);
    let target_body = format!(r#"-d{{"firmware":{{"targetFirmwareId": "{id}" }}}}"#);
    // The document's own bytes for this command: "-HX-API-Token:Â [token]" (U+00C2 U+00A0).
    let document_auth = format!("-HX-API-Token:\u{c2}\u{a0}{token}");
    let (status, body) = curl(
        dir.path(),
        &[
            "-XPATCH",
            &target_body,
            &document_auth,
            &format!("{api}/collections/{c}"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    validate("Collection", &body);
    assert_eq!(body["firmware"]["targetFirmwareId"], id.as_str());
    assert_eq!(body["firmware"]["management"], "collection");

    // A device that has not checked in yet is targeted.
    let span = Span::new(&server, 0).await;
    let device = span.device(&c, json!({"deviceId": "17dh0cf4465ae6"})).await;
    assert_eq!(device["deviceId"], "17dh0cf4465ae6");

    // "Listing firmware version on devices"
    let (status, usage) = curl(
        dir.path(),
        &[&auth, &format!("{api}/collections/{c}/firmware/{id}/usage")],
    );
    assert_eq!(status, 200);
    validate("FirmwareUsage", &usage);
    assert_eq!(
        (
            &usage["firmwareId"],
            &usage["targetedDevices"],
            &usage["currentDevices"]
        ),
        (&json!(id), &json!(["17dh0cf4465ae6"]), &json!([]))
    );
    // fwrepo's extension: which page of the collection's devices the lists cover.
    assert_eq!(usage["page"]["totalElements"], 1);

    // The image's bytes come back whole and by range.
    let (status, whole) = span.download(patched["url"].as_str().unwrap(), None).await;
    assert_eq!((status, whole.len()), (200, image_bytes.len()));
    assert_eq!(whole, image_bytes);
    let (status, part) = span
        .download(patched["url"].as_str().unwrap(), Some("bytes=100000-"))
        .await;
    assert_eq!(status, 206);
    assert_eq!(part, image_bytes[100_000..]);

    // Deleting a targeted image is refused; once untargeted it goes, then the collection.
    let (status, problem) = curl(
        dir.path(),
        &[
            &auth,
            "-XDELETE",
            &format!("{api}/collections/{c}/firmware/{id}"),
        ],
    );
    assert_eq!(status, 409);
    validate("Problem", &problem);
    assert_eq!(problem["type"], "https://fwrepo.dev/problems/in-use");
    let (status, _) = curl(
        dir.path(),
        &[
            &auth,
            "-XPATCH",
            r#"-d{"firmware":{"targetFirmwareId": ""}}"#,
            &format!("{api}/collections/{c}"),
        ],
    );
    assert_eq!(status, 200);
    let (status, problem) = curl(
        dir.path(),
        &[&auth, "-XDELETE", &format!("{api}/collections/{c}")],
    );
    assert_eq!(
        status, 409,
        "a collection with images and devices stays: {problem}"
    );
    assert_eq!(
        problem["type"],
        "https://fwrepo.dev/problems/collection-not-empty"
    );
    let (status, _) = curl(
        dir.path(),
        &[
            &auth,
            "-XDELETE",
            &format!("{api}/collections/{c}/firmware/{id}"),
        ],
    );
    assert_eq!(status, 204);
    let (status, _) = curl(
        dir.path(),
        &[
            &auth,
            "-XDELETE",
            &format!("{api}/collections/{c}/devices/17dh0cf4465ae6"),
        ],
    );
    assert_eq!(status, 204);
    let (status, _) = curl(
        dir.path(),
        &[&auth, "-XDELETE", &format!("{api}/collections/{c}")],
    );
    assert_eq!(status, 204);
    let (status, problem) = curl(dir.path(), &[&auth, &format!("{api}/collections/{c}")]);
    assert_eq!(status, 404);
    validate("Problem", &problem);
}

#[tokio::test]
async fn sha256_and_version_are_unique_per_collection() {
    let server = TestServer::start();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let first = span.upload(&c, &bytes(2, 5000), "a.bin").await;
    let first_id = first["imageId"].as_str().unwrap();

    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(bytes(2, 5000)).file_name("again.bin"),
    );
    let response = span
        .post(&format!("/collections/{c}/firmware"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(response, 409, "already-exists").await;
    assert!(
        problem["detail"].as_str().unwrap().contains(first_id),
        "the conflict names the existing image: {problem}"
    );

    span.patch(&format!("/collections/{c}/firmware/{first_id}"))
        .json(&json!({"version": "1.0", "tags": {"git": "abc123"}}))
        .send()
        .await
        .unwrap();
    let second = span.upload(&c, &bytes(3, 5000), "b.bin").await;
    let second_id = second["imageId"].as_str().unwrap();
    let response = span
        .patch(&format!("/collections/{c}/firmware/{second_id}"))
        .json(&json!({"version": "1.0"}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 409, "already-exists").await;

    // Tags merge; "" removes one.
    let patched = span
        .json(
            span.patch(&format!("/collections/{c}/firmware/{first_id}"))
                .json(&json!({"tags": {"git": "", "build": "42"}})),
            200,
            "CollectionImage",
        )
        .await;
    assert_eq!(patched["tags"], json!({"build": "42"}));
    assert_eq!(patched["version"], "1.0");

    // Uniqueness is per collection: the same bytes and version in another one are fine,
    // and stored once.
    let other = span.collection("device").await;
    let copy = span.upload(&other, &bytes(2, 5000), "a.bin").await;
    span.patch(&format!(
        "/collections/{other}/firmware/{}",
        copy["imageId"].as_str().unwrap()
    ))
    .json(&json!({"version": "1.0"}))
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let files = blob_files(&server.data_path());
    assert_eq!(files.len(), 2, "two distinct binaries: {files:?}");

    // Bad input.
    let response = span
        .post(&format!("/collections/{c}/firmware"))
        .multipart(reqwest::multipart::Form::new().text("version", "x"))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "invalid-body").await;
    let response = span
        .patch(&format!("/collections/{c}/firmware/{first_id}"))
        .json(&json!({"version": ""}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "validation-failed").await;
    let response = span
        .patch(&format!("/collections/{c}"))
        .json(&json!({"firmware": {"targetFirmwareId": "999999"}}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "validation-failed").await;
    let response = span
        .patch(&format!("/collections/{c}"))
        .json(&json!({"firmware": {"management": "sometimes"}}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "invalid-body").await;
    let response = span
        .get(&format!("/collections/{c}/firmware/not-an-id"))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
    let response = span
        .post(&format!("/collections/nope/firmware"))
        .multipart(reqwest::multipart::Form::new().part(
            "image",
            reqwest::multipart::Part::bytes(bytes(9, 10)).file_name("x.bin"),
        ))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn pool_and_collection_share_one_blob() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    ota.create_type(101).await;
    let firmware = bytes(4, 70_000);
    let record = ota
        .publish(101, "app", "2.1.0", &[], firmware.clone())
        .await;
    let sha = record["sha256"].as_str().unwrap().to_string();

    // The same bytes uploaded to a collection: no second file.
    let c = span.collection("device").await;
    let uploaded = span.upload(&c, &firmware, "app.bin").await;
    assert_eq!(uploaded["sha256"], sha.as_str());
    assert_eq!(
        blob_files(&server.data_path()),
        vec![(sha.clone(), sha.clone())]
    );

    // An image made from the pool record: no upload at all, the pool record's version.
    let other = span.collection("device").await;
    let from_pool = span
        .json(
            span.post(&format!("/collections/{other}/firmware")).json(
                &json!({"poolRecord": {"type": 101, "versionNumber": record["versionNumber"]}}),
            ),
            201,
            "CollectionImage",
        )
        .await;
    assert_eq!(from_pool["sha256"], sha.as_str());
    assert_eq!(from_pool["version"], "2.1.0");
    assert_eq!(from_pool["filename"], "app");
    assert_eq!(from_pool["poolRecordId"], record["id"]);
    assert_eq!(from_pool["length"], 70_000);
    let (status, part) = span
        .download(from_pool["url"].as_str().unwrap(), Some("bytes=0-9"))
        .await;
    assert_eq!((status, part.as_slice()), (206, &firmware[..10]));

    // Again into the collection that has these bytes: 409 naming the uploaded image.
    let response = span
        .post(&format!("/collections/{c}/firmware"))
        .json(&json!({"poolRecord": {"type": 101, "versionNumber": record["versionNumber"]}}))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(response, 409, "already-exists").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains(uploaded["imageId"].as_str().unwrap()));
    let response = span
        .post(&format!("/collections/{other}/firmware"))
        .json(&json!({"poolRecord": {"type": 101, "versionNumber": "99"}}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;

    // Deleting both images leaves the pool's binary in place and downloadable.
    for (collection, image) in [(&c, &uploaded), (&other, &from_pool)] {
        let response = span
            .delete(&format!(
                "/collections/{collection}/firmware/{}",
                image["imageId"].as_str().unwrap()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    assert_eq!(blob_files(&server.data_path()).len(), 1);
    let (status, whole) = span.download(record["url"].as_str().unwrap(), None).await;
    assert_eq!((status, whole == firmware), (200, true));
}

#[tokio::test]
async fn collections_belong_to_the_tokens_partner() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write"])
        .client("globex", &["ota:read", "ota:write"])
        .client("acme", &["ota:read"])
        .start();
    let acme = Span::new(&server, 0).await;
    let globex = Span::new(&server, 1).await;
    let reader = Span::new(&server, 2).await;
    let c = acme.collection("device").await;
    let image = acme.upload(&c, &bytes(5, 1000), "a.bin").await;
    let image_id = image["imageId"].as_str().unwrap();
    acme.device(&c, json!({"deviceId": "dev-1"})).await;

    let list = globex
        .json(globex.get("/collections"), 200, "CollectionList")
        .await;
    assert_eq!(list["collections"], json!([]));
    assert_eq!(list["page"]["totalElements"], 0);
    for path in [
        format!("/collections/{c}"),
        format!("/collections/{c}/firmware"),
        format!("/collections/{c}/firmware/{image_id}"),
        format!("/collections/{c}/firmware/{image_id}/usage"),
        format!("/collections/{c}/firmware/{image_id}/download"),
        format!("/collections/{c}/devices"),
        format!("/collections/{c}/devices/dev-1"),
    ] {
        let response = globex.get(&path).send().await.unwrap();
        expect_problem(response, 404, "not-found").await;
    }
    let response = globex
        .patch(&format!("/collections/{c}"))
        .json(&json!({"tags": {"x": "y"}}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
    let response = globex
        .post(&format!("/collections/{c}/devices/dev-1/checkin"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
    let response = globex
        .delete(&format!("/collections/{c}/firmware/{image_id}"))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
    // Device ids are per partner: globex may use the same one.
    let theirs = globex.collection("device").await;
    globex.device(&theirs, json!({"deviceId": "dev-1"})).await;

    // Scopes: read-only tokens read, and check in, but do not write; no token is 401.
    let got = reader
        .json(reader.get(&format!("/collections/{c}")), 200, "Collection")
        .await;
    assert_eq!(got["collectionId"], c.as_str());
    reader.checkin(&c, "dev-1", json!({})).await;
    let response = reader
        .post("/collections")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 403, "forbidden").await;
    let response = fwrepo_e2e::http()
        .get(format!("{}/collections", server.url))
        .send()
        .await
        .unwrap();
    expect_problem(response, 401, "unauthorized").await;
    // Bearer works as well as X-API-Token.
    let list: Value = fwrepo_e2e::http()
        .get(format!("{}/collections", server.url))
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    validate("CollectionList", &list);
    assert_eq!(list["collections"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn collection_images_hold_their_blob_through_sweeps() {
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
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let kept = span.upload(&c, &bytes(6, 2000), "kept.bin").await;
    let dropped = span.upload(&c, &bytes(7, 2000), "dropped.bin").await;
    let response = span
        .delete(&format!(
            "/collections/{c}/firmware/{}",
            dropped["imageId"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    // The upload's pending hold expires after 1 s; then only the image's hold is left.
    wait_for_blob_count(&server.data_path(), 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let sha = kept["sha256"].as_str().unwrap().to_string();
    assert_eq!(
        blob_files(&server.data_path()),
        vec![(sha.clone(), sha)],
        "the deleted image's blob is swept, the live image's stays"
    );
    let (status, body) = span.download(kept["url"].as_str().unwrap(), None).await;
    assert_eq!((status, body), (200, bytes(6, 2000)));
}
