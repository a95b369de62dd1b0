//! Regressions found in review of the Span and check-in endpoints: each test names what
//! used to go wrong.

mod span_common;

use fwrepo_e2e::{blob_files, expect_problem, sha256_hex, Ota, TestServer};
use serde_json::{json, Value};
use span_common::Span;

/// A collection image made from pool record (type 101, versionNumber `n`).
async fn pool_image(span: &Span, collection: &str, version_number: &str) -> String {
    let body = json!({"poolRecord": {"type": 101, "versionNumber": version_number}});
    let image = span
        .json(
            span.post(&format!("/collections/{collection}/firmware"))
                .json(&body),
            201,
            "CollectionImage",
        )
        .await;
    image["imageId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn extreme_version_attribute_ids_are_a_400_not_a_crash() {
    let server = TestServer::start();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    span.device(&c, json!({"deviceId": "dev-a"})).await;
    for key in [
        "-9223372036854775808",
        "9223372036854775807",
        "1999",
        "2201",
    ] {
        let body = json!({"versions": {key: "1"}});
        let checkin = span
            .post(&format!("/collections/{c}/devices/dev-a/checkin"))
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_problem(checkin, 400, "validation-failed").await;
        let patch = span
            .patch(&format!("/collections/{c}/devices/dev-a"))
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_problem(patch, 400, "validation-failed").await;
    }
    assert_eq!(
        span.get("/collections").send().await.unwrap().status(),
        200,
        "the server is still up"
    );
}

#[tokio::test]
async fn a_device_reporting_another_version_no_longer_runs_its_old_image() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    ota.publish(101, "app", "1.0.0", &[], b"one".to_vec()).await;
    ota.publish(101, "app", "2.0.0", &[], b"two".to_vec()).await;
    let span = Span::new(&server, 0).await;
    let c = span.collection("collection").await;
    let old = pool_image(&span, &c, "1").await;
    span.patch_collection(&c, json!({"firmware": {"targetFirmwareId": old}}))
        .await;
    span.device(&c, json!({"deviceId": "dev-a"})).await;

    let on_target = span
        .checkin(&c, "dev-a", json!({"versions": {"2101": "1"}}))
        .await;
    assert_eq!(on_target["action"], "none");
    // The device was upgraded behind our back: the rollback target must be offered again.
    let moved_on = span
        .checkin(&c, "dev-a", json!({"versions": {"2101": "2"}}))
        .await;
    assert_eq!(moved_on["action"], "update", "{moved_on}");
    assert_eq!(moved_on["image"]["id"], old.as_str());
    let usage = span.usage(&c, &old).await;
    assert_eq!(usage["currentDevices"], json!([]));
    assert_eq!(usage["targetedDevices"], json!(["dev-a"]));
}

#[tokio::test]
async fn generated_device_ids_skip_ids_clients_chose() {
    let server = TestServer::start();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    // The id counter's next values, chosen by hand.
    let next: u64 = c.parse::<u64>().unwrap() + 1;
    span.device(&c, json!({"deviceId": next.to_string()})).await;
    span.device(&c, json!({"deviceId": (next + 1).to_string()}))
        .await;
    let first = span.device(&c, json!({})).await;
    let second = span.device(&c, json!({})).await;
    let ids = [
        first["deviceId"].as_str().unwrap(),
        second["deviceId"].as_str().unwrap(),
    ];
    assert_ne!(ids[0], ids[1]);
    for id in ids {
        assert!(
            id != next.to_string() && id != (next + 1).to_string(),
            "{id} collides"
        );
    }
}

#[tokio::test]
async fn concurrent_tag_patches_on_an_image_all_land() {
    let server = TestServer::start();
    let span = std::sync::Arc::new(Span::new(&server, 0).await);
    let c = span.collection("device").await;
    let image = span.upload(&c, b"tagged", "fw.bin").await;
    let id = image["imageId"].as_str().unwrap().to_string();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let (span, c, id) = (span.clone(), c.clone(), id.clone());
            tokio::spawn(async move {
                let body = json!({"tags": {format!("t{i}"): "v"}});
                let response = span
                    .patch(&format!("/collections/{c}/firmware/{id}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let image = span
        .json(
            span.get(&format!("/collections/{c}/firmware/{id}")),
            200,
            "CollectionImage",
        )
        .await;
    assert_eq!(image["tags"].as_object().unwrap().len(), 24, "{image}");
}

#[tokio::test]
async fn a_device_get_answer_with_a_push_in_effect_can_be_sent_back() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    let record = ota
        .publish(101, "app", "1.0.0", &[], b"pushed".to_vec())
        .await;
    let image: Value = ota
        .post("/deviceTypes/dt-1/firmwareImages")
        .json(&record)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    span.device(&c, json!({"deviceId": "dev-a", "deviceTypeId": "dt-1"}))
        .await;
    let image_id = image["id"].as_str().unwrap();
    let push = ota
        .put(&format!("/deviceTypes/dt-1/firmwareImages/{image_id}/push"))
        .json(&json!({"value": "dev-a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 202);
    let device = span
        .json(
            span.get(&format!("/collections/{c}/devices/dev-a")),
            200,
            "Device",
        )
        .await;
    assert_eq!(device["firmware"]["targetFirmwareId"], image_id);
    let echoed = span.patch_device(&c, "dev-a", device.clone()).await;
    assert_eq!(
        echoed["firmware"]["targetFirmwareId"], image_id,
        "the echo changed nothing"
    );
}

#[tokio::test]
async fn images_from_pool_records_accept_curl_style_json() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    ota.publish(101, "app", "1.0.0", &[], b"pool bytes".to_vec())
        .await;
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let body = r#"{"poolRecord":{"type":101,"versionNumber":"1"}}"#;
    for content_type in ["application/x-www-form-urlencoded", "application/json"] {
        let response = span
            .post(&format!("/collections/{c}/firmware"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        if content_type == "application/json" {
            expect_problem(response, 409, "already-exists").await;
        } else {
            assert_eq!(response.status(), 201);
        }
    }
}

#[tokio::test]
async fn a_refused_duplicate_upload_keeps_no_hold() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .args(["--sweep-interval-secs", "1", "--sweep-grace-secs", "1"])
        .start();
    let span = Span::new(&server, 0).await;
    let ota = Ota::new(&server, 0).await;
    let first = span.collection("device").await;
    let second = span.collection("device").await;
    span.upload(&first, b"duplicate", "a.bin").await;
    // The same bytes twice in the second collection: the second upload is refused.
    span.upload(&second, b"other", "b.bin").await;
    let dup = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(b"other".to_vec()).file_name("c.bin"),
    );
    let refused = span
        .post(&format!("/collections/{second}/firmware"))
        .multipart(dup)
        .send()
        .await
        .unwrap();
    expect_problem(refused, 409, "already-exists").await;
    // No pending hold is left behind: the bytes cannot be moved into the repository.
    let moved = ota
        .post("/binaries/moveToRepository")
        .json(&json!({"value": sha256_hex(b"other")}))
        .send()
        .await
        .unwrap();
    expect_problem(moved, 404, "not-found").await;
    assert_eq!(
        blob_files(&server.data_path()).len(),
        2,
        "the images still hold their blobs"
    );
}

#[tokio::test]
async fn deleting_an_image_a_device_runs_is_refused_and_leaves_it_current() {
    let server = TestServer::start();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let image = span.image(&c, b"running", "1.0").await;
    span.device(&c, json!({"deviceId": "dev-a"})).await;
    let reported = span
        .checkin(&c, "dev-a", json!({"currentFirmwareId": image}))
        .await;
    assert_eq!(reported["action"], "none");
    // Issue 12: an image a device runs is in use; the refusal names the device.
    let refused = span
        .delete(&format!("/collections/{c}/firmware/{image}"))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(refused, 409, "in-use").await;
    assert_eq!(problem["usedBy"][0]["kind"], "device-current");
    assert_eq!(problem["usedBy"][0]["id"], "dev-a");
    let device = span
        .json(
            span.get(&format!("/collections/{c}/devices/dev-a")),
            200,
            "Device",
        )
        .await;
    assert_eq!(
        device["firmware"]["currentFirmwareId"],
        image.as_str(),
        "{device}"
    );
}
