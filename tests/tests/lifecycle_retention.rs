//! Deletion and retention (issue 12): a pool record or Span image in use is refused with
//! 409 `in-use` naming its uses; otherwise it leaves every listing and index, its blob goes
//! after the grace, and fsck stays clean. Retention plans and runs, record by record.

mod ddi_common;
mod span_common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use ddi_common::Ddi;
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
    let tags: Vec<String> = ota.get_json("/tags").await;
    assert!(!tags.contains(&"only-4".to_string()) && !tags.contains(&"only-5".to_string()));
    assert!(tags.contains(&"only-3".to_string()) && tags.contains(&"shared".to_string()));
    let exists: Value = ota
        .get_json("/pool/types/101/names/app/versions/1.4.0/exists")
        .await;
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

/// One build of the retention test: its number, name, tags and bytes.
struct Build {
    name: &'static str,
    version: String,
    tags: Vec<String>,
    bytes: Vec<u8>,
}

fn builds(count: usize) -> Vec<Build> {
    let content = |i: usize| {
        format!("firmware build {i};")
            .repeat(30 + i % 7)
            .into_bytes()
    };
    (0..count)
        .map(|i| {
            let mut tags = Vec::new();
            match i % 4 {
                0 => tags.push("branch:main".to_string()),
                1 => tags.push("branch:feature-x".to_string()),
                2 => tags.push("branch:feature-y".to_string()),
                _ => {}
            }
            if i % 7 == 0 {
                tags.push("dirty".into());
            }
            if i % 11 == 0 {
                tags.push(format!("pr:{i}"));
            }
            if i % 13 == 0 {
                tags.push("released".into());
            }
            // Every 17th build is a rebuild of the previous one's bytes (one blob, two records).
            let bytes = if i % 17 == 5 {
                content(i - 1)
            } else {
                content(i)
            };
            Build {
                name: if i % 3 == 0 { "boot" } else { "app" },
                version: format!("1.0.{i}"),
                tags,
                bytes,
            }
        })
        .collect()
}

/// Publishes the builds over the HTTP API, 16 at a time; answers the records.
async fn publish_all(ota: &Ota, builds: Vec<Build>) -> Vec<Value> {
    use futures_util::StreamExt;
    futures_util::stream::iter(builds)
        .map(|build| async move {
            let tags: Vec<&str> = build.tags.iter().map(String::as_str).collect();
            ota.publish(101, build.name, &build.version, &tags, build.bytes)
                .await
        })
        .buffer_unordered(16)
        .collect()
        .await
}

fn id_of(record: &Value) -> u64 {
    record["id"].as_str().unwrap().parse().unwrap()
}

fn tags_of(record: &Value) -> Vec<String> {
    record["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// The test's own reading of the README's rule for the policy keepNewest 5, protect
/// `released`, expire `dirty` after 0 days and `pr:*` after 30: id → ("delete" | "keep",
/// reason). Records no rule matches are absent.
fn expected_verdicts(
    records: &[Value],
    used: &BTreeSet<u64>,
) -> BTreeMap<u64, (&'static str, &'static str)> {
    let mut groups: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for record in records {
        let tags = tags_of(record);
        let branch = tags.iter().filter_map(|t| t.strip_prefix("branch:")).min();
        if let Some(branch) = branch {
            let key = (
                record["name"].as_str().unwrap().to_string(),
                branch.to_string(),
            );
            groups.entry(key).or_default().push(id_of(record));
        }
    }
    let mut rank = BTreeMap::new();
    for ids in groups.values_mut() {
        ids.sort_by(|a, b| b.cmp(a));
        for (n, id) in ids.iter().enumerate() {
            rank.insert(*id, n);
        }
    }
    let mut out = BTreeMap::new();
    for record in records {
        let id = id_of(record);
        let tags = tags_of(record);
        let dirty = tags.iter().any(|t| t == "dirty");
        let pr = tags.iter().any(|t| t.starts_with("pr:"));
        let rank = rank.get(&id).copied();
        let verdict = if !dirty && !pr && rank.is_none() {
            continue;
        } else if tags.iter().any(|t| t == "released") {
            ("keep", "protected")
        } else if dirty {
            ("delete", "expired")
        } else if rank.is_some_and(|r| r >= 5) {
            ("delete", "beyond-newest")
        } else if rank.is_some() {
            ("keep", "among-newest")
        } else {
            ("keep", "not-yet-expired")
        };
        let verdict = match verdict {
            ("delete", _) if used.contains(&id) => ("keep", "in-use"),
            other => other,
        };
        out.insert(id, verdict);
    }
    out
}

fn blob_bytes(data: &Path) -> u64 {
    blob_files(data)
        .iter()
        .map(|(name, _)| {
            let path = data
                .join("blobs/sha256")
                .join(&name[0..2])
                .join(&name[2..4])
                .join(name);
            std::fs::metadata(path).unwrap().len()
        })
        .sum()
}

async fn put_policy(ota: &Ota, policy: Value) -> reqwest::Response {
    ota.put("/retention/policy")
        .json(&policy)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn retention_plan_and_run_match_the_rule_record_by_record_and_free_the_planned_bytes() {
    let server = server(&["--retention-interval-secs", "0"]);
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    ota.create_type(101).await;
    let records = publish_all(&ota, builds(240)).await;
    assert_eq!(records.len(), 240);

    // Some records the rule would delete are in use: three run on devices, one is
    // associated with a device type.
    let doomed: Vec<&Value> = {
        let none = BTreeSet::new();
        let verdicts = expected_verdicts(&records, &none);
        let mut doomed: Vec<&Value> = records
            .iter()
            .filter(|r| verdicts.get(&id_of(r)).is_some_and(|v| v.0 == "delete"))
            .collect();
        doomed.sort_by_key(|r| id_of(r));
        doomed.into_iter().take(4).collect()
    };
    let c = span.collection("device").await;
    for (n, record) in doomed[..3].iter().enumerate() {
        let vn = record["versionNumber"].as_str().unwrap();
        span.device(
            &c,
            json!({"deviceId": format!("rig-{n}"), "versions": {"2101": vn}}),
        )
        .await;
    }
    associate(&ota, "dt-r", doomed[3]).await;
    let used: BTreeSet<u64> = doomed.iter().map(|r| id_of(r)).collect();
    let expected = expected_verdicts(&records, &used);

    let policy = json!({
        "keepNewest": 5,
        "protectedTags": ["released"],
        "expire": [{"tag": "dirty", "afterDays": 0}, {"tagPrefix": "pr:", "afterDays": 30}]
    });
    let stored = put_policy(&ota, policy.clone()).await;
    assert_eq!(stored.status(), 200);
    let stored: Value = stored.json().await.unwrap();
    validate("RetentionPolicy", &stored);
    assert_eq!(stored, policy);

    let plan = json_of(ota.post("/retention/plan"), "RetentionPlan").await;
    let planned_deletions: BTreeMap<u64, (&str, u64)> = plan["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let id = d["record"]["id"].as_str().unwrap().parse().unwrap();
            (
                id,
                (
                    d["reason"].as_str().unwrap(),
                    d["freesBytes"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let planned_kept: BTreeMap<u64, &str> = plan["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let id = k["record"]["id"].as_str().unwrap().parse().unwrap();
            (id, k["reason"].as_str().unwrap())
        })
        .collect();
    let expected_deletions: BTreeMap<u64, &str> = expected
        .iter()
        .filter(|(_, v)| v.0 == "delete")
        .map(|(id, v)| (*id, v.1))
        .collect();
    let expected_kept: BTreeMap<u64, &str> = expected
        .iter()
        .filter(|(_, v)| v.0 == "keep")
        .map(|(id, v)| (*id, v.1))
        .collect();
    let reasons: BTreeMap<u64, &str> = planned_deletions
        .iter()
        .map(|(id, (reason, _))| (*id, *reason))
        .collect();
    assert_eq!(reasons, expected_deletions, "deletions, record by record");
    assert_eq!(
        planned_kept, expected_kept,
        "kept records, record by record"
    );
    assert_eq!(
        plan["deletionsTotal"].as_u64().unwrap(),
        expected_deletions.len() as u64
    );
    assert_eq!(
        plan["keptTotal"].as_u64().unwrap(),
        expected_kept.len() as u64
    );
    for kind in ["expired", "beyond-newest"] {
        assert!(reasons.values().any(|r| *r == kind), "no {kind} deletion");
    }
    for kind in ["protected", "among-newest", "not-yet-expired", "in-use"] {
        assert!(planned_kept.values().any(|r| *r == kind), "no {kind} keep");
    }
    for kept in plan["kept"].as_array().unwrap() {
        if kept["reason"] == "in-use" {
            let kind = kept["usedBy"][0]["kind"].as_str().unwrap();
            assert!(
                kind == "device-current" || kind == "device-type-association",
                "{kept}"
            );
        }
    }

    // Bytes: a blob is freed when every record naming it goes; its size is counted once,
    // on the newest of those records.
    let mut by_sha: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for record in &records {
        by_sha
            .entry(record["sha256"].as_str().unwrap())
            .or_default()
            .push(record);
    }
    let mut expected_frees = BTreeMap::new();
    for holders in by_sha.values() {
        if holders
            .iter()
            .all(|r| expected_deletions.contains_key(&id_of(r)))
        {
            let last = holders.iter().map(|r| id_of(r)).max().unwrap();
            expected_frees.insert(last, holders[0]["length"].as_u64().unwrap());
        }
    }
    let frees: BTreeMap<u64, u64> = planned_deletions
        .iter()
        .filter(|(_, (_, bytes))| *bytes > 0)
        .map(|(id, (_, bytes))| (*id, *bytes))
        .collect();
    assert_eq!(frees, expected_frees, "freesBytes, record by record");
    let planned_bytes = plan["bytesFreed"].as_u64().unwrap();
    eprintln!(
        "plan over 240 records: {} deletions, {} kept by a rule, {} bytes freed",
        reasons.len(),
        planned_kept.len(),
        planned_bytes
    );
    assert_eq!(planned_bytes, expected_frees.values().sum::<u64>());
    assert!(
        by_sha.values().any(|h| h.len() == 2
            && h.iter().any(|r| expected_deletions.contains_key(&id_of(r)))
            && !h.iter().all(|r| expected_deletions.contains_key(&id_of(r)))),
        "a shared blob one of whose records stays is part of the test"
    );

    let (files_before, bytes_before) = (
        blob_files(&server.data_path()).len(),
        blob_bytes(&server.data_path()),
    );
    let run = ota.post("/retention/runs").send().await.unwrap();
    assert_eq!(run.status(), 201);
    let run: Value = run.json().await.unwrap();
    validate("RetentionRun", &run);
    assert_eq!(run["trigger"], "manual");
    assert_eq!(
        run["deleted"].as_u64().unwrap(),
        expected_deletions.len() as u64
    );
    assert_eq!(run["kept"].as_u64().unwrap(), expected_kept.len() as u64);
    assert_eq!(run["keptInUse"].as_u64().unwrap(), 4);
    assert_eq!(run["bytesFreed"].as_u64().unwrap(), planned_bytes);
    assert_eq!(run["errors"], json!([]));

    // What is left, record by record.
    let left = json_of(ota.get("/pool?size=1000"), "PoolRecordPage").await;
    let left: BTreeSet<u64> = left["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    let wanted: BTreeSet<u64> = records
        .iter()
        .map(id_of)
        .filter(|id| !expected_deletions.contains_key(id))
        .collect();
    assert_eq!(left, wanted);

    // Bytes on disk drop by what the plan said, once the sweeper has run.
    wait_for_blob_count(&server.data_path(), files_before - expected_frees.len()).await;
    assert_eq!(
        blob_files(&server.data_path()).len(),
        files_before - expected_frees.len()
    );
    assert_eq!(
        bytes_before - blob_bytes(&server.data_path()),
        planned_bytes
    );

    // A second run finds nothing more to delete; both runs are listed, newest first.
    let again = ota.post("/retention/runs").send().await.unwrap();
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (again["deleted"].as_u64(), again["keptInUse"].as_u64()),
        (Some(0), Some(4))
    );
    let runs = json_of(ota.get("/retention/runs?size=10"), "RetentionRunPage").await;
    assert_eq!(runs["totalElements"], 2);
    assert_eq!(runs["content"][0]["runId"], again["runId"]);
    assert_eq!(runs["content"][1], run);
}

#[tokio::test]
async fn retention_policies_are_admin_only_checked_and_run_on_schedule() {
    let server = TestServer::builder()
        .args(["--retention-interval-secs", "1"])
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("acme", &["ota:read", "ota:write"])
        .client("globex", &["ota:read", "ota:write", "admin"])
        .start();
    let ota = Ota::new(&server, 0).await;
    let writer = Ota::new(&server, 1).await;
    let globex = Ota::new(&server, 2).await;
    expect_problem(
        ota.get("/retention/policy").send().await.unwrap(),
        404,
        "not-found",
    )
    .await;
    expect_problem(
        ota.post("/retention/plan").send().await.unwrap(),
        404,
        "not-found",
    )
    .await;
    let good = json!({"keepNewest": 1, "protectedTags": [], "expire": []});
    expect_problem(put_policy(&writer, good.clone()).await, 403, "forbidden").await;
    expect_problem(
        writer.post("/retention/runs").send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    for bad in [
        json!({"keepNewest": 0}),
        json!({}),
        json!({"expire": [{"tag": "a", "tagPrefix": "b", "afterDays": 1}]}),
        json!({"expire": [{"afterDays": 1}]}),
        json!({"expire": [{"tag": "a,b", "afterDays": 1}]}),
        json!({"expire": [{"tag": "a", "afterDays": 36501}]}),
    ] {
        expect_problem(put_policy(&ota, bad).await, 400, "validation-failed").await;
    }
    expect_problem(
        put_policy(&ota, json!({"keepNewest": 1, "nope": 1})).await,
        400,
        "invalid-body",
    )
    .await;

    ota.create_type(101).await;
    for i in 0..3u8 {
        ota.publish(
            101,
            "app",
            &format!("1.{i}.0"),
            &["branch:main"],
            bytes(60 + i, 500),
        )
        .await;
    }
    assert_eq!(put_policy(&ota, good.clone()).await.status(), 200);
    let theirs = globex
        .http
        .get(format!("{}/retention/policy", ota.base))
        .bearer_auth(&globex.token)
        .send()
        .await
        .unwrap();
    expect_problem(theirs, 404, "not-found").await;
    // The schedule runs it within a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let scheduled = loop {
        let runs = json_of(ota.get("/retention/runs"), "RetentionRunPage").await;
        let found = runs["content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["trigger"] == "scheduled" && r["deleted"] == 2)
            .cloned();
        if let Some(run) = found {
            break run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled run: {runs}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        scheduled["finishedTimestamp"].as_u64().unwrap()
            >= scheduled["startedTimestamp"].as_u64().unwrap()
    );
    // The run's deletions are in the audit log as the server's.
    let audit = json_of(
        ota.get("/audit?actor=server:retention&limit=1000"),
        "AuditPage",
    )
    .await;
    let run_entry = format!("retention/runs/{}", scheduled["runId"]);
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["created"] == run_entry.as_str())
        .unwrap_or_else(|| panic!("no audit entry of {run_entry}: {audit}"));
    assert_eq!(entry["outcome"], "applied");
    assert_eq!(entry["operation"], "RUN retention (scheduled)");
    let left = json_of(ota.get("/pool"), "PoolRecordPage").await;
    assert_eq!(left["totalElements"], 1);
    assert_eq!(left["content"][0]["version"], "1.2.0");
    assert_eq!(
        ota.delete("/retention/policy")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    expect_problem(
        ota.get("/retention/policy").send().await.unwrap(),
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn the_cli_sets_plans_runs_and_lists_retention() {
    let server = server(&["--retention-interval-secs", "0"]);
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    for (i, tags) in [
        &["branch:main", "released"][..],
        &["branch:main"],
        &["branch:main"],
        &["branch:main"],
        &["dirty"],
    ]
    .iter()
    .enumerate()
    {
        ota.publish(
            101,
            "app",
            &format!("1.{i}.0"),
            tags,
            bytes(80 + i as u8, 700),
        )
        .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cli = |args: &[&str]| -> String {
        let out = server
            .fwrepo(0, dir.path(), &cache)
            .arg("retention")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fwrepo retention {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let policy = cli(&[
        "policy",
        "--keep-newest",
        "2",
        "--protect",
        "released",
        "--expire",
        "dirty=0",
        "--expire-prefix",
        "pr:=30",
    ]);
    assert_eq!(
        policy,
        "keep newest 2 per type, name and branch\nprotect released\nexpire dirty after 0 days\nexpire pr:* after 30 days\n"
    );
    assert_eq!(cli(&["policy"]), policy);
    let plan = cli(&["plan"]);
    let lines: Vec<&str> = plan.lines().collect();
    let line = |prefix: &str| -> &str {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in\n{plan}"))
    };
    assert!(line("delete  101/2 app 1.1.0 [branch:main]  ").ends_with(
        "frees 700 B  beyond-newest: number 3 of its branch, newest first; keepNewest 2"
    ));
    assert!(line("delete  101/5 app 1.4.0 [dirty]  ")
        .ends_with("frees 700 B  expired: tag dirty matches expire rule dirty: older than 0 days"));
    assert_eq!(
        line("keep    101/1 "),
        "keep    101/1 app 1.0.0 [branch:main,released]  protected: protected tag released"
    );
    assert!(line("keep    101/4 ").contains("among-newest: number 1 of its branch"));
    assert!(line("keep    101/3 ").contains("among-newest: number 2 of its branch"));
    assert_eq!(lines.len(), 6, "{plan}");
    assert_eq!(
        lines[5],
        "2 to delete, 3 kept by a rule, 1400 bytes freed (lists show at most 1000 each)"
    );
    let json_plan: Value = serde_json::from_str(&cli(&["plan", "--json"])).unwrap();
    validate("RetentionPlan", &json_plan);
    assert_eq!(json_plan["deletionsTotal"], 2);
    let run = cli(&["run"]);
    assert!(run.starts_with("run 1 manual started "), "{run}");
    assert!(
        run.ends_with(": deleted 2, kept 3 (0 in use), 1400 bytes freed\n"),
        "{run}"
    );
    let runs = cli(&["runs"]);
    assert_eq!(runs, run);
    let listed: Vec<Value> = serde_json::from_str(&cli(&["runs", "--json"])).unwrap();
    assert_eq!(listed.len(), 1);
    validate("RetentionRun", &listed[0]);
    assert_eq!(listed[0]["deleted"], 2);
}

/// An open hawkBit DDI action keeps its image (and the pool record it was made from) from
/// being deleted, even once the device's target is cleared, until the device finishes it.
#[tokio::test]
async fn an_open_ddi_action_is_a_use() {
    let server = server(&[]);
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    ota.create_type(101).await;
    let record = ota
        .publish(101, "app", "2.0.0", &["branch:main"], bytes(40, 3000))
        .await;
    let c = span.collection("device").await;
    let image = span
        .json(
            span.post(&format!("/collections/{c}/firmware")).json(
                &json!({"poolRecord": {"type": 101, "versionNumber": record["versionNumber"]}}),
            ),
            201,
            "CollectionImage",
        )
        .await;
    let image = image["imageId"].as_str().unwrap().to_string();
    span.device(
        &c,
        json!({"deviceId": "ddi-dev", "firmware": {"targetFirmwareId": image}}),
    )
    .await;
    let token = span
        .json(
            span.post(&format!("/collections/{c}/devices/ddi-dev/targetToken")),
            201,
            "DdiToken",
        )
        .await;
    let ddi = Ddi::target(&server.url, "acme", token["token"].as_str().unwrap());
    let base = ddi.poll("ddi-dev").await;
    assert!(
        base["_links"]["deploymentBase"].is_object(),
        "an action is open: {base}"
    );
    span.patch_device(&c, "ddi-dev", json!({"firmware": {"targetFirmwareId": ""}}))
        .await;
    let refused = span
        .delete(&format!("/collections/{c}/firmware/{image}"))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(refused, 409, "in-use").await;
    let uses = used_by(&problem);
    assert_eq!(uses.len(), 1, "{problem}");
    assert_eq!(uses[0].0, "ddi-action");
    assert_eq!(problem["usedBy"][0]["scope"], "ddi-dev");
    let refused = ota.delete(&record_path(&record)).send().await.unwrap();
    let problem = expect_problem(refused, 409, "in-use").await;
    let kinds: Vec<String> = used_by(&problem).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["collection-image", "ddi-action"]);
}
