//! The audit log: every state-changing request of a partner's clients and users is logged
//! (actor, operation, ids, time, peer, outcome), applied changes in the same RocksDB write as
//! the change (a crash never separates them), listed per partner with filters and cursors
//! (scope admin, another partner's log is 404), printed by `fwrepo audit`, never a secret.

use std::collections::BTreeSet;

use fwrepo_e2e::{expect_problem, http, validate, Ota, TestServer};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

/// acme admin (0), acme writer (1), globex admin (2); user alice (acme maintainer).
fn server() -> TestServer {
    TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("acme", &["ota:read", "ota:write"])
        .client("globex", &["ota:read", "ota:write", "admin"])
        .user("acme", "alice", "maintainer", PASSWORD)
        .start()
}

/// One page of `partner`'s log as client `index` sees it, schema-checked.
async fn audit(server: &TestServer, index: usize, query: &str) -> Value {
    let token = server.token_for(index).await;
    let partner = &server.client(index).partner_id;
    let response = http()
        .get(format!("{}/audit?{query}", server.partner_url(partner)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    validate("AuditPage", &page);
    page
}

fn entries(page: &Value) -> &Vec<Value> {
    page["entries"].as_array().unwrap()
}

/// (method, target) of each entry, newest first.
fn summary(page: &Value) -> Vec<(String, String, String)> {
    entries(page)
        .iter()
        .map(|e| {
            let method = e["operation"].as_str().unwrap().split(' ').next().unwrap();
            (
                method.to_string(),
                e["target"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn writes_are_logged_with_actor_ids_peer_and_outcome_reads_are_not() {
    let server = server();
    Ota::new(&server, 0).await.create_type(3).await;
    let writer = Ota::new(&server, 1).await;
    let writer_actor = format!("client:{}", server.client(1).client_id);
    let record = writer
        .publish(3, "fw", "1.0.0", &["branch:main"], b"audit one".to_vec())
        .await;
    let vn = record["versionNumber"].as_str().unwrap().to_string();
    // A read is not logged; a refused write is, with its status.
    assert_eq!(writer.get("/pool").send().await.unwrap().status(), 200);
    let duplicate = writer
        .post("/pool")
        .json(
            &json!({"name": "fw", "type": 3, "version": "1.0.0", "url": record["url"], "tags": []}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 409);
    let forbidden = writer
        .post("/admin/clients")
        .json(&json!({"scopes": ["ota:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);

    let page = audit(&server, 0, &format!("actor={writer_actor}")).await;
    let partner = server.partner_url("acme");
    let path = |p: &str| partner.strip_prefix(&server.url).unwrap().to_string() + p;
    assert_eq!(
        summary(&page),
        vec![
            ("POST".into(), path("/admin/clients"), "refused".into()),
            ("POST".into(), path("/pool"), "refused".into()),
            ("POST".into(), path("/pool"), "applied".into()),
            (
                "POST".into(),
                path("/binaries/moveToRepository"),
                "applied".into()
            ),
            ("POST".into(), path("/binaries"), "applied".into()),
            ("POST".into(), "/oauth/token".into(), "applied".into()),
        ]
    );
    let e = entries(&page);
    assert_eq!(e[0]["status"], 403);
    assert_eq!(e[1]["status"], 409);
    assert_eq!(
        e[2]["created"],
        format!("pool/types/3/versionNumbers/{vn}"),
        "the created record's ids"
    );
    assert_eq!(
        e[2]["operation"], "POST /v1/ota/partners/{partnerId}/pool",
        "the route template"
    );
    let sha = record["sha256"].as_str().unwrap();
    assert_eq!(e[4]["created"], format!("binaries/sha256/{sha}"));
    for entry in e {
        assert_eq!(entry["actor"], writer_actor.as_str());
        assert!(entry["remote"].as_str().unwrap().starts_with("127.0.0.1:"));
        assert!(entry["requestId"].as_str().is_some_and(|id| !id.is_empty()));
    }

    // An update names its record in the path, and the record filter finds both.
    let updated = writer
        .put(&format!("/pool/types/3/versionNumbers/{vn}"))
        .json(
            &json!({"name": "fw", "version": "1.0.0", "url": record["url"], "tags": ["released"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 204);
    let by_record = audit(
        &server,
        0,
        &format!("record=pool/types/3/versionNumbers/{vn}"),
    )
    .await;
    let methods: Vec<_> = summary(&by_record).into_iter().map(|s| s.0).collect();
    assert_eq!(methods, ["PUT", "POST"]);
    let refused = audit(&server, 0, "outcome=refused").await;
    assert_eq!(entries(&refused).len(), 2);
    let puts = audit(&server, 0, "operation=PUT").await;
    assert_eq!(entries(&puts).len(), 1);
}

#[tokio::test]
async fn the_log_is_the_partners_own_and_needs_the_admin_scope() {
    let server = server();
    let globex = Ota::new(&server, 2).await;
    globex.create_type(5).await;
    let acme_admin = server.token_for(0).await;
    let writer = server.token_for(1).await;
    // Another partner's log is not found, a writer may not read its own.
    let other = http()
        .get(format!("{}/audit", server.partner_url("globex")))
        .bearer_auth(&acme_admin)
        .send()
        .await
        .unwrap();
    expect_problem(other, 404, "not-found").await;
    let no_admin = http()
        .get(format!("{}/audit", server.partner_url("acme")))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    expect_problem(no_admin, 403, "forbidden").await;
    let anonymous = http()
        .get(format!("{}/audit", server.partner_url("acme")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // globex's write is in globex's log only.
    let acme_log = audit(&server, 0, "limit=1000").await;
    assert!(summary(&acme_log)
        .iter()
        .all(|(_, t, _)| !t.contains("globex")));
    let globex_log = audit(&server, 2, "operation=POST").await;
    assert!(summary(&globex_log)
        .iter()
        .any(|(_, t, _)| t == "/v1/ota/partners/globex/types"));
    // Bad parameters are problems with a stable type.
    for query in [
        "limit=0",
        "limit=abc",
        "outcome=maybe",
        "since=yesterday",
        "cursor=12",
    ] {
        let response = http()
            .get(format!("{}/audit?{query}", server.partner_url("acme")))
            .bearer_auth(&acme_admin)
            .send()
            .await
            .unwrap();
        expect_problem(response, 400, "invalid-query").await;
    }
}

#[tokio::test]
async fn pages_follow_the_cursor_and_time_bounds_narrow() {
    let server = server();
    let admin = Ota::new(&server, 0).await;
    for fw_type in 10..17 {
        admin.create_type(fw_type).await;
    }
    let types = "operation=POST /v1/ota/partners/{partnerId}/types";
    let all = audit(
        &server,
        0,
        "operation=POST /v1/ota/partners/{partnerId}/types",
    )
    .await;
    assert_eq!(entries(&all).len(), 7);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=3&cursor={c}&{types}"),
            None => format!("limit=3&{types}"),
        };
        let page = audit(&server, 0, &query).await;
        seen.extend(
            entries(&page)
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no entry twice");
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_by_key(|id| {
        let (at, seq) = id.split_once('-').unwrap();
        std::cmp::Reverse((at.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap()))
    });
    assert_eq!(sorted, seen, "newest first");

    let times: Vec<u64> = entries(&all)
        .iter()
        .map(|e| e["timestamp"].as_u64().unwrap())
        .collect();
    let (newest, oldest) = (times[0], times[times.len() - 1]);
    let after_all = audit(&server, 0, &format!("since={}&{types}", newest + 1)).await;
    assert!(entries(&after_all).is_empty());
    let before_all = audit(&server, 0, &format!("until={}", oldest - 1)).await;
    assert!(summary(&before_all)
        .iter()
        .all(|(_, t, _)| !t.ends_with("/types")));
    let rfc3339 = entries(&all)[0]["time"].as_str().unwrap().to_string();
    let from_rfc = audit(&server, 0, &format!("since={rfc3339}&operation=POST")).await;
    assert!(!entries(&from_rfc).is_empty());
}

#[tokio::test]
async fn a_crash_never_separates_a_change_from_its_entry() {
    let mut server = server();
    Ota::new(&server, 0).await.create_type(3).await;
    let writer = Ota::new(&server, 1).await;
    let sha = writer.upload(b"crash audit".to_vec()).await;
    let url = writer.move_to_repository(&sha).await;
    // Creations race a SIGKILL; afterwards every record has its entry and every applied
    // entry its record.
    let mut tasks = Vec::new();
    for n in 0..200 {
        let request = writer
            .post("/pool")
            .json(&json!({"name": "fw", "type": 3, "version": format!("1.0.{n}"), "url": url, "tags": []}));
        tasks.push(tokio::spawn(async move { request.send().await }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    server.kill9();
    for task in tasks {
        let _ = task.await;
    }
    server.restart();
    let writer = Ota::new(&server, 1).await;
    let records: BTreeSet<String> = writer
        .all_records(3)
        .await
        .values()
        .map(|r| {
            format!(
                "pool/types/3/versionNumbers/{}",
                r["versionNumber"].as_str().unwrap()
            )
        })
        .collect();
    let logged: BTreeSet<String> = entries(
        &audit(
            &server,
            0,
            "limit=1000&outcome=applied&operation=POST /v1/ota/partners/{partnerId}/pool",
        )
        .await,
    )
    .iter()
    .map(|e| e["created"].as_str().unwrap().to_string())
    .collect();
    assert!(
        !records.is_empty(),
        "some creations were answered before the kill"
    );
    assert_eq!(records, logged);
}

#[tokio::test]
async fn people_are_logged_by_name_and_no_secret_reaches_the_log() {
    let server = server();
    let admin = Ota::new(&server, 0).await;
    // A new client (its secret is in the answer) and a new user (a password in the body).
    let created = admin
        .post("/admin/clients")
        .json(&json!({"scopes": ["ota:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let creds: Value = created.json().await.unwrap();
    let secret = creds["client_secret"].as_str().unwrap().to_string();
    let new_password = "another horse battery staple";
    let user = admin
        .post("/admin/users")
        .json(&json!({"username": "bob", "role": "viewer", "password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), 201);
    // Alice signs in to the web UI; a wrong password is no entry (no partner is known).
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |password: &'static str| {
        browser
            .post(format!("{}/ui/login", server.url))
            .form(&[("username", "alice"), ("password", password)])
            .send()
    };
    assert_eq!(
        login("wrong password entirely").await.unwrap().status(),
        401
    );
    assert_eq!(login(PASSWORD).await.unwrap().status(), 303);

    let page = audit(&server, 0, "limit=1000").await;
    let alice: Vec<_> = entries(&page)
        .iter()
        .filter(|e| e["actor"] == "user:alice")
        .collect();
    assert_eq!(alice.len(), 1, "one sign-in, applied");
    assert_eq!(alice[0]["target"], "/ui/login");
    assert_eq!(alice[0]["outcome"], "applied");
    assert!(
        entries(&page)
            .iter()
            .any(|e| e["created"]
                == format!("admin/clients/{}", creds["client_id"].as_str().unwrap()))
    );
    assert!(entries(&page)
        .iter()
        .any(|e| e["created"] == "admin/users/bob"));
    let text = page.to_string();
    for secret in [
        secret.as_str(),
        new_password,
        PASSWORD,
        &admin.token,
        &server.client(0).client_secret,
    ] {
        assert!(!text.contains(secret), "a secret reached the audit log");
    }
}

#[tokio::test]
async fn fwrepo_audit_prints_the_log() {
    let server = server();
    Ota::new(&server, 0).await.create_type(7).await;
    let dir = tempfile::tempdir().unwrap();
    let out = server
        .fwrepo(0, dir.path(), &dir.path().join("cache"))
        .args(["audit", "--operation", "POST", "--record", "/types"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let admin_actor = format!("client:{}", server.client(0).client_id);
    assert!(lines[0].contains("applied"), "{text}");
    assert!(lines[0].contains(&admin_actor), "{text}");
    assert!(
        lines[0].contains("POST /v1/ota/partners/acme/types -> types/7"),
        "{text}"
    );
    let json = server
        .fwrepo(0, dir.path(), &dir.path().join("cache"))
        .args(["audit", "--json", "--limit", "2"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let entries: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2);
    // A client without the admin scope is refused with the server's problem.
    let refused = server
        .fwrepo(1, dir.path(), &dir.path().join("cache"))
        .arg("audit")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403")
            || String::from_utf8_lossy(&refused.stderr)
                .to_lowercase()
                .contains("forbidden")
    );
}
