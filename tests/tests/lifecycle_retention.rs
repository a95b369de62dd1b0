//! Deletion and retention (issue 12): a pool record or Span image in use is refused with
//! 409 `in-use` naming its uses; otherwise it leaves every listing and index, its blob goes
//! after the grace, and fsck stays clean. Retention plans and runs, record by record.

mod span_common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use fwrepo_e2e::{bin, blob_files, expect_problem, validate, wait_for_blob_count, Ota, TestServer};
use serde_json::{json, Value};
use span_common::{associate, bytes, Span};

/// A server whose sweeper deletes an unheld blob within a second (grace 0), with clients:
/// 0 acme (all scopes), 1 acme read-only, 2 globex (all scopes).
fn server(extra: &[&str]) -> TestServer {
    let mut builder = TestServer::builder()
        .args(["--sweep-interval-secs", "1", "--sweep-grace-secs", "0"])
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("acme", &["ota:read"])
        .client("globex", &["ota:read", "ota:write", "admin"]);
    for arg in extra {
        builder = builder.arg(*arg);
    }
    builder.start()
}

fn record_path(record: &Value) -> String {
    format!(
        "/pool/types/{}/versionNumbers/{}",
        record["type"],
        record["versionNumber"].as_str().unwrap()
    )
}

/// The uses a 409 names, as (kind, id) pairs, sorted.
fn used_by(problem: &Value) -> Vec<(String, String)> {
    let mut uses: Vec<(String, String)> = problem["usedBy"]
        .as_array()
        .unwrap_or_else(|| panic!("no usedBy: {problem}"))
        .iter()
        .map(|u| {
            (
                u["kind"].as_str().unwrap().to_string(),
                u["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    uses.sort();
    assert_eq!(
        problem["usedByTotal"].as_u64().unwrap(),
        uses.len() as u64,
        "{problem}"
    );
    uses
}

fn pair(kind: &str, id: impl ToString) -> (String, String) {
    (kind.to_string(), id.to_string())
}

async fn delete_status(ota: &Ota, path: &str) -> reqwest::Response {
    ota.delete(path).send().await.unwrap()
}

/// `fwrepo-server fsck --json` on a stopped server's data dir: (exit code, report).
fn fsck(data: &Path) -> (i32, Value) {
    let out = Command::new(bin("fwrepo-server"))
        .args(["fsck", "--json", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "fsck prints JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap(), report)
}

async fn json_of(request: reqwest::RequestBuilder, schema: &str) -> Value {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    validate(schema, &body);
    body
}

#[tokio::test]
async fn deleting_pool_records_refuses_each_use_and_otherwise_cleans_every_index() {
    let mut server = server(&[]);
    let ota = Ota::new(&server, 0).await;
    let reader = Ota::new(&server, 1).await;
    let globex = Ota::new(&server, 2).await;
    let span = Span::new(&server, 0).await;
    ota.create_type(101).await;
    let mut records = Vec::new();
    for i in 0..6u8 {
        let tags = ["branch:main", "shared", &format!("only-{i}")];
        let record = ota
            .publish(101, "app", &format!("1.{i}.0"), &tags, bytes(100 + i, 5000))
            .await;
        records.push(record);
    }
    // A second record of the same binary as record 5: the blob stays while one names it.
    let twin = ota
        .publish(101, "app", "9.9.9", &["twin"], bytes(105, 5000))
        .await;
    let blobs_before = blob_files(&server.data_path()).len();
    assert_eq!(blobs_before, 6);

    // 0: associated with a device type.
    let image0 = associate(&ota, "dt-a", &records[0]).await;
    // 1: associated and pushed to a device.
    let image1 = associate(&ota, "dt-b", &records[1]).await;
    let push = ota
        .put(&format!(
            "/deviceTypes/dt-b/firmwareImages/{}/push",
            image1["id"].as_str().unwrap()
        ))
        .json(&json!({"value": "pushed-dev"}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 202);
    // 2: a collection image made from it, which a device targets.
    let c = span.collection("device").await;
    let from_pool = span
        .json(
            span.post(&format!("/collections/{c}/firmware")).json(
                &json!({"poolRecord": {"type": 101, "versionNumber": records[2]["versionNumber"]}}),
            ),
            201,
            "CollectionImage",
        )
        .await;
    let linked = from_pool["imageId"].as_str().unwrap().to_string();
    span.device(
        &c,
        json!({"deviceId": "targeting", "firmware": {"targetFirmwareId": linked}}),
    )
    .await;
    // 3: a device reports running it.
    let running_version = records[3]["versionNumber"].as_str().unwrap();
    span.device(
        &c,
        json!({"deviceId": "running", "versions": {"2101": running_version}}),
    )
    .await;

    let expected: [Vec<(String, String)>; 4] = [
        vec![pair(
            "device-type-association",
            image0["id"].as_str().unwrap(),
        )],
        vec![
            pair("device-type-association", image1["id"].as_str().unwrap()),
            pair("push", "pushed-dev"),
        ],
        vec![
            pair("collection-image", &linked),
            pair("device-target", "targeting"),
        ],
        vec![pair("device-current", "running")],
    ];
    for (record, uses) in records.iter().zip(expected) {
        let response = delete_status(&ota, &record_path(record)).await;
        let problem = expect_problem(response, 409, "in-use").await;
        assert_eq!(used_by(&problem), uses, "{record}");
        json_of(ota.get(&record_path(record)), "PoolRecord").await;
    }

    // Isolation, scope and bad input.
    let victim = &records[4];
    let theirs = globex
        .http
        .delete(format!("{}{}", ota.base, record_path(victim)))
        .bearer_auth(&globex.token)
        .send()
        .await
        .unwrap();
    expect_problem(theirs, 404, "not-found").await;
    expect_problem(
        delete_status(&globex, &record_path(victim)).await,
        404,
        "not-found",
    )
    .await;
    expect_problem(
        delete_status(&reader, &record_path(victim)).await,
        403,
        "forbidden",
    )
    .await;
    for bad in [
        "/pool/types/abc/versionNumbers/1",
        "/pool/types/101/versionNumbers/x",
        "/pool/types/0/versionNumbers/1",
    ] {
        expect_problem(delete_status(&ota, bad).await, 400, "validation-failed").await;
    }
    expect_problem(
        delete_status(&ota, "/pool/types/101/versionNumbers/999").await,
        404,
        "not-found",
    )
    .await;

    // Unused: records 4 and 5 go; 5's binary stays while its twin names it.
    for record in [&records[4], &records[5]] {
        let response = delete_status(&ota, &record_path(record)).await;
        assert_eq!(response.status(), 204);
        expect_problem(
            delete_status(&ota, &record_path(record)).await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            ota.get(&record_path(record)).send().await.unwrap(),
            404,
            "not-found",
        )
        .await;
    }
    let gone: BTreeSet<&str> = [&records[4], &records[5]]
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for query in [
        "/pool?size=1000",
        "/pool/types/101?size=1000",
        "/pool?tags=shared&size=1000",
        "/pool/types/101?tags=branch:main&size=1000",
        "/pool/types/101?name=app&size=1000",
        "/pool/types/101?versionReq=%3E%3D1.0.0&size=1000",
        "/pool/types/101?name=app&versionReq=%5E1&size=1000",
        "/pool/types/101?sort=version,desc&size=1000",
    ] {
        let page = json_of(ota.get(query), "PoolRecordPage").await;
        let ids: BTreeSet<&str> = page["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert!(ids.is_disjoint(&gone), "{query}: {ids:?}");
        assert_eq!(
            page["totalElements"].as_u64().unwrap(),
            ids.len() as u64,
            "{query}: the total counts only what is left"
        );
    }
    let latest = json_of(
        ota.get("/pool/types/101?tags=branch:main&latest=true"),
        "PoolRecordPage",
    )
    .await;
    assert_eq!(latest["content"][0]["version"], "1.3.0");
    let tags: Vec<String> = ota.get("/tags").send().await.unwrap().json().await.unwrap();
    assert!(!tags.contains(&"only-4".to_string()) && !tags.contains(&"only-5".to_string()));
    assert!(tags.contains(&"only-3".to_string()) && tags.contains(&"shared".to_string()));
    let exists: Value = ota
        .get("/pool/types/101/names/app/versions/1.4.0/exists")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(exists["value"], false);

    // Record 4's blob had no other holder: the repository URL is gone and the sweeper
    // deletes the file; record 5's blob is kept by its twin.
    let url4 = victim["url"].as_str().unwrap();
    let download = ota
        .http
        .get(url4)
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 404);
    wait_for_blob_count(&server.data_path(), blobs_before - 1).await;
    let names: BTreeSet<String> = blob_files(&server.data_path())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(!names.contains(victim["sha256"].as_str().unwrap()));
    assert!(names.contains(twin["sha256"].as_str().unwrap()));
    let twin_download = ota
        .http
        .get(twin["url"].as_str().unwrap())
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap();
    assert_eq!(twin_download.status(), 200);
    // The name and version are free again.
    ota.publish(101, "app", "1.4.0", &[], bytes(150, 100)).await;

    server.terminate();
    let (code, report) = fsck(&server.data_path());
    assert_eq!(code, 0, "fsck after deletes: {report:#}");
    assert!(
        report["findings"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
}

#[tokio::test]
async fn span_images_in_use_are_refused_with_their_uses() {
    let server = server(&[]);
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let targeted = span.image(&c, &bytes(1, 2000), "1.0").await;
    let running = span.image(&c, &bytes(2, 2000), "2.0").await;
    let free = span.image(&c, &bytes(3, 2000), "3.0").await;
    span.device(
        &c,
        json!({"deviceId": "t-dev", "firmware": {"targetFirmwareId": targeted}}),
    )
    .await;
    span.device(&c, json!({"deviceId": "r-dev"})).await;
    span.checkin(&c, "r-dev", json!({"currentFirmwareId": running}))
        .await;
    let path = |image: &str| format!("/collections/{c}/firmware/{image}");

    let problem = expect_problem(
        span.delete(&path(&targeted)).send().await.unwrap(),
        409,
        "in-use",
    )
    .await;
    assert_eq!(used_by(&problem), vec![pair("device-target", "t-dev")]);
    let problem = expect_problem(
        span.delete(&path(&running)).send().await.unwrap(),
        409,
        "in-use",
    )
    .await;
    assert_eq!(used_by(&problem), vec![pair("device-current", "r-dev")]);
    span.patch_collection(
        &c,
        json!({"firmware": {"management": "collection", "targetFirmwareId": free}}),
    )
    .await;
    let problem = expect_problem(
        span.delete(&path(&free)).send().await.unwrap(),
        409,
        "in-use",
    )
    .await;
    assert_eq!(used_by(&problem), vec![pair("collection-target", &c)]);
    span.patch_collection(&c, json!({"firmware": {"targetFirmwareId": ""}}))
        .await;
    let deleted = span.delete(&path(&free)).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let globex = Span::new(&server, 2).await;
    let response = globex.delete(&path(&targeted)).send().await.unwrap();
    expect_problem(response, 404, "not-found").await;
    let reader = Span::new(&server, 1).await;
    let response = reader.delete(&path(&targeted)).send().await.unwrap();
    expect_problem(response, 403, "forbidden").await;
}
