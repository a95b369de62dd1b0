//! Firmware types, pool records, exists, associations, tags, paging and the query extensions,
//! against the real server binary.

use fwrepo_e2e::{expect_problem, validate, Ota, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn firmware_type_lifecycle() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let created = ota.create_type(105).await;
    assert_eq!(created["versionAttributeId"], 2105);
    assert_eq!(created["partnerId"], "acme");
    assert!(created["id"].is_string(), "ids travel as strings");

    let dup = ota
        .post("/types")
        .json(&json!({"name": "again", "type": 105}))
        .send()
        .await
        .unwrap();
    expect_problem(dup, 409, "already-exists").await;
    for bad in [0, 201, -1, 100000] {
        let response = ota
            .post("/types")
            .json(&json!({"name": "x", "type": bad}))
            .send()
            .await
            .unwrap();
        expect_problem(response, 400, "validation-failed").await;
    }

    let one: Value = ota.get_json("/types/105").await;
    validate("FirmwareType", &one);
    let list: Value = ota.get_json("/types").await;
    validate("FirmwareTypeList", &list);
    assert_eq!(list.as_array().unwrap().len(), 1);
    expect_problem(
        ota.get("/types/106").send().await.unwrap(),
        404,
        "not-found",
    )
    .await;
    expect_problem(
        ota.get("/types/abc").send().await.unwrap(),
        400,
        "validation-failed",
    )
    .await;

    let put = ota
        .put("/types/105")
        .json(&json!({"name": "renamed", "description": "MCU app"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let one: Value = ota.get_json("/types/105").await;
    assert_eq!(
        (one["name"].as_str(), one["description"].as_str()),
        (Some("renamed"), Some("MCU app"))
    );
    expect_problem(
        ota.put("/types/106")
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn pool_records_rules_and_exists() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    ota.create_type(4).await;

    let record = ota
        .publish(
            101,
            "app",
            "1.0.0",
            &["main", "semver:1.0.0"],
            b"v1".to_vec(),
        )
        .await;
    assert_eq!(record["versionNumber"], "1");
    assert_eq!(record["versionAttributeId"], 2101);
    assert_eq!(record["sha256"], fwrepo_e2e::sha256_hex(b"v1"));
    assert_eq!(record["length"], 2);
    let url = record["url"].as_str().unwrap().to_string();

    // (type, name, version) is unique.
    let dup = ota
        .post("/pool")
        .json(&json!({"name": "app", "type": 101, "version": "1.0.0", "url": url}))
        .send()
        .await
        .unwrap();
    expect_problem(dup, 409, "already-exists").await;
    // Type 4 never goes into the pool, unregistered types are refused, URLs must be ours.
    let body = |t: i64, u: &str| json!({"name": "x", "type": t, "version": "9", "url": u});
    expect_problem(
        ota.post("/pool").json(&body(4, &url)).send().await.unwrap(),
        400,
        "validation-failed",
    )
    .await;
    expect_problem(
        ota.post("/pool")
            .json(&body(150, &url))
            .send()
            .await
            .unwrap(),
        400,
        "validation-failed",
    )
    .await;
    let foreign = "https://elsewhere.example/fw.bin";
    expect_problem(
        ota.post("/pool")
            .json(&body(101, foreign))
            .send()
            .await
            .unwrap(),
        400,
        "validation-failed",
    )
    .await;
    // Issue 11 item 11: a binary not yet in the repository is its own conflict type.
    let unmoved_sha = ota.upload(b"never moved".to_vec()).await;
    let unmoved = url.replace(record["sha256"].as_str().unwrap(), &unmoved_sha);
    expect_problem(
        ota.post("/pool")
            .json(&body(101, &unmoved))
            .send()
            .await
            .unwrap(),
        409,
        "not-in-repository",
    )
    .await;

    let exists = |name: &str, version: &str, exclude: Option<&str>| {
        let mut path = format!("/pool/types/101/names/{name}/versions/{version}/exists");
        if let Some(id) = exclude {
            path.push_str(&format!("?excludeFirmwareImageId={id}"));
        }
        let request = ota.get(&path);
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            validate("BoolValue", &body);
            body["value"].as_bool().unwrap()
        }
    };
    assert!(exists("app", "1.0.0", None).await);
    assert!(!exists("app", "2.0.0", None).await);
    assert!(!exists("app", "1.0.0", record["id"].as_str()).await);

    // PUT replaces the editable fields; the version number stays.
    let second = ota.publish(101, "app", "1.1.0", &[], b"v2".to_vec()).await;
    assert_eq!(second["versionNumber"], "2");
    let update = json!({"name": "app", "version": "1.0.1", "url": url, "tags": ["hotfix"], "description": "fixed"});
    assert_eq!(
        ota.put("/pool/types/101/versionNumbers/1")
            .json(&update)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let clash = json!({"name": "app", "version": "1.1.0", "url": url});
    expect_problem(
        ota.put("/pool/types/101/versionNumbers/1")
            .json(&clash)
            .send()
            .await
            .unwrap(),
        409,
        "already-exists",
    )
    .await;
    expect_problem(
        ota.put("/pool/types/101/versionNumbers/99")
            .json(&update)
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
    let page: Value = ota.get_json("/pool/types/101?version=1.0.1&name=app").await;
    validate("PoolRecordPage", &page);
    assert_eq!(page["content"][0]["versionNumber"], "1");
    assert_eq!(page["content"][0]["tags"], json!(["hotfix"]));

    let one = ota
        .get("/pool/types/101/versionNumbers/2")
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    let one: Value = one.json().await.unwrap();
    validate("PoolRecord", &one);
    assert_eq!(one["version"], "1.1.0");
    let missing = ota
        .get("/pool/types/101/versionNumbers/9")
        .send()
        .await
        .unwrap();
    expect_problem(missing, 404, "not-found").await;
    let by_sha: Value = ota
        .get(&format!("/pool?sha256={}", fwrepo_e2e::sha256_hex(b"v2")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    validate("PoolRecordPage", &by_sha);
    assert_eq!(by_sha["totalElements"], 1);
    assert_eq!(by_sha["content"][0]["versionNumber"], "2");
    let bad_sha = ota.get("/pool?sha256=xyz").send().await.unwrap();
    expect_problem(bad_sha, 400, "invalid-query").await;
    let tags: Value = ota.get_json("/tags").await;
    validate("TagList", &tags);
    assert_eq!(
        tags,
        json!(["hotfix"]),
        "tags of replaced records disappear"
    );
}

#[tokio::test]
async fn lists_page_sort_and_filter() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    ota.create_type(102).await;
    let versions = [
        "1.0.0",
        "1.2.0",
        "1.10.0",
        "2.0.0-rc.1",
        "2.0.0",
        "not-semver",
    ];
    for (i, version) in versions.iter().enumerate() {
        let mut tags = vec!["main"];
        if i % 2 == 0 {
            tags.push("even");
        }
        let sha_tag = format!(
            "git:{}",
            format!("{i:x}")
                .repeat(40)
                .chars()
                .take(40)
                .collect::<String>()
        );
        tags.push(&sha_tag);
        ota.publish(
            101,
            "app",
            version,
            &tags,
            format!("build {i}").into_bytes(),
        )
        .await;
    }
    ota.publish(102, "radio", "1.0.0", &["main"], b"radio".to_vec())
        .await;

    let get = |path: String| {
        let request = ota.get(&path);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let body: Value = response.json().await.unwrap();
            validate("PoolRecordPage", &body);
            body
        }
    };
    let all = get("/pool".into()).await;
    assert_eq!(
        (
            all["totalElements"].as_u64(),
            all["size"].as_u64(),
            all["number"].as_u64()
        ),
        (Some(7), Some(50), Some(0))
    );
    assert_eq!(all["sort"], "id,asc");

    let paged = get("/pool/types/101?page=1&size=4&sort=versionNumber,desc".into()).await;
    assert_eq!(
        (
            paged["totalPages"].as_u64(),
            paged["numberOfElements"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(paged["content"][0]["versionNumber"], "2");

    let both = get("/pool?tags=main,even".into()).await;
    assert_eq!(both["totalElements"], 3);
    let typed = get("/pool/types/102?tags=main".into()).await;
    assert_eq!(typed["content"][0]["name"], "radio");

    let by_name = get("/pool?sort=version,desc&size=2".into()).await;
    assert_eq!(by_name["content"][0]["version"], "2.0.0");

    let req = get("/pool/types/101?versionReq=%5E1".into()).await;
    let found: Vec<&str> = req["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["1.0.0", "1.2.0", "1.10.0"]);
    let latest = get("/pool/types/101?versionReq=%5E1&latest=true".into()).await;
    assert_eq!(
        latest["content"][0]["version"], "1.10.0",
        "semver precedence, not string order"
    );
    let newest = get("/pool/types/101?latest=true".into()).await;
    assert_eq!(
        newest["content"][0]["version"], "2.0.0",
        "a release outranks its release candidate"
    );

    let commit = get("/pool?commit=3333333".into()).await;
    assert_eq!(commit["totalElements"], 1);
    assert_eq!(commit["content"][0]["version"], "2.0.0-rc.1");

    for bad in [
        "size=0",
        "size=1001",
        "page=-1",
        "page=x",
        "sort=secret,asc",
        "sort=name,up",
    ] {
        expect_problem(
            ota.get(&format!("/pool?{bad}")).send().await.unwrap(),
            400,
            "invalid-paging",
        )
        .await;
    }
    for bad in ["versionReq=%3E%3E1", "commit=xyz", "latest=maybe"] {
        expect_problem(
            ota.get(&format!("/pool?{bad}")).send().await.unwrap(),
            400,
            "invalid-query",
        )
        .await;
    }
}

#[tokio::test]
async fn concurrent_posts_get_distinct_increasing_version_numbers() {
    let server = TestServer::start();
    let ota = std::sync::Arc::new(Ota::new(&server, 0).await);
    ota.create_type(110).await;
    let sha = ota.upload(b"shared binary".to_vec()).await;
    let url = ota.move_to_repository(&sha).await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (ota, url) = (ota.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let body =
                json!({"name": "storm", "type": 110, "version": format!("0.0.{i}"), "url": url});
            let response = ota.post("/pool").json(&body).send().await.unwrap();
            assert_eq!(response.status(), 201);
            let record: Value = response.json().await.unwrap();
            (
                record["id"].as_str().unwrap().parse::<u64>().unwrap(),
                record["versionNumber"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            )
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results.sort();
    let numbers: Vec<u64> = results.iter().map(|(_, n)| *n).collect();
    assert_eq!(
        numbers,
        (1..=64).collect::<Vec<_>>(),
        "distinct, gap-free, and increasing with creation order"
    );
}

#[tokio::test]
async fn device_type_images_associations_and_push() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    let record = ota
        .publish(101, "app", "1.0.0", &["main"], b"image".to_vec())
        .await;
    let mut post_back = record.clone();
    post_back["versionNumber"] = record["versionNumber"].clone();

    let created = ota
        .post("/deviceTypes/dt-1/firmwareImages")
        .json(&post_back)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let image: Value = created.json().await.unwrap();
    validate("FirmwareImage", &image);
    assert_eq!(
        (
            image["deviceTypeId"].as_str(),
            image["poolRecordId"].as_str()
        ),
        (Some("dt-1"), record["id"].as_str())
    );
    let again = ota
        .post("/deviceTypes/dt-1/firmwareImages")
        .json(&post_back)
        .send()
        .await
        .unwrap();
    expect_problem(again, 409, "already-exists").await;
    let mut altered = post_back.clone();
    altered["name"] = json!("tampered");
    // Issue 11 item 11: fields differing from the pool record are not a duplicate.
    expect_problem(
        ota.post("/deviceTypes/dt-2/firmwareImages")
            .json(&altered)
            .send()
            .await
            .unwrap(),
        409,
        "pool-record-mismatch",
    )
    .await;
    let mut missing = post_back.clone();
    missing["versionNumber"] = json!("77");
    expect_problem(
        ota.post("/deviceTypes/dt-2/firmwareImages")
            .json(&missing)
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;

    // A second association made by the pool POST itself.
    let sha = ota.upload(b"image 2".to_vec()).await;
    let url = ota.move_to_repository(&sha).await;
    let body = json!({"name": "app", "type": 101, "version": "1.1.0", "url": url, "associations": {"acme": ["dt-1", "dt-2"]}});
    assert_eq!(
        ota.post("/pool").json(&body).send().await.unwrap().status(),
        201
    );
    let foreign = json!({"name": "app", "type": 101, "version": "1.2.0", "url": url, "associations": {"other": ["dt-1"]}});
    expect_problem(
        ota.post("/pool").json(&foreign).send().await.unwrap(),
        400,
        "validation-failed",
    )
    .await;

    let list: Value = ota
        .get_json("/deviceTypes/dt-1/firmwareImages?sort=versionNumber,desc")
        .await;
    validate("FirmwareImagePage", &list);
    assert_eq!(list["totalElements"], 2);
    assert_eq!(list["content"][0]["versionNumber"], "2");
    let by_type: Value = ota
        .get_json("/deviceTypes/dt-2/firmwareImages/types/101")
        .await;
    validate("FirmwareImagePage", &by_type);
    assert_eq!(by_type["totalElements"], 1);
    let tagged: Value = ota
        .get_json("/deviceTypes/dt-1/firmwareImages?tags=main")
        .await;
    assert_eq!(tagged["totalElements"], 1);

    let one: Value = ota
        .get_json("/deviceTypes/dt-1/firmwareImages/types/101/versionNumbers/1")
        .await;
    validate("FirmwareImage", &one);
    assert_eq!(one["id"], image["id"]);

    let associations: Value = ota
        .get_json("/pool/types/101/versionNumbers/2/associations")
        .await;
    validate("AssociationList", &associations);
    let device_types: Vec<&str> = associations
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["deviceTypeId"].as_str().unwrap())
        .collect();
    assert_eq!(device_types, ["dt-1", "dt-2"]);

    let image_id = image["id"].as_str().unwrap();
    let push = ota
        .put(&format!("/deviceTypes/dt-1/firmwareImages/{image_id}/push"))
        .json(&json!({"value": "device-42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 202);
    let wrong_type = ota
        .put(&format!("/deviceTypes/dt-2/firmwareImages/{image_id}/push"))
        .json(&json!({"value": "d"}))
        .send()
        .await
        .unwrap();
    expect_problem(wrong_type, 404, "not-found").await;
    let bad_id = ota
        .put("/deviceTypes/dt-1/firmwareImages/abc/push")
        .json(&json!({"value": "d"}))
        .send()
        .await
        .unwrap();
    expect_problem(bad_id, 400, "validation-failed").await;

    let deleted = ota
        .delete("/deviceTypes/dt-1/firmwareImages/types/101/versionNumbers/1")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = ota
        .get("/deviceTypes/dt-1/firmwareImages/types/101/versionNumbers/1")
        .send()
        .await
        .unwrap();
    expect_problem(gone, 404, "not-found").await;
    let twice = ota
        .delete("/deviceTypes/dt-1/firmwareImages/types/101/versionNumbers/1")
        .send()
        .await
        .unwrap();
    expect_problem(twice, 404, "not-found").await;
}

/// Issue 11 item 10: a device type's image list sorts `version` by semver precedence, the
/// same order as the pool (1.10.0 after 1.9.0, not before it as plain strings would).
#[tokio::test]
async fn device_type_images_sort_version_by_semver_like_the_pool() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    for version in ["1.10.0", "1.9.0", "1.2.0", "2.0.0-rc.1"] {
        let sha = ota.upload(format!("image {version}").into_bytes()).await;
        let url = ota.move_to_repository(&sha).await;
        let body = json!({"name": "app", "type": 101, "version": version, "url": url, "associations": {"acme": ["dt-sort"]}});
        assert_eq!(
            ota.post("/pool").json(&body).send().await.unwrap().status(),
            201
        );
    }
    let expected = ["1.2.0", "1.9.0", "1.10.0", "2.0.0-rc.1"];
    for (path, schema) in [
        ("/deviceTypes/dt-sort/firmwareImages", "FirmwareImagePage"),
        ("/pool", "PoolRecordPage"),
    ] {
        for (direction, order) in [
            ("asc", expected.to_vec()),
            ("desc", expected.iter().rev().copied().collect()),
        ] {
            let page: Value = ota
                .get_json(&format!("{path}?sort=version,{direction}"))
                .await;
            validate(schema, &page);
            let versions: Vec<&str> = page["content"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["version"].as_str().unwrap())
                .collect();
            assert_eq!(versions, order, "{path} sort=version,{direction}");
        }
    }
}
